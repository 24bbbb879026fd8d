//! Evaluating one case against the timeline on a given day: windows, due dates and statuses.
//!
//! Pure: takes the case's facts, the calendar and `today`; never reads the clock or a database,
//! so any day can be replayed (`--at DATE`).

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use serde::ser::SerializeStruct;
use strum::IntoStaticStr;

use super::{Anchor, Condition, Milestone, Offset, Role, Timeline};
use crate::domain::agency::AgencyId;
use crate::domain::calendar::{Calendar, HolidaySource, OutOfRange};

/// What is known about a case: the dates that anchor the clock and what has been done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFacts {
    /// The day the local authority became aware of the incident.
    pub aware: Option<NaiveDate>,
    /// Working day 0 when known directly; otherwise the day-0 milestone's completion. Like a
    /// completion, it counts only from the day it happened.
    pub day0: Option<NaiveDate>,
    /// Agencies involved, in the order per-agency milestones are listed.
    pub agencies: Vec<AgencyId>,
    pub completions: Vec<Completion>,
    pub local_review_proposed: bool,
}

/// A milestone (for one agency, where per agency) recorded as done on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub milestone: String,
    pub agency: Option<AgencyId>,
    pub on: NaiveDate,
}

/// Where a milestone stands on the day of evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    /// Its anchor has not happened, so it has no due date yet.
    AwaitingAnchor,
    NotYetOpen,
    Open,
    DueToday,
    /// Past due and not done: the working days after the due day up to today, at least 1, so the
    /// weekend after a Friday deadline is overdue by 1, as is the Monday.
    Overdue {
        working_days: i32,
    },
    DoneOnTime,
    /// Done after the due day; counted like [`Status::Overdue`].
    DoneLate {
        working_days: i32,
    },
}

impl Status {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Working days overdue or late, where that applies.
    pub fn working_days_late(self) -> Option<i32> {
        match self {
            Status::Overdue { working_days } | Status::DoneLate { working_days } => {
                Some(working_days)
            }
            _ => None,
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, Status::DoneOnTime | Status::DoneLate { .. })
    }

    /// Words for tables: "overdue by 3 working days", "due today".
    pub fn describe(self) -> String {
        match self {
            Status::AwaitingAnchor => "waiting for an earlier step".to_owned(),
            Status::NotYetOpen => "not yet open".to_owned(),
            Status::Open => "open".to_owned(),
            Status::DueToday => "due today".to_owned(),
            Status::Overdue { working_days } => {
                format!("overdue by {}", working_days_in_words(working_days))
            }
            Status::DoneOnTime => "done on time".to_owned(),
            Status::DoneLate { working_days } => {
                format!("done {} late", working_days_in_words(working_days))
            }
        }
    }
}

/// "1 working day", "18 working days".
fn working_days_in_words(n: i32) -> String {
    if n == 1 {
        "1 working day".to_owned()
    } else {
        format!("{n} working days")
    }
}

/// One milestone (for one agency, where per agency) of one case, evaluated on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneState<'t> {
    pub id: &'t str,
    pub step: u32,
    pub title: &'t str,
    pub owner: Role,
    pub agency: Option<&'t AgencyId>,
    pub anchor: &'t Anchor,
    /// The anchor's date, once it has happened.
    pub anchor_on: Option<NaiveDate>,
    /// When the window opens, for milestones with a window.
    pub opens: Option<NaiveDate>,
    pub due: Option<NaiveDate>,
    pub completed_on: Option<NaiveDate>,
    pub status: Status,
    /// The distance from the anchor to the due day, as the timeline gives it.
    pub due_offset: Offset,
    /// How the due date was worked out, in words a recipient can check; filled by [`explain`]
    /// (wording is only worth its cost where a person will read it).
    pub derivation: Option<String>,
}

impl Serialize for MilestoneState<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("MilestoneState", 13)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("step", &self.step)?;
        s.serialize_field("title", &self.title)?;
        s.serialize_field("owner", &self.owner)?;
        s.serialize_field("agency", &self.agency)?;
        s.serialize_field("anchor", &self.anchor.to_string())?;
        s.serialize_field("anchor_on", &self.anchor_on)?;
        s.serialize_field("opens", &self.opens)?;
        s.serialize_field("due", &self.due)?;
        s.serialize_field("completed_on", &self.completed_on)?;
        s.serialize_field("status", self.status.as_str())?;
        s.serialize_field("working_days_late", &self.status.working_days_late())?;
        s.serialize_field("derivation", &self.derivation)?;
        s.end()
    }
}

