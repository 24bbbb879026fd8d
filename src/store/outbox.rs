//! The outbox's state machine: a queued email is claimed with a lease, then sent, retried,
//! failed or cancelled (`store::queue` writes the rows).

use std::path::Path;

use chrono::{DateTime, Utc};
use strum::{EnumString, IntoStaticStr};

use super::{Inner, Store, StoreError};
use crate::domain::plan::EmailKind;

/// Where an outbox row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, IntoStaticStr, EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OutboxStatus {
    Pending,
    InFlight,
    Sent,
    Failed,
    /// Taken out of the queue by a person (`rrn outbox cancel`): never sent.
    Cancelled,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl TryFrom<String> for OutboxStatus {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Self, StoreError> {
        s.parse()
            .map_err(|_| StoreError::Corrupt(format!("outbox status `{s}`")))
    }
}

/// What an outbox row holds: a planned email of one kind, or a delivery-failure report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, IntoStaticStr, EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OutboxKind {
    Digest,
    AgencyLetter,
    Heartbeat,
    /// A report to the admin contact that another row failed for good.
    DeliveryFailure,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl From<EmailKind> for OutboxKind {
    fn from(kind: EmailKind) -> Self {
        match kind {
            EmailKind::Digest => OutboxKind::Digest,
            EmailKind::AgencyLetter => OutboxKind::AgencyLetter,
            EmailKind::Heartbeat => OutboxKind::Heartbeat,
        }
    }
}

impl TryFrom<String> for OutboxKind {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Self, StoreError> {
        s.parse()
            .map_err(|_| StoreError::Corrupt(format!("outbox kind `{s}`")))
    }
}

/// One outbox row, without its body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    #[sqlx(rename = "reference")]
    pub case: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: OutboxKind,
    pub recipient: String,
    #[sqlx(try_from = "String")]
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// Every case the email covers (a digest covers several), in the order it lists them.
    #[sqlx(skip)]
    pub cases: Vec<String>,
}

/// An outbox row as a listing reads it: with the email, to name the cases it covers.
#[derive(sqlx::FromRow)]
struct Listed {
    #[sqlx(flatten)]
    row: OutboxRow,
    email: String,
}

/// The part of a planned email that names its cases (a failure report has none).
#[derive(serde::Deserialize)]
struct CasesOf {
    #[serde(default)]
    items: Vec<CaseOf>,
}

#[derive(serde::Deserialize)]
struct CaseOf {
    case: Option<String>,
}

impl Listed {
    /// The row with the cases its email covers: those of its items, each once, else the
    /// row's own case.
    fn into_row(self) -> OutboxRow {
        let mut row = self.row;
        if let Ok(email) = serde_json::from_str::<CasesOf>(&self.email) {
            for case in email.items.into_iter().filter_map(|i| i.case) {
                if !row.cases.contains(&case) {
                    row.cases.push(case);
                }
            }
        }
        if row.cases.is_empty() {
            row.cases.extend(row.case.clone());
        }
        row
    }
}

/// An outbox row claimed for delivery (now in flight).
#[derive(sqlx::FromRow, Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: OutboxKind,
    pub recipient: String,
    pub email: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

const CLAIM_SQLITE: &str = "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, \
     claimed_by = $3, lease_until = $4 \
     WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
     AND $5 IS NOT NULL ORDER BY id LIMIT $2) \
     RETURNING id, kind, recipient, email, attempts, created_at";
/// SKIP LOCKED: two processes that both think they deliver can never claim one row twice.
/// A row whose lease lapsed (its claimer died or lost the database) is taken like a pending one.
const CLAIM_POSTGRES: &str = "UPDATE outbox SET status = 'in_flight', attempts = attempts + 1, \
     claimed_by = $3, lease_until = $4 \
     WHERE id IN (SELECT id FROM outbox WHERE (status = 'pending' AND next_attempt_at <= $1) \
       OR (status = 'in_flight' AND (lease_until IS NULL OR lease_until < $5)) \
     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, recipient, email, attempts, created_at";

/// Outbox rows by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub in_flight: u64,
    pub sent: u64,
    pub failed: u64,
    pub cancelled: u64,
}

/// Emails the relay has not taken yet although they were tried: what `rrn status` shows so
/// that a stuck or refusing relay is seen without reading the log.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Waiting {
    /// Queued again after a failed try.
    pub retrying: u64,
    /// Claimed by a sender whose lease has lapsed: it stopped before saying what happened.
    pub abandoned: u64,
    /// When the oldest of them was queued.
    pub since: Option<DateTime<Utc>>,
    /// The next try of any of them.
    pub next_try: Option<DateTime<Utc>>,
    /// What the mail server said at the latest failed try.
    pub last_error: Option<String>,
}

