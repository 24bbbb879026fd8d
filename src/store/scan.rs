//! Reading many cases at once: one row per case, its agencies and completions kept folded into
//! it by the database's triggers, so a listing costs one query and one row per case whatever the
//! number of cases, and memory holds one case at a time.

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Row, Sqlite};

use super::{NO_AGENCY, Store, StoreError};
use crate::domain::agency::AgencyId;
use crate::domain::case::{Case, CaseOverview, CaseRef, CaseState, CompletionRecord};
use crate::domain::timeline::{CaseFacts, Completion};

/// Which cases a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    Closed,
    All,
}

impl StatusFilter {
    pub(super) fn statuses(self) -> (&'static str, &'static str) {
        match self {
            StatusFilter::Open => ("open", "open"),
            StatusFilter::Closed => ("closed", "closed"),
            StatusFilter::All => ("open", "closed"),
        }
    }
}

/// Agencies as `a;b`, completions as `milestone|agency|date;…` (ids cannot contain `|` or `;`),
/// as the case row keeps them (migration 0006).
const OVERVIEW: &str = "SELECT c.reference, c.aware_on, c.day0_on, c.status, \
     c.closed_reason, c.local_review_proposed, c.created_at, c.revision, \
     c.agencies_line AS agencies, c.completions_line AS completions \
     FROM cases c WHERE c.status IN ($1, $2) ORDER BY c.id";

/// A page of open cases after a row id, in id order. One status, so the index on
/// (status, id) gives the order and the page stops after `limit` rows; with `IN (…)` SQLite
/// sorted every remaining case for every page.
fn paged(sql: &str) -> String {
    sql.replace("SELECT c.reference", "SELECT c.id, c.reference")
        .replace(
            "WHERE c.status IN ($1, $2) ORDER BY c.id",
            "WHERE c.status = 'open' AND c.id > $1 ORDER BY c.id LIMIT $2",
        )
}

/// Reads open cases page by page on one connection. One connection keeps SQLite's page cache
/// warm from page to page: pages read through the pool's four connections in turn read twelve
/// times the pages (420,000 instead of 33,000 for 100,000 cases).
pub enum CaseReader {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl CaseReader {
    /// Up to `limit` open cases, opened after the case with row id `after` (0 for the first
    /// page), each with its row id for the next page. Memory holds one page.
    pub async fn page(
        &mut self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, CaseOverview)>, StoreError> {
        macro_rules! page {
            ($conn:expr, $sql:expr) => {{
                let sql = paged($sql);
                debug_assert!(sql.contains("LIMIT $2"), "{sql}");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&mut **$conn)
                    .await?;
                // Decoded on a thread of its own, while the caller plans the page before.
                tokio::task::spawn_blocking(move || {
                    rows.iter()
                        .map(|row| Ok((row.try_get("id")?, overview_from_row(row)?)))
                        .collect()
                })
                .await
                .expect("decoding cases does not panic")
            }};
        }
        match self {
            CaseReader::Sqlite(conn) => page!(conn, OVERVIEW),
            CaseReader::Postgres(conn) => page!(conn, OVERVIEW),
        }
    }
}

impl Store {
    /// A reader of open cases a page at a time, on a connection of its own.
    pub async fn open_cases(&self) -> Result<CaseReader, StoreError> {
        Ok(match self {
            Store::Sqlite(pool) => CaseReader::Sqlite(pool.acquire().await?),
            Store::Postgres(pool) => CaseReader::Postgres(pool.acquire().await?),
        })
    }

    /// Calls `visit` with every case that matches `filter`, in the order they were opened.
    pub async fn scan_cases(
        &self,
        filter: StatusFilter,
        mut visit: impl FnMut(CaseOverview),
    ) -> Result<(), StoreError> {
        let (a, b) = filter.statuses();
        macro_rules! scan {
            ($pool:expr, $sql:expr) => {{
                let mut rows = sqlx::query($sql).bind(a).bind(b).fetch($pool);
                while let Some(row) = rows.try_next().await? {
                    visit(overview_from_row(&row)?);
                }
                Ok(())
            }};
        }
        match self {
            Store::Sqlite(pool) => scan!(pool, OVERVIEW),
            Store::Postgres(pool) => scan!(pool, OVERVIEW),
        }
    }
}

