//! Reading many cases at once: each table is read once, in case order, and the three streams are
//! merged case by case, so memory holds one case at a time whatever the number of cases.

use futures_util::{Stream, TryStreamExt};
use sqlx::Row;

use super::{NO_AGENCY, Store, StoreError};
use crate::agency::AgencyId;
use crate::case::{Case, CaseRef, CaseState, CompletionRecord};

/// Which cases a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Open,
    Closed,
    All,
}

impl StatusFilter {
    fn matches(self) -> (&'static str, &'static str) {
        match self {
            StatusFilter::Open => ("open", "open"),
            StatusFilter::Closed => ("closed", "closed"),
            StatusFilter::All => ("open", "closed"),
        }
    }
}

const CASES: &str = "SELECT id, reference, aware_on, day0_on, status, closed_reason, \
     local_review_proposed, created_at, updated_at FROM cases \
     WHERE status IN ($1, $2) ORDER BY id";
const AGENCIES: &str = "SELECT a.case_id, a.agency_id FROM case_agencies a \
     JOIN cases c ON c.id = a.case_id WHERE c.status IN ($1, $2) \
     ORDER BY a.case_id, a.agency_id";
const COMPLETIONS: &str = "SELECT m.case_id, m.milestone_id, m.agency_id, m.completed_on, \
     m.recorded_by, m.recorded_at, m.note FROM completions m \
     JOIN cases c ON c.id = m.case_id WHERE c.status IN ($1, $2) \
     ORDER BY m.case_id, m.completed_on, m.milestone_id, m.agency_id";

impl Store {
    /// Calls `visit` with every case that matches `filter`, in the order they were opened.
    pub async fn scan_cases(
        &self,
        filter: StatusFilter,
        mut visit: impl FnMut(Case),
    ) -> Result<(), StoreError> {
        let (a, b) = filter.matches();
        macro_rules! scan {
            ($pool:expr) => {{
                let cases = sqlx::query(CASES)
                    .bind(a)
                    .bind(b)
                    .fetch($pool)
                    .map_err(StoreError::from)
                    .and_then(|row| async move {
                        Ok((row.try_get::<i64, _>("id")?, case_from_row(&row)?))
                    });
                let agencies = sqlx::query(AGENCIES)
                    .bind(a)
                    .bind(b)
                    .fetch($pool)
                    .map_err(StoreError::from)
                    .and_then(|row| async move {
                        Ok((
                            row.try_get::<i64, _>("case_id")?,
                            agency(row.try_get::<String, _>("agency_id")?)?,
                        ))
                    });
                let completions = sqlx::query(COMPLETIONS)
                    .bind(a)
                    .bind(b)
                    .fetch($pool)
                    .map_err(StoreError::from)
                    .and_then(|row| async move { completion_from_row(&row) });
                merge(cases, agencies, completions, &mut visit).await
            }};
        }
        match self {
            Store::Sqlite(pool) => scan!(pool),
            Store::Postgres(pool) => scan!(pool),
        }
    }
}

/// Joins three streams sorted by case id. A child row whose case is not in the case stream (a
/// case whose status changed between the reads) is skipped.
async fn merge(
    cases: impl Stream<Item = Result<(i64, Case), StoreError>>,
    agencies: impl Stream<Item = Result<(i64, AgencyId), StoreError>>,
    completions: impl Stream<Item = Result<(i64, CompletionRecord), StoreError>>,
    visit: &mut impl FnMut(Case),
) -> Result<(), StoreError> {
    futures_util::pin_mut!(cases, agencies, completions);
    let mut next_agency = agencies.try_next().await?;
    let mut next_completion = completions.try_next().await?;
    while let Some((id, mut case)) = cases.try_next().await? {
        while let Some((case_id, agency)) = next_agency.take() {
            if case_id > id {
                next_agency = Some((case_id, agency));
                break;
            }
            if case_id == id {
                case.agencies.push(agency);
            }
            next_agency = agencies.try_next().await?;
        }
        while let Some((case_id, completion)) = next_completion.take() {
            if case_id > id {
                next_completion = Some((case_id, completion));
                break;
            }
            if case_id == id {
                case.completions.push(completion);
            }
            next_completion = completions.try_next().await?;
        }
        visit(case);
    }
    Ok(())
}

pub(super) fn case_from_row<R: Row>(row: &R) -> Result<Case, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> chrono::NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> chrono::DateTime<chrono::Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
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
    Ok(Case {
        reference: CaseRef::parse(&reference).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        aware: row.try_get("aware_on")?,
        day0: row.try_get("day0_on")?,
        state,
        local_review_proposed: row.try_get("local_review_proposed")?,
        agencies: Vec::new(),
        completions: Vec::new(),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn completion_from_row<R: Row>(row: &R) -> Result<(i64, CompletionRecord), StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> chrono::NaiveDate: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> chrono::DateTime<chrono::Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let agency_id: String = row.try_get("agency_id")?;
    Ok((
        row.try_get("case_id")?,
        CompletionRecord {
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
        },
    ))
}

pub(super) fn agency(id: impl AsRef<str>) -> Result<AgencyId, StoreError> {
    AgencyId::parse(id.as_ref()).map_err(|e| StoreError::Corrupt(e.to_string()))
}
