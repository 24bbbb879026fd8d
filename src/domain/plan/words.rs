//! The status words of an item: "due in 2 working days", "overdue by 3 working days".

use crate::domain::timeline::{MilestoneState, Status};

/// "2 of 3 received", for the rows of a per-agency milestone.
pub(super) fn progress(states: &[MilestoneState], state: &MilestoneState) -> Option<String> {
    state.agency?;
    let rows = states.iter().filter(|s| s.id == state.id);
    let (done, total) = rows.fold((0, 0), |(d, t), s| {
        (d + usize::from(s.status.is_done()), t + 1)
    });
    Some(format!("{done} of {total} received"))
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
