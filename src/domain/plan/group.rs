//! Grouping: what is sent becomes one digest per recipient, and each agency letter an email of
//! its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::heartbeat::heartbeat_key;
use super::{Decision, Heartbeat, Notification, NotificationKey, Recipient, Rule, SkipReason};
use crate::domain::address::EmailAddress;
use crate::domain::case::CaseRef;

/// One email: a digest of a recipient's items, or a single agency letter. Kept in the outbox
/// in a compact form (`stored`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub recipient: Recipient,
    pub kind: EmailKind,
    /// Most urgent first.
    pub items: Vec<Notification>,
    /// The daily summary's own figures (heartbeat emails only).
    pub heartbeat: Option<Heartbeat>,
}
impl Email {
    /// The keys the notification log records for this email, each with its item's case: a
    /// summary is one notification of its own (its lines are not), any other email its items.
    /// This email to `to` instead of its recipient: the items addressed to the old recipient,
    /// and the daily summary, re-keyed for the new one (a key names its recipient), so the log
    /// knows what the new recipient was sent.
    pub fn readdressed(mut self, to: Recipient) -> Email {
        let old = std::mem::replace(&mut self.recipient, to.clone());
        for item in self.items.iter_mut().filter(|item| item.recipient == old) {
            item.recipient = to.clone();
            item.key = NotificationKey::new(
                item.case.as_ref(),
                item.milestone.as_deref(),
                item.agency.as_ref(),
                item.rule,
                item.rung,
                item.repeat,
                &to.email,
            );
        }
        if let Some(heartbeat) = &mut self.heartbeat {
            heartbeat.key = heartbeat_key(heartbeat.date, &to.email);
        }
        self
    }

    /// This email without what `logged` holds: a summary already sent is nothing left, and
    /// other emails lose the items already sent. `None` when nothing is left to send.
    pub fn without(mut self, logged: &std::collections::HashSet<NotificationKey>) -> Option<Email> {
        if let Some(heartbeat) = &self.heartbeat {
            return (!logged.contains(&heartbeat.key)).then_some(self);
        }
        self.items.retain(|item| !logged.contains(&item.key));
        (!self.items.is_empty()).then_some(self)
    }

    pub fn logged_keys(&self) -> Vec<(Option<&CaseRef>, &NotificationKey)> {
        match &self.heartbeat {
            Some(heartbeat) => vec![(None, &heartbeat.key)],
            None => self
                .items
                .iter()
                .map(|item| (item.case.as_ref(), &item.key))
                .collect(),
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    Digest,
    AgencyLetter,
    /// The business team's daily summary.
    Heartbeat,
}
/// Groups what is to be sent: one digest per recipient (split past [`MAX_DIGEST_ITEMS`]), and
/// each agency letter on its own.
pub fn group(decisions: &[Decision]) -> Vec<Email> {
    group_sends(decisions.iter().filter_map(|d| match d {
        Decision::Send { notification } => Some(notification.clone()),
        Decision::Skip { .. } => None,
    }))
}
/// [`group`] for decisions the caller is done with: what is sent moves into its email (no
/// copies, for runs over many cases), and the skips come back with their reasons.
pub fn group_owned(decisions: Vec<Decision>) -> (Vec<Email>, Vec<(Notification, SkipReason)>) {
    let mut skips = Vec::new();
    let emails = group_sends(decisions.into_iter().filter_map(|d| match d {
        Decision::Send { notification } => Some(notification),
        Decision::Skip {
            notification,
            reason,
        } => {
            skips.push((notification, reason));
            None
        }
    }));
    (emails, skips)
}
pub(super) fn group_sends(sends: impl Iterator<Item = Notification>) -> Vec<Email> {
    let mut digests: BTreeMap<EmailAddress, Email> = BTreeMap::new();
    let mut letters = Vec::new();
    for notification in sends {
        if notification.rule == Rule::AgencyLetter {
            letters.push(Email {
                recipient: notification.recipient.clone(),
                kind: EmailKind::AgencyLetter,
                items: vec![notification],
                heartbeat: None,
            });
        } else {
            digests
                .entry(notification.recipient.email.clone())
                .or_insert_with(|| Email {
                    recipient: notification.recipient.clone(),
                    kind: EmailKind::Digest,
                    items: Vec::new(),
                    heartbeat: None,
                })
                .items
                .push(notification);
        }
    }
    // A digest stays readable (and cheap to render): past the limit, a recipient's items, still
    // most urgent first, go in further digests.
    for mut digest in digests.into_values() {
        while digest.items.len() > MAX_DIGEST_ITEMS {
            let rest = digest.items.split_off(MAX_DIGEST_ITEMS);
            letters.push(Email {
                recipient: digest.recipient.clone(),
                kind: digest.kind,
                items: std::mem::replace(&mut digest.items, rest),
                heartbeat: None,
            });
        }
        letters.push(digest);
    }
    letters
}
/// The most items one digest lists.
pub const MAX_DIGEST_ITEMS: usize = 100;
