//! Many cases in one transaction (CSV import): references checked in bulk, rows inserted a few
//! hundred per statement.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Inner, NO_AGENCY, NewCase, StoreError, Tx, next_ids_postgres};
use crate::domain::agency::AgencyId;
use crate::domain::case::CaseRef;

/// Cases handed to SQLite per statement: a JSON array of a few hundred kB each.
const CASES_PER_STATEMENT: usize = 5_000;
/// One case of a bulk opening with the rows opening it writes besides the case row.
#[derive(Debug, Clone)]
pub struct NewCaseRows<'a> {
    pub case: NewCase<'a>,
    pub agencies: &'a [AgencyId],
    /// The audit log's `open` entry for the case.
    pub detail: String,
}
/// What every case of a bulk opening shares.
#[derive(Debug, Clone, Copy)]
pub struct Opened<'a> {
    /// The case-level milestone that records day 0, when a case has one.
    pub day0_milestone: &'a str,
    pub day0_note: &'a str,
    pub actor: &'a str,
    /// The cases' created and updated time (the command's date).
    pub dated: DateTime<Utc>,
    /// The real time: agencies added, day 0 recorded, audit entries.
    pub now: DateTime<Utc>,
}

impl Tx {
    /// The references among `references` that already name a case without regard to case,
    /// each with the spelling the case has, in one query whatever their number (an import
    /// checks all its rows at once).
    pub async fn existing_references(
        &mut self,
        references: &[&CaseRef],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let stored: std::collections::HashMap<String, String> = self
            .case_ids(references)
            .await?
            .into_keys()
            .map(|r| (r.to_ascii_lowercase(), r))
            .collect();
        Ok(references
            .iter()
            .filter_map(|r| {
                let found = stored.get(&r.as_str().to_ascii_lowercase())?;
                Some((r.as_str().to_owned(), found.clone()))
            })
            .collect())
    }

    /// The row ids of the cases named in `references` (without regard to case), by the
    /// reference each case has, in one query.
    pub async fn case_ids(
        &mut self,
        references: &[&CaseRef],
    ) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        let names: Vec<String> = references
            .iter()
            .map(|r| r.as_str().to_ascii_lowercase())
            .collect();
        let rows: Vec<(String, i64)> = match &mut self.0 {
            Inner::Sqlite(conn) => {
                sqlx::query_as(
                    "SELECT reference, id FROM cases WHERE lower(reference) IN \
                     (SELECT value FROM json_each($1))",
                )
                .bind(serde_json::to_string(&names).expect("strings serialise"))
                .fetch_all(&mut **conn)
                .await?
            }
            Inner::Postgres(conn) => {
                sqlx::query_as(
                    "SELECT reference, id FROM cases WHERE lower(reference) = ANY($1::text[])",
                )
                .bind(&names)
                .fetch_all(&mut **conn)
                .await?
            }
        };
        Ok(rows.into_iter().collect())
    }

    /// Opens many cases with a few statements per [`CASES_PER_STATEMENT`] instead of several
    /// per case: the same rows, ids and audit entries as opening them one by one in this order,
    /// except that they all take one new value of the revision counter. That is enough for the
    /// daemon and the next run, which only ask whether a case's revision is newer than what they
    /// last saw. The references must be new (see [`Tx::existing_references`]).
    pub async fn insert_cases(
        &mut self,
        cases: &[NewCaseRows<'_>],
        opened: &Opened<'_>,
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
        match &mut self.0 {
            Inner::Sqlite(conn) => insert_cases_sqlite(conn, cases, opened, revision).await,
            Inner::Postgres(conn) => insert_cases_postgres(conn, cases, opened, revision).await,
        }
    }
}

/// [`Tx::insert_cases`] on SQLite: each chunk's rows as one JSON array per table. Each case
/// row is written with its agency and completion lines (the lines migration 0006's triggers
/// keep), and the insert triggers stand aside meanwhile (migration 0009): run for each agency
/// and completion, they rewrote every case row three or four times, more than half the import.
async fn insert_cases_sqlite(
    conn: &mut sqlx::SqliteConnection,
    cases: &[NewCaseRows<'_>],
    opened: &Opened<'_>,
    revision: i64,
) -> Result<(), StoreError> {
    // BEGIN IMMEDIATE holds the write lock, so no one else takes these ids; an
    // INTEGER PRIMARY KEY without AUTOINCREMENT would take the same (max + 1).
    let last: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM cases")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO case_lines_written (id) VALUES (1)")
        .execute(&mut *conn)
        .await?;
    for (n, chunk) in cases.chunks(CASES_PER_STATEMENT).enumerate() {
        let first = last + 1 + (n * CASES_PER_STATEMENT) as i64;
        let mut rows = Vec::with_capacity(chunk.len());
        let mut agencies = Vec::new();
        let mut day0s = Vec::new();
        let mut audits = Vec::with_capacity(chunk.len());
        for (id, c) in (first..).zip(chunk) {
            rows.push((
                id,
                c.case.reference.as_str(),
                c.case.aware,
                c.case.day0,
                c.case.local_review_proposed,
                agencies_line(c.agencies),
                c.case.day0.map_or_else(String::new, |day0| {
                    completions_line(opened.day0_milestone, day0)
                }),
            ));
            agencies.extend(c.agencies.iter().map(|agency| (id, agency.as_str())));
            if let Some(day0) = c.case.day0 {
                day0s.push((id, day0));
            }
            audits.push((id, c.detail.as_str()));
        }
        sqlx::query(
            "INSERT INTO cases (id, reference, aware_on, day0_on, status, \
                 local_review_proposed, created_at, updated_at, revision, agencies_line, \
                 completions_line) \
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'open', \
                 value ->> 4, $2, $2, $3, value ->> 5, value ->> 6 FROM json_each($1)",
        )
        .bind(json(&rows))
        .bind(opened.dated)
        .bind(revision)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO case_agencies (case_id, agency_id, added_at) \
                 SELECT value ->> 0, value ->> 1, $2 FROM json_each($1)",
        )
        .bind(json(&agencies))
        .bind(opened.now)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO completions (case_id, milestone_id, agency_id, \
                 completed_on, recorded_by, recorded_at, note) \
                 SELECT value ->> 0, $2, $3, value ->> 1, $4, $5, $6 FROM json_each($1)",
        )
        .bind(json(&day0s))
        .bind(opened.day0_milestone)
        .bind(NO_AGENCY)
        .bind(opened.actor)
        .bind(opened.now)
        .bind(opened.day0_note)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO audit_log (case_id, at, actor, action, detail) \
                 SELECT value ->> 0, $2, $3, 'open', value ->> 1 FROM json_each($1)",
        )
        .bind(json(&audits))
        .bind(opened.now)
        .bind(opened.actor)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("DELETE FROM case_lines_written")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Rows as a JSON array of arrays (tuples serialise as arrays, dates as `YYYY-MM-DD`), written
