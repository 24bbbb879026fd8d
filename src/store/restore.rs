//! Every fact of every case, read out whole ([`Store::export_cases`]) and written back
//! ([`Tx::restore_cases`]): the full-fidelity export and import, and moving between backends.
//!
//! Reading goes a page of cases at a time from one snapshot, a query per table per page (never
//! per case). Writing is a statement per table per chunk of cases, the rows handed over as one
//! JSON array (SQLite's `json_each`, PostgreSQL's `jsonb_array_elements`), as the CSV import does.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::Row;

use super::{Inner, NO_AGENCY, StatusFilter, Store, StoreError, Tx, log, next_ids_postgres, scan};
use crate::domain::case::{AuditEntry, CaseState};
use crate::domain::record::{AgencyRecord, CaseRecord, LogRecord};

/// Cases read per page of an export.
const CASES_PER_PAGE: i64 = 500;
/// Cases written per statement of a restore.
const CASES_PER_STATEMENT: usize = 1_000;

const CASES: &str = "SELECT id, reference, aware_on, day0_on, status, closed_reason, \
     local_review_proposed, created_at, updated_at FROM cases \
     WHERE id > $1 AND status IN ($2, $3) ORDER BY id LIMIT $4";
const AGENCIES: &str = "SELECT case_id, agency_id, added_at FROM case_agencies \
     WHERE case_id >= $1 AND case_id <= $2 ORDER BY case_id, agency_id";
/// In the order `Tx::case` reads them, so a restored case shows the same.
const COMPLETIONS: &str = "SELECT case_id, milestone_id, agency_id, completed_on, recorded_by, \
     recorded_at, note FROM completions WHERE case_id >= $1 AND case_id <= $2 \
     ORDER BY case_id, completed_on, milestone_id, agency_id";
const AUDIT: &str = "SELECT case_id, at, actor, action, detail FROM audit_log \
     WHERE case_id >= $1 AND case_id <= $2 ORDER BY case_id, id";
/// The log's decisions, except those of emails still waiting or failed: those were not sent,
/// so the database they are restored into must plan them again (to today's recipient) rather
/// than believe them sent. A sent or cancelled (withdrawn) email's keys stay decided.
const NOTIFICATIONS: &str = "SELECT l.case_id, l.key, l.decision, l.reason, l.decided_at \
     FROM notification_log l LEFT JOIN outbox o ON o.id = l.outbox_id \
     WHERE l.case_id >= $1 AND l.case_id <= $2 \
     AND (o.id IS NULL OR o.status IN ('sent', 'cancelled')) ORDER BY l.case_id, l.id";

/// One case to restore, and the audit entry that records its restoring.
#[derive(Debug, Clone)]
pub struct RestoredCase<'a> {
    pub record: &'a CaseRecord,
    /// The detail of the `import` entry appended after the case's own audit trail.
    pub detail: String,
}

impl Store {
    /// Calls `visit` with every case that matches `filter`, whole, in the order they were
    /// opened, all from one snapshot; memory holds a page of cases.
    pub async fn export_cases(
        &self,
        filter: StatusFilter,
        mut visit: impl FnMut(CaseRecord),
    ) -> Result<(), StoreError> {
        let (a, b) = filter.statuses();
        let mut tx = self.read().await?;
        let mut after = 0i64;
        loop {
            let page = on_backend!(&mut tx.0, conn, _PG => {
                let rows = sqlx::query(CASES)
                    .bind(after)
                    .bind(a)
                    .bind(b)
                    .bind(CASES_PER_PAGE)
                    .fetch_all(&mut **conn)
                    .await?;
                let mut ids = Vec::with_capacity(rows.len());
                let mut records = Vec::with_capacity(rows.len());
                for row in &rows {
                    ids.push(row.try_get::<i64, _>("id")?);
                    let case = scan::case_from_row(row)?;
                    records.push(CaseRecord {
                        reference: case.reference,
                        aware: case.aware,
                        day0: case.day0,
                        state: case.state,
                        local_review_proposed: case.local_review_proposed,
                        created_at: case.created_at,
                        updated_at: case.updated_at,
                        agencies: Vec::new(),
                        completions: Vec::new(),
                        audit: Vec::new(),
                        notifications: Vec::new(),
                    });
                }
                if let (Some(&first), Some(&last)) = (ids.first(), ids.last()) {
                    let index: HashMap<i64, usize> =
                        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
                    // The rows of cases between `first` and `last` that the filter left out
                    // are read too, and dropped here.
                    let of = |row: &_| -> Result<Option<usize>, StoreError> {
                        let id: i64 = sqlx::Row::try_get(row, "case_id")?;
                        Ok(index.get(&id).copied())
                    };
                    for row in sqlx::query(AGENCIES).bind(first).bind(last).fetch_all(&mut **conn).await? {
                        if let Some(i) = of(&row)? {
                            let agency: String = row.try_get("agency_id")?;
                            records[i].agencies.push(AgencyRecord {
                                agency: scan::agency(agency)?,
                                added_at: row.try_get("added_at")?,
                            });
                        }
                    }
                    for row in sqlx::query(COMPLETIONS).bind(first).bind(last).fetch_all(&mut **conn).await? {
                        if let Some(i) = of(&row)? {
                            records[i].completions.push(scan::completion_from_row(&row)?);
                        }
                    }
                    for row in sqlx::query(AUDIT).bind(first).bind(last).fetch_all(&mut **conn).await? {
                        if let Some(i) = of(&row)? {
                            records[i].audit.push(AuditEntry {
                                at: row.try_get("at")?,
                                actor: row.try_get("actor")?,
                                action: row.try_get("action")?,
                                detail: row.try_get("detail")?,
                            });
                        }
                    }
                    for row in sqlx::query(NOTIFICATIONS).bind(first).bind(last).fetch_all(&mut **conn).await? {
                        if let Some(i) = of(&row)? {
                            let decision: String = row.try_get("decision")?;
                            records[i].notifications.push(LogRecord {
                                key: row.try_get("key")?,
                                decision: decision.parse().map_err(|_| {
                                    StoreError::Corrupt(format!("log decision `{decision}`"))
                                })?,
                                reason: row.try_get("reason")?,
                                decided_at: row.try_get("decided_at")?,
                            });
                        }
                    }
                }
                (ids.last().copied(), records)
            });
            let (last, records) = page;
            let full = records.len() as i64 == CASES_PER_PAGE;
            records.into_iter().for_each(&mut visit);
            match last {
                Some(last) if full => after = last,
                _ => break,
            }
        }
        tx.rollback().await?;
        Ok(())
    }
}

