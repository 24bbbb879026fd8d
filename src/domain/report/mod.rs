//! The compliance report (`rrn report`): how the partnership's Rapid Reviews kept to time over
//! a period, for its yearly report.
//!
//! Pure: a [`Tally`] is fed one case at a time (as the store streams them) with the delays
//! recorded for it, evaluates it with [`timeline::evaluate`](crate::domain::timeline::evaluate)
//! on `today`, and folds it into running counts, so memory holds one case and a few counts per
//! milestone and agency whatever the number of cases. [`Tally::finish`] gives the [`Report`].
//!
//! What counts:
//! - a milestone *fell due in the period* when its due date is within it (both ends included);
//!   it was done *on time* when completed on or before its due date, *late* after it (lateness
//!   in working days as evaluation counts it), and is *open and overdue* when not completed by
//!   `today` and due before it; not done and not yet due, or not done on a closed case, are
//!   counted apart, so the five add up to `due`;
//! - a Rapid Review is *notified* when its day 0 is in the period and *submitted* when the
//!   timeline's national panel milestone was completed in the period; *within the statutory
//!   limit* when that was no later than working day 15 after day 0, *within the timeline* when
//!   on or before the milestone's own due date;
//! - an LCSPR is *proposed* for a notified case with the local review flag, *published* when the
//!   timeline's publication milestone was completed in the period, and *within 6 months* when
//!   that was no later than 6 calendar months after its anchor (the review's start).

pub mod html;

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use crate::domain::agency::AgencyId;
use crate::domain::calendar::Calendar;
use crate::domain::case::{CaseOverview, CaseRef, CaseState};
use crate::domain::timeline::{Condition, MilestoneState, Status, Timeline, evaluate};

/// The national panel's expectation: a Rapid Review submitted within 15 working days of day 0.
pub const STATUTORY_WORKING_DAYS: u32 = 15;

/// The guidance's expectation: an LCSPR published within 6 calendar months of its start.
pub const LCSPR_PUBLICATION_MONTHS: u32 = 6;

/// The days a report covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A period whose start is after its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the period starts ({from}) after it ends ({to})")]
pub struct BackwardPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, BackwardPeriod> {
        if from > to {
            Err(BackwardPeriod { from, to })
        } else {
            Ok(Period { from, to })
        }
    }

    /// The last complete April-to-March year before `today` (the national statistics' year):
    /// on 1 December 2026, 1 April 2025 to 31 March 2026; on 31 March 2026 the year that ends
    /// that day is not complete yet, so 1 April 2024 to 31 March 2025.
    pub fn last_complete_year(today: NaiveDate) -> Self {
        let start = if today.month() >= 4 {
            today.year() - 1
        } else {
            today.year() - 2
        };
        Period {
            from: NaiveDate::from_ymd_opt(start, 4, 1).expect("1 April exists"),
            to: NaiveDate::from_ymd_opt(start + 1, 3, 31).expect("31 March exists"),
        }
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        (self.from..=self.to).contains(&date)
    }
}

/// A delay recorded against one milestone of a case (for one agency, where per agency), with
/// its reason. Nothing records delays yet (`rrn case delay` is to come), so the report is fed
/// none and its `delayed` figures are 0 until then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delay {
    pub milestone: String,
    pub agency: Option<AgencyId>,
    pub reason: String,
}

/// The milestone whose completion is an LCSPR's publication, when the timeline has one: the
/// last `only_if = "local_review"` milestone in file order.
pub fn lcspr_publication_milestone(timeline: &Timeline) -> Option<&str> {
    timeline
        .milestones()
        .iter()
        .rev()
        .find(|m| m.only_if == Some(Condition::LocalReview))
        .map(|m| m.id.as_str())
}

/// The Rapid Reviews of the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RapidReviews {
    /// Cases whose day 0 (the Ofsted notification) is in the period.
    pub notified: u64,
    /// Cases whose national panel submission was completed in the period: the Rapid Reviews
    /// completed. `None` when the timeline names no national panel milestone.
    pub submitted: Option<u64>,
    /// Of those, submitted no later than working day 15 after day 0.
    pub submitted_within_statutory_limit: Option<u64>,
    /// Of those, submitted on or before the timeline's own due date.
    pub submitted_within_timeline: Option<u64>,
}

/// The local child safeguarding practice reviews of the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lcsprs {
    /// Notified cases (day 0 in the period) whose Rapid Review proposed one.
    pub proposed: u64,
    /// The timeline's publication milestone, or `None` when it has none (then the two figures
    /// below are `None` too: nothing records a publication).
    pub milestone: Option<String>,
    /// Publications completed in the period.
    pub published: Option<u64>,
    /// Of those, no later than 6 calendar months after the review's start.
    pub published_within_6_months: Option<u64>,
}

