//! What an email says first, and its subject: for each kind of item, what the reader is asked
//! to do and by when, in plain words, from the facts the planner put in the item.
//!
//! Pure: dates come from the item, never from the clock.

use chrono::NaiveDate;

use crate::domain::plan::{Capacity, Email, EmailKind, Heartbeat, Notification, Rule};
use crate::domain::timeline::{Role, long_date};

/// The longest subject after the marking and its space: short enough for a phone's list.
pub const SUBJECT_LIMIT: usize = 77;

/// "Thu 7 Jan 2027", for subjects.
fn short_date(date: NaiveDate) -> String {
    date.format("%a %-d %b %Y").to_string()
}

/// The first letter upper case, the rest as written ("sent on Friday" -> "Sent on Friday").
pub(super) fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn case_of(n: &Notification) -> &str {
    n.case.as_ref().map_or("", |c| c.as_str())
}

fn is_overdue(n: &Notification) -> bool {
    n.item.status.starts_with("overdue")
}

/// An item the reader only needs to know about: nothing is asked of them.
pub(super) fn for_information(n: &Notification) -> bool {
    matches!(n.rule, Rule::ChairNotice | Rule::NationalPanelSubmitted)
}

/// The due date in words: "today, Thursday 7 January 2027" on the day.
fn deadline(n: &Notification) -> String {
    match n.item.due {
        Some(due) if n.item.status == "due today" => format!("today, {}", long_date(due)),
        Some(due) => long_date(due),
        None => "as soon as you can".to_owned(),
    }
}

/// "It was due on Thursday 7 January 2027 and is now overdue by 1 working day (since Friday 8
/// January 2027)."
fn overdue_clause(n: &Notification) -> String {
    let item = &n.item;
    let due = item.due.map_or(String::new(), |d| {
        format!("It was due on {} and is now ", long_date(d))
    });
    let since = item
        .overdue_since
        .map_or(String::new(), |d| format!(" (since {})", long_date(d)));
    if due.is_empty() {
        format!("It is {}{since}.", item.status)
    } else {
        format!("{due}{}{since}.", item.status)
    }
}

/// What the reader of `n` is asked to do and by when, as the email's first sentence.
pub(super) fn request(n: &Notification, reader: &Capacity) -> String {
    let item = &n.item;
    let case = case_of(n);
    let title = &item.title;
    // A per-agency task is a document the agency sends; others are steps to see done.
    let send = n.agency.is_some();
    match n.rule {
        Rule::ChairNotice => format!(
            "For your information: a Rapid Review has started for {case}. Nothing is needed \
             from you now; the key dates are below."
        ),
        Rule::NationalPanelSubmitted => {
            let on = item
                .done_on
                .map_or(String::new(), |d| format!(" on {}", long_date(d)));
            format!(
                "For your information: the Rapid Review for {case} was submitted{on} \
                 ({title}). Nothing is needed from you."
            )
        }
        Rule::NationalPanelDelay => format!(
            "For your information: the Rapid Review for {case} is late. {}",
            overdue_clause(n)
        ),
        Rule::Escalation => {
            let owner = item.owner.as_deref().unwrap_or("its owner");
            match reader {
                Capacity::Role(Role::ExecutiveChair) => format!(
                    "Escalation: please step in to get the {title} for {case} done; it is the \
                     task of {owner}. {}",
                    overdue_clause(n)
                ),
                _ => format!(
                    "Escalation: please chase {owner} for the {title} for {case}. {}",
                    overdue_clause(n)
                ),
            }
        }
        _ if is_overdue(n) && send => format!(
            "Please send the {title} for {case} as soon as you can. {}",
            overdue_clause(n)
        ),
        _ if is_overdue(n) => format!(
            "Please get this done for {case} as soon as you can: {title}. {}",
            overdue_clause(n)
        ),
        _ if send => format!("Please send the {title} for {case} by {}.", deadline(n)),
        _ => format!(
            "Please make sure this is done for {case} by {}: {title}.",
            deadline(n)
        ),
    }
}

