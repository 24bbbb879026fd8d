//! Notification planning: from a case's evaluated timeline, the policy and `today`, who should
//! hear what. Pure: never reads the clock, the database or the network.
//!
//! Every notification has a stable [`NotificationKey`] made of its logical occurrence (case,
//! milestone, agency, rule, rung, repeat) and its recipient. Planning proposes every occurrence
//! whose day has come; [`decide`] then drops the keys already in the notification log, sends what
//! is due today or may be sent late, and skips (with a reason, for the audit log) what went
//! stale while no run happened. Because each run re-derives everything from the cases, a run
//! after downtime sends today's state once instead of every missed day.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

mod stored;

use crate::domain::address::EmailAddress;
use crate::domain::agency::AgencyId;
use crate::domain::calendar::{Calendar, OutOfRange};
use crate::domain::case::{CaseOverview, CaseRef, FailedCase};
use crate::domain::contacts::{Agency, Contact, ContactsSection};
use crate::domain::listing::urgency;
use crate::domain::timeline::{
    CatchUp, EscalateTo, MilestoneState, Policy, Role, Status, Timeline, evaluate, explain_due,
    long_date,
};

/// The stable identity of one notification to one recipient; never reused for another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NotificationKey(String);

impl NotificationKey {
    fn new(
        case: Option<&CaseRef>,
        milestone: Option<&str>,
        agency: Option<&AgencyId>,
        rule: Rule,
        rung: u32,
        repeat: u32,
        recipient: &EmailAddress,
    ) -> Self {
        Self(format!(
            "{}/{}/{}/{}/{rung}/{repeat}/{recipient}",
            case.map_or("-", CaseRef::as_str),
            milestone.unwrap_or("-"),
            agency.map_or("-", AgencyId::as_str),
            rule.as_str(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key as stored in the notification log.
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }
}

impl fmt::Display for NotificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// The kind of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::AgencyLetter => "agency_letter",
            Rule::ChairNotice => "chair_notice",
            Rule::Reminder => "reminder",
            Rule::DueToday => "due_today",
            Rule::Escalation => "escalation",
            Rule::NationalPanelSubmitted => "national_panel_submitted",
            Rule::NationalPanelDelay => "national_panel_delay",
            Rule::Heartbeat => "heartbeat",
        }
    }

    fn catch_up(self, policy: &Policy) -> CatchUp {
        let rules = &policy.catch_up;
        match self {
            Rule::AgencyLetter => rules.agency_letter,
            Rule::ChairNotice => rules.chair_notice,
            Rule::Reminder => rules.reminder,
            Rule::DueToday => rules.due_today,
            Rule::Escalation => rules.escalation,
            Rule::NationalPanelSubmitted | Rule::NationalPanelDelay => rules.national_panel,
            // Yesterday's summary is of no use today.
            Rule::Heartbeat => CatchUp::Skip,
        }
    }
}

/// Who receives a notification, and in which capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// `executive_chair`, `agency_lead:police`, `agency_manager:police`, …
    pub role: String,
    pub name: String,
    pub email: EmailAddress,
}

/// What a notification says about its milestone; only the case reference, titles, dates and
/// counts: nothing about the child exists to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub title: String,
    pub step: Option<u32>,
    pub due: Option<NaiveDate>,
    /// "overdue by 3 working days", "due in 1 working day", "due today".
    pub status: String,
    pub derivation: Option<String>,
    /// For per-agency milestones: "2 of 3 received".
    pub progress: Option<String>,
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
    urgency: (u8, Reverse<i32>),
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
            urgency: (0, Reverse(0)),
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
        reason: String,
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
    /// A fingerprint of everything planning depends on besides the cases: the timeline and its
    /// policy, the contacts and agencies, and the calendar's non-working days. A run records it;
    /// when it changes, the next run looks at every case whole again.
    pub fn fingerprint(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        format!(
            "{:?}|{:?}|{:?}",
            self.timeline, self.contacts, self.agencies
        )
        .hash(&mut hasher);
        self.calendar.division().hash(&mut hasher);
        let first =
            NaiveDate::from_ymd_opt(crate::domain::calendar::FIRST_YEAR, 1, 1).expect("valid");
        let last =
            NaiveDate::from_ymd_opt(crate::domain::calendar::LAST_YEAR, 12, 31).expect("valid");
        for day in self.calendar.closed_weekdays_between(first, last) {
            day.date.hash(&mut hasher);
        }
        format!("{:016x}", hasher.finish())
    }
}

