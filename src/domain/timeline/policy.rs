//! The notification policy: who hears what, and when, around each milestone.
//!
//! Lives in `timeline.toml` under `[policy]`, with defaults here; a milestone can override its
//! reminders and turn escalation off. Parsed once with the timeline; planning reads it.

use serde::{Deserialize, Deserializer, Serialize, de};

use super::Role;

/// The most working days a policy counts (before a due day, after it, between repeats): a year
/// of working days, far beyond any Rapid Review, so that every reminder and escalation of a
/// case stays inside the calendar's range. A bigger number is refused at load, with its place
/// in the file, instead of failing every case at the next run.
pub const MAX_POLICY_WORKING_DAYS: u32 = 260;
/// The most times a rung may be sent.
pub const MAX_SENDS: u32 = 50;

fn within<E: de::Error>(value: i64, min: u32, max: u32, what: &str) -> Result<u32, E> {
    u32::try_from(value)
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            E::custom(format!(
                "{value} {what} is out of range: use {min} to {max}"
            ))
        })
}

fn working_days<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    within(
        i64::deserialize(deserializer)?,
        0,
        MAX_POLICY_WORKING_DAYS,
        "working days",
    )
}

fn some_working_days<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    within(
        i64::deserialize(deserializer)?,
        1,
        MAX_POLICY_WORKING_DAYS,
        "working days",
    )
}

fn sends<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    within(i64::deserialize(deserializer)?, 0, MAX_SENDS, "sends")
}

fn working_days_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u32>, D::Error> {
    Vec::<i64>::deserialize(deserializer)?
        .into_iter()
        .map(|v| {
            within(
                v,
                1,
                MAX_POLICY_WORKING_DAYS,
                "working days before the due day",
            )
        })
        .collect()
}

fn some_working_days_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<u32>>, D::Error> {
    working_days_list(deserializer).map(Some)
}

/// What to do with an occurrence whose day passed while no run happened (downtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Send it now: it is still true and still useful (letters, escalations).
    SendLate,
    /// Drop it and record that in the audit log (a "3 days to go" reminder on day 2 is wrong).
    Skip,
}

/// The catch-up rule of each kind of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatchUpRules {
    pub agency_letter: CatchUp,
    pub chair_notice: CatchUp,
    pub reminder: CatchUp,
    pub due_today: CatchUp,
    pub escalation: CatchUp,
    pub national_panel: CatchUp,
}

impl Default for CatchUpRules {
    fn default() -> Self {
        Self {
            agency_letter: CatchUp::SendLate,
            chair_notice: CatchUp::SendLate,
            reminder: CatchUp::Skip,
            due_today: CatchUp::Skip,
            escalation: CatchUp::SendLate,
            national_panel: CatchUp::SendLate,
        }
    }
}

/// One rung of the escalation ladder: from this many working days overdue, tell `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rung {
    #[serde(deserialize_with = "some_working_days")]
    pub after: u32,
    pub to: EscalateTo,
}

/// Who a rung goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalateTo {
    /// The owner's manager: the agency's manager for agency milestones, else `manager_of`.
    Manager,
    ExecutiveChair,
}

/// Who manages each partnership role, for the first rung of non-agency milestones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ManagerOf {
    pub business_team: Role,
    pub csc_manager: Role,
    pub panel: Role,
    pub safeguarding_partners: Role,
    pub executive_chair: Role,
    pub national_panel: Role,
}

impl Default for ManagerOf {
    fn default() -> Self {
        Self {
            business_team: Role::CscManager,
            csc_manager: Role::BusinessTeam,
            panel: Role::BusinessTeam,
            safeguarding_partners: Role::BusinessTeam,
            executive_chair: Role::BusinessTeam,
            national_panel: Role::BusinessTeam,
        }
    }
}

impl ManagerOf {
    /// The manager of a partnership role; `None` for agency leads (their agency's manager).
    pub fn of(&self, role: Role) -> Option<Role> {
        match role {
            Role::BusinessTeam => Some(self.business_team),
            Role::CscManager => Some(self.csc_manager),
            Role::Panel => Some(self.panel),
            Role::SafeguardingPartners => Some(self.safeguarding_partners),
            Role::ExecutiveChair => Some(self.executive_chair),
            Role::NationalPanel => Some(self.national_panel),
            Role::AgencyLead => None,
        }
    }
}

/// `[policy]` of the timeline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Working days before the due day on which the owner is reminded.
    #[serde(deserialize_with = "working_days_list")]
    pub reminder_days_before: Vec<u32>,
    /// Remind the owner on the due day itself.
    pub remind_on_due_day: bool,
    /// The per-agency milestone whose request goes to each agency's lead on `agency_letter_day`.
    /// Unset: `agency_summary` if the timeline has it; `""` turns the letters off.
    #[serde(default)]
    pub agency_letter_milestone: Option<String>,
    /// The working day after day 0 on which agency letters go out.
    #[serde(deserialize_with = "working_days")]
    pub agency_letter_day: u32,
    /// Tell the Executive Chair when a case opens.
    pub chair_notice: bool,
    pub escalation: Vec<Rung>,
    /// Working days between repeats of a rung while the milestone stays overdue.
    #[serde(deserialize_with = "some_working_days")]
    pub escalation_repeat_every: u32,
    /// How many times each rung is sent at most.
    #[serde(deserialize_with = "sends")]
    pub escalation_max_sends: u32,
    pub manager_of: ManagerOf,
    /// The milestone whose recording is reported to the national panel contact.
    /// Unset: `national_panel_submission` if the timeline has it; `""` turns the notices off.
    #[serde(default)]
    pub national_panel_milestone: Option<String>,
    /// Also tell the national panel contact when that milestone is overdue.
    pub national_panel_delay_notice: bool,
    pub catch_up: CatchUpRules,
}

/// The conventional milestones, used when the policy does not name others.
pub const DEFAULT_AGENCY_LETTER_MILESTONE: &str = "agency_summary";
pub const DEFAULT_NATIONAL_PANEL_MILESTONE: &str = "national_panel_submission";

impl Default for Policy {
    fn default() -> Self {
        Self {
            reminder_days_before: vec![3, 1],
            remind_on_due_day: true,
            agency_letter_milestone: None,
            agency_letter_day: 1,
            chair_notice: true,
            escalation: vec![
                Rung {
                    after: 1,
                    to: EscalateTo::Manager,
                },
                Rung {
                    after: 3,
                    to: EscalateTo::ExecutiveChair,
                },
            ],
            escalation_repeat_every: 2,
            escalation_max_sends: 3,
            manager_of: ManagerOf::default(),
            national_panel_milestone: None,
            national_panel_delay_notice: false,
            catch_up: CatchUpRules::default(),
        }
    }
}

/// A milestone's own overrides of the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MilestonePolicy {
    #[serde(default, deserialize_with = "some_working_days_list")]
    pub reminder_days_before: Option<Vec<u32>>,
    pub remind_on_due_day: Option<bool>,
    /// `false` turns the escalation ladder off for this milestone.
    pub escalate: Option<bool>,
}