/// What `rrn outbox cancel` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancel {
    /// The row is cancelled now, with an audit entry.
    Cancelled,
    NoSuchRow,
    /// Sent or cancelled already: nothing to take back.
    Finished(OutboxStatus),
    /// Claimed by a sender whose lease still holds: it may be on the wire right now.
    InFlight {
        claimed_by: Option<String>,
        until: DateTime<Utc>,
    },
}

impl Store {
    /// Outbox rows, newest first, optionally of one status.
    pub async fn outbox(&self, status: Option<OutboxStatus>) -> Result<Vec<OutboxRow>, StoreError> {
        let (a, b, c, d, e) = match status {
            Some(s) => (s.as_str(), s.as_str(), s.as_str(), s.as_str(), s.as_str()),
            None => ("pending", "in_flight", "sent", "failed", "cancelled"),
        };
        let mut tx = self.read().await?;
        let rows = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_as::<_, Listed>(
                "SELECT o.id, o.created_at, c.reference, o.kind, o.recipient, o.status, o.attempts, \
                 o.last_error, o.email FROM outbox o LEFT JOIN cases c ON c.id = o.case_id \
                 WHERE o.status IN ($1, $2, $3, $4, $5) ORDER BY o.id DESC",
            )
            .bind(a)
            .bind(b)
            .bind(c)
            .bind(d)
            .bind(e)
            .fetch_all(&mut **conn)
            .await?
        });
        tx.rollback().await?;
        Ok(rows.into_iter().map(Listed::into_row).collect())
    }

    /// The outbox rows of one case, newest first.
    pub async fn outbox_of_case(
        &self,
        reference: &crate::domain::case::CaseRef,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let mut tx = self.read().await?;
        let rows = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_as::<_, Listed>(
                "SELECT o.id, o.created_at, c.reference, o.kind, o.recipient, o.status, o.attempts, \
                 o.last_error, o.email FROM outbox o JOIN cases c ON c.id = o.case_id \
                 WHERE lower(c.reference) = $1 ORDER BY o.id DESC",
            )
            .bind(reference.as_str().to_ascii_lowercase())
            .fetch_all(&mut **conn)
            .await?
        });
        tx.rollback().await?;
        Ok(rows.into_iter().map(Listed::into_row).collect())
    }

    /// How many outbox rows are in each status (pending, in flight, sent, failed, cancelled).
    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let mut tx = self.read().await?;
        let rows: Vec<(String, i64)> = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_as("SELECT status, count(*) FROM outbox GROUP BY status")
                .fetch_all(&mut **conn)
                .await?
        });
        tx.rollback().await?;
        let mut counts = OutboxCounts::default();
        for (status, n) in rows {
            let n = n as u64;
            match status.as_str() {
                "pending" => counts.pending = n,
                "in_flight" => counts.in_flight = n,
                "sent" => counts.sent = n,
                "failed" => counts.failed = n,
                "cancelled" => counts.cancelled = n,
                other => return Err(StoreError::Corrupt(format!("outbox status `{other}`"))),
            }
        }
        Ok(counts)
    }

    /// The emails tried and not yet taken by the relay, as of `now` (see [`Waiting`]).
    pub async fn waiting(&self, now: DateTime<Utc>) -> Result<Waiting, StoreError> {
        let mut tx = self.read().await?;
        let waiting = on_backend!(&mut tx.0, conn, _PG => {
            let (retrying,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM outbox WHERE status = 'pending' AND last_error IS NOT NULL")
                    .fetch_one(&mut **conn)
                    .await?;
            let (abandoned,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM outbox WHERE status = 'in_flight' \
                 AND lease_until IS NOT NULL AND lease_until < $1",
            )
            .bind(now)
            .fetch_one(&mut **conn)
            .await?;
            let since: Option<(DateTime<Utc>,)> = sqlx::query_as(
                "SELECT created_at FROM outbox WHERE status = 'pending' \
                 AND last_error IS NOT NULL ORDER BY created_at LIMIT 1",
            )
            .fetch_optional(&mut **conn)
            .await?;
            let next_try: Option<(DateTime<Utc>,)> = sqlx::query_as(
                "SELECT next_attempt_at FROM outbox WHERE status = 'pending' \
                 AND last_error IS NOT NULL ORDER BY next_attempt_at LIMIT 1",
            )
            .fetch_optional(&mut **conn)
            .await?;
            let last_error: Option<(String,)> = sqlx::query_as(
                "SELECT last_error FROM outbox WHERE status = 'pending' \
                 AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(&mut **conn)
            .await?;
            Waiting {
                retrying: retrying as u64,
                abandoned: abandoned as u64,
                since: since.map(|(at,)| at),
                next_try: next_try.map(|(at,)| at),
                last_error: last_error.map(|(e,)| e),
            }
        });
        tx.rollback().await?;
        Ok(waiting)
    }

    /// A consistent copy of the SQLite database in the new file `to` (`VACUUM INTO`, safe while
    /// the daemon runs); on PostgreSQL, `pg_dump` is the tool.
    pub async fn backup(&self, to: &Path) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(to.display().to_string())
                    .execute(pool)
                    .await?;
                Ok(())
            }
            Store::Postgres(_) => Err(StoreError::Unsupported(
                "rrn backup copies an SQLite database; for PostgreSQL use pg_dump \
                 (for example: pg_dump --format=custom --file=rrn.dump DATABASE_URL)"
                    .to_owned(),
            )),
        }
    }

    /// Copies what SQLite's write-ahead log holds into the database file, as far as it can
    /// without waiting for anyone (nothing to do on PostgreSQL). SQLite's own checkpoints run
    /// inside the commit that fills the log; a run calls this on another connection after each
    /// page it wrote, so the copying overlaps the next page's writes instead.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if let Store::Sqlite(pool) = self {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(pool)
                .await?;
        }
        Ok(())
    }
}

