//! The daily summary to the business team (the heartbeat): what is overdue, what is due soon,
//! what failed. If it stops arriving, the service is down.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::words::{due_in_words, overdue_words};
use super::{Email, EmailKind, Item, Notification, NotificationKey, Planner, Rule};
use crate::domain::address::EmailAddress;
use crate::domain::calendar::OutOfRange;
use crate::domain::case::{CaseOverview, FailedCase};
use crate::domain::timeline::{MilestoneState, Role, Status};
use crate::domain::urgency::Urgency;

/// The figures of the daily summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Its own key: one summary per recipient per day.
    pub key: NotificationKey,
    pub date: NaiveDate,
    pub open_cases: usize,
    pub overdue: usize,
    pub due_soon: usize,
    /// Emails that could not be delivered and wait for `rrn outbox retry`.
    pub failed_emails: usize,
    /// Cases this run could not plan, by reference, with why (absent in rows stored by older
    /// versions).
    #[serde(default)]
    pub failed_cases: Vec<FailedCase>,
}
/// How far ahead the daily summary looks, in working days.
pub const HEARTBEAT_HORIZON: i32 = 3;

impl Planner<'_> {
    /// The lines of one case for the daily summary: what is overdue, and what is due within
    /// [`HEARTBEAT_HORIZON`] working days.
    pub fn heartbeat_lines(
        &self,
        case: &CaseOverview,
        states: &[MilestoneState],
        today: NaiveDate,
    ) -> Result<Vec<Notification>, OutOfRange> {
        let mut lines = Vec::new();
        let Ok(recipient) = self.role_contact(Role::BusinessTeam) else {
            return Ok(lines);
        };
        for state in states {
            let (Some(due), false) = (state.due, state.status.is_done()) else {
                continue;
            };
            let status = match state.status {
                Status::Overdue { working_days } => overdue_words(working_days),
                Status::DueToday => "due today".to_owned(),
                _ if self.calendar.between(today, due)? <= HEARTBEAT_HORIZON => {
                    due_in_words(self.calendar.between(today, due)?)
                }
                _ => continue,
            };
            let title = match state.agency {
                Some(agency) => format!("{} ({agency})", state.title),
                None => state.title.to_owned(),
            };
            let mut line = Notification::standalone(
                case.reference.clone(),
                Rule::Heartbeat,
                recipient.clone(),
                today,
                Item {
                    title,
                    step: Some(state.step),
                    due: Some(due),
                    status,
                    derivation: None,
                    progress: None,
                    ..Item::default()
                },
            );
            line.urgency = Urgency::of(state.status);
            lines.push(line);
        }
        Ok(lines)
    }
    /// The daily summary to the business team, from every case's lines.
    pub fn heartbeat(
        &self,
        today: NaiveDate,
        open_cases: usize,
        mut lines: Vec<Notification>,
        failed_emails: usize,
        failed_cases: &[FailedCase],
    ) -> Option<Email> {
        let recipient = self.role_contact(Role::BusinessTeam).ok()?;
        lines.sort_by_key(|l| (l.urgency, l.item.due));
        let overdue = lines.iter().filter(|l| l.urgency.is_overdue()).count();
        Some(Email {
            heartbeat: Some(Heartbeat {
                key: heartbeat_key(today, &recipient.email),
                date: today,
                open_cases,
                overdue,
                due_soon: lines.len() - overdue,
                failed_emails,
                failed_cases: failed_cases.to_vec(),
            }),
            recipient,
            kind: EmailKind::Heartbeat,
            items: lines,
        })
    }
}

/// The key of the daily summary to `to` on `day`: one summary per recipient per day.
pub(super) fn heartbeat_key(day: NaiveDate, to: &EmailAddress) -> NotificationKey {
    NotificationKey(format!("heartbeat/{day}/{to}"))
}