/// straight from the values without building a `serde_json::Value` per field.
fn json(rows: &impl serde::Serialize) -> String {
    serde_json::to_string(rows).expect("ids, strings, dates and booleans serialise")
}

/// A new case's agency line as migration 0006's trigger writes it: the ids in the table's key
/// order (`agencies` are sorted and unique), joined by `;`.
fn agencies_line(agencies: &[AgencyId]) -> String {
    debug_assert!(agencies.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
    let ids: Vec<&str> = agencies.iter().map(AgencyId::as_str).collect();
    ids.join(";")
}

/// A new case's completion line when it opens with day 0: its one completion as migration
/// 0006's trigger writes it (`milestone|agency|date`, the agency empty for a case's own).
fn completions_line(day0_milestone: &str, day0: NaiveDate) -> String {
    format!("{day0_milestone}|{NO_AGENCY}|{day0}")
}

/// [`Tx::insert_cases`] on PostgreSQL: the ids taken from the sequence up front, each table's
/// rows as arrays to `unnest`.
async fn insert_cases_postgres(
    conn: &mut sqlx::PgConnection,
    cases: &[NewCaseRows<'_>],
    opened: &Opened<'_>,
    revision: i64,
) -> Result<(), StoreError> {
    let ids = next_ids_postgres(conn, "cases", cases.len()).await?;
    sqlx::query(
        "INSERT INTO cases (id, reference, aware_on, day0_on, status, \
             local_review_proposed, created_at, updated_at, revision) \
             OVERRIDING SYSTEM VALUE \
             SELECT id, reference, aware, day0, 'open', proposed, $6, $6, $7 \
             FROM unnest($1::bigint[], $2::text[], $3::date[], $4::date[], \
             $5::boolean[]) AS c (id, reference, aware, day0, proposed)",
    )
    .bind(&ids)
    .bind(
        cases
            .iter()
            .map(|c| c.case.reference.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(cases.iter().map(|c| c.case.aware).collect::<Vec<_>>())
    .bind(cases.iter().map(|c| c.case.day0).collect::<Vec<_>>())
    .bind(
        cases
            .iter()
            .map(|c| c.case.local_review_proposed)
            .collect::<Vec<_>>(),
    )
    .bind(opened.dated)
    .bind(revision)
    .execute(&mut *conn)
    .await?;
    let (agency_cases, agencies): (Vec<i64>, Vec<&str>) = ids
        .iter()
        .zip(cases)
        .flat_map(|(id, c)| c.agencies.iter().map(|a| (*id, a.as_str())))
        .unzip();
    sqlx::query(
        "INSERT INTO case_agencies (case_id, agency_id, added_at) \
             SELECT case_id, agency_id, $3 \
             FROM unnest($1::bigint[], $2::text[]) AS a (case_id, agency_id)",
    )
    .bind(&agency_cases)
    .bind(&agencies)
    .bind(opened.now)
    .execute(&mut *conn)
    .await?;
    let (day0_cases, day0s): (Vec<i64>, Vec<NaiveDate>) = ids
        .iter()
        .zip(cases)
        .filter_map(|(id, c)| c.case.day0.map(|day0| (*id, day0)))
        .unzip();
    sqlx::query(
        "INSERT INTO completions (case_id, milestone_id, agency_id, completed_on, \
             recorded_by, recorded_at, note) \
             SELECT case_id, $3, $4, completed_on, $5, $6, $7 \
             FROM unnest($1::bigint[], $2::date[]) AS m (case_id, completed_on)",
    )
    .bind(&day0_cases)
    .bind(&day0s)
    .bind(opened.day0_milestone)
    .bind(NO_AGENCY)
    .bind(opened.actor)
    .bind(opened.now)
    .bind(opened.day0_note)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO audit_log (case_id, at, actor, action, detail) \
             SELECT case_id, $3, $4, 'open', detail \
             FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY \
             AS e (case_id, detail, n) ORDER BY n",
    )
    .bind(&ids)
    .bind(cases.iter().map(|c| c.detail.as_str()).collect::<Vec<_>>())
    .bind(opened.now)
    .bind(opened.actor)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