/// One milestone's figures (for one agency, in [`Report::agencies`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MilestoneFigures {
    pub milestone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency: Option<AgencyId>,
    pub title: String,
    /// Fell due in the period.
    pub due: u64,
    pub on_time: u64,
    pub late: u64,
    /// Not done by `today`, and due before it.
    pub open_overdue: u64,
    /// Not done, and not due before `today` (a period that reaches today or later).
    pub open_not_yet_due: u64,
    /// Not done on a case that has been closed.
    pub closed_not_done: u64,
    /// The median working days late of those done late (`None` when none was).
    pub median_late_working_days: Option<f64>,
    pub max_late_working_days: Option<u32>,
    /// With at least one recorded delay.
    pub delayed: u64,
    /// Recorded delays by reason (each reason once per milestone).
    pub delayed_by_reason: BTreeMap<String, u64>,
}

impl MilestoneFigures {
    /// On time among those done or overdue, as a fraction (`None` when there are none).
    pub fn on_time_rate(&self) -> Option<f64> {
        let decided = self.on_time + self.late + self.open_overdue;
        (decided > 0).then(|| self.on_time as f64 / decided as f64)
    }
}

/// The compliance report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub period: Period,
    /// The day it was worked out on: what was done after it is not counted.
    pub as_of: NaiveDate,
    /// Cases read, open and closed.
    pub cases: u64,
    pub statutory_limit_working_days: u32,
    pub rapid_reviews: RapidReviews,
    pub lcsprs: Lcsprs,
    /// One per milestone of the timeline, in its order (per-agency ones over every agency).
    pub milestones: Vec<MilestoneFigures>,
    /// One per agency for each per-agency milestone, agencies in id order.
    pub agencies: Vec<MilestoneFigures>,
    /// Cases whose dates fall outside the calendar's range, left out of every figure.
    pub not_evaluated: Vec<CaseRef>,
}

/// Running counts of one milestone (for one agency).
#[derive(Debug, Clone, Default)]
struct Counts {
    due: u64,
    on_time: u64,
    late: u64,
    open_overdue: u64,
    open_not_yet_due: u64,
    closed_not_done: u64,
    /// How many were done late by each number of working days: the median without keeping
    /// every value.
    lateness: BTreeMap<u32, u64>,
    delayed: u64,
    delayed_by_reason: BTreeMap<String, u64>,
}

impl Counts {
    fn add(&mut self, state: &MilestoneState, closed: bool, today: NaiveDate, delays: &[&Delay]) {
        self.due += 1;
        match state.status {
            Status::DoneOnTime => self.on_time += 1,
            Status::DoneLate { working_days } => {
                self.late += 1;
                *self
                    .lateness
                    .entry(working_days.max(0).unsigned_abs())
                    .or_default() += 1;
            }
            _ if closed => self.closed_not_done += 1,
            _ if state.due.is_some_and(|due| due < today) => self.open_overdue += 1,
            _ => self.open_not_yet_due += 1,
        }
        if !delays.is_empty() {
            self.delayed += 1;
            let mut reasons: Vec<&str> = delays.iter().map(|d| d.reason.as_str()).collect();
            reasons.sort_unstable();
            reasons.dedup();
            for reason in reasons {
                *self.delayed_by_reason.entry(reason.to_owned()).or_default() += 1;
            }
        }
    }

    fn median(&self) -> Option<f64> {
        let n = self.late;
        if n == 0 {
            return None;
        }
        // The values at (1-based) positions (n + 1) / 2 and n / 2 + 1: one value for odd n.
        let at = |position: u64| {
            let mut seen = 0;
            for (&value, &count) in &self.lateness {
                seen += count;
                if seen >= position {
                    return value;
                }
            }
            unreachable!("positions are within the count")
        };
        Some((f64::from(at(n.div_ceil(2))) + f64::from(at(n / 2 + 1))) / 2.0)
    }

    fn figures(&self, milestone: &str, title: &str, agency: Option<AgencyId>) -> MilestoneFigures {
        MilestoneFigures {
            milestone: milestone.to_owned(),
            agency,
            title: title.to_owned(),
            due: self.due,
            on_time: self.on_time,
            late: self.late,
            open_overdue: self.open_overdue,
            open_not_yet_due: self.open_not_yet_due,
            closed_not_done: self.closed_not_done,
            median_late_working_days: self.median(),
            max_late_working_days: self.lateness.keys().next_back().copied(),
            delayed: self.delayed,
            delayed_by_reason: self.delayed_by_reason.clone(),
        }
    }
}

/// The report being counted: feed it every case with [`Tally::add`], then [`Tally::finish`].
#[derive(Debug)]
pub struct Tally<'t> {
    timeline: &'t Timeline,
    calendar: &'t Calendar,
    period: Period,
    today: NaiveDate,
    submission: Option<&'t str>,
    publication: Option<&'t str>,
    cases: u64,
    rapid_reviews: RapidReviews,
    lcsprs: Lcsprs,
    /// By milestone index in the timeline.
    milestones: Vec<Counts>,
    /// By (milestone index, agency).
    agencies: BTreeMap<(usize, AgencyId), Counts>,
    not_evaluated: Vec<CaseRef>,
}