/// The item's state in one sentence, under its title in a list.
pub(super) fn when(n: &Notification) -> String {
    let item = &n.item;
    let status = &item.status;
    match (n.rule, item.due) {
        (Rule::ChairNotice, _) => format!("{}.", sentence_case(status)),
        (Rule::NationalPanelSubmitted, _) => match item.done_on {
            Some(on) => format!("Submitted on {}.", long_date(on)),
            None => format!("{}.", sentence_case(status)),
        },
        (_, Some(due)) if is_overdue(n) => match item.overdue_since {
            Some(since) => format!(
                "{}, since {} (it was due on {}).",
                sentence_case(status),
                long_date(since),
                long_date(due)
            ),
            None => format!(
                "{} (it was due on {}).",
                sentence_case(status),
                long_date(due)
            ),
        },
        (_, Some(due)) if status == "due today" => format!("Due today, {}.", long_date(due)),
        (_, Some(due)) if status.starts_with("due in") => {
            format!("{}, on {}.", sentence_case(status), long_date(due))
        }
        _ => format!("{}.", sentence_case(status)),
    }
}

/// The first sentence of an email: its one item's request, or what a list of items asks.
pub(super) fn headline(email: &Email) -> String {
    let reader = &email.recipient.role;
    let items = &email.items;
    let Some(first) = items.first() else {
        return String::new();
    };
    if items.len() == 1 {
        return request(first, reader);
    }
    let n = items.len();
    let cases = distinct_cases(email);
    let whose = match cases.as_slice() {
        [case] => format!(" for {case}"),
        _ => format!(" in {} cases", cases.len()),
    };
    let overdue = items.iter().filter(|i| is_overdue(i)).count();
    if items.iter().all(|i| i.rule == Rule::Escalation) {
        let verb = match reader {
            Capacity::Role(Role::ExecutiveChair) => "step in on",
            _ => "chase",
        };
        return format!(
            "Escalation: please {verb} these {n} overdue Rapid Review tasks{whose}, most \
             overdue first."
        );
    }
    let first_when = if is_overdue(first) {
        "the first is overdue".to_owned()
    } else {
        format!("the first is due by {}", deadline(first))
    };
    let overdue = match overdue {
        0 => String::new(),
        k => format!(" ({k} overdue)"),
    };
    format!(
        "Please see to these {n} Rapid Review tasks{whose}{overdue}, most urgent first; \
         {first_when}."
    )
}

fn distinct_cases(email: &Email) -> Vec<&str> {
    let mut cases: Vec<&str> = email
        .items
        .iter()
        .filter_map(|n| n.case.as_ref().map(|c| c.as_str()))
        .collect();
    cases.sort_unstable();
    cases.dedup();
    cases
}