/// Decodes the columns a case's own row holds; both backends decode these the same way.
macro_rules! decode_case_columns {
    ($row:expr) => {{
        let row = $row;
        let reference: String = row.try_get("reference")?;
        let status: String = row.try_get("status")?;
        let state = match status.as_str() {
            "open" => CaseState::Open,
            "closed" => CaseState::Closed(
                row.try_get::<Option<String>, _>("closed_reason")?
                    .unwrap_or_default(),
            ),
            other => return Err(StoreError::Corrupt(format!("case status `{other}`"))),
        };
        let reference =
            CaseRef::parse(&reference).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let aware: NaiveDate = row.try_get("aware_on")?;
        let day0: Option<NaiveDate> = row.try_get("day0_on")?;
        let local_review_proposed: bool = row.try_get("local_review_proposed")?;
        (reference, state, aware, day0, local_review_proposed)
    }};
}

pub(super) fn overview_from_row<R: Row>(row: &R) -> Result<CaseOverview, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> chrono::DateTime<chrono::Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let (reference, state, aware, day0, local_review_proposed) = decode_case_columns!(row);
    let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of case {reference}"));
    let agencies_text: Option<String> = row.try_get("agencies")?;
    let mut agencies = agencies_text
        .as_deref()
        .unwrap_or_default()
        .split(';')
        .filter(|a| !a.is_empty())
        .map(|a| AgencyId::parse(a).map_err(|_| corrupt("an agency")))
        .collect::<Result<Vec<_>, _>>()?;
    agencies.sort();
    let completions_text: Option<String> = row.try_get("completions")?;
    let completions = completions_text
        .as_deref()
        .unwrap_or_default()
        .split(';')
        .filter(|c| !c.is_empty())
        .map(|c| {
            let mut parts = c.split('|');
            let (Some(milestone), Some(agency), Some(on), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(corrupt("a completion"));
            };
            Ok(Completion {
                milestone: milestone.to_owned(),
                agency: match agency {
                    NO_AGENCY => None,
                    id => Some(AgencyId::parse(id).map_err(|_| corrupt("a completion"))?),
                },
                on: parse_iso_date(on).ok_or_else(|| corrupt("a completion"))?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let opened_at: chrono::DateTime<chrono::Utc> = row.try_get("created_at")?;
    Ok(CaseOverview {
        reference,
        state,
        opened_on: opened_at.date_naive(),
        revision: row.try_get("revision")?,
        facts: CaseFacts {
            aware: Some(aware),
            day0,
            agencies,
            completions,
            local_review_proposed,
        },
    })
}

/// `YYYY-MM-DD`, without chrono's general format machinery (this runs once per completion in
/// every listing).
fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes[range].iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)
}

pub(super) fn case_from_row<R: Row>(row: &R) -> Result<Case, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> chrono::DateTime<chrono::Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let (reference, state, aware, day0, local_review_proposed) = decode_case_columns!(row);
    Ok(Case {
        reference,
        aware,
        day0,
        state,
        local_review_proposed,
        agencies: Vec::new(),
        completions: Vec::new(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn completion_from_row<R: Row>(row: &R) -> Result<CompletionRecord, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> chrono::DateTime<chrono::Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let agency_id: String = row.try_get("agency_id")?;
    Ok(CompletionRecord {
        milestone: row.try_get("milestone_id")?,
        agency: if agency_id == NO_AGENCY {
            None
        } else {
            Some(agency(agency_id)?)
        },
        completed_on: row.try_get("completed_on")?,
        recorded_by: row.try_get("recorded_by")?,
        recorded_at: row.try_get("recorded_at")?,
        note: row.try_get("note")?,
    })
}

pub(super) fn agency(id: impl AsRef<str>) -> Result<AgencyId, StoreError> {
    AgencyId::parse(id.as_ref()).map_err(|e| StoreError::Corrupt(e.to_string()))
}
