//! The Rapid Review timeline as data: milestones loaded from `timeline.toml` and validated once.
//!
//! A [`Timeline`] in hand has unique ids, known anchors and owners, no anchor cycles and no window
//! that opens after it is due. Evaluating a case against it lives in [`evaluate`]; this module
//! never looks at cases or the clock.

mod evaluate;
pub mod policy;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

pub use policy::{CatchUp, EscalateTo, MilestonePolicy, Policy};
use toml::Spanned;

use crate::domain::diagnostic::{Diagnostic, Diagnostics};

pub use evaluate::{
    CaseFacts, Completion, MilestoneState, Status, evaluate, explain, explain_due, long_date,
};

/// The reserved anchors: the day the local authority became aware, and working day 0.
pub const ANCHOR_AWARE: &str = "aware";
pub const ANCHOR_DAY0: &str = "day0";

/// The shipped timeline, used when no config file names another.
const BUILTIN_TIMELINE: &str = include_str!("../../../config/timeline.toml");

/// What a milestone's dates count from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    BusinessTeam,
    CscManager,
    ExecutiveChair,
    Panel,
    SafeguardingPartners,
    NationalPanel,
    AgencyLead,
}

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
        match self {
            Role::BusinessTeam => "business_team",
            Role::CscManager => "csc_manager",
            Role::ExecutiveChair => "executive_chair",
            Role::Panel => "panel",
            Role::SafeguardingPartners => "safeguarding_partners",
            Role::NationalPanel => "national_panel",
            Role::AgencyLead => "agency_lead",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A case fact a milestone can depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The Rapid Review proposed a local child safeguarding practice review.
    LocalReview,
}