impl<'t> Tally<'t> {
    /// A tally over `period` as of `today`; `publication` is the LCSPR publication milestone
    /// (see [`lcspr_publication_milestone`]), if any.
    pub fn new(
        timeline: &'t Timeline,
        calendar: &'t Calendar,
        period: Period,
        today: NaiveDate,
        publication: Option<&'t str>,
    ) -> Self {
        let submission = timeline
            .policy()
            .national_panel_milestone
            .as_deref()
            .filter(|id| timeline.milestone(id).is_some());
        let counted = |known: bool| if known { Some(0) } else { None };
        Tally {
            timeline,
            calendar,
            period,
            today,
            submission,
            publication,
            cases: 0,
            rapid_reviews: RapidReviews {
                notified: 0,
                submitted: counted(submission.is_some()),
                submitted_within_statutory_limit: counted(submission.is_some()),
                submitted_within_timeline: counted(submission.is_some()),
            },
            lcsprs: Lcsprs {
                proposed: 0,
                milestone: publication.map(str::to_owned),
                published: counted(publication.is_some()),
                published_within_6_months: counted(publication.is_some()),
            },
            milestones: vec![Counts::default(); timeline.milestones().len()],
            agencies: BTreeMap::new(),
            not_evaluated: Vec::new(),
        }
    }

    /// Counts one case, with the delays recorded for it. A case whose dates the calendar cannot
    /// count is left out and named in [`Report::not_evaluated`].
    pub fn add(&mut self, case: &CaseOverview, delays: &[Delay]) {
        self.cases += 1;
        let Ok(states) = evaluate(self.timeline, self.calendar, &case.facts, self.today) else {
            self.not_evaluated.push(case.reference.clone());
            return;
        };
        if self.add_states(case, &states, delays).is_err() {
            self.not_evaluated.push(case.reference.clone());
        }
    }

    fn add_states(
        &mut self,
        case: &CaseOverview,
        states: &[MilestoneState],
        delays: &[Delay],
    ) -> Result<(), crate::domain::calendar::OutOfRange> {
        let (period, today) = (self.period, self.today);
        let closed = matches!(case.state, CaseState::Closed(_));
        let day0_milestone = self.timeline.day0_milestone();
        let day0 = states
            .iter()
            .find(|s| s.id == day0_milestone)
            .and_then(|s| s.completed_on);
        // Worked out before anything is counted, so that a case out of range counts nowhere.
        let statutory_limit = day0
            .map(|d| {
                self.calendar
                    .add_working_days(d, STATUTORY_WORKING_DAYS as i32)
            })
            .transpose()?;
        if day0.is_some_and(|d| period.contains(d)) {
            self.rapid_reviews.notified += 1;
            if case.facts.local_review_proposed {
                self.lcsprs.proposed += 1;
            }
        }
        for state in states {
            if let Some(on) = state.completed_on.filter(|&on| period.contains(on)) {
                if Some(state.id) == self.submission {
                    let within_limit = statutory_limit.is_some_and(|limit| on <= limit);
                    let within_timeline = state.status == Status::DoneOnTime;
                    let reviews = &mut self.rapid_reviews;
                    bump(&mut reviews.submitted, true);
                    bump(&mut reviews.submitted_within_statutory_limit, within_limit);
                    bump(&mut reviews.submitted_within_timeline, within_timeline);
                }
                if Some(state.id) == self.publication {
                    let within = state
                        .anchor_on
                        .and_then(|start| {
                            start.checked_add_months(Months::new(LCSPR_PUBLICATION_MONTHS))
                        })
                        .is_some_and(|limit| on <= limit);
                    bump(&mut self.lcsprs.published, true);
                    bump(&mut self.lcsprs.published_within_6_months, within);
                }
            }
            if !state.due.is_some_and(|due| period.contains(due)) {
                continue;
            }
            let index = self
                .timeline
                .milestones()
                .iter()
                .position(|m| m.id == state.id)
                .expect("evaluated milestones are the timeline's");
            let recorded: Vec<&Delay> = delays
                .iter()
                .filter(|d| d.milestone == state.id && d.agency.as_ref() == state.agency)
                .collect();
            self.milestones[index].add(state, closed, today, &recorded);
            if let Some(agency) = state.agency {
                self.agencies
                    .entry((index, agency.clone()))
                    .or_default()
                    .add(state, closed, today, &recorded);
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Report {
        let milestones = self.timeline.milestones();
        Report {
            period: self.period,
            as_of: self.today,
            cases: self.cases,
            statutory_limit_working_days: STATUTORY_WORKING_DAYS,
            rapid_reviews: self.rapid_reviews,
            lcsprs: self.lcsprs,
            milestones: milestones
                .iter()
                .zip(&self.milestones)
                .map(|(m, counts)| counts.figures(&m.id, &m.title, None))
                .collect(),
            // In milestone order, then agency id order: the map's own.
            agencies: self
                .agencies
                .iter()
                .map(|((i, agency), counts)| {
                    let m = &milestones[*i];
                    counts.figures(&m.id, &m.title, Some(agency.clone()))
                })
                .collect(),
            not_evaluated: self.not_evaluated,
        }
    }
}

/// Adds one to a figure that is counted, when `yes`.
fn bump(figure: &mut Option<u64>, yes: bool) {
    if let Some(n) = figure.as_mut().filter(|_| yes) {
        *n += 1;
    }
}

#[cfg(test)]
mod tests;
