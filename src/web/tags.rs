//! Statuses as people read them: a coloured tag with words, never colour alone.

use super::Workspace;
use crate::domain::timeline::Status;

fn days(n: i32) -> String {
    if n == 1 {
        "1 working day".to_owned()
    } else {
        format!("{n} working days")
    }
}

/// A milestone's status in words.
pub(super) fn words(status: Status) -> String {
    match status {
        Status::AwaitingAnchor => "Waiting for an earlier step".to_owned(),
        Status::NotYetOpen => "Not yet open".to_owned(),
        Status::Open => "Open".to_owned(),
        Status::DueToday => "Due today".to_owned(),
        Status::Overdue { working_days } => format!("Overdue by {}", days(working_days)),
        Status::DoneOnTime => "Done".to_owned(),
        Status::DoneLate { working_days } => format!("Done {} late", days(working_days)),
    }
}

/// The GOV.UK tag colour of a milestone's status.
pub(super) fn class(status: Status) -> &'static str {
    match status {
        Status::Overdue { .. } => "govuk-tag--red",
        Status::DueToday => "govuk-tag--orange",
        Status::Open => "govuk-tag--light-blue",
        Status::AwaitingAnchor | Status::NotYetOpen => "govuk-tag--grey",
        Status::DoneOnTime => "govuk-tag--green",
        Status::DoneLate { .. } => "govuk-tag--yellow",
    }
}

/// What the list's status filter calls a case with this worst status.
pub(super) fn key_of(worst: Option<Status>, closed: bool) -> &'static str {
    match worst {
        _ if closed => "closed",
        Some(Status::Overdue { .. }) => "overdue",
        Some(Status::DueToday) => "due_today",
        Some(Status::Open) => "open",
        _ => "on_track",
    }
}

/// A case's worst status in words.
pub(super) fn words_of(worst: Option<Status>, closed: bool) -> String {
    match worst {
        _ if closed => "Closed".to_owned(),
        Some(s @ (Status::Overdue { .. } | Status::DueToday | Status::Open)) => words(s),
        _ => "On track".to_owned(),
    }
}

/// The tag colour of a case's worst status.
pub(super) fn class_of(worst: Option<Status>, closed: bool) -> &'static str {
    match worst {
        _ if closed => "govuk-tag--grey",
        Some(s @ (Status::Overdue { .. } | Status::DueToday | Status::Open)) => class(s),
        _ => "govuk-tag--green",
    }
}

/// "agency_summary/police" as "Individual Agency Summary: Police".
pub(super) fn milestone_words(workspace: &Workspace, id: &str) -> String {
    let (milestone, agency) = match id.split_once('/') {
        Some((m, a)) => (m, Some(a)),
        None => (id, None),
    };
    let title = workspace
        .timeline
        .milestone(milestone)
        .map_or(milestone, |m| m.title.as_str());
    match agency {
        None => title.to_owned(),
        Some(a) => format!("{title}: {}", agency_name(workspace, a)),
    }
}

/// An agency's configured name, or its id.
pub(super) fn agency_name(workspace: &Workspace, id: &str) -> String {
    workspace
        .config
        .agencies
        .iter()
        .find(|x| x.id.as_str() == id)
        .map_or(id.to_owned(), |x| x.name.to_string())
}
