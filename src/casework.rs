//! The business team's actions on cases: open, agencies, complete, close, import.
//!
//! Each action checks its input against the config, the timeline and the case as it stands, and
//! writes in one transaction with its audit entry, or refuses with a message that names the field
//! and what would be accepted, leaving the database exactly as it was.

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Config;
use crate::domain::agency::AgencyId;
use crate::domain::calendar::Calendar;
use crate::domain::case::{Case, CaseRef, CaseState, CompletionRecord};
use crate::domain::timeline::{Anchor, Condition, Timeline, evaluate};
use crate::store::{CaseId, NewCase, NewCaseRows, Opened, Store, StoreError, Tx};

#[derive(Debug, thiserror::Error)]
pub enum CaseworkError {
    /// The input was refused; nothing was written.
    #[error("{0}")]
    Refused(String),
    /// Several rows of an import were refused; nothing was written.
    #[error("{} refused, nothing imported:\n{}", plural(.0.len(), "row"), .0.join("\n"))]
    RefusedRows(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn refuse<T>(message: impl Into<String>) -> Result<T, CaseworkError> {
    Err(CaseworkError::Refused(message.into()))
}

/// How far back an aware date may be: older ones are typing mistakes (1026 for 2026).
pub const MAX_AWARE_AGE_YEARS: u32 = 3;

/// A CSV row by its line number: parsed, or why not (naming the field).
pub type ImportRow = (usize, Result<Opening, String>);

/// Who acts, when, and against which rules.
pub struct Casework<'a> {
    pub store: &'a Store,
    pub config: &'a Config,
    pub timeline: &'a Timeline,
    pub calendar: &'a Calendar,
    /// Recorded in the audit log: the OS user or `--actor`.
    pub actor: String,
    /// The real time of the change, for the audit log.
    pub now: DateTime<Utc>,
    /// What the change is dated (`--at`, never ahead of the clock, or now): the day a case is
    /// recorded as opened, from which the Executive Chair's notice counts.
    pub dated: DateTime<Utc>,
    /// The civil date completions are checked against (today, or `--at`).
    pub today: NaiveDate,
}

/// The note on the day-0 completion a case opened with day 0 gets.
const DAY0_NOTE: &str = "day 0 given when the case was opened";

/// The audit detail of opening a case, the same whether opened alone or imported.
fn opening_detail(opening: &Opening) -> String {
    let agencies: Vec<&str> = opening.agencies.iter().map(AgencyId::as_str).collect();
    format!(
        "aware {}; day 0 {}; agencies {}; local review proposed {}",
        opening.aware,
        opening
            .day0
            .map_or("not yet known".to_owned(), |d| d.to_string()),
        agencies.join(", "),
        if opening.local_review_proposed {
            "yes"
        } else {
            "no"
        }
    )
}

/// One case to open, from the command line or a CSV row.
#[derive(Debug, Clone)]
pub struct Opening {
    pub reference: CaseRef,
    pub aware: NaiveDate,
    pub day0: Option<NaiveDate>,
    pub agencies: Vec<AgencyId>,
    pub local_review_proposed: bool,
}

impl Casework<'_> {
    /// The configured agency ids, for messages.
    fn known_agencies(&self) -> String {
        let ids: Vec<&str> = self.config.agencies.iter().map(|a| a.id.as_str()).collect();
        ids.join(", ")
    }

    fn check_agency_known(&self, agency: &AgencyId, field: &str) -> Result<(), CaseworkError> {
        if self.config.agency(agency).is_none() {
            return refuse(format!(
                "unknown agency `{agency}` for {field}: expected one of {} (the [[agency]] \
                 entries of the config)",
                self.known_agencies()
            ));
        }
        Ok(())
    }

    /// Refuses a date the calendar cannot count from (outside 1900-2200).
    fn check_in_range(&self, date: NaiveDate, field: &str) -> Result<(), CaseworkError> {
        match self.calendar.is_working_day(date) {
            Ok(_) => Ok(()),
            Err(e) => refuse(format!("{field} {date}: {e}")),
        }
    }

