//! Deciding: each proposal against the notification log, sent, skipped with a reason, or
//! dropped as already decided.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{Decision, Notification, NotificationKey, Proposal, Rule};
use crate::domain::address::EmailAddress;
use crate::domain::agency::AgencyId;
use crate::domain::case::CaseRef;
use crate::domain::timeline::{CatchUp, Policy};

/// Why a proposed notification is not sent; its words go to the audit log and `rrn plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Nobody holds the role it is for: the words name the missing contact.
    Unaddressed(String),
    /// A later occurrence of the same series (a rung's repeats, a milestone's reminders) for
    /// the same recipient is sent instead.
    Superseded,
    /// Its day passed while no run happened, and its rule is not sent late.
    Stale { scheduled: NaiveDate, rule: Rule },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::Unaddressed(why) => f.write_str(why),
            SkipReason::Superseded => f.write_str(
                "superseded by a later notification for the same milestone and recipient",
            ),
            SkipReason::Stale { scheduled, rule } => write!(
                f,
                "its day ({scheduled}) passed while no run happened, and {} is not sent late",
                rule.as_str().replace('_', " ")
            ),
        }
    }
}

impl serde::Serialize for SkipReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One series of occurrences: a rung's repeats, or a milestone's reminders, for one recipient.
pub(super) type Series<'a> = (
    Option<&'a CaseRef>,
    Option<&'a str>,
    Option<&'a AgencyId>,
    u8,
    u32,
    &'a EmailAddress,
);
pub(super) fn series(n: &Notification) -> Series<'_> {
    let family = match n.rule {
        Rule::Reminder | Rule::DueToday => (0, 0),
        Rule::Escalation => (1, n.rung),
        other => (2 + other as u8, 0),
    };
    (
        n.case.as_ref(),
        n.milestone.as_deref(),
        n.agency.as_ref(),
        family.0,
        family.1,
        &n.recipient.email,
    )
}
/// Decides each planned notification against the notification log (`logged` says whether a
/// key is in it): logged keys are dropped; of the rest, what is due today is sent, what came
/// late is sent or skipped by its rule's catch-up setting, and of several unlogged repeats of
/// one series only the newest is sent. Sorted most urgent first.
pub fn decide(
    planned: Vec<Proposal>,
    policy: &Policy,
    today: NaiveDate,
    logged: &dyn Fn(&NotificationKey) -> bool,
) -> Vec<Decision> {
    let fresh: Vec<Proposal> = planned
        .into_iter()
        .filter(|p| !logged(&p.notification.key))
        .collect();
    // The newest unlogged occurrence of each series (a rung's repeats; a milestone's reminders).
    let superseded: Vec<bool> = {
        let mut newest: HashMap<Series, NaiveDate> = HashMap::with_capacity(fresh.len());
        for p in &fresh {
            let latest = newest
                .entry(series(&p.notification))
                .or_insert(p.notification.scheduled);
            *latest = (*latest).max(p.notification.scheduled);
        }
        fresh
            .iter()
            .map(|p| newest[&series(&p.notification)] > p.notification.scheduled)
            .collect()
    };
    let mut decisions: Vec<Decision> = fresh
        .into_iter()
        .zip(superseded)
        .map(
            |(
                Proposal {
                    notification,
                    unaddressed,
                },
                superseded,
            )| {
                let reason = match unaddressed {
                    Some(why) => Some(SkipReason::Unaddressed(why)),
                    None if superseded => Some(SkipReason::Superseded),
                    None if notification.scheduled < today
                        && notification.rule.catch_up(policy) == CatchUp::Skip =>
                    {
                        Some(SkipReason::Stale {
                            scheduled: notification.scheduled,
                            rule: notification.rule,
                        })
                    }
                    None => None,
                };
                match reason {
                    None => Decision::Send { notification },
                    Some(reason) => Decision::Skip {
                        notification,
                        reason,
                    },
                }
            },
        )
        .collect();
    // Compared by reference: a run sorts hundreds of thousands of decisions.
    decisions.sort_by(|a, b| {
        let (a, b) = (a.notification(), b.notification());
        (a.urgency, a.item.due, &a.case, &a.key).cmp(&(b.urgency, b.item.due, &b.case, &b.key))
    });
    decisions
}

#[cfg(test)]
mod tests {
    use chrono::{Days, NaiveDate};
    use proptest::prelude::*;

    use super::*;
    use crate::domain::address::EmailAddress;
    use crate::domain::case::CaseRef;
    use crate::domain::plan::{Capacity, Item, Recipient};

    /// The `repeat`th escalation of one rung of one milestone, to one recipient, on `day`.
    fn escalation(repeat: u32, day: NaiveDate) -> Proposal {
        let recipient = Recipient {
            role: Capacity::Role(crate::domain::timeline::Role::CscManager),
            name: "Manager".to_owned(),
            email: EmailAddress::parse("manager@example.org").unwrap(),
        };
        let case = CaseRef::parse("RR-2026-001").unwrap();
        let mut notification = Notification::standalone(
            case.clone(),
            Rule::Escalation,
            recipient.clone(),
            day,
            Item {
                title: "Individual Agency Summary".to_owned(),
                step: Some(5),
                due: None,
                status: "overdue".to_owned(),
                derivation: None,
                progress: None,
                ..Item::default()
            },
        );
        notification.milestone = Some("ias".to_owned());
        notification.rung = 1;
        notification.repeat = repeat;
        notification.key = NotificationKey::new(
            Some(&case),
            Some("ias"),
            None,
            Rule::Escalation,
            1,
            repeat,
            &recipient.email,
        );
        Proposal {
            notification,
            unaddressed: None,
        }
    }

    proptest! {
        /// The law of a series: whatever repeats are unlogged, only the newest is sent, the
        /// older ones are skipped as superseded, and logged ones are not decided again.
        #[test]
        fn only_the_newest_unlogged_repeat_of_a_series_is_sent(
            logged in proptest::collection::vec(any::<bool>(), 1..8)
        ) {
            let first = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
            let proposals: Vec<Proposal> = (0..logged.len())
                .map(|n| escalation(n as u32, first + Days::new(n as u64)))
                .collect();
            let keys: Vec<NotificationKey> =
                proposals.iter().map(|p| p.notification.key.clone()).collect();
            let today = first + Days::new(logged.len() as u64 - 1);
            let decisions = decide(proposals, &Policy::default(), today, &|key| {
                keys.iter().position(|k| k == key).is_some_and(|i| logged[i])
            });
            let unlogged: Vec<usize> = (0..logged.len()).filter(|&i| !logged[i]).collect();
            prop_assert_eq!(decisions.len(), unlogged.len());
            let sent: Vec<u32> = decisions
                .iter()
                .filter_map(|d| match d {
                    Decision::Send { notification } => Some(notification.repeat),
                    Decision::Skip { .. } => None,
                })
                .collect();
            let newest = unlogged.last().map(|&i| i as u32);
            prop_assert_eq!(sent, newest.into_iter().collect::<Vec<_>>());
            for decision in &decisions {
                if let Decision::Skip { reason, .. } = decision {
                    prop_assert_eq!(reason, &SkipReason::Superseded);
                }
            }
        }
    }
}
