//! Restoring cases from a full-fidelity export into a database that holds none: every record
//! checked, all written in one transaction or none.
//!
//! A restore brings back facts that were accepted once, so it checks what makes each record a
//! whole case (a reference once, day 0 not before the aware date, completions of involved
//! agencies, plain text), not the rules of the day they were written (a date within the last
//! three years, an agency still in the config): a case closed years ago comes back as it was.

use std::collections::{HashMap, HashSet};

use super::{Casework, CaseworkError, check_text};
use crate::domain::case::CaseState;
use crate::domain::record::CaseRecord;
use crate::store::{RestoredCase, StoreError};

impl Casework<'_> {
    /// Restores `records` (read from `source`, named in the audit log) into an empty database;
    /// the number of cases restored. Every problem is reported with its place in the document.
    pub async fn restore(
        &self,
        records: Vec<CaseRecord>,
        source: &str,
    ) -> Result<usize, CaseworkError> {
        let mut problems = Vec::new();
        let mut seen = HashMap::new();
        for (i, record) in records.iter().enumerate() {
            if let Some((first, spelled)) = seen.insert(
                record.reference.as_str().to_ascii_lowercase(),
                (i, record.reference.to_string()),
            ) {
                problems.push(format!(
                    "cases[{i}].reference: {} is also cases[{first}]{}: each case once",
                    record.reference,
                    super::import::same_but_case(&spelled, record.reference.as_str())
                ));
            }
            check_record(i, record, &mut problems);
        }
        let mut tx = self.store.begin().await?;
        let references: Vec<_> = records.iter().map(|r| &r.reference).collect();
        let existing = tx.existing_references(&references).await?;
        for (i, record) in records.iter().enumerate() {
            if existing.contains_key(record.reference.as_str()) {
                problems.push(format!(
                    "cases[{i}].reference: case {} already exists in this database: a JSON \
                     import restores into an empty database; give another with --database URL",
                    record.reference
                ));
            }
        }
        let held = tx.case_count().await?;
        if problems.is_empty() && held > 0 {
            problems.push(format!(
                "cases: this database already holds {held} case{}: a JSON import restores into \
                 an empty database; give a new one with --database URL (to add cases to this \
                 one, use a CSV import)",
                if held == 1 { "" } else { "s" }
            ));
        }
        if !problems.is_empty() {
            tx.rollback().await?;
            return Err(CaseworkError::RefusedFile(problems));
        }
        let cases: Vec<RestoredCase<'_>> = records
            .iter()
            .map(|record| RestoredCase {
                record,
                detail: format!(
                    "restored from {source}: {} completions, {} audit entries, {} notification \
                     log entries",
                    record.completions.len(),
                    record.audit.len(),
                    record.notifications.len()
                ),
            })
            .collect();
        tx.restore_cases(&cases, &self.actor, self.now)
            .await
            .map_err(|e| match e {
                StoreError::Conflict => CaseworkError::Refused(
                    "a case of the file was written by someone else at the same moment: \
                     nothing was imported; run the import again to see which"
                        .to_owned(),
                ),
                other => other.into(),
            })?;
        tx.commit().await?;
        Ok(records.len())
    }
}

/// The problems of one record, each named by its place in the document.
fn check_record(i: usize, record: &CaseRecord, problems: &mut Vec<String>) {
    let at = |field: &str| format!("cases[{i}].{field}");
    // The message names the field: `cases[0].completions[1].note contains a control …`.
    let text = |value: Option<&str>, field: String, problems: &mut Vec<String>| {
        if let Err(e) = check_text(value, &field) {
            problems.push(e.to_string());
        }
    };
    if let CaseState::Closed(reason) = &record.state {
        text(Some(reason), at("reason"), problems);
    }
    for (j, c) in record.completions.iter().enumerate() {
        text(
            Some(&c.recorded_by),
            at(&format!("completions[{j}].recorded_by")),
            problems,
        );
        text(
            c.note.as_deref(),
            at(&format!("completions[{j}].note")),
            problems,
        );
    }
    for (j, e) in record.audit.iter().enumerate() {
        text(Some(&e.actor), at(&format!("audit[{j}].actor")), problems);
        text(Some(&e.action), at(&format!("audit[{j}].action")), problems);
        // A detail may be longer than a note (it can quote one), but is plain text all the same.
        let detail = at(&format!("audit[{j}].detail"));
        if e.detail.chars().any(char::is_control)
            || e.detail.chars().any(crate::domain::address::is_hidden)
        {
            problems.push(format!(
                "{detail}: contains a control or invisible formatting character: use plain text"
            ));
        }
    }
    if let CaseState::Closed(reason) = &record.state
        && reason.trim().is_empty()
    {
        problems.push(format!(
            "{}: empty: say why the case was closed",
            at("reason")
        ));
    }
    if let Some(day0) = record.day0
        && day0 < record.aware
    {
        problems.push(format!(
            "{}: {day0} is before aware {}: day 0 is on or after the aware date",
            at("day0"),
            record.aware
        ));
    }
    let mut agencies = HashSet::new();
    for (j, a) in record.agencies.iter().enumerate() {
        if !agencies.insert(&a.agency) {
            problems.push(format!(
                "{}: {} is listed twice: each agency once",
                at(&format!("agencies[{j}].agency")),
                a.agency
            ));
        }
    }
    let mut completions = HashSet::new();
    for (j, c) in record.completions.iter().enumerate() {
        if !completions.insert((&c.milestone, &c.agency)) {
            problems.push(format!(
                "{}: {} is recorded twice: each milestone (and agency) once",
                at(&format!("completions[{j}].milestone")),
                super::row_name(&c.milestone, c.agency.as_ref())
            ));
        }
        if let Some(agency) = &c.agency
            && !agencies.contains(agency)
        {
            problems.push(format!(
                "{}: {agency} is not among the case's agencies: add it to `agencies`, or remove \
                 the completion",
                at(&format!("completions[{j}].agency"))
            ));
        }
    }
    let mut keys = HashSet::new();
    for (j, n) in record.notifications.iter().enumerate() {
        if !keys.insert(&n.key) {
            problems.push(format!(
                "{}: logged twice: each key once",
                at(&format!("notifications[{j}].key"))
            ));
        }
    }
}
