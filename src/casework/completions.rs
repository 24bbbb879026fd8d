//! Recording a milestone as done, and taking that back.

use chrono::NaiveDate;

use super::{Casework, CaseworkError, check_text, refuse, row_name};
use crate::domain::agency::AgencyId;
use crate::domain::case::{CaseRef, CompletionRecord};
use crate::domain::timeline::{Anchor, evaluate};
use crate::store::StoreError;

impl Casework<'_> {
    pub async fn complete(
        &self,
        reference: &CaseRef,
        milestone_id: &str,
        agency: Option<&AgencyId>,
        on: NaiveDate,
        note: Option<&str>,
    ) -> Result<(), CaseworkError> {
        let milestone = self.milestone(milestone_id)?;
        self.check_in_range(on, "--on")?;
        let note = check_text(note.map(str::trim).filter(|n| !n.is_empty()), "--note")?;
        if on > self.today {
            return refuse(format!(
                "--on {on} is in the future (today is {}): record a completion once it has \
                 happened",
                self.today
            ));
        }
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, false).await?;
        self.check_milestone_agency(&case, milestone, agency)?;
        if let Some(done) = case
            .completions
            .iter()
            .find(|c| c.milestone == milestone.id && c.agency.as_ref() == agency)
        {
            return refuse(format!(
                "{} is already recorded as done on {} by {}: to change it, run `rrn case \
                 uncomplete` first",
                row_name(&milestone.id, agency),
                done.completed_on,
                done.recorded_by
            ));
        }
        let facts = case.facts();
        let states = evaluate(self.timeline, self.calendar, &facts, self.today)
            .map_err(|e| CaseworkError::Refused(e.to_string()))?;
        let state = states
            .iter()
            .find(|s| s.id == milestone.id && s.agency == agency)
            .expect("an applicable milestone has a row");
        match state.anchor_on {
            None => {
                return refuse(format!(
                    "{} counts from `{}`, which has not happened yet on {reference}: record that \
                     first",
                    milestone.id, milestone.anchor
                ));
            }
            Some(anchor_on) if on < anchor_on => {
                return refuse(format!(
                    "--on {on} is before {} counts from ({} on {anchor_on}): give a date on or \
                     after {anchor_on}",
                    milestone.id, milestone.anchor
                ));
            }
            Some(_) => {}
        }
        let mut day0 = case.day0;
        if milestone.id == self.timeline.day0_milestone() {
            day0 = Some(on);
        }
        tx.insert_completion(
            id,
            &CompletionRecord {
                milestone: milestone.id.clone(),
                agency: agency.cloned(),
                completed_on: on,
                recorded_by: self.actor.clone(),
                recorded_at: self.now,
                note: note.map(str::to_owned),
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict => CaseworkError::Refused(format!(
                "{} was recorded by someone else at the same moment: see `rrn case show {reference}`",
                row_name(&milestone.id, agency)
            )),
            other => other.into(),
        })?;
        tx.update_case(id, day0, &case.state, case.local_review_proposed, self.now)
            .await?;
        let detail = format!("{} done on {on}", row_name(&milestone.id, agency));
        tx.audit(Some(id), self.now, &self.actor, "complete", &detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }
    pub async fn uncomplete(
        &self,
        reference: &CaseRef,
        milestone_id: &str,
        agency: Option<&AgencyId>,
    ) -> Result<(), CaseworkError> {
        let milestone = self.milestone(milestone_id)?;
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, false).await?;
        self.check_milestone_agency(&case, milestone, agency)?;
        // Milestones counted from this one keep their dates only while it stays done.
        let is_day0 = milestone.id == self.timeline.day0_milestone();
        let dependents: Vec<String> = case
            .completions
            .iter()
            .filter(|c| {
                self.timeline
                    .milestone(&c.milestone)
                    .is_some_and(|m| match &m.anchor {
                        Anchor::Day0 => is_day0,
                        Anchor::Milestone(anchor) => {
                            anchor == &milestone.id
                                && (!milestone.per_agency
                                    || !m.per_agency
                                    || c.agency.as_ref() == agency)
                        }
                        Anchor::Aware => false,
                    })
            })
            .map(|c| row_name(&c.milestone, c.agency.as_ref()))
            .collect();
        if !dependents.is_empty() {
            return refuse(format!(
                "{} is the date that {} count from, and they are recorded as done: uncomplete \
                 them first",
                row_name(&milestone.id, agency),
                dependents.join(", ")
            ));
        }
        if !tx.delete_completion(id, &milestone.id, agency).await? {
            return refuse(format!(
                "{} is not recorded as done on {reference}: nothing to undo",
                row_name(&milestone.id, agency)
            ));
        }
        let mut day0 = case.day0;
        if milestone.id == self.timeline.day0_milestone() {
            day0 = None;
        }
        tx.update_case(id, day0, &case.state, case.local_review_proposed, self.now)
            .await?;
        // What is undone stays on the record: its date, who recorded it, and its note.
        let undone = case
            .completions
            .iter()
            .find(|c| c.milestone == milestone.id && c.agency.as_ref() == agency);
        let detail = match undone {
            Some(c) => format!(
                "{} no longer done (was recorded as done on {} by {}{})",
                row_name(&milestone.id, agency),
                c.completed_on,
                c.recorded_by,
                c.note
                    .as_deref()
                    .map_or(String::new(), |note| format!("; note: {note}"))
            ),
            None => format!("{} no longer done", row_name(&milestone.id, agency)),
        };
        tx.audit(Some(id), self.now, &self.actor, "uncomplete", &detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