    /// Checks an opening against the config and the calendar, without the database.
    fn check_opening(&self, opening: &Opening) -> Result<(), CaseworkError> {
        self.check_in_range(opening.aware, "--aware")?;
        if let Some(day0) = opening.day0 {
            self.check_in_range(day0, "--day0")?;
        }
        if opening.agencies.is_empty() {
            return refuse(format!(
                "no agencies for {}: give at least one --agency (one of {})",
                opening.reference,
                self.known_agencies()
            ));
        }
        for agency in &opening.agencies {
            self.check_agency_known(agency, "--agency")?;
        }
        if opening.aware > self.today {
            return refuse(format!(
                "--aware {} is in the future (today is {}): give the day the local authority \
                 became aware",
                opening.aware, self.today
            ));
        }
        let oldest = self
            .today
            .checked_sub_months(chrono::Months::new(12 * MAX_AWARE_AGE_YEARS))
            .unwrap_or(NaiveDate::MIN);
        if opening.aware < oldest {
            return refuse(format!(
                "--aware {} is more than {MAX_AWARE_AGE_YEARS} years before today ({}): a Rapid \
                 Review starts within days of the incident; check the year",
                opening.aware, self.today
            ));
        }
        if let Some(day0) = opening.day0 {
            if day0 < opening.aware {
                return refuse(format!(
                    "--day0 {day0} is before --aware {}: day 0 (the notification to Ofsted) is \
                     on or after the aware date",
                    opening.aware
                ));
            }
            if day0 > self.today {
                return refuse(format!(
                    "--day0 {day0} is in the future (today is {}): give day 0 once the \
                     notification has been sent",
                    self.today
                ));
            }
        }
        // Every date the timeline derives for the case must be one the calendar answers, or
        // the case would fail at every run instead of being refused now.
        let facts = crate::domain::timeline::CaseFacts {
            aware: Some(opening.aware),
            day0: opening.day0,
            agencies: opening.agencies.clone(),
            completions: Vec::new(),
            local_review_proposed: opening.local_review_proposed,
        };
        if let Err(e) = evaluate(self.timeline, self.calendar, &facts, self.today) {
            return refuse(format!(
                "--aware {}: the timeline cannot be worked out from it ({e}): check the date",
                opening.aware
            ));
        }
        Ok(())
    }