/// Evaluates every milestone that applies to the case, in timeline order, per-agency milestones
/// once for each involved agency.
pub fn evaluate<'t>(
    timeline: &'t Timeline,
    calendar: &Calendar,
    facts: &'t CaseFacts,
    today: NaiveDate,
) -> Result<Vec<MilestoneState<'t>>, OutOfRange> {
    // A completion dated after `today` has not happened yet on the day being evaluated, which
    // keeps time travel (`--at`, previews) honest.
    let completed = |id: &str, agency: Option<&AgencyId>| {
        facts
            .completions
            .iter()
            .filter(|c| c.milestone == id && c.agency.as_ref() == agency && c.on <= today)
            .map(|c| c.on)
            .max()
    };
    let day0_milestone = timeline.day0_milestone();
    // Day 0 after `today` has not happened yet on the day being evaluated.
    let day0 = facts
        .day0
        .filter(|&day0| day0 <= today)
        .or_else(|| completed(day0_milestone, None));

    // Completion dates by milestone index, then by agency position (one slot for case-level
    // milestones), filled in anchor order so that every anchor is known before the milestones
    // that count from it.
    let slots = |m: &Milestone| {
        if m.per_agency {
            facts.agencies.len()
        } else {
            1
        }
    };
    let mut first_slot = Vec::with_capacity(timeline.milestones.len());
    let mut total = 0;
    for milestone in &timeline.milestones {
        first_slot.push(total);
        total += slots(milestone);
    }
    let mut done: Vec<Option<NaiveDate>> = vec![None; total];
    let done_of = |i: usize| first_slot[i]..first_slot[i] + slots(&timeline.milestones[i]);
    // Evaluated in anchor order, listed in timeline order: (milestone index, agency position).
    let mut states: Vec<(usize, usize, MilestoneState<'t>)> =
        Vec::with_capacity(timeline.milestones.len() + facts.agencies.len());
    let case_level: [Option<&'t AgencyId>; 1] = [None];
    for &i in &timeline.evaluation_order {
        let milestone = &timeline.milestones[i];
        if milestone.only_if == Some(Condition::LocalReview) && !facts.local_review_proposed {
            continue;
        }
        let agencies: &mut dyn Iterator<Item = Option<&'t AgencyId>> = if milestone.per_agency {
            &mut facts.agencies.iter().map(Some)
        } else {
            &mut case_level.iter().copied()
        };
        for (position, agency) in agencies.enumerate() {
            let anchor_on = match (&milestone.anchor, timeline.anchor_index[i]) {
                (Anchor::Aware, _) => facts.aware,
                (Anchor::Day0, _) => day0,
                (Anchor::Milestone(_), Some(anchor)) => anchor_completion(
                    &done[done_of(anchor)],
                    timeline.milestones[anchor].per_agency,
                    position,
                    milestone.per_agency,
                ),
                (Anchor::Milestone(_), None) => unreachable!("validated anchors have an index"),
            };
            let mut completed_on = completed(&milestone.id, agency);
            if milestone.id == day0_milestone && completed_on.is_none() {
                // A case opened with day 0 known had its notification sent that day.
                completed_on = facts.day0.filter(|&day0| day0 <= today);
            }
            done[first_slot[i] + position] = completed_on;
            let state = evaluate_one(milestone, calendar, agency, anchor_on, completed_on, today)?;
            states.push((i, position, state));
        }
    }
    states.sort_unstable_by_key(|&(i, position, _)| (i, position));
    Ok(states.into_iter().map(|(_, _, state)| state).collect())
}

/// The date a milestone counts from, given its anchor's completions (`anchor_done`, one per
/// agency for a per-agency anchor). A per-agency anchor seen from a case-level milestone has
/// happened once every involved agency has done it, on the last of those dates.
fn anchor_completion(
    anchor_done: &[Option<NaiveDate>],
    anchor_per_agency: bool,
    position: usize,
    per_agency: bool,
) -> Option<NaiveDate> {
    match (anchor_per_agency, per_agency) {
        (false, _) => anchor_done.first().copied().flatten(),
        (true, true) => anchor_done.get(position).copied().flatten(),
        (true, false) if anchor_done.is_empty() => None,
        (true, false) => anchor_done
            .iter()
            .copied()
            .collect::<Option<Vec<_>>>()
            .and_then(|dates| dates.into_iter().max()),
    }
}

