//! A case's line in a listing: its next deadline and its worst status.
//!
//! Pure: built from a case and its evaluated milestones.

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::case::{CaseOverview, CaseRef, CaseState};
use crate::domain::timeline::{MilestoneState, Status};
use crate::domain::urgency::Urgency;

/// One line of `rrn case list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseLine {
    pub reference: CaseRef,
    pub aware: NaiveDate,
    pub day0: Option<NaiveDate>,
    #[serde(flatten)]
    pub state: CaseState,
    /// The earliest due date among milestones not yet done, with the milestone (and agency).
    pub next_milestone: Option<String>,
    pub next_due: Option<NaiveDate>,
    /// The most urgent status of any milestone: overdue (longest first), due today, open, …
    pub worst_status: Option<&'static str>,
    pub worst_working_days_late: Option<i32>,
    #[serde(skip)]
    worst: Option<Status>,
}

/// The earliest deadline not yet met, with its milestone: what a listing shows as "next".
pub fn next_deadline<'s, 't>(
    states: &'s [MilestoneState<'t>],
) -> Option<(NaiveDate, &'s MilestoneState<'t>)> {
    states
        .iter()
        .filter(|s| !s.status.is_done())
        .filter_map(|s| s.due.map(|due| (due, s)))
        .min_by_key(|(due, _)| *due)
}

/// The most urgent status of a case's milestones (see [`Urgency`]).
pub fn worst_status(states: &[MilestoneState]) -> Option<Status> {
    states
        .iter()
        .map(|s| s.status)
        .min_by_key(|s| Urgency::of(*s))
}

/// A listing's order among open cases: most urgent first, then by the next deadline.
pub fn listing_order(
    worst: Option<Status>,
    next_due: Option<NaiveDate>,
) -> (Urgency, Option<NaiveDate>) {
    (worst.map(Urgency::of).unwrap_or(Urgency::LEAST), next_due)
}

impl CaseLine {
    pub fn new(case: &CaseOverview, states: &[MilestoneState]) -> Self {
        let next = next_deadline(states);
        let worst = worst_status(states);
        let open = case.state.is_open();
        Self {
            reference: case.reference.clone(),
            aware: case.facts.aware.expect("a stored case has an aware date"),
            day0: case.facts.day0,
            state: case.state.clone(),
            next_milestone: next.filter(|_| open).map(|(_, s)| match &s.agency {
                Some(agency) => format!("{}/{agency}", s.id),
                None => s.id.to_owned(),
            }),
            next_due: next.filter(|_| open).map(|(due, _)| due),
            worst_status: worst.filter(|_| open).map(Status::as_str),
            worst_working_days_late: worst.filter(|_| open).and_then(Status::working_days_late),
            worst: worst.filter(|_| open),
        }
    }

    /// Open cases by urgency (overdue longest first), then by next due date; closed cases last.
    pub fn sort(summaries: &mut [CaseLine]) {
        summaries.sort_by(|a, b| {
            let key = |s: &CaseLine| {
                (
                    !s.state.is_open(),
                    listing_order(s.worst, s.next_due),
                    s.reference.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
    }

    /// "overdue by 3 working days", "due today", "closed".
    pub fn describe_status(&self) -> String {
        match (&self.state, self.worst) {
            (CaseState::Closed(_), _) => "closed".to_owned(),
            (CaseState::Open, Some(worst)) => worst.describe(),
            (CaseState::Open, None) => "-".to_owned(),
        }
    }
}
