//! Changing an outbox row after it was queued: a failed row retried to a new address, and a
//! claimed row re-checked just before it is sent (items left out, or the row withdrawn).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{CaseId, Inner, OutboxKind, Store, StoreError, Tx};
use crate::domain::case::{Case, CaseRef};

/// A failed outbox row, as `rrn outbox retry` finds it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailedRow {
    #[sqlx(try_from = "String")]
    pub kind: OutboxKind,
    pub recipient: String,
    /// The email as the outbox keeps it (or, for a failure report, the report).
    pub email: String,
    pub case_id: Option<i64>,
}
impl Tx {
    /// The failed row `id`, held until the transaction ends.
    pub async fn failed_row(&mut self, id: i64) -> Result<Option<FailedRow>, StoreError> {
        Ok(on_backend!(&mut self.0, conn, PG => {
            sqlx::query_as(if PG {
                "SELECT kind, recipient, email, case_id FROM outbox \
                 WHERE id = $1 AND status = 'failed' FOR UPDATE"
            } else {
                "SELECT kind, recipient, email, case_id FROM outbox \
                 WHERE id = $1 AND status = 'failed'"
            })
            .bind(id)
            .fetch_optional(&mut **conn)
            .await?
        }))
    }

    /// Queues row `id` again from its first attempt, to `recipient` with `email` as its body.
    pub async fn requeue(
        &mut self,
        id: i64,
        recipient: &str,
        email: &str,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = created_at, \
                 recipient = $2, email = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(recipient)
            .bind(email)
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }

    /// Gives claimed row `id` a new recipient and body, if `owner` still holds it.
    pub async fn readdress_claimed(
        &mut self,
        id: i64,
        owner: &str,
        recipient: &str,
        email: &str,
    ) -> Result<bool, StoreError> {
        Ok(on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "UPDATE outbox SET recipient = $3, email = $4 \
                 WHERE id = $1 AND status = 'in_flight' AND claimed_by = $2",
            )
            .bind(id)
            .bind(owner)
            .bind(recipient)
            .bind(email)
            .execute(&mut **conn)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Withdraws claimed row `id` with the reason as its last error, if `owner` still holds it.
    pub async fn withdraw_claimed(
        &mut self,
        id: i64,
        owner: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        Ok(on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "UPDATE outbox SET status = 'cancelled', last_error = $3, claimed_by = NULL, \
                 lease_until = NULL WHERE id = $1 AND status = 'in_flight' AND claimed_by = $2",
            )
            .bind(id)
            .bind(owner)
            .bind(format!("withdrawn before sending: {reason}"))
            .execute(&mut **conn)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// Takes row `id` out of the queue for good, with the reason as its last error.
    pub async fn withdraw(&mut self, id: i64, reason: &str) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("UPDATE outbox SET status = 'cancelled', last_error = $2 WHERE id = $1")
                .bind(id)
                .bind(reason)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }
}

impl Store {
    /// The cases named in `references` as they stand now, with their row ids, by reference.
    pub async fn cases_now(
        &self,
        references: &[&CaseRef],
    ) -> Result<HashMap<String, (CaseId, Case)>, StoreError> {
        let mut tx = self.read().await?;
        let mut cases = HashMap::with_capacity(references.len());
        for reference in references {
            if let Some(found) = tx.case(reference, false).await? {
                cases.insert(reference.as_str().to_owned(), found);
            }
        }
        tx.rollback().await?;
        Ok(cases)
    }
    /// Records a claimed row's re-check before it is sent: its items that no longer hold left
    /// out (`body` is what remains), or, with no `body`, the row withdrawn (status cancelled,
    /// the reason as its last error); each left-out item in its case's audit log. `false` when
    /// the row is no longer this claimer's.
    pub async fn record_recheck(
        &self,
        id: i64,
        owner: &str,
        body: Option<&str>,
        left_out: &[(Option<CaseId>, String)],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let reason = left_out
            .iter()
            .map(|(_, why)| why.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let changed = on_backend!(&mut tx.0, conn, _PG => {
            match body {
                Some(body) => sqlx::query(
                    "UPDATE outbox SET email = $3 \
                     WHERE id = $1 AND status = 'in_flight' AND claimed_by = $2",
                )
                .bind(id)
                .bind(owner)
                .bind(body),
                None => sqlx::query(
                    "UPDATE outbox SET status = 'cancelled', last_error = $3, claimed_by = NULL, \
                     lease_until = NULL WHERE id = $1 AND status = 'in_flight' AND claimed_by = $2",
                )
                .bind(id)
                .bind(owner)
                .bind(format!("withdrawn before sending: {reason}")),
            }
            .execute(&mut **conn)
            .await?
            .rows_affected()
        });
        if changed != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        let action = if body.is_some() {
            "left-out"
        } else {
            "withdrawn"
        };
        for (case, why) in left_out {
            let detail = format!("outbox row {id}: {why}");
            tx.audit(*case, now, "rrn delivery", action, &detail)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
