//! Proposing: every occurrence whose day has come for one case, one function per rule (the
//! day-1 letters, the Chair's notice, the national panel's notices, reminders, the due day, the
//! escalation ladder).
//!
//! Words and recipients are built only for what is proposed: an unchanged case on a quiet day
//! proposes nothing, and a run over many cases should cost little then.

use chrono::NaiveDate;

use super::recipients::{ToWhom, Unaddressed, unaddressed};
use super::words::{due_in_words, overdue_words, progress, status_words};
use super::{Item, Notification, NotificationKey, Planner, Proposal, Rule};
use crate::domain::calendar::OutOfRange;
use crate::domain::case::CaseOverview;
use crate::domain::timeline::{
    EscalateTo, Milestone, MilestoneState, Role, Status, evaluate, explain_due, long_date,
};
use crate::domain::urgency::Urgency;

/// One occurrence of a rule: what it is about, its place in its series, and its day.
struct Occurrence<'s> {
    rule: Rule,
    state: Option<&'s MilestoneState<'s>>,
    /// The escalation ladder's step, or the reminder's working days before the due day.
    rung: u32,
    /// The repeat of the rung, from 0.
    repeat: u32,
    scheduled: NaiveDate,
    urgency: Urgency,
}

impl<'s> Occurrence<'s> {
    /// An occurrence that is alone in its series.
    fn once(
        rule: Rule,
        state: Option<&'s MilestoneState<'s>>,
        scheduled: NaiveDate,
        urgency: Urgency,
    ) -> Self {
        Self {
            rule,
            state,
            rung: 0,
            repeat: 0,
            scheduled,
            urgency,
        }
    }
}

/// The proposals of one case, collected rule by rule.
struct Proposals<'c> {
    case: &'c CaseOverview,
    /// Occurrences before this day were decided by an earlier run.
    since: Option<NaiveDate>,
    planned: Vec<Proposal>,
}

impl Proposals<'_> {
    /// Proposes `occurrence` to whom `to` names, saying what `item` builds, unless an earlier
    /// run decided it already.
    fn push(&mut self, occurrence: Occurrence<'_>, to: &ToWhom, item: impl FnOnce() -> Item) {
        if self.since.is_some_and(|since| occurrence.scheduled < since) {
            return;
        }
        let (recipient, why_unaddressed) = match to() {
            Ok(recipient) => (recipient, None),
            Err(Unaddressed(why)) => (unaddressed(), Some(why)),
        };
        let state = occurrence.state;
        let milestone = state.map(|s| s.id.to_owned());
        let agency = state.and_then(|s| s.agency.cloned());
        self.planned.push(Proposal {
            notification: Notification {
                key: NotificationKey::new(
                    Some(&self.case.reference),
                    milestone.as_deref(),
                    agency.as_ref(),
                    occurrence.rule,
                    occurrence.rung,
                    occurrence.repeat,
                    &recipient.email,
                ),
                case: Some(self.case.reference.clone()),
                milestone,
                agency,
                rule: occurrence.rule,
                rung: occurrence.rung,
                repeat: occurrence.repeat,
                recipient,
                scheduled: occurrence.scheduled,
                item: item(),
                urgency: occurrence.urgency,
            },
            unaddressed: why_unaddressed,
        });
    }
}