impl Tx {
    /// How many cases the database holds.
    pub async fn case_count(&mut self) -> Result<i64, StoreError> {
        Ok(on_backend!(&mut self.0, conn, _PG => {
            sqlx::query_scalar("SELECT count(*) FROM cases")
                .fetch_one(&mut **conn)
                .await?
        }))
    }

    /// Writes every case back as it was (its row with its created and updated times, agencies,
    /// completions with who recorded them and when, its audit trail, its notification log),
    /// then an `import` audit entry per case by `actor` at `now`. The references must be new;
    /// the cases all take one new value of the revision counter, so the next run looks at each
    /// whole (and finds what was sent in the log).
    pub async fn restore_cases(
        &mut self,
        cases: &[RestoredCase<'_>],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if cases.is_empty() {
            return Ok(());
        }
        let revision: i64 = on_backend!(&mut self.0, conn, _PG => {
            sqlx::query_scalar(
                "UPDATE revision_counter SET value = value + 1 WHERE id = 1 RETURNING value",
            )
            .fetch_one(&mut **conn)
            .await?
        });
        let ids: Vec<i64> = match &mut self.0 {
            // BEGIN IMMEDIATE holds the write lock, so no one else takes these ids.
            Inner::Sqlite(conn) => {
                let last: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM cases")
                    .fetch_one(&mut **conn)
                    .await?;
                (last + 1..).take(cases.len()).collect()
            }
            Inner::Postgres(conn) => next_ids_postgres(conn, "cases", cases.len()).await?,
        };
        let pg = matches!(self.0, Inner::Postgres(_));
        for (ids, chunk) in ids
            .chunks(CASES_PER_STATEMENT)
            .zip(cases.chunks(CASES_PER_STATEMENT))
        {
            let rows = Rows::of(ids, chunk, actor, now, pg);
            on_backend!(&mut self.0, conn, PG => {
                sqlx::query(if PG { CASES_PG } else { CASES_SQLITE })
                    .bind(serde_json::Value::Array(rows.cases).to_string())
                    .bind(revision)
                    .execute(&mut **conn)
                    .await?;
                for (sql, rows) in [
                    (if PG { AGENCIES_PG } else { AGENCIES_SQLITE }, rows.agencies),
                    (if PG { COMPLETIONS_PG } else { COMPLETIONS_SQLITE }, rows.completions),
                    (if PG { AUDIT_PG } else { AUDIT_SQLITE }, rows.audit),
                    (if PG { LOG_PG } else { LOG_SQLITE }, rows.log),
                ] {
                    sqlx::query(sql)
                        .bind(serde_json::Value::Array(rows).to_string())
                        .execute(&mut **conn)
                        .await?;
                }
            });
        }
        Ok(())
    }
}

/// Each table's rows for a chunk of cases, as JSON arrays in the columns' order. Instants are
/// written as sqlx would bind them ([`time`]), so a restored row reads back as the original did.
struct Rows {
    cases: Vec<serde_json::Value>,
    agencies: Vec<serde_json::Value>,
    completions: Vec<serde_json::Value>,
    audit: Vec<serde_json::Value>,
    log: Vec<serde_json::Value>,
}

