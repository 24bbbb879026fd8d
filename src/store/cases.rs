//! A case and its audit trail: read, created and changed inside a [`Tx`], each change bumping
//! the revision counter.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{CaseId, Inner, NO_AGENCY, Store, StoreError, Tx, scan};
use crate::domain::agency::AgencyId;
use crate::domain::case::{AuditEntry, Case, CaseRef, CaseState, CompletionRecord};

impl Store {
    /// One case and its audit trail from one snapshot.
    pub async fn case_with_audit(
        &self,
        reference: &CaseRef,
    ) -> Result<Option<(Case, Vec<AuditEntry>)>, StoreError> {
        let mut tx = self.read().await?;
        let Some((id, case)) = tx.case(reference, false).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let audit = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query("SELECT at, actor, action, detail FROM audit_log WHERE case_id = $1 ORDER BY id")
                .bind(id.0)
                .fetch_all(&mut **conn)
                .await?
                .iter()
                .map(|row| {
                    Ok(AuditEntry {
                        at: row.try_get("at")?,
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        detail: row.try_get("detail")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        tx.rollback().await?;
        Ok(Some((case, audit)))
    }
    /// Every row of every case table in a stable text form, for comparing a database before and
    /// after a refused command, and for support.
    pub async fn dump(&self) -> Result<String, StoreError> {
        const QUERIES: [&str; 4] = [
            "SELECT reference || '|' || CAST(aware_on AS TEXT) || '|' || \
             COALESCE(CAST(day0_on AS TEXT), '-') || '|' || status || '|' || \
             COALESCE(closed_reason, '-') || '|' || CAST(local_review_proposed AS TEXT) || '|' || \
             CAST(created_at AS TEXT) || '|' || CAST(updated_at AS TEXT) AS line \
             FROM cases ORDER BY reference",
            "SELECT c.reference || '|' || a.agency_id || '|' || CAST(a.added_at AS TEXT) AS line \
             FROM case_agencies a JOIN cases c ON c.id = a.case_id \
             ORDER BY c.reference, a.agency_id",
            "SELECT c.reference || '|' || m.milestone_id || '|' || m.agency_id || '|' || \
             CAST(m.completed_on AS TEXT) || '|' || m.recorded_by || '|' || \
             CAST(m.recorded_at AS TEXT) || '|' || COALESCE(m.note, '-') AS line \
             FROM completions m JOIN cases c ON c.id = m.case_id \
             ORDER BY c.reference, m.milestone_id, m.agency_id",
            "SELECT CAST(id AS TEXT) || '|' || COALESCE(CAST(case_id AS TEXT), '-') || '|' || \
             CAST(at AS TEXT) || '|' || actor || '|' || action || '|' || detail AS line \
             FROM audit_log ORDER BY id",
        ];
        let mut out = String::new();
        let mut tx = self.read().await?;
        for (table, query) in ["cases", "case_agencies", "completions", "audit_log"]
            .into_iter()
            .zip(QUERIES)
        {
            out.push_str(&format!("[{table}]\n"));
            let lines: Vec<String> = on_backend!(&mut tx.0, conn, _PG => {
                sqlx::query_scalar(query).fetch_all(&mut **conn).await?
            });
            for line in lines {
                out.push_str(&line);
                out.push('\n');
            }
        }
        tx.rollback().await?;
        Ok(out)
    }
}

/// A new case as the business team opens it.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub reference: &'a CaseRef,
    pub aware: NaiveDate,
    pub day0: Option<NaiveDate>,
    pub local_review_proposed: bool,
}

impl Tx {
    /// Finds a case; with `lock`, holds its row until the transaction ends (PostgreSQL; an SQLite
    /// write transaction already excludes other writers).
    pub async fn case(
        &mut self,
        reference: &CaseRef,
        lock: bool,
    ) -> Result<Option<(CaseId, Case)>, StoreError> {
        // Without regard to case (migration 0011); of two cases an older database holds that
        // differ only in case, the spelling typed exactly, else the first.
        const SELECT: &str = "SELECT id, reference, aware_on, day0_on, status, closed_reason, \
             local_review_proposed, created_at, updated_at FROM cases \
             WHERE lower(reference) = $1 ORDER BY reference = $2 DESC, id LIMIT 1";
        const SELECT_FOR_UPDATE: &str = "SELECT id, reference, aware_on, day0_on, status, \
             closed_reason, local_review_proposed, created_at, updated_at FROM cases \
             WHERE lower(reference) = $1 ORDER BY reference = $2 DESC, id LIMIT 1 FOR UPDATE";
        on_backend!(&mut self.0, conn, PG => {
            let query = if PG && lock { SELECT_FOR_UPDATE } else { SELECT };
            let Some(row) = sqlx::query(query)
                .bind(reference.as_str().to_ascii_lowercase())
                .bind(reference.as_str())
                .fetch_optional(&mut **conn)
                .await?
            else {
                return Ok(None);
            };
            let id = CaseId(row.try_get("id")?);
            let mut case = scan::case_from_row(&row)?;
            let agencies: Vec<String> = sqlx::query_scalar(
                "SELECT agency_id FROM case_agencies WHERE case_id = $1 ORDER BY agency_id",
            )
            .bind(id.0)
            .fetch_all(&mut **conn)
            .await?;
            case.agencies = agencies
                .iter()
                .map(scan::agency)
                .collect::<Result<_, _>>()?;
            for row in sqlx::query(
                "SELECT case_id, milestone_id, agency_id, completed_on, recorded_by, recorded_at, \
                 note FROM completions WHERE case_id = $1 ORDER BY completed_on, milestone_id, \
                 agency_id",
            )
            .bind(id.0)
            .fetch_all(&mut **conn)
            .await?
            {
                case.completions.push(scan::completion_from_row(&row)?);
            }
            Ok(Some((id, case)))
        })
    }
    pub async fn insert_case(
        &mut self,
        case: &NewCase<'_>,
        now: DateTime<Utc>,
    ) -> Result<CaseId, StoreError> {
        let id = on_backend!(&mut self.0, conn, _PG => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO cases (reference, aware_on, day0_on, status, local_review_proposed, \
                 created_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $5) RETURNING id",
            )
            .bind(case.reference.as_str())
            .bind(case.aware)
            .bind(case.day0)
            .bind(case.local_review_proposed)
            .bind(now)
            .fetch_one(&mut **conn)
            .await?;
            CaseId(id)
        });
        self.bump_revision(id).await?;
        Ok(id)
    }
    /// Takes the next value of the revision counter for a changed case, in this transaction, so
    /// runs and the daemon can tell which cases changed since they last looked.
    async fn bump_revision(&mut self, case: CaseId) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("UPDATE revision_counter SET value = value + 1 WHERE id = 1")
                .execute(&mut **conn)
                .await?;
            sqlx::query(
                "UPDATE cases SET revision = (SELECT value FROM revision_counter WHERE id = 1) \
                 WHERE id = $1",
            )
            .bind(case.0)
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }
    pub async fn add_agency(
        &mut self,
        case: CaseId,
        agency: &AgencyId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("INSERT INTO case_agencies (case_id, agency_id, added_at) VALUES ($1, $2, $3)")
                .bind(case.0)
                .bind(agency.as_str())
                .bind(now)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }
    pub async fn insert_completion(
        &mut self,
        case: CaseId,
        completion: &CompletionRecord,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO completions (case_id, milestone_id, agency_id, completed_on, \
                 recorded_by, recorded_at, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(case.0)
            .bind(&completion.milestone)
            .bind(completion.agency.as_ref().map_or(NO_AGENCY, AgencyId::as_str))
            .bind(completion.completed_on)
            .bind(&completion.recorded_by)
            .bind(completion.recorded_at)
            .bind(&completion.note)
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }
    /// Deletes a completion; false when there was none.
    pub async fn delete_completion(
        &mut self,
        case: CaseId,
        milestone: &str,
        agency: Option<&AgencyId>,
    ) -> Result<bool, StoreError> {
        let deleted = on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "DELETE FROM completions WHERE case_id = $1 AND milestone_id = $2 AND agency_id = $3",
            )
            .bind(case.0)
            .bind(milestone)
            .bind(agency.map_or(NO_AGENCY, AgencyId::as_str))
            .execute(&mut **conn)
            .await?
            .rows_affected()
        });
        Ok(deleted > 0)
    }
    /// Sets day 0, the state and the local-review flag, and the updated time.
    pub async fn update_case(
        &mut self,
        case: CaseId,
        day0: Option<NaiveDate>,
        state: &CaseState,
        local_review_proposed: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (status, reason) = match state {
            CaseState::Open => ("open", None),
            CaseState::Closed(reason) => ("closed", Some(reason.as_str())),
        };
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "UPDATE cases SET day0_on = $2, status = $3, closed_reason = $4, \
                 local_review_proposed = $5, updated_at = $6 WHERE id = $1",
            )
            .bind(case.0)
            .bind(day0)
            .bind(status)
            .bind(reason)
            .bind(local_review_proposed)
            .bind(now)
            .execute(&mut **conn)
            .await?;
        });
        self.bump_revision(case).await
    }
    /// Appends to the audit log.
    pub async fn audit(
        &mut self,
        case: Option<CaseId>,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO audit_log (case_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(case.map(|c| c.0))
            .bind(at)
            .bind(actor)
            .bind(action)
            .bind(detail)
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }
}
impl Tx {
    pub async fn remove_agency(
        &mut self,
        case: CaseId,
        agency: &AgencyId,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("DELETE FROM case_agencies WHERE case_id = $1 AND agency_id = $2")
                .bind(case.0)
                .bind(agency.as_str())
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }
}
