//! The rules each run planned with, kept once per fingerprint, so that a change on disk can be
//! compared with what the service is using before it takes effect (`check-config --impact`).

use chrono::{DateTime, NaiveDate, Utc};

use super::{Inner, Store, StoreError};
use crate::domain::calendar::Division;

/// The texts and settings that decide every due date: what the daemon read at its start or
/// last reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesUsed {
    /// `Planner::fingerprint` of the rules.
    pub fingerprint: String,
    /// The timeline file's text.
    pub timeline: String,
    /// The bank-holiday feed's text.
    pub bank_holidays: String,
    pub division: Division,
    pub closure_days: Vec<NaiveDate>,
}

impl Store {
    /// Keeps `rules` unless rules with its fingerprint are kept already: one write per change
    /// of rules, not per run.
    pub async fn remember_rules(
        &self,
        rules: &RulesUsed,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let closures = serde_json::to_string(&rules.closure_days).expect("dates serialise");
        let mut tx = self.begin().await?;
        on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO rules_used (fingerprint, timeline, bank_holidays, division, \
                 closure_days, first_used_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (fingerprint) DO NOTHING",
            )
            .bind(&rules.fingerprint)
            .bind(&rules.timeline)
            .bind(&rules.bank_holidays)
            .bind(rules.division.to_string())
            .bind(closures)
            .bind(now)
            .execute(&mut **conn)
            .await?;
        });
        tx.commit().await
    }

    /// The rules the last finished run planned with, when they were kept (runs of versions
    /// before this one did not keep them).
    pub async fn rules_of_last_run(&self) -> Result<Option<RulesUsed>, StoreError> {
        let mut tx = self.read().await?;
        let row: Option<(String, String, String, String, String)> = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_as(
                "SELECT r.fingerprint, r.timeline, r.bank_holidays, r.division, \
                 r.closure_days FROM rules_used r JOIN runs ON runs.rules = r.fingerprint \
                 WHERE runs.finished_at IS NOT NULL ORDER BY runs.id DESC LIMIT 1",
            )
            .fetch_optional(&mut **conn)
            .await?
        });
        tx.rollback().await?;
        let Some((fingerprint, timeline, bank_holidays, division, closures)) = row else {
            return Ok(None);
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("rules_used {what}"));
        Ok(Some(RulesUsed {
            fingerprint,
            timeline,
            bank_holidays,
            division: division
                .parse()
                .map_err(|_| corrupt(&format!("division `{division}`")))?,
            closure_days: serde_json::from_str(&closures).map_err(|_| corrupt("closure_days"))?,
        }))
    }
}