impl Rows {
    fn of(
        ids: &[i64],
        cases: &[RestoredCase<'_>],
        actor: &str,
        now: DateTime<Utc>,
        pg: bool,
    ) -> Self {
        use serde_json::json;
        let time = |at: DateTime<Utc>| time(at, pg);
        let now = time(now);
        let date = |d: NaiveDate| d.to_string();
        let mut rows = Rows {
            cases: Vec::with_capacity(cases.len()),
            agencies: Vec::new(),
            completions: Vec::new(),
            audit: Vec::new(),
            log: Vec::new(),
        };
        for (&id, case) in ids.iter().zip(cases) {
            let r = case.record;
            let (status, reason) = match &r.state {
                CaseState::Open => ("open", None),
                CaseState::Closed(reason) => ("closed", Some(reason.as_str())),
            };
            rows.cases.push(json!([
                id,
                r.reference.as_str(),
                date(r.aware),
                r.day0.map(date),
                status,
                reason,
                r.local_review_proposed,
                time(r.created_at),
                time(r.updated_at),
            ]));
            for a in &r.agencies {
                rows.agencies
                    .push(json!([id, a.agency.as_str(), time(a.added_at)]));
            }
            for c in &r.completions {
                rows.completions.push(json!([
                    id,
                    c.milestone,
                    c.agency.as_ref().map_or(NO_AGENCY, |a| a.as_str()),
                    date(c.completed_on),
                    c.recorded_by,
                    time(c.recorded_at),
                    c.note,
                ]));
            }
            for e in &r.audit {
                rows.audit
                    .push(json!([id, time(e.at), e.actor, e.action, e.detail]));
            }
            rows.audit
                .push(json!([id, now, actor, "import", case.detail]));
            for l in &r.notifications {
                let decision: &str = l.decision.into();
                rows.log.push(json!([
                    id,
                    log::key_hash(&l.key),
                    l.key,
                    decision,
                    l.reason,
                    time(l.decided_at),
                ]));
            }
        }
        rows
    }
}

/// An instant as sqlx writes one: on SQLite as it is, on PostgreSQL cut to the microseconds
/// it keeps (PostgreSQL would round the text's nanoseconds; sqlx truncates them).
fn time(at: DateTime<Utc>, pg: bool) -> String {
    use chrono::SubsecRound as _;
    if pg {
        at.trunc_subsecs(6)
            .to_rfc3339_opts(SecondsFormat::AutoSi, false)
    } else {
        at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
    }
}

// `$1`: the JSON array of rows; for the cases, `$2`: their revision.
const CASES_SQLITE: &str = "INSERT INTO cases (id, reference, aware_on, day0_on, status, \
     closed_reason, local_review_proposed, created_at, updated_at, revision) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8, $2 FROM json_each($1)";
const CASES_PG: &str = "INSERT INTO cases (id, reference, aware_on, day0_on, status, \
     closed_reason, local_review_proposed, created_at, updated_at, revision) \
     OVERRIDING SYSTEM VALUE \
     SELECT (e ->> 0)::bigint, e ->> 1, (e ->> 2)::date, (e ->> 3)::date, e ->> 4, e ->> 5, \
     (e ->> 6)::boolean, (e ->> 7)::timestamptz, (e ->> 8)::timestamptz, $2 \
     FROM jsonb_array_elements($1::jsonb) AS e";
const AGENCIES_SQLITE: &str = "INSERT INTO case_agencies (case_id, agency_id, added_at) \
     SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each($1)";
const AGENCIES_PG: &str = "INSERT INTO case_agencies (case_id, agency_id, added_at) \
     SELECT (e ->> 0)::bigint, e ->> 1, (e ->> 2)::timestamptz \
     FROM jsonb_array_elements($1::jsonb) AS e";
const COMPLETIONS_SQLITE: &str = "INSERT INTO completions (case_id, milestone_id, agency_id, \
     completed_on, recorded_by, recorded_at, note) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6 FROM json_each($1)";
const COMPLETIONS_PG: &str = "INSERT INTO completions (case_id, milestone_id, agency_id, \
     completed_on, recorded_by, recorded_at, note) \
     SELECT (e ->> 0)::bigint, e ->> 1, e ->> 2, (e ->> 3)::date, e ->> 4, \
     (e ->> 5)::timestamptz, e ->> 6 \
     FROM jsonb_array_elements($1::jsonb) AS e";
/// In the array's order: the audit log's ids keep each case's entries in order.
const AUDIT_SQLITE: &str = "INSERT INTO audit_log (case_id, at, actor, action, detail) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 \
     FROM json_each($1) ORDER BY key";
const AUDIT_PG: &str = "INSERT INTO audit_log (case_id, at, actor, action, detail) \
     SELECT (e ->> 0)::bigint, (e ->> 1)::timestamptz, e ->> 2, e ->> 3, e ->> 4 \
     FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t (e, n) \
     ORDER BY n";
const LOG_SQLITE: &str = "INSERT INTO notification_log (case_id, key_hash, key, decision, \
     reason, decided_at) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 \
     FROM json_each($1) ORDER BY key";
const LOG_PG: &str = "INSERT INTO notification_log (case_id, key_hash, key, decision, reason, \
     decided_at) \
     SELECT (e ->> 0)::bigint, (e ->> 1)::bigint, e ->> 2, e ->> 3, e ->> 4, \
     (e ->> 5)::timestamptz \
     FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t (e, n) \
     ORDER BY n";