/// One milestone of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone)]
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeline {
    day0_milestone: Spanned<String>,
    #[serde(default)]
    policy: Policy,
    #[serde(default, rename = "milestone")]
    milestones: Vec<RawMilestone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMilestone {
    id: Spanned<String>,
    step: u32,
    title: String,
    anchor: Spanned<String>,
    #[serde(default)]
    opens: Option<Spanned<Offset>>,
    due: Spanned<Offset>,
    owner: Spanned<String>,
    #[serde(default)]
    per_agency: bool,
    #[serde(default)]
    only_if: Option<Spanned<String>>,
    #[serde(default)]
    policy: MilestonePolicy,
}

impl Timeline {
    /// The timeline shipped in `config/timeline.toml`.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_TIMELINE, "the built-in timeline").expect("shipped timeline is valid")
    }

    pub fn load(path: &Path) -> Result<Self, TimelineError> {
        let text = std::fs::read_to_string(path).map_err(|reason| TimelineError::Read {
            path: path.display().to_string(),
            reason,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates; reports every problem found, each with its file, line and column.
    pub fn parse(text: &str, file: &str) -> Result<Self, TimelineError> {
        let raw: RawTimeline = toml::from_str(text).map_err(|e| {
            TimelineError::Invalid(Diagnostics(vec![Diagnostic::from_toml(file, text, &e)]))
        })?;
        let mut problems = Vec::new();
        let mut problem = |span: std::ops::Range<usize>, message: String| {
            problems.push(Diagnostic::at(file, text, span, message));
        };

        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, m) in raw.milestones.iter().enumerate() {
            let id = m.id.get_ref().as_str();
            if !is_identifier(id) {
                problem(
                    m.id.span(),
                    format!("invalid milestone id `{id}`: use lowercase letters, digits and `_`"),
                );
            } else if id == ANCHOR_AWARE || id == ANCHOR_DAY0 {
                problem(
                    m.id.span(),
                    format!("`{id}` is a reserved anchor name: choose another milestone id"),
                );
            } else if index.contains_key(id) {
                // The first milestone keeps the id, so anchors resolve to it.
                problem(
                    m.id.span(),
                    format!("duplicate milestone id `{id}`: each id must be unique"),
                );
            } else {
                index.insert(id, i);
            }
        }
        let known_ids = || {
            let mut ids: Vec<&str> = index.keys().copied().collect();
            ids.sort_unstable();
            ids.join(", ")
        };

        let day0 = raw.day0_milestone.get_ref();
        match index.get(day0.as_str()) {
            None => problem(
                raw.day0_milestone.span(),
                format!(
                    "unknown day0_milestone `{day0}`: expected a milestone id ({})",
                    known_ids()
                ),
            ),
            Some(&i) if raw.milestones[i].per_agency => problem(
                raw.day0_milestone.span(),
                format!("day0_milestone `{day0}` is per agency: day 0 must be one date per case"),
            ),
            Some(_) => {}
        }

        let mut milestones = Vec::with_capacity(raw.milestones.len());
        for m in &raw.milestones {
            let anchor = match m.anchor.get_ref().as_str() {
                ANCHOR_AWARE => Some(Anchor::Aware),
                ANCHOR_DAY0 => Some(Anchor::Day0),
                other if index.contains_key(other) => Some(Anchor::Milestone(other.to_owned())),
                other => {
                    problem(
                        m.anchor.span(),
                        format!(
                            "unknown anchor `{other}`: expected `aware`, `day0` or a milestone id ({})",
                            known_ids()
                        ),
                    );
                    None
                }
            };
            let owner = Role::parse(m.owner.get_ref());
            if owner.is_none() {
                let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                problem(
                    m.owner.span(),
                    format!(
                        "unknown owner role `{}`: expected one of {}",
                        m.owner.get_ref(),
                        roles.join(", ")
                    ),
                );
            }
            if owner == Some(Role::AgencyLead) && !m.per_agency {
                problem(
                    m.owner.span(),
                    "owner `agency_lead` needs `per_agency = true`: each agency's lead owns its own copy"
                        .to_owned(),
                );
            }
            if let Some(opens) = &m.opens {
                match (*opens.get_ref(), *m.due.get_ref()) {
                    (Offset::WorkingDays(o), Offset::WorkingDays(d))
                    | (Offset::Months(o), Offset::Months(d))
                        if o > d =>
                    {
                        problem(
                            opens.span(),
                            format!("opens ({o}) is after due ({d}): a window must open on or before its due day"),
                        );
                    }
                    (Offset::WorkingDays(_), Offset::Months(_))
                    | (Offset::Months(_), Offset::WorkingDays(_)) => problem(
                        opens.span(),
                        "opens and due use different units: give both in working days or both in months"
                            .to_owned(),
                    ),
                    _ => {}
                }
            }
            let only_if = match m.only_if.as_ref().map(|c| (c, c.get_ref().as_str())) {
                None => None,
                Some((_, "local_review")) => Some(Condition::LocalReview),
                Some((c, other)) => {
                    problem(
                        c.span(),
                        format!(
                            "unknown condition `{other}`: the only condition is `local_review`"
                        ),
                    );
                    None
                }
            };
            if let (Some(anchor), Some(owner)) = (anchor, owner) {
                milestones.push(Milestone {
                    id: m.id.get_ref().clone(),
                    step: m.step,
                    title: m.title.clone(),
                    anchor,
                    opens: m.opens.as_ref().map(|o| *o.get_ref()),
                    due: *m.due.get_ref(),
                    owner,
                    per_agency: m.per_agency,
                    only_if,
                    policy: m.policy.clone(),
                });
            }
        }

        // Each milestone has one anchor, so following anchors from any milestone either reaches
        // `aware` or loops; depth (distance from `aware`) gives an evaluation order.
        let mut depth = vec![0usize; raw.milestones.len()];
        for (start, m) in raw.milestones.iter().enumerate() {
            let mut chain = vec![start];
            let mut current = start;
            loop {
                let next = match raw.milestones[current].anchor.get_ref().as_str() {
                    ANCHOR_AWARE => None,
                    ANCHOR_DAY0 => index.get(day0.as_str()).copied(),
                    other => index.get(other).copied(),
                };
                let Some(next) = next else { break };
                if chain.contains(&next) {
                    // Report each cycle once, at the anchor of its first milestone in the file.
                    let cycle: Vec<usize> =
                        chain.iter().copied().skip_while(|&i| i != next).collect();
                    if next == start && cycle.iter().min() == Some(&start) {
                        let mut names: Vec<&str> = cycle
                            .iter()
                            .map(|&i| raw.milestones[i].id.get_ref().as_str())
                            .collect();
                        names.push(m.id.get_ref());
                        problem(
                            m.anchor.span(),
                            format!(
                                "anchors form a cycle ({}): each milestone must count from `aware` in the end",
                                names.join(" -> ")
                            ),
                        );
                    }
                    break;
                }
                chain.push(next);
                current = next;
            }
            depth[start] = chain.len();
        }

        let policy_milestone = |key: &str, id: &Option<String>, per_agency: bool| match id {
            None => None,
            Some(id) => match index.get(id.as_str()).map(|&i| &raw.milestones[i]) {
                None => Some(format!(
                    "[policy] {key} names unknown milestone `{id}`: expected one of {}",
                    known_ids()
                )),
                Some(m) if per_agency && !m.per_agency => Some(format!(
                    "[policy] {key} `{id}` is not per agency: letters go to each agency's lead"
                )),
                Some(_) => None,
            },
        };
        // Unset: the conventional milestone where the timeline has it; "": off.
        let mut policy = raw.policy.clone();
        let resolve = |named: &mut Option<String>, conventional: &str| match named.as_deref() {
            Some("") => *named = None,
            Some(_) => {}
            None => {
                *named = index
                    .contains_key(conventional)
                    .then(|| conventional.to_owned())
            }
        };
        resolve(
            &mut policy.agency_letter_milestone,
            policy::DEFAULT_AGENCY_LETTER_MILESTONE,
        );
        resolve(
            &mut policy.national_panel_milestone,
            policy::DEFAULT_NATIONAL_PANEL_MILESTONE,
        );
        let policy_problems = [
            policy_milestone(
                "agency_letter_milestone",
                &policy.agency_letter_milestone,
                true,
            ),
            policy_milestone(
                "national_panel_milestone",
                &policy.national_panel_milestone,
                false,
            ),
            (raw.policy.escalation_repeat_every == 0).then(|| {
                "[policy] escalation_repeat_every is 0: use 1 or more working days".to_owned()
            }),
        ];
        for message in policy_problems.into_iter().flatten() {
            let at = text.find("[policy]").unwrap_or(0);
            problem(at..at, message);
        }

        if !problems.is_empty() {
            return Err(TimelineError::Invalid(Diagnostics(problems)));
        }
        let mut evaluation_order: Vec<usize> = (0..milestones.len()).collect();
        evaluation_order.sort_by_key(|&i| depth[i]);
        let anchor_index = milestones
            .iter()
            .map(|m| match &m.anchor {
                Anchor::Milestone(id) => index.get(id.as_str()).copied(),
                _ => None,
            })
            .collect();
        Ok(Self {
            day0_milestone: day0.clone(),
            policy,
            milestones,
            evaluation_order,
            anchor_index,
        })
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

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