/// A notification that cannot be addressed (no contact configured): planned as a skip.
#[derive(Clone)]
struct Unaddressed(String);

/// Who a notification goes to, worked out only if it is proposed.
type ToWhom<'a> = dyn Fn() -> Result<Recipient, Unaddressed> + 'a;

impl Planner<'_> {
    fn policy(&self) -> &Policy {
        self.timeline.policy()
    }

    fn role_contact(&self, role: Role) -> Result<Recipient, Unaddressed> {
        let contact = match role {
            Role::BusinessTeam => self.contacts.business_team.as_ref(),
            Role::CscManager => self.contacts.csc_manager.as_ref(),
            Role::ExecutiveChair => self.contacts.executive_chair.as_ref(),
            Role::Panel => self.contacts.panel.as_ref(),
            Role::SafeguardingPartners => self.contacts.safeguarding_partners.as_ref(),
            Role::NationalPanel => self.contacts.national_panel.as_ref(),
            Role::AgencyLead => None,
        };
        contact
            .map(|c| recipient(role.as_str().to_owned(), c))
            .ok_or_else(|| Unaddressed(format!("no contact for {role} in [contacts]")))
    }

    fn agency(&self, id: &AgencyId) -> Result<&Agency, Unaddressed> {
        self.agencies
            .iter()
            .find(|a| &a.id == id)
            .ok_or_else(|| Unaddressed(format!("agency {id} is not in the config")))
    }

    /// Who must act on a milestone (for one agency, where per agency).
    fn owner(&self, state: &MilestoneState) -> Result<Recipient, Unaddressed> {
        match (state.owner, state.agency) {
            (Role::AgencyLead, Some(agency)) => {
                let agency = self.agency(agency)?;
                Ok(recipient(
                    format!("agency_lead:{}", agency.id),
                    &agency.lead,
                ))
            }
            (role, _) => self.role_contact(role),
        }
    }

    fn manager(&self, state: &MilestoneState) -> Result<Recipient, Unaddressed> {
        match state.agency {
            Some(agency) => {
                let agency = self.agency(agency)?;
                Ok(recipient(
                    format!("agency_manager:{}", agency.id),
                    &agency.manager,
                ))
            }
            None => match self.policy().manager_of.of(state.owner) {
                Some(role) => self.role_contact(role),
                None => Err(Unaddressed(format!("no manager for {}", state.owner))),
            },
        }
    }

    /// Every notification whose day has come for one open case, before deduplication. With
    /// `since`, only those scheduled on or after that day: a run passes the day of the previous
    /// run for cases that have not changed since, whose earlier occurrences were decided then.
    pub fn plan_case(
        &self,
        case: &CaseOverview,
        today: NaiveDate,
        since: Option<NaiveDate>,
    ) -> Result<Vec<Proposal>, OutOfRange> {
        if !case.state.is_open() {
            return Ok(Vec::new());
        }
        let states = evaluate(self.timeline, self.calendar, &case.facts, today)?;
        self.plan_states(case, &states, today, since)
    }

    /// [`Planner::plan_case`] for a case already evaluated on `today`, so a run that also wants
    /// the daily summary's lines evaluates each case once.
    pub fn plan_states(
        &self,
        case: &CaseOverview,
        states: &[MilestoneState],
        today: NaiveDate,
        since: Option<NaiveDate>,
    ) -> Result<Vec<Proposal>, OutOfRange> {
        if !case.state.is_open() {
            return Ok(Vec::new());
        }
        let policy = self.policy();
        let mut planned = Vec::new();
        let mut add = |rule: Rule,
                       state: Option<&MilestoneState>,
                       rung: u32,
                       repeat: u32,
                       scheduled: NaiveDate,
                       to: &dyn Fn() -> Result<Recipient, Unaddressed>,
                       item: &dyn Fn() -> Item,
                       urgency: (u8, Reverse<i32>)| {
            // Decided by an earlier run: not even worth the words.
            if since.is_some_and(|since| scheduled < since) {
                return;
            }
            let item = item();
            let (recipient, why_unaddressed) = match to() {
                Ok(recipient) => (recipient, None),
                Err(Unaddressed(why)) => (unaddressed(), Some(why)),
            };
            let milestone = state.map(|s| s.id.to_owned());
            let agency = state.and_then(|s| s.agency.cloned());
            planned.push(Proposal {
                notification: Notification {
                    key: NotificationKey::new(
                        Some(&case.reference),
                        milestone.as_deref(),
                        agency.as_ref(),
                        rule,
                        rung,
                        repeat,
                        &recipient.email,
                    ),
                    case: Some(case.reference.clone()),
                    milestone,
                    agency,
                    rule,
                    rung,
                    repeat,
                    recipient,
                    scheduled,
                    item,
                    urgency,
                },
                unaddressed: why_unaddressed,
            });
        };

        // Words and recipients are built only for what is proposed: an unchanged case on a
        // quiet day proposes nothing, and a run over many cases should cost little then.
        // Dated the day the case was opened, whatever the day of the run: an occurrence whose
        // day moved with `today` would be proposed anew by every later run. A run for a day
        // before the case was opened (a replay) has nothing to tell the Chair yet.
        if policy.chair_notice && case.opened_on <= today {
            add(
                Rule::ChairNotice,
                None,
                0,
                0,
                case.opened_on,
                &|| self.role_contact(Role::ExecutiveChair),
                &|| Item {
                    title: "A Rapid Review is in progress".to_owned(),
                    step: Some(4),
                    due: None,
                    status: "opened".to_owned(),
                    derivation: None,
                    progress: None,
                },
                (4, Reverse(0)),
            );
        }

        for state in states {
            let milestone = self
                .timeline
                .milestone(state.id)
                .expect("states come from the timeline");
            let item = |status: String| Item {
                // A per-agency item names its agency: two late agencies must not read alike.
                title: match state.agency {
                    Some(id) => format!(
                        "{} ({})",
                        state.title,
                        self.agency(id).map_or(id.as_str(), |a| a.name.as_str())
                    ),
                    None => state.title.to_owned(),
                },
                step: Some(state.step),
                due: state.due,
                status,
                derivation: state.anchor_on.zip(state.due).map(|(anchor_on, due)| {
                    explain_due(
                        self.calendar,
                        state.anchor,
                        anchor_on,
                        state.due_offset,
                        due,
                    )
                }),
                progress: progress(states, state),
            };

            // Day-1 letters asking each agency's lead for its part.
            if policy.agency_letter_milestone.as_deref() == Some(state.id)
                && !state.status.is_done()
                && let (Some(anchor_on), Some(due)) = (state.anchor_on, state.due)
            {
                let scheduled = self
                    .calendar
                    .add_working_days(anchor_on, policy.agency_letter_day as i32)?;
                if scheduled <= today {
                    add(
                        Rule::AgencyLetter,
                        Some(state),
                        0,
                        0,
                        scheduled,
                        &|| self.owner(state),
                        &|| item(format!("requested by {}", long_date(due))),
                        (3, Reverse(0)),
                    );
                }
            }

            // The national panel hears of the submission, and of its delay if configured.
            if policy.national_panel_milestone.as_deref() == Some(state.id) {
                if let (true, Some(on)) = (state.status.is_done(), state.completed_on) {
                    add(
                        Rule::NationalPanelSubmitted,
                        Some(state),
                        0,
                        0,
                        on,
                        &|| self.role_contact(Role::NationalPanel),
                        &|| item(format!("sent on {}", long_date(on))),
                        (4, Reverse(0)),
                    );
                }
                if policy.national_panel_delay_notice
                    && let (Status::Overdue { working_days }, Some(due)) = (state.status, state.due)
                {
                    let scheduled = self.calendar.add_working_days(due, 1)?;
                    add(
                        Rule::NationalPanelDelay,
                        Some(state),
                        0,
                        0,
                        scheduled,
                        &|| self.role_contact(Role::NationalPanel),
                        &|| item(overdue_words(working_days)),
                        urgency(state.status),
                    );
                }
            }

            let (Some(due), false) = (state.due, state.status.is_done()) else {
                continue;
            };
            let anchor_on = state.anchor_on.expect("a due date has an anchor");

            // Reminders before the due day, and on it.
            let days_before = milestone
                .policy
                .reminder_days_before
                .as_ref()
                .unwrap_or(&policy.reminder_days_before);
            for &n in days_before {
                let scheduled = self.calendar.add_working_days(due, -(n as i32))?;
                // Proposed until done, even after the due day: a reminder that never went out
                // is then skipped, and the skip recorded, rather than silently forgotten.
                if scheduled >= anchor_on && scheduled <= today {
                    let left = self.calendar.between(today, due)?;
                    add(
                        Rule::Reminder,
                        Some(state),
                        n,
                        0,
                        scheduled,
                        &|| self.owner(state),
                        &|| {
                            item(if today < due {
                                due_in_words(left)
                            } else {
                                status_words(state.status)
                            })
                        },
                        urgency(state.status),
                    );
                }
            }
            let on_due_day = milestone
                .policy
                .remind_on_due_day
                .unwrap_or(policy.remind_on_due_day);
            if on_due_day && due <= today {
                add(
                    Rule::DueToday,
                    Some(state),
                    0,
                    0,
                    due,
                    &|| self.owner(state),
                    &|| {
                        item(if due == today {
                            "due today".to_owned()
                        } else {
                            status_words(state.status)
                        })
                    },
                    urgency(state.status),
                );
            }

            // The escalation ladder while overdue.
            if let Status::Overdue { working_days } = state.status
                && milestone.policy.escalate != Some(false)
            {
                self.escalate(
                    state,
                    due,
                    working_days,
                    &mut |rung, repeat, scheduled, to| {
                        add(
                            Rule::Escalation,
                            Some(state),
                            rung,
                            repeat,
                            scheduled,
                            to,
                            &|| item(overdue_words(working_days)),
                            urgency(state.status),
                        );
                    },
                )?;
            }
        }
        Ok(planned)
    }

    /// Calls `add` for each repeat of each rung reached by `working_days` overdue.
    fn escalate(
        &self,
        state: &MilestoneState,
        due: NaiveDate,
        working_days: i32,
        add: &mut dyn FnMut(u32, u32, NaiveDate, &ToWhom),
    ) -> Result<(), OutOfRange> {
        let policy = self.policy();
        for (index, rung) in policy.escalation.iter().enumerate() {
            for repeat in 0..policy.escalation_max_sends {
                let after = rung.after + repeat * policy.escalation_repeat_every;
                if working_days < after as i32 {
                    break;
                }
                let scheduled = self.calendar.add_working_days(due, after as i32)?;
                let to = || match rung.to {
                    EscalateTo::Manager => self.manager(state),
                    EscalateTo::ExecutiveChair => self.role_contact(Role::ExecutiveChair),
                };
                add(index as u32 + 1, repeat, scheduled, &to);
            }
        }
        Ok(())
    }
}