impl Planner<'_> {
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
        let mut out = Proposals {
            case,
            since,
            planned: Vec::new(),
        };
        self.chair_notice(&mut out, today);
        for state in states {
            let milestone = self
                .timeline
                .milestone(state.id)
                .expect("states come from the timeline");
            let item = |status: String| self.item(states, state, status);
            self.agency_letter(&mut out, state, today, &item)?;
            self.national_panel(&mut out, state, &item)?;
            let (Some(due), false) = (state.due, state.status.is_done()) else {
                continue;
            };
            self.reminders(&mut out, state, milestone, due, today, &item)?;
            self.due_day(&mut out, state, milestone, due, today, &item);
            if let Status::Overdue { working_days } = state.status
                && milestone.policy.escalate != Some(false)
            {
                self.escalation(&mut out, state, due, working_days, &item)?;
            }
        }
        Ok(out.planned)
    }

    /// What a notification about `state` says, with `status` as its status words.
    fn item(&self, states: &[MilestoneState], state: &MilestoneState, status: String) -> Item {
        Item {
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
        }
    }

    /// The Executive Chair hears that a Rapid Review is in progress. Dated the day the case was
    /// opened, whatever the day of the run: an occurrence whose day moved with `today` would be
    /// proposed anew by every later run. A run for a day before the case was opened (a replay)
    /// has nothing to tell the Chair yet.
    fn chair_notice(&self, out: &mut Proposals, today: NaiveDate) {
        let opened_on = out.case.opened_on;
        if !self.policy().chair_notice || opened_on > today {
            return;
        }
        out.push(
            Occurrence::once(Rule::ChairNotice, None, opened_on, Urgency::NOTICE),
            &|| self.role_contact(Role::ExecutiveChair),
            || Item {
                title: "A Rapid Review is in progress".to_owned(),
                step: Some(4),
                due: None,
                status: "opened".to_owned(),
                derivation: None,
                progress: None,
            },
        );
    }

    /// The day-1 letters asking each agency's lead for its part.
    fn agency_letter(
        &self,
        out: &mut Proposals,
        state: &MilestoneState,
        today: NaiveDate,
        item: &dyn Fn(String) -> Item,
    ) -> Result<(), OutOfRange> {
        let policy = self.policy();
        if policy.agency_letter_milestone.as_deref() != Some(state.id) || state.status.is_done() {
            return Ok(());
        }
        let (Some(anchor_on), Some(due)) = (state.anchor_on, state.due) else {
            return Ok(());
        };
        let scheduled = self
            .calendar
            .add_working_days(anchor_on, policy.agency_letter_day as i32)?;
        if scheduled <= today {
            out.push(
                Occurrence::once(Rule::AgencyLetter, Some(state), scheduled, Urgency::REQUEST),
                &|| self.owner(state),
                || item(format!("requested by {}", long_date(due))),
            );
        }
        Ok(())
    }

    /// The national panel hears of the submission, and of its delay if configured.
    fn national_panel(
        &self,
        out: &mut Proposals,
        state: &MilestoneState,
        item: &dyn Fn(String) -> Item,
    ) -> Result<(), OutOfRange> {
        let policy = self.policy();
        if policy.national_panel_milestone.as_deref() != Some(state.id) {
            return Ok(());
        }
        let to_panel = || self.role_contact(Role::NationalPanel);
        if let (true, Some(on)) = (state.status.is_done(), state.completed_on) {
            out.push(
                Occurrence::once(
                    Rule::NationalPanelSubmitted,
                    Some(state),
                    on,
                    Urgency::NOTICE,
                ),
                &to_panel,
                || item(format!("sent on {}", long_date(on))),
            );
        }
        if policy.national_panel_delay_notice
            && let (Status::Overdue { working_days }, Some(due)) = (state.status, state.due)
        {
            let scheduled = self.calendar.add_working_days(due, 1)?;
            out.push(
                Occurrence::once(
                    Rule::NationalPanelDelay,
                    Some(state),
                    scheduled,
                    Urgency::of(state.status),
                ),
                &to_panel,
                || item(overdue_words(working_days)),
            );
        }
        Ok(())
    }

    /// Reminders a number of working days before the due day. Proposed until done, even after
    /// the due day: a reminder that never went out is then skipped, and the skip recorded,
    /// rather than silently forgotten.
    fn reminders(
        &self,
        out: &mut Proposals,
        state: &MilestoneState,
        milestone: &Milestone,
        due: NaiveDate,
        today: NaiveDate,
        item: &dyn Fn(String) -> Item,
    ) -> Result<(), OutOfRange> {
        let anchor_on = state.anchor_on.expect("a due date has an anchor");
        let days_before = milestone
            .policy
            .reminder_days_before
            .as_ref()
            .unwrap_or(&self.policy().reminder_days_before);
        for &n in days_before {
            let scheduled = self.calendar.add_working_days(due, -(n as i32))?;
            if scheduled < anchor_on || scheduled > today {
                continue;
            }
            let left = self.calendar.between(today, due)?;
            out.push(
                Occurrence {
                    rung: n,
                    ..Occurrence::once(
                        Rule::Reminder,
                        Some(state),
                        scheduled,
                        Urgency::of(state.status),
                    )
                },
                &|| self.owner(state),
                || {
                    item(if today < due {
                        due_in_words(left)
                    } else {
                        status_words(state.status)
                    })
                },
            );
        }
        Ok(())
    }

    /// The reminder on the due day itself.
    fn due_day(
        &self,
        out: &mut Proposals,
        state: &MilestoneState,
        milestone: &Milestone,
        due: NaiveDate,
        today: NaiveDate,
        item: &dyn Fn(String) -> Item,
    ) {
        let on_due_day = milestone
            .policy
            .remind_on_due_day
            .unwrap_or(self.policy().remind_on_due_day);
        if !on_due_day || due > today {
            return;
        }
        out.push(
            Occurrence::once(Rule::DueToday, Some(state), due, Urgency::of(state.status)),
            &|| self.owner(state),
            || {
                item(if due == today {
                    "due today".to_owned()
                } else {
                    status_words(state.status)
                })
            },
        );
    }

    /// The escalation ladder while overdue: each repeat of each rung `working_days` reached.
    fn escalation(
        &self,
        out: &mut Proposals,
        state: &MilestoneState,
        due: NaiveDate,
        working_days: i32,
        item: &dyn Fn(String) -> Item,
    ) -> Result<(), OutOfRange> {
        let policy = self.policy();
        for (index, rung) in policy.escalation.iter().enumerate() {
            let to = || match rung.to {
                EscalateTo::Manager => self.manager(state),
                EscalateTo::ExecutiveChair => self.role_contact(Role::ExecutiveChair),
            };
            for repeat in 0..policy.escalation_max_sends {
                let after = rung.after + repeat * policy.escalation_repeat_every;
                if working_days < after as i32 {
                    break;
                }
                let scheduled = self.calendar.add_working_days(due, after as i32)?;
                out.push(
                    Occurrence {
                        rule: Rule::Escalation,
                        state: Some(state),
                        rung: index as u32 + 1,
                        repeat,
                        scheduled,
                        urgency: Urgency::of(state.status),
                    },
                    &to,
                    || item(overdue_words(working_days)),
                );
            }
        }
        Ok(())
    }
}