    async fn open_in(&self, tx: &mut Tx, opening: &Opening) -> Result<(), CaseworkError> {
        if tx.case(&opening.reference, true).await?.is_some() {
            return refuse(format!(
                "case {} already exists: choose another reference, or see it with `rrn case show {}`",
                opening.reference, opening.reference
            ));
        }
        let id = tx
            .insert_case(
                &NewCase {
                    reference: &opening.reference,
                    aware: opening.aware,
                    day0: opening.day0,
                    local_review_proposed: opening.local_review_proposed,
                },
                self.dated,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict => CaseworkError::Refused(format!(
                    "case {} was opened by someone else at the same moment: see it with `rrn \
                     case show {}`",
                    opening.reference, opening.reference
                )),
                other => other.into(),
            })?;
        for agency in &opening.agencies {
            tx.add_agency(id, agency, self.now).await?;
        }
        if let Some(day0) = opening.day0 {
            // Day 0 is the day the notification went to Ofsted: record it as that milestone's
            // completion, so day 0 and the milestone can never disagree.
            tx.insert_completion(
                id,
                &CompletionRecord {
                    milestone: self.timeline.day0_milestone().to_owned(),
                    agency: None,
                    completed_on: day0,
                    recorded_by: self.actor.clone(),
                    recorded_at: self.now,
                    note: Some(DAY0_NOTE.to_owned()),
                },
            )
            .await?;
        }
        let detail = opening_detail(opening);
        tx.audit(Some(id), self.now, &self.actor, "open", &detail)
            .await?;
        Ok(())
    }

    pub async fn open(&self, mut opening: Opening) -> Result<(), CaseworkError> {
        opening.agencies.sort();
        opening.agencies.dedup();
        self.check_opening(&opening)?;
        let mut tx = self.store.begin().await?;
        self.open_in(&mut tx, &opening).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opens every case or none: every bad row is reported with its line number and field.
    pub async fn import(&self, rows: Vec<ImportRow>) -> Result<usize, CaseworkError> {
        let mut problems = Vec::new();
        let mut openings = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (line, row) in rows {
            match row {
                Err(problem) => problems.push((line, format!("line {line}, {problem}"))),
                Ok(mut opening) => {
                    opening.agencies.sort();
                    opening.agencies.dedup();
                    if let Err(CaseworkError::Refused(problem)) = self.check_opening(&opening) {
                        problems.push((line, format!("line {line}, {}", csv_wording(&problem))));
                    } else if let Some(first) = seen.insert(opening.reference.clone(), line) {
                        problems.push((
                            line,
                            format!(
                                "line {line}, field reference: {} is also on line {first}: each \
                                 case once",
                                opening.reference
                            ),
                        ));
                    } else {
                        openings.push((line, opening));
                    }
                }
            }
        }
        let mut tx = self.store.begin().await?;
        let references: Vec<&CaseRef> = openings.iter().map(|(_, o)| &o.reference).collect();
        let existing: std::collections::HashSet<String> = tx
            .existing_references(&references)
            .await?
            .into_iter()
            .collect();
        for (line, opening) in &openings {
            if existing.contains(opening.reference.as_str()) {
                problems.push((
                    *line,
                    format!(
                        "line {line}, field reference: case {} already exists: remove the row \
                         or change the reference",
                        opening.reference
                    ),
                ));
            }
        }
        if !problems.is_empty() {
            tx.rollback().await?;
            problems.sort_by_key(|(line, _)| *line);
            return Err(CaseworkError::RefusedRows(
                problems.into_iter().map(|(_, p)| p).collect(),
            ));
        }
        let rows: Vec<NewCaseRows> = openings
            .iter()
            .map(|(_, opening)| NewCaseRows {
                case: NewCase {
                    reference: &opening.reference,
                    aware: opening.aware,
                    day0: opening.day0,
                    local_review_proposed: opening.local_review_proposed,
                },
                agencies: &opening.agencies,
                detail: opening_detail(opening),
            })
            .collect();
        let opened = Opened {
            day0_milestone: self.timeline.day0_milestone(),
            day0_note: DAY0_NOTE,
            actor: &self.actor,
            dated: self.dated,
            now: self.now,
        };
        // The rows were checked above and the write lock is held (SQLite; PostgreSQL's unique
        // key refuses a case opened meanwhile), so the bulk write opens each as `open_in` would.
        tx.insert_cases(&rows, &opened).await.map_err(|e| match e {
            StoreError::Conflict => CaseworkError::Refused(
                "a case of the file was opened by someone else at the same moment: nothing \
                 was imported; run the import again to see which"
                    .to_owned(),
            ),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(openings.len())
    }

    /// Loads a case for a change, refusing unknown references (and closed cases, unless
    /// `allow_closed`).
    async fn load_for_change(
        &self,
        tx: &mut Tx,
        reference: &CaseRef,
        allow_closed: bool,
    ) -> Result<(CaseId, Case), CaseworkError> {
        let Some((id, case)) = tx.case(reference, true).await? else {
            return refuse(format!(
                "no case {reference}: check the reference with `rrn case list --status all`"
            ));
        };
        if let CaseState::Closed(reason) = &case.state
            && !allow_closed
        {
            return refuse(format!(
                "case {reference} is closed ({reason}): reopen it with `rrn case reopen \
                 {reference}` first"
            ));
        }
        Ok((id, case))
    }

    pub async fn change_agencies(
        &self,
        reference: &CaseRef,
        add: &[AgencyId],
        remove: &[AgencyId],
    ) -> Result<(), CaseworkError> {
        for agency in add.iter().chain(remove) {
            self.check_agency_known(
                agency,
                if add.contains(agency) {
                    "--add"
                } else {
                    "--remove"
                },
            )?;
        }
        if let Some(both) = add.iter().find(|a| remove.contains(a)) {
            return refuse(format!(
                "agency {both} is both added and removed: that is no change; give it once"
            ));
        }
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, false).await?;
        let mut involved = case.agencies.clone();
        for agency in add {
            if involved.contains(agency) {
                return refuse(format!(
                    "agency {agency} is already involved in {reference}: nothing to add"
                ));
            }
            tx.add_agency(id, agency, self.now).await?;
            involved.push(agency.clone());
        }
        for agency in remove {
            if !involved.contains(agency) {
                return refuse(format!(
                    "agency {agency} is not involved in {reference}: involved are {}",
                    join(&involved)
                ));
            }
            let recorded: Vec<&str> = case
                .completions
                .iter()
                .filter(|c| c.agency.as_ref() == Some(agency))
                .map(|c| c.milestone.as_str())
                .collect();
            if !recorded.is_empty() {
                return refuse(format!(
                    "agency {agency} has recorded completions on {reference} ({}): uncomplete \
                     them first with `rrn case uncomplete {reference} MILESTONE --agency {agency}`",
                    recorded.join(", ")
                ));
            }
            tx.remove_agency(id, agency).await?;
            involved.retain(|a| a != agency);
        }
        if involved.is_empty() {
            return refuse(format!(
                "removing the last agency would leave {reference} with none: add another first"
            ));
        }
        let detail = format!("added {}; removed {}", join(add), join(remove));
        tx.update_case(
            id,
            case.day0,
            &case.state,
            case.local_review_proposed,
            self.now,
        )
        .await?;
        tx.audit(Some(id), self.now, &self.actor, "agencies", &detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }

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

    pub async fn close(&self, reference: &CaseRef, reason: &str) -> Result<(), CaseworkError> {
        let reason = reason.trim();
        check_text(Some(reason), "--reason")?;
        if reason.is_empty() {
            return refuse(
                "--reason is empty: say why the case is closed (for example \"review complete\")",
            );
        }
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, true).await?;
        if let CaseState::Closed(existing) = &case.state {
            return refuse(format!("case {reference} is already closed ({existing})"));
        }
        let state = CaseState::Closed(reason.to_owned());
        tx.update_case(id, case.day0, &state, case.local_review_proposed, self.now)
            .await?;
        tx.audit(Some(id), self.now, &self.actor, "close", reason)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn reopen(&self, reference: &CaseRef) -> Result<(), CaseworkError> {
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, true).await?;
        if case.state.is_open() {
            return refuse(format!(
                "case {reference} is already open: nothing to reopen"
            ));
        }
        tx.update_case(
            id,
            case.day0,
            &CaseState::Open,
            case.local_review_proposed,
            self.now,
        )
        .await?;
        tx.audit(Some(id), self.now, &self.actor, "reopen", "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records whether the Rapid Review proposed a local child safeguarding practice review.
    pub async fn set_local_review(
        &self,
        reference: &CaseRef,
        proposed: bool,
    ) -> Result<(), CaseworkError> {
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, false).await?;
        if case.local_review_proposed == proposed {
            return refuse(format!(
                "case {reference} already has local review proposed = {}: nothing to change",
                if proposed { "yes" } else { "no" }
            ));
        }
        tx.update_case(id, case.day0, &case.state, proposed, self.now)
            .await?;
        let detail = format!(
            "local review proposed {}",
            if proposed { "yes" } else { "no" }
        );
        tx.audit(Some(id), self.now, &self.actor, "local-review", &detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    fn milestone(&self, id: &str) -> Result<&crate::domain::timeline::Milestone, CaseworkError> {
        self.timeline.milestone(id).ok_or_else(|| {
            let ids: Vec<&str> = self
                .timeline
                .milestones()
                .iter()
                .map(|m| m.id.as_str())
                .collect();
            CaseworkError::Refused(format!(
                "unknown milestone `{id}`: expected one of {}",
                ids.join(", ")
            ))
        })
    }

    fn check_milestone_agency(
        &self,
        case: &Case,
        milestone: &crate::domain::timeline::Milestone,
        agency: Option<&AgencyId>,
    ) -> Result<(), CaseworkError> {
        if milestone.only_if == Some(Condition::LocalReview) && !case.local_review_proposed {
            return refuse(format!(
                "{} applies only when a local review was proposed: record that first with `rrn \
                 case local-review {} yes`",
                milestone.id, case.reference
            ));
        }
        match (milestone.per_agency, agency) {
            (true, None) => refuse(format!(
                "{} is recorded per agency: add --agency ID (one of {})",
                milestone.id,
                join(&case.agencies)
            )),
            (false, Some(_)) => refuse(format!(
                "{} is recorded once per case, not per agency: drop --agency",
                milestone.id
            )),
            (true, Some(agency)) => {
                self.check_agency_known(agency, "--agency")?;
                if case.agencies.contains(agency) {
                    Ok(())
                } else {
                    refuse(format!(
                        "agency {agency} is not involved in {}: choose one of {}, or add it with \
                         `rrn case agencies {} --add {agency}`",
                        case.reference,
                        join(&case.agencies),
                        case.reference
                    ))
                }
            }
            (false, None) => Ok(()),
        }
    }
}

/// Free text (notes, reasons, actor names) is printed back in tables and CSV and kept in the
/// append-only audit log: no control characters, so nothing can rewrite a terminal or split a
/// row, and no invisible formatting characters (direction overrides, zero-width spaces), so what
/// is shown is what was written.
pub fn check_text<'a>(
    text: Option<&'a str>,
    field: &str,
) -> Result<Option<&'a str>, CaseworkError> {
    match text {
        Some(t) if t.chars().any(char::is_control) => refuse(format!(
            "{field} contains a control character (a line break, tab or escape): use plain text"
        )),
        Some(t) if t.chars().any(crate::domain::address::is_hidden) => refuse(format!(
            "{field} contains an invisible formatting character ({}, such as a direction \
             override or zero-width space): use plain text",
            crate::domain::address::first_hidden(t).unwrap_or_default()
        )),
        Some(t) if t.chars().count() > 500 => refuse(format!(
            "{field} is longer than 500 characters: keep it short"
        )),
        other => Ok(other),
    }
}

fn join(agencies: &[AgencyId]) -> String {
    if agencies.is_empty() {
        return "none".to_owned();
    }
    let ids: Vec<&str> = agencies.iter().map(AgencyId::as_str).collect();
    ids.join(", ")
}

fn row_name(milestone: &str, agency: Option<&AgencyId>) -> String {
    match agency {
        Some(agency) => format!("{milestone} for {agency}"),
        None => milestone.to_owned(),
    }
}

/// Rewords a command-line refusal for a CSV row: flags become column names.
fn csv_wording(message: &str) -> String {
    let field = ["--day0", "--aware", "--agency"]
        .into_iter()
        .find(|flag| message.contains(flag))
        .map_or("reference", |flag| &flag[2..]);
    let field = if field == "agency" { "agencies" } else { field };
    let message = message
        .replace(
            "at least one --agency",
            "at least one agency in the agencies column",
        )
        .replace("--aware", "aware")
        .replace("--day0", "day0")
        .replace("--agency", "agencies");
    format!("field {field}: {message}")
}