fn recipient(role: String, contact: &Contact) -> Recipient {
    Recipient {
        role,
        name: contact.name.to_string(),
        email: contact.email.clone(),
    }
}

/// A placeholder address for a notification that has no contact; it is only ever skipped.
fn unaddressed() -> Recipient {
    Recipient {
        role: "unaddressed".to_owned(),
        name: "no contact configured".to_owned(),
        email: EmailAddress::parse("unaddressed@invalid").expect("valid"),
    }
}

/// "2 of 3 received", for the rows of a per-agency milestone.
fn progress(states: &[MilestoneState], state: &MilestoneState) -> Option<String> {
    state.agency?;
    let rows = states.iter().filter(|s| s.id == state.id);
    let (done, total) = rows.fold((0, 0), |(d, t), s| {
        (d + usize::from(s.status.is_done()), t + 1)
    });
    Some(format!("{done} of {total} received"))
}

fn plural_days(n: i32) -> String {
    if n == 1 {
        "1 working day".to_owned()
    } else {
        format!("{n} working days")
    }
}

fn due_in_words(left: i32) -> String {
    format!("due in {}", plural_days(left))
}

fn overdue_words(working_days: i32) -> String {
    format!("overdue by {}", plural_days(working_days))
}

fn status_words(status: Status) -> String {
    match status {
        Status::Overdue { working_days } => overdue_words(working_days),
        Status::DueToday => "due today".to_owned(),
        other => other.describe(),
    }
}

