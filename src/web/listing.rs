//! The case list's rows, evaluated once per change: every case is evaluated when the revision
//! counter (bumped by every case change) or the day moves, and the sorted rows are kept,
//! compact, until then. A page of the list is then a slice of them, whatever the number of
//! cases; concurrent requests wait for one evaluation instead of each making its own.

use std::sync::Arc;

use chrono::NaiveDate;
use tokio::sync::Mutex;

use super::Workspace;
use crate::domain::case::{CaseOverview, CaseState};
use crate::domain::listing::{listing_order, next_deadline, worst_status};
use crate::domain::timeline::{Status, evaluate};
use crate::domain::urgency::Urgency;
use crate::store::{StatusFilter, StoreError};

/// A case's line, in about 64 bytes: milestones and agencies by their index in the timeline
/// and the config, the reference by its place in the listing's one text of references.
pub(super) struct Listed {
    /// Where the reference is in [`Listing::references`]: start and length in bytes.
    reference: (u32, u16),
    pub day0: Option<NaiveDate>,
    pub closed_reason: Option<Box<str>>,
    /// The most urgent status of its milestones.
    pub worst: Option<Status>,
    /// The earliest deadline not yet met: milestone, agency, due date.
    pub next: Option<(u16, Option<u8>, NaiveDate)>,
    /// Per-agency milestones done, of how many.
    pub returns: Option<(u16, u16)>,
    /// Bit `i` for the config's `i`th agency.
    pub agencies: u64,
}

/// The sorted rows of one tab, and their references end to end in one text: a reference per
/// row on the heap, made between the evaluation's own short-lived allocations, would keep
/// those pages from going back to the system (about 10 MB more for 100,000 cases).
pub(super) struct Listing {
    pub rows: Vec<Listed>,
    references: String,
}

impl Listing {
    /// The reference of `row`, one of this listing's rows.
    pub(super) fn reference(&self, row: &Listed) -> &str {
        let (start, len) = (row.reference.0 as usize, usize::from(row.reference.1));
        &self.references[start..start + len]
    }
}

/// The rows of one tab, for one revision on one day.
struct Rows {
    revision: i64,
    today: NaiveDate,
    rows: Arc<Listing>,
}

/// The cached rows of the open and the closed tab.
#[derive(Default)]
pub(super) struct Listings {
    open: Mutex<Option<Rows>>,
    closed: Mutex<Option<Rows>>,
}

impl Listings {
    /// The sorted rows of the open (or closed) cases as they stand on `today`.
    pub(super) async fn rows(
        &self,
        workspace: &Workspace,
        closed: bool,
        today: NaiveDate,
    ) -> Result<Arc<Listing>, StoreError> {
        let slot = if closed { &self.closed } else { &self.open };
        let mut held = slot.lock().await;
        let revision = workspace.store.revision().await?;
        if let Some(rows) = held
            .as_ref()
            .filter(|r| r.revision == revision && r.today == today)
        {
            return Ok(rows.rows.clone());
        }
        let rows = Arc::new(evaluate_all(workspace, closed, today).await?);
        *held = Some(Rows {
            revision,
            today,
            rows: rows.clone(),
        });
        Ok(rows)
    }
}

async fn evaluate_all(
    workspace: &Workspace,
    closed: bool,
    today: NaiveDate,
) -> Result<Listing, StoreError> {
    let milestones = workspace.timeline.milestones();
    let index_of = |id: &str| milestones.iter().position(|m| m.id == id).unwrap_or(0) as u16;
    let agencies = &workspace.config.agencies;
    let agency_index = |id: &str| {
        agencies
            .iter()
            .position(|a| a.id.as_str() == id)
            .map(|i| i as u8)
    };
    let mut rows = Vec::new();
    let mut references = String::new();
    let mut add = |case: &CaseOverview| {
        // A case the calendar cannot evaluate still shows, without a status.
        let states = evaluate(&workspace.timeline, &workspace.calendar, &case.facts, today)
            .unwrap_or_default();
        let open = case.state.is_open();
        let next = next_deadline(&states).filter(|_| open).map(|(due, s)| {
            (
                index_of(s.id),
                s.agency.and_then(|a| agency_index(a.as_str())),
                due,
            )
        });
        let worst = worst_status(&states).filter(|_| open);
        let per_agency: Vec<_> = states.iter().filter(|s| s.agency.is_some()).collect();
        let returns = (!per_agency.is_empty()).then(|| {
            let done = per_agency.iter().filter(|s| s.status.is_done()).count();
            (done as u16, per_agency.len() as u16)
        });
        let bits = case
            .facts
            .agencies
            .iter()
            .filter_map(|a| agency_index(a.as_str()))
            .filter(|i| *i < 64)
            .fold(0u64, |bits, i| bits | 1 << i);
        let reference = case.reference.as_str();
        let at = (references.len() as u32, reference.len() as u16);
        references.push_str(reference);
        rows.push(Listed {
            reference: at,
            day0: case.facts.day0,
            closed_reason: match &case.state {
                CaseState::Closed(reason) => Some(reason.as_str().into()),
                CaseState::Open => None,
            },
            worst,
            next,
            returns,
            agencies: bits,
        });
    };
    if closed {
        workspace
            .store
            .scan_cases(StatusFilter::Closed, |case| add(&case))
            .await?;
    } else {
        // Open cases a page at a time, so memory holds one page besides the rows (a scan of
        // every case at once buffers rows faster than they are evaluated).
        let mut reader = workspace.store.open_cases().await?;
        let mut after = 0;
        loop {
            let page = reader.page(after, 2_000).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            for (_, case) in &page {
                add(case);
            }
        }
    }
    let mut listing = Listing { rows, references };
    // As `rrn case list`: overdue longest first, then by the next deadline, then reference.
    let mut rows = std::mem::take(&mut listing.rows);
    rows.sort_by(|a, b| sort_key(&listing, a).cmp(&sort_key(&listing, b)));
    rows.shrink_to_fit();
    listing.rows = rows;
    listing.references.shrink_to_fit();
    Ok(listing)
}

fn sort_key<'l>(listing: &'l Listing, r: &Listed) -> ((Urgency, Option<NaiveDate>), &'l str) {
    (
        listing_order(r.worst, r.next.map(|n| n.2)),
        listing.reference(r),
    )
}