/// `head`, `title` and `tail` in at most [`SUBJECT_LIMIT`] characters: the title loses words
/// from its end (marked "...") before the head or tail lose anything.
fn fit(head: &str, title: &str, tail: &str) -> String {
    let whole = format!("{head}{title}{tail}");
    if whole.chars().count() <= SUBJECT_LIMIT {
        return whole;
    }
    let room = SUBJECT_LIMIT.saturating_sub(head.chars().count() + tail.chars().count() + 3);
    let mut short = String::new();
    for word in title.split(' ') {
        let next = if short.is_empty() {
            word.to_owned()
        } else {
            format!("{short} {word}")
        };
        if next.chars().count() > room {
            break;
        }
        short = next;
    }
    let short = short.trim_end_matches([',', ';', ':', '(']).trim_end();
    format!("{head}{short}...{tail}")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The task as a subject names it: "your Individual Agency Summary" to the agency's own lead,
/// "education Individual Agency Summary" to anyone else (the agency's id is shorter than its
/// name), other tasks by their title.
fn subject_title(n: &Notification, reader: &Capacity) -> String {
    let title = n.item.title.as_str();
    let Some(agency) = &n.agency else {
        return title.to_owned();
    };
    let bare = title.rsplit_once(" (").map_or(title, |(t, _)| t);
    match reader {
        Capacity::AgencyLead(lead) if lead == agency => format!("your {bare}"),
        _ => format!("{agency} {bare}"),
    }
}

/// [`fit`] with the longer tail if the whole subject then fits, else the shorter one.
fn fit_either(head: &str, title: &str, long_tail: &str, short_tail: &str) -> String {
    let whole = format!("{head}{title}{long_tail}");
    if whole.chars().count() <= SUBJECT_LIMIT {
        whole
    } else {
        fit(head, title, short_tail)
    }
}

/// The subject after the marking: the case reference and the task first.
pub(super) fn subject(email: &Email) -> String {
    let items = &email.items;
    if let (EmailKind::Heartbeat, Some(summary)) = (email.kind, &email.heartbeat) {
        return heartbeat_subject(summary);
    }
    let Some(first) = items.first() else {
        return "Rapid Review".to_owned();
    };
    let case = case_of(first);
    let title = subject_title(first, &email.recipient.role);
    let title = title.as_str();
    if items.len() > 1 {
        let cases = distinct_cases(email);
        let overdue = items.iter().filter(|i| is_overdue(i)).count();
        let overdue = match overdue {
            0 => String::new(),
            k => format!(", {k} overdue"),
        };
        let tasks = plural(items.len(), "task", "tasks");
        let escalation = items.iter().all(|i| i.rule == Rule::Escalation);
        return match (cases.as_slice(), escalation) {
            ([case], true) => format!("{case} escalation: {tasks} overdue"),
            ([case], false) if overdue.is_empty() => match first.item.due {
                Some(due) => format!("{case}: {tasks}, the first due {}", short_date(due)),
                None => format!("{case}: {tasks}"),
            },
            ([case], false) => format!("{case}: {tasks}{overdue}"),
            (_, true) => format!("Rapid Review escalation: {tasks} overdue"),
            (many, false) => format!("Rapid Review: {tasks} in {} cases{overdue}", many.len()),
        };
    }
    let item = &first.item;
    let since = item.overdue_since.map(short_date);
    match first.rule {
        Rule::AgencyLetter => fit(
            &format!("{case}: please send "),
            title,
            &item
                .due
                .map_or(String::new(), |d| format!(" by {}", short_date(d))),
        ),
        Rule::ChairNotice => {
            let day0 = item.key_dates.first().map(|k| k.date);
            format!(
                "{case}: Rapid Review started{}",
                day0.map_or(String::new(), |d| format!(", day 0 {}", short_date(d)))
            )
        }
        Rule::NationalPanelSubmitted => format!(
            "{case}: Rapid Review submitted{} (for information)",
            item.done_on
                .map_or(String::new(), |d| format!(" {}", short_date(d)))
        ),
        Rule::NationalPanelDelay => format!(
            "{case}: Rapid Review submission overdue{}",
            since.map_or(String::new(), |d| format!(" since {d}"))
        ),
        Rule::Escalation => fit_either(
            &format!("{case} escalation: "),
            title,
            &since.map_or(" overdue".to_owned(), |d| format!(" overdue since {d}")),
            " overdue",
        ),
        _ if is_overdue(first) => fit_either(
            &format!("{case}: "),
            title,
            &since.map_or(" overdue".to_owned(), |d| format!(" overdue since {d}")),
            " overdue",
        ),
        _ => {
            let tail = match item.due {
                Some(_) if item.status == "due today" => " due today".to_owned(),
                Some(due) => format!(" due {}", short_date(due)),
                None => format!(" {}", item.status),
            };
            fit(&format!("{case}: "), title, &tail)
        }
    }
}

fn heartbeat_subject(summary: &Heartbeat) -> String {
    let head = format!(
        "Rapid Review daily summary {}: {}, {} overdue",
        short_date(summary.date),
        plural(summary.open_cases, "open case", "open cases"),
        summary.overdue,
    );
    let due_soon = format!(", {} due soon", summary.due_soon);
    let failed = match summary.failed_emails {
        0 => String::new(),
        n => format!(", {} failed", plural(n, "email", "emails")),
    };
    // Failed emails matter more than what is due soon, when both do not fit.
    let whole = format!("{head}{due_soon}{failed}");
    if whole.chars().count() <= SUBJECT_LIMIT {
        whole
    } else {
        format!("{head}{failed}")
    }
}