/// One series of occurrences: a rung's repeats, or a milestone's reminders, for one recipient.
type Series<'a> = (
    Option<&'a CaseRef>,
    Option<&'a str>,
    Option<&'a AgencyId>,
    u8,
    u32,
    &'a EmailAddress,
);

fn series(n: &Notification) -> Series<'_> {
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
                    Some(why) => Some(why),
                    None if superseded => Some(
                        "superseded by a later notification for the same milestone and recipient"
                            .to_owned(),
                    ),
                    None if notification.scheduled < today
                        && notification.rule.catch_up(policy) == CatchUp::Skip =>
                    {
                        Some(format!(
                            "its day ({}) passed while no run happened, and {} is not sent late",
                            notification.scheduled,
                            notification.rule.as_str().replace('_', " ")
                        ))
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

/// One email: a digest of a recipient's items, or a single agency letter. Kept in the outbox
/// in a compact form (`stored`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub recipient: Recipient,
    pub kind: EmailKind,
    /// Most urgent first.
    pub items: Vec<Notification>,
    /// The daily summary's own figures (heartbeat emails only).
    pub summary: Option<Summary>,
}

impl Email {
    /// The keys the notification log records for this email, each with its item's case: a
    /// summary is one notification of its own (its lines are not), any other email its items.
    pub fn logged_keys(&self) -> Vec<(Option<&CaseRef>, &NotificationKey)> {
        match &self.summary {
            Some(summary) => vec![(None, &summary.key)],
            None => self
                .items
                .iter()
                .map(|item| (item.case.as_ref(), &item.key))
                .collect(),
        }
    }
}

