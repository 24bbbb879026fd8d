//! The status words of an item: "due in 2 working days", "overdue by 3 working days".

use crate::domain::timeline::{MilestoneState, Status};

/// Where the agencies stand on a per-agency milestone, naming them: "none of the 3 agencies
/// has sent theirs yet (police, health, education)", "2 of the 3 agencies have sent theirs
/// (police, health); still to come: education", "all 3 agencies have sent theirs".
pub(super) fn progress(states: &[MilestoneState], state: &MilestoneState) -> Option<String> {
    state.agency?;
    let rows: Vec<&MilestoneState> = states.iter().filter(|s| s.id == state.id).collect();
    let names = |done: bool| {
        rows.iter()
            .filter(|s| s.status.is_done() == done)
            .filter_map(|s| s.agency.map(|a| a.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let total = rows.len();
    let done = rows.iter().filter(|s| s.status.is_done()).count();
    let agencies = if total == 1 { "agency" } else { "agencies" };
    Some(match done {
        0 if total == 1 => format!("the agency has not sent it yet ({})", names(false)),
        0 => format!(
            "none of the {total} {agencies} has sent theirs yet ({})",
            names(false)
        ),
        1 if total == 1 => "the agency has sent it".to_owned(),
        d if d == total => format!("all {total} {agencies} have sent theirs"),
        1 => format!(
            "1 of the {total} {agencies} has sent theirs ({}); still to come: {}",
            names(true),
            names(false)
        ),
        d => format!(
            "{d} of the {total} {agencies} have sent theirs ({}); still to come: {}",
            names(true),
            names(false)
        ),
    })
}
pub(super) fn plural_days(n: i32) -> String {
    if n == 1 {
        "1 working day".to_owned()
    } else {
        format!("{n} working days")
    }
}
pub(super) fn due_in_words(left: i32) -> String {
    format!("due in {}", plural_days(left))
}
pub(super) fn overdue_words(working_days: i32) -> String {
    format!("overdue by {}", plural_days(working_days))
}
pub(super) fn status_words(status: Status) -> String {
    match status {
        Status::Overdue { working_days } => overdue_words(working_days),
        Status::DueToday => "due today".to_owned(),
        other => other.describe(),
    }
}
