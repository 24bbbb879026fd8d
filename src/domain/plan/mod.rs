//! Notification planning: from a case's evaluated timeline, the policy and `today`, who should
//! hear what. Pure: never reads the clock, the database or the network.
//!
//! Every notification has a stable [`NotificationKey`] made of its logical occurrence (case,
//! milestone, agency, rule, rung, repeat) and its recipient. Planning proposes every occurrence
//! whose day has come; [`decide`] then drops the keys already in the notification log, sends what
//! is due today or may be sent late, and skips (with a reason, for the audit log) what went
//! stale while no run happened. Because each run re-derives everything from the cases, a run
//! after downtime sends today's state once instead of every missed day.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use strum::IntoStaticStr;

mod decide;
mod fingerprint;
mod group;
mod heartbeat;
mod key;
mod preview;
mod propose;
mod recheck;
mod recipients;
mod stored;
mod words;

pub use decide::{SkipReason, decide};
pub use group::{Email, EmailKind, MAX_DIGEST_ITEMS, group, group_owned};
pub use heartbeat::{HEARTBEAT_HORIZON, Heartbeat};
pub use key::NotificationKey;
pub use preview::preview;
pub use recheck::{CaseNow, no_longer_holds};

use crate::domain::address::EmailAddress;
use crate::domain::agency::AgencyId;
use crate::domain::calendar::Calendar;
use crate::domain::case::CaseRef;
use crate::domain::contacts::{Agency, ContactsSection};
use crate::domain::timeline::{CatchUp, Policy, Role, Timeline};
use crate::domain::urgency::Urgency;

/// The kind of notification.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Rule {
    /// Day 1: the request to each agency's lead for its summary.
    AgencyLetter,
    /// A case opened: the Executive Chair is told a Rapid Review is in progress.
    ChairNotice,
    /// N working days before the due day (`rung` = N).
    Reminder,
    DueToday,
    /// Overdue: `rung` is the ladder's step (1, 2), `repeat` counts its repeats from 0.
    Escalation,
    /// The submission was recorded: the national panel contact is told.
    NationalPanelSubmitted,
    /// The submission is overdue (only when the policy turns it on).
    NationalPanelDelay,
    /// A line of the business team's daily summary.
    Heartbeat,
    /// The first working day a task is overdue: its owner is told (the ladder tells others).
    /// Last in the list, so no other rule's key or order moves.
    Overdue,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn catch_up(self, policy: &Policy) -> CatchUp {
        let rules = &policy.catch_up;
        match self {
            Rule::AgencyLetter => rules.agency_letter,
            Rule::ChairNotice => rules.chair_notice,
            Rule::Reminder => rules.reminder,
            Rule::DueToday => rules.due_today,
            // Still true and still the owner's to act on, as an escalation is.
            Rule::Escalation | Rule::Overdue => rules.escalation,
            Rule::NationalPanelSubmitted | Rule::NationalPanelDelay => rules.national_panel,
            // Yesterday's summary is of no use today.
            Rule::Heartbeat => CatchUp::Skip,
        }
    }
}

/// In which capacity someone receives a notification; written `executive_chair`,
/// `agency_lead:police`, `agency_manager:police` (in templates, listings and stored emails).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capacity {
    /// A partnership role held by a `[contacts]` entry.
    Role(Role),
    /// The safeguarding lead of an agency.
    AgencyLead(AgencyId),
    /// The manager of an agency's lead: the first escalation.
    AgencyManager(AgencyId),
    /// Nobody holds the role: the notification is never sent, only reported.
    Unaddressed,
}

impl std::fmt::Display for Capacity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Capacity::Role(role) => role.as_str().to_owned(),
            Capacity::AgencyLead(agency) => format!("agency_lead:{agency}"),
            Capacity::AgencyManager(agency) => format!("agency_manager:{agency}"),
            Capacity::Unaddressed => "unaddressed".to_owned(),
        };
        f.pad(&text)
    }
}

impl std::str::FromStr for Capacity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let agency = |id: &str| AgencyId::parse(id).map_err(|e| e.to_string());
        match s.split_once(':') {
            Some(("agency_lead", id)) => Ok(Capacity::AgencyLead(agency(id)?)),
            Some(("agency_manager", id)) => Ok(Capacity::AgencyManager(agency(id)?)),
            _ if s == "unaddressed" => Ok(Capacity::Unaddressed),
            _ => s
                .parse::<Role>()
                .map(Capacity::Role)
                .map_err(|_| format!("unknown recipient role `{s}`")),
        }
    }
}

impl Serialize for Capacity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Capacity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Who receives a notification, and in which capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub role: Capacity,
    pub name: String,
    pub email: EmailAddress,
}

/// What a notification says about its milestone; only the case reference, titles, dates and
/// counts: nothing about the child exists to say. Fields added later default when an older
/// outbox row is read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub title: String,
    pub step: Option<u32>,
    pub due: Option<NaiveDate>,
    /// "overdue by 3 working days", "due in 1 working day", "due today".
    pub status: String,
    pub derivation: Option<String>,
    /// For per-agency milestones: "2 of the 3 agencies have sent theirs (police, health)".
    pub progress: Option<String>,
    /// Whose task it is, for an overdue one: "Education Safeguarding Lead".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The first working day it was overdue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_since: Option<NaiveDate>,
    /// When it was done (the national panel's courtesy note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_on: Option<NaiveDate>,
    /// The Chair's notice: day 0, then the deadlines the Chair will hear about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_dates: Vec<KeyDate>,
}

/// A date the Executive Chair's notice names: what, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDate {
    pub label: String,
    pub date: NaiveDate,
}

/// One planned notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub key: NotificationKey,
    pub case: Option<CaseRef>,
    pub milestone: Option<String>,
    pub agency: Option<AgencyId>,
    pub rule: Rule,
    pub rung: u32,
    pub repeat: u32,
    pub recipient: Recipient,
    /// The day it was meant for; earlier than today when it comes late after downtime.
    pub scheduled: NaiveDate,
    pub item: Item,
    #[serde(skip)]
    urgency: Urgency,
}

impl Notification {
    /// A notification outside any series (rung and repeat 0), for examples and checks.
    pub fn standalone(
        case: CaseRef,
        rule: Rule,
        recipient: Recipient,
        scheduled: NaiveDate,
        item: Item,
    ) -> Self {
        Self {
            key: NotificationKey::new(Some(&case), None, None, rule, 0, 0, &recipient.email),
            case: Some(case),
            milestone: None,
            agency: None,
            rule,
            rung: 0,
            repeat: 0,
            recipient,
            scheduled,
            item,
            urgency: Urgency::default(),
        }
    }
}

/// A notification proposed by planning, before the notification log is consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub notification: Notification,
    /// Why it cannot be sent at all (no contact configured), if so.
    pub unaddressed: Option<String>,
}

/// What a run does with a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Send {
        #[serde(flatten)]
        notification: Notification,
    },
    /// Not sent, and recorded so it is not considered again; the reason goes to the audit log.
    Skip {
        #[serde(flatten)]
        notification: Notification,
        reason: SkipReason,
    },
}

impl Decision {
    pub fn notification(&self) -> &Notification {
        match self {
            Decision::Send { notification } | Decision::Skip { notification, .. } => notification,
        }
    }
}

/// The rules and people planning needs, borrowed from the loaded config.
pub struct Planner<'a> {
    pub timeline: &'a Timeline,
    pub calendar: &'a Calendar,
    pub contacts: &'a ContactsSection,
    pub agencies: &'a [Agency],
}

impl Planner<'_> {
    fn policy(&self) -> &Policy {
        self.timeline.policy()
    }
}
