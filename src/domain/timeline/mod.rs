//! The Rapid Review timeline as data: milestones loaded from `timeline.toml` and validated once.
//!
//! A [`Timeline`] in hand has unique ids, known anchors and owners, no anchor cycles and no window
//! that opens after it is due. Evaluating a case against it lives in [`evaluate`]; this module
//! never looks at cases or the clock.

mod evaluate;
mod parse;
pub mod policy;

use std::fmt;
use strum::{EnumCount, EnumString, IntoStaticStr};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

pub use policy::{CatchUp, EscalateTo, MilestonePolicy, Policy};

use crate::domain::diagnostic::Diagnostics;

pub use evaluate::{
    CaseFacts, Completion, MilestoneState, Status, evaluate, explain, explain_due, long_date,
};

/// The reserved anchors: the day the local authority became aware, and working day 0.
pub const ANCHOR_AWARE: &str = "aware";
pub const ANCHOR_DAY0: &str = "day0";

/// The shipped timeline, used when no config file names another.
const BUILTIN_TIMELINE: &str = include_str!("../../../config/timeline.toml");

/// What a milestone's dates count from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Anchor {
    /// The day the local authority became aware of the incident.
    Aware,
    /// Working day 0: the day the notification went to Ofsted.
    Day0,
    /// The completion date of another milestone.
    Milestone(String),
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anchor::Aware => f.write_str(ANCHOR_AWARE),
            Anchor::Day0 => f.write_str(ANCHOR_DAY0),
            Anchor::Milestone(id) => f.write_str(id),
        }
    }
}

/// A distance from an anchor: working days (the statutory clock) or calendar months (review
/// publication), which clamp to the month's last day (31 August + 6 months = 28/29 February).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Offset {
    WorkingDays(u32),
    Months(u32),
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Offset::WorkingDays(n) => write!(f, "working day {n}"),
            Offset::Months(1) => f.write_str("1 calendar month"),
            Offset::Months(n) => write!(f, "{n} calendar months"),
        }
    }
}

/// The largest offsets a timeline may use: decades, far beyond any review, and small enough
/// that date arithmetic can never overflow.
const MAX_WORKING_DAYS: u32 = 10_000;
const MAX_MONTHS: u32 = 1_200;

fn checked<E: de::Error>(value: i64, max: u32, unit: &str) -> Result<u32, E> {
    u32::try_from(value)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| E::custom(format!("{value} {unit} is out of range: use 0 to {max}")))
}

/// Accepts `10` (working days), `{ working_days = 10 }` or `{ months = 6 }`.
impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OffsetVisitor;
        impl<'de> Visitor<'de> for OffsetVisitor {
            type Value = Offset;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of working days (10), { working_days = N } or { months = N }")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Offset, E> {
                checked(v, MAX_WORKING_DAYS, "working days").map(Offset::WorkingDays)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Offset, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Offset, A::Error> {
                let Some((key, value)) = map.next_entry::<String, i64>()? else {
                    return Err(de::Error::custom(
                        "empty offset: use { working_days = N } or { months = N }",
                    ));
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "an offset has one key: working_days or months",
                    ));
                }
                match key.as_str() {
                    "working_days" => {
                        checked(value, MAX_WORKING_DAYS, "working days").map(Offset::WorkingDays)
                    }
                    "months" => checked(value, MAX_MONTHS, "months").map(Offset::Months),
                    other => Err(de::Error::custom(format!(
                        "unknown offset unit `{other}`: use working_days or months"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(OffsetVisitor)
    }
}

/// Who must act on a milestone. Agency leads are per agency; the rest are partnership roles
/// whose contacts live in the config.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    IntoStaticStr,
    strum::Display,
    EnumString,
    EnumCount,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    BusinessTeam,
    CscManager,
    ExecutiveChair,
    Panel,
    SafeguardingPartners,
    NationalPanel,
    AgencyLead,
}

// `ALL` lists every role: a new one cannot be forgotten there.
const _: () = assert!(Role::ALL.len() == <Role as EnumCount>::COUNT);

impl Role {
    pub const ALL: [Role; 7] = [
        Role::BusinessTeam,
        Role::CscManager,
        Role::ExecutiveChair,
        Role::Panel,
        Role::SafeguardingPartners,
        Role::NationalPanel,
        Role::AgencyLead,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn parse(s: &str) -> Option<Role> {
        s.parse().ok()
    }
}

/// A case fact a milestone can depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Condition {
    /// The Rapid Review proposed a local child safeguarding practice review.
    LocalReview,
}

/// One milestone of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Milestone {
    pub id: String,
    /// The flowchart step it comes from.
    pub step: u32,
    pub title: String,
    pub anchor: Anchor,
    /// When the window opens, if it opens later than the anchor.
    pub opens: Option<Offset>,
    pub due: Offset,
    pub owner: Role,
    /// Tracked separately for each agency involved in the case.
    pub per_agency: bool,
    /// Applies only to cases with this fact.
    pub only_if: Option<Condition>,
    /// Its own reminders or escalation, where they differ from `[policy]`.
    pub policy: MilestonePolicy,
}

