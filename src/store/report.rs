//! The compliance report's read (`rrn report`): every case, open and closed, one row each (its
//! agencies and completions folded into the row, migration 0006), streamed, so the report holds
//! one case at a time.

use futures_util::TryStreamExt;

use super::scan::overview_from_row;
use super::{Store, StoreError};
use crate::domain::case::CaseOverview;

/// Every case in row id order: the table read in its own order, with no sort. (Through the
/// status index, `status IN ('open', 'closed') ORDER BY id` sorts every case in a temporary
/// B-tree first: a third of the report's time over 100,000 cases.)
const EVERY_CASE: &str = "SELECT c.reference, c.aware_on, c.day0_on, c.status, \
     c.closed_reason, c.local_review_proposed, c.created_at, c.revision, \
     c.agencies_line AS agencies, c.completions_line AS completions \
     FROM cases c ORDER BY c.id";

impl Store {
    /// Calls `visit` with every case, open and closed, in the order they were opened.
    pub async fn scan_every_case(
        &self,
        mut visit: impl FnMut(CaseOverview),
    ) -> Result<(), StoreError> {
        macro_rules! scan {
            ($pool:expr) => {{
                let mut rows = sqlx::query(EVERY_CASE).fetch($pool);
                while let Some(row) = rows.try_next().await? {
                    visit(overview_from_row(&row)?);
                }
                Ok(())
            }};
        }
        match self {
            Store::Sqlite(pool) => scan!(pool),
            Store::Postgres(pool) => scan!(pool),
        }
    }
}