fn evaluate_one<'t>(
    milestone: &'t Milestone,
    calendar: &Calendar,
    agency: Option<&'t AgencyId>,
    anchor_on: Option<NaiveDate>,
    completed_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<MilestoneState<'t>, OutOfRange> {
    let offset_from = |anchor: NaiveDate, offset: Offset| -> Result<NaiveDate, OutOfRange> {
        match offset {
            Offset::WorkingDays(n) => calendar.add_working_days(anchor, n as i32),
            Offset::Months(n) => anchor
                .checked_add_months(Months::new(n))
                .ok_or(OutOfRange::Date(anchor)),
        }
    };
    let opens = match (anchor_on, milestone.opens) {
        (Some(anchor), Some(offset)) => Some(offset_from(anchor, offset)?),
        _ => None,
    };
    let due = anchor_on
        .map(|anchor| offset_from(anchor, milestone.due))
        .transpose()?;
    // Counted in working days since the due day, but never 0 once the due day has passed: the
    // Saturday after a Friday deadline is already late.
    let working_days_late = |due: NaiveDate, day: NaiveDate| -> Result<i32, OutOfRange> {
        Ok(calendar.between(due, day)?.max(1))
    };
    let status = match (completed_on, due) {
        (Some(_), None) => Status::DoneOnTime,
        (Some(on), Some(due)) if on <= due => Status::DoneOnTime,
        (Some(on), Some(due)) => Status::DoneLate {
            working_days: working_days_late(due, on)?,
        },
        (None, None) => Status::AwaitingAnchor,
        (None, Some(due)) if today > due => Status::Overdue {
            working_days: working_days_late(due, today)?,
        },
        (None, Some(due)) if today == due => Status::DueToday,
        (None, Some(_)) if today < opens.or(anchor_on).expect("due implies an anchor") => {
            Status::NotYetOpen
        }
        (None, Some(_)) => Status::Open,
    };
    Ok(MilestoneState {
        id: &milestone.id,
        step: milestone.step,
        title: &milestone.title,
        owner: milestone.owner,
        agency,
        anchor: &milestone.anchor,
        anchor_on,
        opens,
        due,
        completed_on,
        status,
        due_offset: milestone.due,
        derivation: None,
    })
}

/// Fills in the derivation of every state that has a due date.
pub fn explain(states: &mut [MilestoneState], calendar: &Calendar) {
    for state in states {
        if let (Some(anchor_on), Some(due)) = (state.anchor_on, state.due) {
            state.derivation = Some(explain_due(
                calendar,
                state.anchor,
                anchor_on,
                state.due_offset,
                due,
            ));
        }
    }
}

/// "The due date is working day 10 after day 0 (Monday 21 December 2026), not counting 25 and
/// 28 December and 1 January (bank holidays) or weekends." It goes with the due date wherever
/// that is shown (an email's "Due in 3 working days, on Thursday 7 January 2027.", a Due
/// column, a calendar event on the day), so it does not say the date again.
pub fn explain_due(
    calendar: &Calendar,
    anchor: &Anchor,
    anchor_on: NaiveDate,
    offset: Offset,
    due: NaiveDate,
) -> String {
    let anchor_words = match anchor {
        Anchor::Aware => "the day the local authority became aware".to_owned(),
        Anchor::Day0 => "day 0".to_owned(),
        Anchor::Milestone(id) => format!("{id} was completed"),
    };
    let head = format!(
        "The due date is {offset} after {anchor_words} ({})",
        long_date(anchor_on)
    );
    if matches!(offset, Offset::Months(_)) {
        return format!("{head}.");
    }
    let closed = calendar.closed_weekdays_between(anchor_on, due);
    let mut kinds = Vec::new();
    for (source, singular, plural) in [
        (HolidaySource::Feed, "bank holiday", "bank holidays"),
        (HolidaySource::Rules, "bank holiday", "bank holidays"),
        (
            HolidaySource::Closure,
            "local closure day",
            "local closure days",
        ),
    ] {
        let dates: Vec<NaiveDate> = closed
            .iter()
            .filter(|h| h.source == source)
            .map(|h| h.date)
            .collect();
        if !dates.is_empty() {
            let noun = if dates.len() == 1 { singular } else { plural };
            kinds.push(format!("{} ({noun})", list_dates(&dates)));
        }
    }
    if kinds.is_empty() {
        format!("{head}, not counting weekends.")
    } else {
        format!("{head}, not counting {} or weekends.", kinds.join(", "))
    }
}

/// "Thursday 7 January 2027". Spelled out directly: this runs for most notifications, and
/// chrono's `format` parses its pattern on every call.
pub fn long_date(date: NaiveDate) -> String {
    const WEEKDAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let month = chrono::Month::try_from(date.month() as u8).expect("a date's month is 1-12");
    format!(
        "{} {} {} {}",
        WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        date.day(),
        month.name(),
        date.year()
    )
}

/// "25 and 28 December and 1 January": days grouped by month, months in order.
fn list_dates(dates: &[NaiveDate]) -> String {
    let mut groups: Vec<(NaiveDate, Vec<u32>)> = Vec::new();
    for &date in dates {
        match groups.last_mut() {
            Some((first, days)) if first.year() == date.year() && first.month() == date.month() => {
                days.push(date.day())
            }
            _ => groups.push((date, vec![date.day()])),
        }
    }
    let groups: Vec<String> = groups
        .into_iter()
        .map(|(first, days)| {
            let days: Vec<String> = days.iter().map(u32::to_string).collect();
            format!("{} {}", join_with_and(&days), first.format("%B"))
        })
        .collect();
    join_with_and(&groups)
}

fn join_with_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