/// A validated timeline; milestones in file order.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    day0_milestone: String,
    policy: Policy,
    milestones: Vec<Milestone>,
    /// Indices into `milestones` such that every milestone comes after its anchor.
    evaluation_order: Vec<usize>,
    /// For each milestone anchored on another, that milestone's index.
    anchor_index: Vec<Option<usize>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("cannot read timeline file {path}: {reason}")]
    Read {
        path: String,
        reason: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl TimelineError {
    /// Whether the file was refused (fix it), rather than unreadable.
    pub fn refused(&self) -> bool {
        matches!(self, TimelineError::Invalid(_))
    }
}

impl Timeline {
    /// The text of the timeline shipped in `config/timeline.toml`.
    pub const BUILTIN_TEXT: &'static str = BUILTIN_TIMELINE;

    /// The timeline shipped in `config/timeline.toml`.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_TIMELINE, "the built-in timeline").expect("shipped timeline is valid")
    }

    /// Milestones in file order.
    pub fn milestones(&self) -> &[Milestone] {
        &self.milestones
    }

    pub fn milestone(&self, id: &str) -> Option<&Milestone> {
        self.milestones.iter().find(|m| m.id == id)
    }

    /// Every partnership role this timeline and its policy may send to, each with why: owners
    /// of milestones, the managers the first escalation rung goes to, the Executive Chair, the
    /// national panel contact and the business team (the daily summary, the Reply-To). Agency
    /// leads and managers come from `[[agency]]`, not from here.
    pub fn roles_sent_to(&self) -> Vec<(Role, String)> {
        let mut roles: Vec<(Role, String)> = Vec::new();
        let mut add = |role: Role, why: String| {
            if role != Role::AgencyLead && !roles.iter().any(|(r, _)| *r == role) {
                roles.push((role, why));
            }
        };
        add(
            Role::BusinessTeam,
            "the daily summary and replies go to it".to_owned(),
        );
        let policy = &self.policy;
        let to_manager = policy
            .escalation
            .iter()
            .any(|rung| rung.to == EscalateTo::Manager);
        for milestone in &self.milestones {
            add(milestone.owner, format!("it owns `{}`", milestone.id));
            if to_manager
                && milestone.policy.escalate != Some(false)
                && let Some(manager) = policy.manager_of.of(milestone.owner)
            {
                add(
                    manager,
                    format!("escalations about `{}` go to it", milestone.id),
                );
            }
        }
        if policy.chair_notice {
            add(
                Role::ExecutiveChair,
                "it is told when a Rapid Review starts ([policy] chair_notice)".to_owned(),
            );
        }
        if policy
            .escalation
            .iter()
            .any(|rung| rung.to == EscalateTo::ExecutiveChair)
        {
            add(
                Role::ExecutiveChair,
                "the escalation ladder reaches it".to_owned(),
            );
        }
        if policy
            .national_panel_milestone
            .as_deref()
            .is_some_and(|m| !m.is_empty())
        {
            add(
                Role::NationalPanel,
                "it is told when the Rapid Review is submitted".to_owned(),
            );
        }
        roles
    }

    /// Who hears what, and when.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The milestone whose completion date is working day 0.
    pub fn day0_milestone(&self) -> &str {
        &self.day0_milestone
    }

    /// The working days from day 0 to a milestone's due day, when it counts from day 0 in working
    /// days (used to compare the timeline with the statutory limit).
    pub fn working_days_from_day0(&self, id: &str) -> Option<u32> {
        let milestone = self.milestone(id)?;
        match (&milestone.anchor, milestone.due) {
            (Anchor::Day0, Offset::WorkingDays(n)) => Some(n),
            _ => None,
        }
    }
}