impl Store {
    /// Puts rows left in flight (by a crash mid-send) back in the queue, so they are sent
    /// again: at most one duplicate each, never a loss. Returns how many. On SQLite only one
    /// process delivers (it holds the run lock), so every row in flight was left by a dead one;
    /// on PostgreSQL another live instance may be sending, so only lapsed leases are released.
    pub async fn release_in_flight(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let released = on_backend!(&mut tx.0, conn, PG => {
            sqlx::query(if PG {
                "UPDATE outbox SET status = 'pending', claimed_by = NULL, lease_until = NULL \
                 WHERE status = 'in_flight' AND (lease_until IS NULL OR lease_until < $1)"
            } else {
                "UPDATE outbox SET status = 'pending', claimed_by = NULL, lease_until = NULL \
                 WHERE status = 'in_flight' AND $1 IS NOT NULL"
            })
            .bind(now)
            .execute(&mut **conn)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(released)
    }

    /// Extends `owner`'s lease on a claimed row before its message is sent; false when the row
    /// is no longer ours (the lease lapsed and another instance took it), so it must not be sent.
    pub async fn renew_lease(
        &self,
        id: i64,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // On SQLite the run lock already makes this process the only one delivering: no other
        // can take the row, and a write per message would cost more than the send.
        if let Store::Sqlite(_) = self {
            return Ok(true);
        }
        let mut tx = self.begin().await?;
        let renewed = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query(
                "UPDATE outbox SET lease_until = $3 \
                 WHERE id = $1 AND status = 'in_flight' AND claimed_by = $2",
            )
            .bind(id)
            .bind(owner)
            .bind(until)
            .execute(&mut **conn)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(renewed == 1)
    }

    /// Gives back claimed rows that were not sent (the process is stopping).
    pub async fn release_claimed(&self, ids: &[i64], owner: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for id in ids {
            on_backend!(&mut tx.0, conn, _PG => {
                sqlx::query(
                    "UPDATE outbox SET status = 'pending', claimed_by = NULL, lease_until = NULL \
                     WHERE id = $1 AND status = 'in_flight' AND claimed_by = $2",
                )
                .bind(id)
                .bind(owner)
                .execute(&mut **conn)
                .await?;
            });
        }
        tx.commit().await
    }

    /// Marks up to `limit` rows due by `due_by` (and, on PostgreSQL, rows whose lease lapsed
    /// before `now`) in flight for `owner` until `lease_until` and returns them, in a short
    /// transaction of its own: no transaction stays open while a message is sent.
    pub async fn claim(
        &self,
        due_by: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: i64,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut tx = self.begin().await?;
        let claimed = on_backend!(&mut tx.0, conn, PG => {
            let mut claimed: Vec<Claimed> =
                sqlx::query_as(if PG { CLAIM_POSTGRES } else { CLAIM_SQLITE })
                    .bind(due_by)
                    .bind(limit)
                    .bind(owner)
                    .bind(lease_until)
                    .bind(now)
                    .fetch_all(&mut **conn)
                    .await?;
            claimed.sort_by_key(|c| c.id);
            claimed
        });
        tx.commit().await?;
        Ok(claimed)
    }

    /// The server accepted the message: sent, whoever holds the row now (what went out is the
    /// truth).
    pub async fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $2, last_error = NULL, \
                 claimed_by = NULL, lease_until = NULL WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut **conn)
                .await?;
        });
        tx.commit().await
    }

    /// A transient failure: back in the queue from `next_attempt_at`, if the row is still
    /// `owner`'s (a row whose lease lapsed may have been sent by another instance since).
    pub async fn mark_retry(
        &self,
        id: i64,
        owner: &str,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', next_attempt_at = $2, last_error = $3, \
                 claimed_by = NULL, lease_until = NULL \
                 WHERE id = $1 AND status = 'in_flight' AND claimed_by = $4",
            )
            .bind(id)
            .bind(next_attempt_at)
            .bind(error)
            .bind(owner)
            .execute(&mut **conn)
            .await?;
        });
        tx.commit().await
    }

    /// A permanent failure (or retries exhausted): not tried again until `rrn outbox retry`.
    /// With `alert`, a report to the admin contact is queued in the same transaction.
    pub async fn mark_failed(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        alert: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on_backend!(&mut tx.0, conn, _PG => {
            // Only while the row is still ours: never turn a row another instance sent into a
            // failure (nor tell the admin about it).
            let ours = sqlx::query(
                "UPDATE outbox SET status = 'failed', last_error = $2, claimed_by = NULL, \
                 lease_until = NULL WHERE id = $1 AND status = 'in_flight' AND claimed_by = $3",
            )
                .bind(id)
                .bind(error)
                .bind(owner)
                .execute(&mut **conn)
                .await?
                .rows_affected()
                == 1;
            if let (true, Some((admin, report))) = (ours, alert) {
                sqlx::query(
                    "INSERT INTO outbox (created_at, case_id, kind, recipient, email, status, \
                     next_attempt_at) SELECT $1, case_id, $5, $2, $3, 'pending', $1 \
                     FROM outbox WHERE id = $4",
                )
                .bind(now)
                .bind(admin)
                .bind(report)
                .bind(id)
                .bind(OutboxKind::DeliveryFailure.as_str())
                .execute(&mut **conn)
                .await?;
            }
        });
        tx.commit().await
    }

    /// Queues the admin's notice that the relay refuses every email, unless one was queued
    /// since the last email went out: told once per fault, however many passes it lasts, and
    /// across restarts. Whether it was queued.
    pub async fn queue_relay_fault_notice(
        &self,
        admin: &str,
        report: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let queued = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO outbox (created_at, case_id, kind, recipient, email, status, \
                 next_attempt_at) SELECT $1, NULL, $4, $2, $3, 'pending', $1 \
                 WHERE NOT EXISTS (SELECT 1 FROM outbox notice \
                   WHERE notice.kind = $4 AND notice.case_id IS NULL \
                   AND notice.email LIKE '%\"relay_fault\"%' \
                   AND NOT EXISTS (SELECT 1 FROM outbox since WHERE since.status = 'sent' \
                     AND since.kind <> $4 AND since.sent_at > notice.created_at))",
            )
            .bind(now)
            .bind(admin)
            .bind(report)
            .bind(OutboxKind::DeliveryFailure.as_str())
            .execute(&mut **conn)
            .await?
            .rows_affected()
                == 1
        });
        tx.commit().await?;
        Ok(queued)
    }

    /// `rrn outbox cancel ID`: a pending, failed or abandoned row is never sent, and the audit log
    /// says who cancelled it, in one transaction. A row a live sender holds (its lease has not
    /// lapsed by `now`) is left alone: it may be on the wire.
    pub async fn cancel(
        &self,
        id: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Cancel, StoreError> {
        type Found = (
            String,
            Option<i64>,
            String,
            Option<String>,
            Option<DateTime<Utc>>,
        );
        let mut tx = self.begin().await?;
        let found: Option<Found> = on_backend!(&mut tx.0, conn, PG => {
            sqlx::query_as(if PG {
                "SELECT status, case_id, kind, claimed_by, lease_until FROM outbox \
                 WHERE id = $1 FOR UPDATE"
            } else {
                "SELECT status, case_id, kind, claimed_by, lease_until FROM outbox WHERE id = $1"
            })
            .bind(id)
            .fetch_optional(&mut **conn)
            .await?
        });
        let Some((status, case, kind, claimed_by, lease)) = found else {
            tx.rollback().await?;
            return Ok(Cancel::NoSuchRow);
        };
        let status = OutboxStatus::try_from(status)?;
        let refused = match (status, lease) {
            (OutboxStatus::Sent | OutboxStatus::Cancelled, _) => Some(Cancel::Finished(status)),
            (OutboxStatus::InFlight, Some(until)) if until > now => {
                Some(Cancel::InFlight { claimed_by, until })
            }
            _ => None,
        };
        if let Some(refused) = refused {
            tx.rollback().await?;
            return Ok(refused);
        }
        on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query(
                "UPDATE outbox SET status = 'cancelled', claimed_by = NULL, lease_until = NULL \
                 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut **conn)
            .await?;
        });
        tx.audit(
            case.map(super::CaseId),
            now,
            actor,
            "cancel-email",
            &format!(
                "outbox row {id} ({kind}, {}) cancelled: it will not be sent",
                status.as_str()
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(Cancel::Cancelled)
    }
}
