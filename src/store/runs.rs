//! The record of runs: what each finished run decided, the cases it could not plan, and the
//! log's mark the next run starts from.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{Inner, Store, StoreError, Tx};
use crate::domain::case::FailedCase;

/// What a run decided, for the record of runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunCounts {
    pub queued: i64,
    pub skipped: i64,
    pub failed_cases: Vec<FailedCase>,
    /// The revision counter when the run started.
    pub revision: i64,
    /// The fingerprint of the rules the run planned with.
    pub rules: String,
}
/// The last run that finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub day: NaiveDate,
    /// The revision counter when it started.
    pub revision: i64,
    /// The fingerprint of the rules it planned with.
    pub rules: String,
    /// The notification log's last row id when it was recorded; `None` when unknown (recorded
    /// by an older version) or when another run was for a later day.
    pub log_mark: Option<i64>,
}

impl Store {
    /// The last run that finished.
    pub async fn last_run(&self) -> Result<Option<LastRun>, StoreError> {
        let mut tx = self.read().await?;
        let row = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query(
                "SELECT today_on, revision, rules, log_mark, \
                 (SELECT max(today_on) FROM runs WHERE finished_at IS NOT NULL) AS latest \
                 FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(&mut **conn)
            .await?
            .map(|row| {
                let day: NaiveDate = row.try_get("today_on")?;
                let latest: NaiveDate = row.try_get("latest")?;
                let mark: Option<i64> = row.try_get("log_mark")?;
                Ok::<_, sqlx::Error>(LastRun {
                    day,
                    revision: row.try_get("revision")?,
                    rules: row.try_get("rules")?,
                    // A run for an earlier day than another (time travel) logged less than
                    // that one did after its day.
                    log_mark: mark.filter(|_| day >= latest),
                })
            })
            .transpose()?
        });
        tx.rollback().await?;
        Ok(row)
    }
    /// The cases the last finished run could not plan.
    pub async fn last_run_failures(&self) -> Result<Vec<FailedCase>, StoreError> {
        let mut tx = self.read().await?;
        let failed: Option<Option<String>> = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_scalar(
                "SELECT failed FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(&mut **conn)
            .await?
        });
        tx.rollback().await?;
        match failed.flatten() {
            None => Ok(Vec::new()),
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("a run's failed cases: {e}"))),
        }
    }
    /// The latest time any finished run was dated (a run replayed for a past day is recorded
    /// after later ones): what the clock is compared with.
    pub async fn latest_run_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut tx = self.read().await?;
        let at: Option<DateTime<Utc>> = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_scalar("SELECT MAX(started_at) FROM runs WHERE finished_at IS NOT NULL")
                .fetch_one(&mut **conn)
                .await?
        });
        tx.rollback().await?;
        Ok(at)
    }

    /// When the last finished run started (the daemon's catch-up compares it with the
    /// schedule).
    pub async fn last_run_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut tx = self.read().await?;
        let at = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_scalar(
                "SELECT started_at FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(&mut **conn)
            .await?
        });
        tx.rollback().await?;
        Ok(at)
    }
}

impl Tx {
    /// Records a finished run.
    pub async fn record_run(
        &mut self,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        today: NaiveDate,
        counts: RunCounts,
    ) -> Result<(), StoreError> {
        let failed = (!counts.failed_cases.is_empty())
            .then(|| serde_json::to_string(&counts.failed_cases).expect("failures serialise"));
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO runs (started_at, finished_at, today_on, queued, skipped, failed_cases, \
                 revision, rules, log_mark, failed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                 (SELECT coalesce(max(id), 0) FROM notification_log), $9)",
            )
            .bind(started_at)
            .bind(finished_at)
            .bind(today)
            .bind(counts.queued as i32)
            .bind(counts.skipped as i32)
            .bind(counts.failed_cases.len() as i32)
            .bind(counts.revision)
            .bind(&counts.rules)
            .bind(failed.as_deref())
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }
}
