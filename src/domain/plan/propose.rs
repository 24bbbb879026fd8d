//! Proposing: every occurrence whose day has come for one case, one function per rule (the
//! day-1 letters, the Chair's notice, the national panel's notices, reminders, the due day, the
//! escalation ladder).
//!
//! Words and recipients are built only for what is proposed: an unchanged case on a quiet day
//! proposes nothing, and a run over many cases should cost little then.

use chrono::NaiveDate;

use super::recipients::{ToWhom, Unaddressed, unaddressed};
use super::words::{due_in_words, overdue_words, progress, status_words};
use super::{Item, KeyDate, Notification, NotificationKey, Planner, Proposal, Rule};
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
        self.chair_notice(&mut out, states, today);
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
                let since = self.calendar.add_working_days(due, 1)?;
                let overdue = |status: String, owner: Option<String>| Item {
                    overdue_since: Some(since),
                    owner,
                    ..item(status)
                };
                self.overdue(&mut out, state, since, working_days, &overdue);
                self.escalation(&mut out, state, due, working_days, &overdue)?;
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
            ..Item::default()
        }
    }

    /// The Executive Chair hears that a Rapid Review has started, with its day 0 and key dates.
    /// Dated day 0 (or the day the case was opened, if later), whatever the day of the run: an
    /// occurrence whose day moved with `today` would be proposed anew by every later run. Until
    /// day 0 is recorded there is no Rapid Review to tell of yet, and no dates to give. The key
    /// (case, rule, Chair) is what it was when the notice was dated the opening day, so a notice
    /// already logged is not sent again.
    fn chair_notice(&self, out: &mut Proposals, states: &[MilestoneState], today: NaiveDate) {
        let day0_id = self.timeline.day0_milestone();
        let Some(day0) = states
            .iter()
            .find(|s| s.id == day0_id)
            .and_then(|s| s.completed_on)
        else {
            return;
        };
        let scheduled = day0.max(out.case.opened_on);
        if !self.policy().chair_notice || scheduled > today {
            return;
        }
        out.push(
            Occurrence::once(Rule::ChairNotice, None, scheduled, Urgency::NOTICE),
            &|| self.role_contact(Role::ExecutiveChair),
            || Item {
                title: "Rapid Review started".to_owned(),
                status: format!("started on {}", long_date(day0)),
                key_dates: self.key_dates(states, day0),
                ..Item::default()
            },
        );
    }

    /// Day 0, then the due dates of the agencies' summaries (the letters' milestone), the
    /// panel's review and the submission to the national panel, in that order; one line per
    /// milestone, however many agencies.
    fn key_dates(&self, states: &[MilestoneState], day0: NaiveDate) -> Vec<KeyDate> {
        let policy = self.policy();
        let mut dates = vec![KeyDate {
            label: "Day 0, the day the notification went to Ofsted".to_owned(),
            date: day0,
        }];
        let panel = states.iter().find(|s| s.owner == Role::Panel).map(|s| s.id);
        let wanted = [
            policy.agency_letter_milestone.as_deref(),
            panel,
            policy.national_panel_milestone.as_deref(),
        ];
        for id in wanted.into_iter().flatten() {
            if let Some((title, due)) = states
                .iter()
                .find(|s| s.id == id)
                .and_then(|s| s.due.map(|due| (s.title, due)))
            {
                dates.push(KeyDate {
                    label: title.to_owned(),
                    date: due,
                });
            }
        }
        dates
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
                || Item {
                    done_on: Some(on),
                    ..item(format!("sent on {}", long_date(on)))
                },
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

    /// The owner hears on the first working day a task is overdue (`since`), once: the ladder
    /// then tells their manager and the Executive Chair.
    fn overdue(
        &self,
        out: &mut Proposals,
        state: &MilestoneState,
        since: NaiveDate,
        working_days: i32,
        item: &dyn Fn(String, Option<String>) -> Item,
    ) {
        out.push(
            Occurrence::once(Rule::Overdue, Some(state), since, Urgency::of(state.status)),
            &|| self.owner(state),
            || item(overdue_words(working_days), None),
        );
    }

    /// The escalation ladder while overdue: each repeat of each rung `working_days` reached.
    /// Each item names whose task it is.
    fn escalation(
        &self,
        out: &mut Proposals,
        state: &MilestoneState,
        due: NaiveDate,
        working_days: i32,
        item: &dyn Fn(String, Option<String>) -> Item,
    ) -> Result<(), OutOfRange> {
        let owner = || match self.owner(state) {
            Ok(owner) => owner.name,
            Err(_) => state.owner.to_string(),
        };
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
                    || item(overdue_words(working_days), Some(owner())),
                );
            }
        }
        Ok(())
    }
}
