//! What a change of timeline or calendar would move before it takes effect: each open case's
//! due dates under the rules in use and under the new ones, side by side, and the tasks that
//! would become due or overdue because of it. Pure: the rules, the case and `today` come in.

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::calendar::{Calendar, OutOfRange};
use crate::domain::timeline::{CaseFacts, Status, Timeline, evaluate};

/// A timeline and the calendar it counts in: what decides every due date.
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    pub timeline: &'a Timeline,
    pub calendar: &'a Calendar,
}

/// One due date the change moves (or gives, or takes away).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub case: String,
    pub milestone: String,
    pub agency: Option<String>,
    /// The due date under the rules in use (`None`: no such milestone, or not due yet).
    pub before: Option<NaiveDate>,
    /// The due date under the new rules.
    pub after: Option<NaiveDate>,
    /// What the move makes of an unfinished task today, when that is new: its owner would be
    /// reminded or chased at once.
    pub becomes: Option<Becomes>,
}

/// A change in what a task is today that will make the next run notify someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Becomes {
    DueToday,
    Overdue,
}

impl Becomes {
    pub fn words(self) -> &'static str {
        match self {
            Becomes::DueToday => "now due today",
            Becomes::Overdue => "now overdue",
        }
    }
}

/// The due dates of one case that differ between `before` and `after`, on `today`, in the
/// order of the new timeline (milestones only the old one has come last).
pub fn moved(
    before: Rules<'_>,
    after: Rules<'_>,
    case: &str,
    facts: &CaseFacts,
    today: NaiveDate,
) -> Result<Vec<Moved>, OutOfRange> {
    let old = evaluate(before.timeline, before.calendar, facts, today)?;
    let new = evaluate(after.timeline, after.calendar, facts, today)?;
    let key = |id: &str, agency: Option<&crate::domain::agency::AgencyId>| {
        (id.to_owned(), agency.map(|a| a.to_string()))
    };
    let mut moved = Vec::new();
    // A task done moves nothing anyone is told about: only unfinished ones are compared.
    for state in new.iter().filter(|n| n.completed_on.is_none()) {
        let was = old
            .iter()
            .find(|o| o.id == state.id && o.agency == state.agency);
        let before_due = was.and_then(|o| o.due);
        if was.is_some() && before_due == state.due {
            continue;
        }
        let (milestone, agency) = key(state.id, state.agency);
        moved.push(Moved {
            case: case.to_owned(),
            milestone,
            agency,
            before: before_due,
            after: state.due,
            becomes: becomes(was.map(|o| o.status), state.status),
        });
    }
    for state in old.iter().filter(|o| {
        o.due.is_some()
            && o.completed_on.is_none()
            && !new.iter().any(|n| n.id == o.id && n.agency == o.agency)
    }) {
        let (milestone, agency) = key(state.id, state.agency);
        moved.push(Moved {
            case: case.to_owned(),
            milestone,
            agency,
            before: state.due,
            after: None,
            becomes: None,
        });
    }
    Ok(moved)
}

/// What is new and more pressing about a task's status today: overdue where it was not, or
/// due today where it was neither (a task overdue before and due today after is less pressed).
fn becomes(was: Option<Status>, now: Status) -> Option<Becomes> {
    let overdue = matches!(was, Some(Status::Overdue { .. }));
    match now {
        Status::Overdue { .. } if !overdue => Some(Becomes::Overdue),
        Status::DueToday if !overdue && was != Some(Status::DueToday) => Some(Becomes::DueToday),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{Division, HolidayFeed};

    fn date(s: &str) -> NaiveDate {
        crate::domain::calendar::parse_date(s).unwrap()
    }

    fn facts(day0: &str) -> CaseFacts {
        CaseFacts {
            aware: Some(date(day0)),
            day0: Some(date(day0)),
            agencies: vec!["police".parse().unwrap()],
            ..CaseFacts::default()
        }
    }

    #[test]
    fn the_same_rules_move_nothing() {
        let timeline = Timeline::builtin();
        let calendar = Calendar::new(&HolidayFeed::builtin(), Division::EnglandAndWales, &[]);
        let rules = Rules {
            timeline: &timeline,
            calendar: &calendar,
        };
        let facts = facts("2026-12-21");
        let moved = moved(rules, rules, "RR-1", &facts, date("2027-01-04")).unwrap();
        assert_eq!(moved, []);
    }

    #[test]
    fn a_closure_day_moves_the_dues_after_it_by_one_working_day() {
        let timeline = Timeline::builtin();
        let feed = HolidayFeed::builtin();
        let plain = Calendar::new(&feed, Division::EnglandAndWales, &[]);
        // The partnership closes on Tuesday 29 December 2026: every due date counted across
        // it moves one working day later.
        let closed = Calendar::new(&feed, Division::EnglandAndWales, &[date("2026-12-29")]);
        let facts = facts("2026-12-21");
        let moved = moved(
            Rules {
                timeline: &timeline,
                calendar: &plain,
            },
            Rules {
                timeline: &timeline,
                calendar: &closed,
            },
            "RR-1",
            &facts,
            date("2026-12-22"),
        )
        .unwrap();
        assert!(!moved.is_empty());
        for m in &moved {
            let (before, after) = (m.before.unwrap(), m.after.unwrap());
            assert_eq!(
                closed.between(before, after),
                Ok(1),
                "{m:?}: one working day later in the new calendar"
            );
            assert_eq!(m.becomes, None, "{m:?}");
        }
        let summary = moved
            .iter()
            .find(|m| m.milestone == "agency_summary")
            .unwrap();
        assert_eq!(
            (summary.before, summary.after),
            (Some(date("2027-01-07")), Some(date("2027-01-08")))
        );
    }
}
