//! How an email is kept in the outbox. Each item leaves out what the email already says: its
//! recipient when it is the email's, and its key when the item's parts make it. That is a third
//! of a digest's size, and the outbox holds tens of megabytes of digests on a busy day.
//! Absent values and zeros are left out. Items written in full (by older versions) read back the
//! same.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    Email, EmailKind, Heartbeat, Item, KeyDate, Notification, NotificationKey, Recipient, Rule,
};
use crate::domain::agency::AgencyId;
use crate::domain::case::CaseRef;
use chrono::NaiveDate;

#[derive(Serialize)]
struct EmailOut<'a> {
    recipient: &'a Recipient,
    kind: EmailKind,
    items: ItemsOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a Heartbeat>,
}

struct ItemsOut<'a>(&'a Email);

impl Serialize for ItemsOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let email = self.0;
        serializer.collect_seq(email.items.iter().map(|n| {
            let recipient = (n.recipient != email.recipient).then_some(&n.recipient);
            let key = (n.key != key_of(n)).then_some(&n.key);
            let item = &n.item;
            ItemOut {
                key,
                case: n.case.as_ref(),
                milestone: n.milestone.as_deref(),
                agency: n.agency.as_ref(),
                rule: n.rule,
                rung: n.rung,
                repeat: n.repeat,
                recipient,
                scheduled: n.scheduled,
                item: BodyOut {
                    title: &item.title,
                    step: item.step,
                    due: item.due,
                    status: &item.status,
                    derivation: item.derivation.as_deref(),
                    progress: item.progress.as_deref(),
                    owner: item.owner.as_deref(),
                    overdue_since: item.overdue_since,
                    done_on: item.done_on,
                    key_dates: &item.key_dates,
                },
            }
        }))
    }
}

/// Absent values and zeros are left out: they read back as `None` and 0.
#[derive(Serialize)]
struct ItemOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a NotificationKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    case: Option<&'a CaseRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    milestone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agency: Option<&'a AgencyId>,
    rule: Rule,
    #[serde(skip_serializing_if = "is_zero")]
    rung: u32,
    #[serde(skip_serializing_if = "is_zero")]
    repeat: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: Option<&'a Recipient>,
    scheduled: NaiveDate,
    item: BodyOut<'a>,
}

/// An [`Item`], without its absent values.
#[derive(Serialize)]
struct BodyOut<'a> {
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<NaiveDate>,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    derivation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    overdue_since: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    done_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "<[KeyDate]>::is_empty")]
    key_dates: &'a [KeyDate],
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Deserialize)]
struct EmailIn {
    recipient: Recipient,
    kind: EmailKind,
    items: Vec<ItemIn>,
    #[serde(default)]
    summary: Option<Heartbeat>,
}

#[derive(Deserialize)]
struct ItemIn {
    key: Option<NotificationKey>,
    case: Option<CaseRef>,
    milestone: Option<String>,
    agency: Option<AgencyId>,
    rule: Rule,
    #[serde(default)]
    rung: u32,
    #[serde(default)]
    repeat: u32,
    recipient: Option<Recipient>,
    scheduled: NaiveDate,
    item: Item,
}

/// The key an item's parts make.
fn key_of(n: &Notification) -> NotificationKey {
    NotificationKey::new(
        n.case.as_ref(),
        n.milestone.as_deref(),
        n.agency.as_ref(),
        n.rule,
        n.rung,
        n.repeat,
        &n.recipient.email,
    )
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EmailOut {
            recipient: &self.recipient,
            kind: self.kind,
            items: ItemsOut(self),
            summary: self.heartbeat.as_ref(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = EmailIn::deserialize(deserializer)?;
        let items = stored
            .items
            .into_iter()
            .map(|i| {
                let mut n = Notification {
                    key: NotificationKey(String::new()),
                    case: i.case,
                    milestone: i.milestone,
                    agency: i.agency,
                    rule: i.rule,
                    rung: i.rung,
                    repeat: i.repeat,
                    recipient: i.recipient.unwrap_or_else(|| stored.recipient.clone()),
                    scheduled: i.scheduled,
                    item: i.item,
                    urgency: Default::default(),
                };
                n.key = i.key.unwrap_or_else(|| key_of(&n));
                n
            })
            .collect();
        Ok(Email {
            recipient: stored.recipient,
            kind: stored.kind,
            items,
            heartbeat: stored.summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(email: &str) -> Recipient {
        Recipient {
            role: crate::domain::plan::Capacity::Role(
                crate::domain::timeline::Role::ExecutiveChair,
            ),
            name: "Executive Chair".to_owned(),
            email: crate::domain::address::EmailAddress::parse(email).unwrap(),
        }
    }

    fn item(title: &str) -> Item {
        Item {
            title: title.to_owned(),
            step: Some(4),
            due: NaiveDate::from_ymd_opt(2027, 1, 7),
            status: "due today".to_owned(),
            derivation: Some("Due Thursday 7 January 2027: …".to_owned()),
            progress: None,
            ..Item::default()
        }
    }

    #[test]
    fn an_email_reads_back_as_it_was_written_in_less_space() {
        let chair = recipient("chair@partnership.example");
        let case = CaseRef::parse("RR-2026-014").unwrap();
        let day = NaiveDate::from_ymd_opt(2027, 1, 7).unwrap();
        let mine =
            Notification::standalone(case.clone(), Rule::DueToday, chair.clone(), day, item("a"));
        // An item addressed to someone else (as in the daily summary) keeps its own recipient.
        let other = Notification::standalone(
            case.clone(),
            Rule::Reminder,
            recipient("team@partnership.example"),
            day,
            item("b"),
        );
        // An item whose key is not the one its parts make keeps its key.
        let mut odd =
            Notification::standalone(case, Rule::Escalation, chair.clone(), day, item("c"));
        odd.key = NotificationKey::from_stored("an older key".to_owned());
        let email = Email {
            recipient: chair,
            kind: EmailKind::Digest,
            items: vec![mine.clone(), other, odd],
            heartbeat: None,
        };
        let stored = serde_json::to_string(&email).unwrap();
        assert_eq!(serde_json::from_str::<Email>(&stored).unwrap(), email);
        assert!(stored.contains("an older key") && stored.contains("team@partnership.example"));
        assert_eq!(
            stored.matches("chair@partnership.example").count(),
            1,
            "{stored}"
        );
        // No agency, no progress, rung and repeat 0: none of them is written.
        assert!(
            !stored.contains("null") && !stored.contains("\"rung\""),
            "{stored}"
        );

        // Written in full by an older version, it reads back the same.
        let full = serde_json::json!({
            "recipient": email.recipient,
            "kind": "digest",
            "items": [serde_json::to_value(&mine).unwrap()],
        });
        let read: Email = serde_json::from_value(full.clone()).unwrap();
        assert_eq!(read.items, vec![mine]);
        let all_in_full = serde_json::json!({
            "recipient": email.recipient,
            "kind": "digest",
            "items": email.items,
        });
        assert!(stored.len() < all_in_full.to_string().len(), "{stored}");
    }
}
