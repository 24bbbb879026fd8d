//! The business team's actions on cases: open, agencies, complete, close, import, restore.
//!
//! Each action checks its input against the config, the timeline and the case as it stands, and
//! writes in one transaction with its audit entry, or refuses with a message that names the field
//! and what would be accepted, leaving the database exactly as it was.

mod accounts;
mod agencies;
mod completions;
mod import;
mod lifecycle;
mod opening;
mod restore;
mod sessions;
pub mod spreadsheet;

pub use accounts::{Accounts, MIN_PASSWORD_CHARS, check_password};
pub use import::{ImportRow, Unparsed};
pub use opening::{MAX_AWARE_AGE_YEARS, Opening};
pub use sessions::{Session, Sessions, SignInRefusal, random_token};

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Config;
use crate::domain::agency::AgencyId;
use crate::domain::calendar::Calendar;
use crate::domain::case::{Case, CaseRef, CaseState};
use crate::domain::timeline::{Condition, Timeline};
use crate::store::{CaseId, Store, StoreError, Tx};

#[derive(Debug, thiserror::Error)]
pub enum CaseworkError {
    /// The input was refused; nothing was written.
    #[error("{0}")]
    Refused(String),
    /// Several rows of an import were refused; nothing was written.
    /// Each problem starts `line N, `; a row may have several.
    #[error("{}, nothing imported:\n{}", rows_refused(.0), .0.join("\n"))]
    RefusedRows(Vec<String>),
    /// A file to restore was refused: each problem with its place in the document; nothing
    /// was written.
    #[error("{}, nothing imported:\n{}", plural(.0.len(), "problem"), .0.join("\n"))]
    RefusedFile(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// "2 rows refused (5 problems)": the rows by the lines the problems name.
fn rows_refused(problems: &[String]) -> String {
    let mut lines: Vec<&str> = problems
        .iter()
        .map(|p| p.split(',').next().unwrap_or(p))
        .collect();
    lines.dedup();
    let rows = plural(lines.len(), "row");
    if lines.len() == problems.len() {
        format!("{rows} refused")
    } else {
        format!("{rows} refused ({})", plural(problems.len(), "problem"))
    }
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

    /// The milestone `id` names, exactly or else without regard to case when only one
    /// matches so (`Agency_Summary` is `agency_summary`).
    fn milestone(&self, id: &str) -> Result<&crate::domain::timeline::Milestone, CaseworkError> {
        let id = id.trim();
        let folded = || {
            let mut matches = self
                .timeline
                .milestones()
                .iter()
                .filter(|m| m.id.eq_ignore_ascii_case(id));
            match (matches.next(), matches.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        };
        self.timeline.milestone(id).or_else(folded).ok_or_else(|| {
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