/// The figures of the daily summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
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
pub const SUMMARY_HORIZON: i32 = 3;

impl Planner<'_> {
    /// The lines of one case for the daily summary: what is overdue, and what is due within
    /// [`SUMMARY_HORIZON`] working days.
    pub fn summary_lines(
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
                _ if self.calendar.between(today, due)? <= SUMMARY_HORIZON => {
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
                },
            );
            line.urgency = urgency(state.status);
            lines.push(line);
        }
        Ok(lines)
    }

    /// The daily summary to the business team, from every case's lines.
    pub fn summary(
        &self,
        today: NaiveDate,
        open_cases: usize,
        mut lines: Vec<Notification>,
        failed_emails: usize,
        failed_cases: &[FailedCase],
    ) -> Option<Email> {
        let recipient = self.role_contact(Role::BusinessTeam).ok()?;
        lines.sort_by_key(|l| (l.urgency, l.item.due));
        let overdue = lines
            .iter()
            .filter(|l| l.item.status.starts_with("overdue"))
            .count();
        Some(Email {
            summary: Some(Summary {
                key: NotificationKey(format!("heartbeat/{today}/{}", recipient.email)),
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
pub fn group_owned(decisions: Vec<Decision>) -> (Vec<Email>, Vec<(Notification, String)>) {
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

fn group_sends(sends: impl Iterator<Item = Notification>) -> Vec<Email> {
    let mut digests: BTreeMap<EmailAddress, Email> = BTreeMap::new();
    let mut letters = Vec::new();
    for notification in sends {
        if notification.rule == Rule::AgencyLetter {
            letters.push(Email {
                recipient: notification.recipient.clone(),
                kind: EmailKind::AgencyLetter,
                items: vec![notification],
                summary: None,
            });
        } else {
            digests
                .entry(notification.recipient.email.clone())
                .or_insert_with(|| Email {
                    recipient: notification.recipient.clone(),
                    kind: EmailKind::Digest,
                    items: Vec::new(),
                    summary: None,
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
                summary: None,
            });
        }
        letters.push(digest);
    }
    letters
}

/// The most items one digest lists.
pub const MAX_DIGEST_ITEMS: usize = 100;

/// Every decision a case would produce on each working day from `from` to `to` (the sending
/// window opens only on working days), each day decided against the keys of the days before,
/// and assuming nothing is completed beyond what the case already records.
pub fn preview(
    planner: &Planner,
    case: &CaseOverview,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, Vec<Decision>)>, OutOfRange> {
    let mut log = std::collections::HashSet::new();
    let mut days = Vec::new();
    for today in from.iter_days().take_while(|d| *d <= to) {
        if !planner.calendar.is_working_day(today)? {
            continue;
        }
        let planned = planner.plan_case(case, today, None)?;
        let decisions = decide(planned, planner.timeline.policy(), today, &|key| {
            log.contains(key)
        });
        log.extend(decisions.iter().map(|d| d.notification().key.clone()));
        days.push((today, decisions));
    }
    Ok(days)
}
