//! Importing cases from CSV rows: every row checked, all written in one transaction or none.

use super::opening::{DAY0_NOTE, FieldNames, Opening, opening_detail};
use super::{Casework, CaseworkError};
use crate::domain::case::CaseRef;
use crate::store::{NewCase, NewCaseRows, Opened, StoreError};

/// A CSV row by its line number: parsed, or why not.
pub type ImportRow = (usize, Result<Opening, Unparsed>);

/// A row some field of which could not be read: every such field's problem (`field aware: …`),
/// and the agencies that could be, which are checked against the config all the same so that
/// one pass reports every bad field.
#[derive(Debug, Clone, Default)]
pub struct Unparsed {
    pub problems: Vec<String>,
    pub agencies: Option<Vec<crate::domain::agency::AgencyId>>,
}

impl Casework<'_> {
    /// Opens every case or none: every bad row is reported with its line number and field.
    pub async fn import(&self, rows: Vec<ImportRow>) -> Result<usize, CaseworkError> {
        let mut problems = Vec::new();
        let mut openings = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (line, row) in rows {
            match row {
                Err(unparsed) => {
                    for problem in unparsed.problems {
                        problems.push((line, format!("line {line}, {problem}")));
                    }
                    for id in unparsed.agencies.iter().flatten() {
                        if self.config.agency(id).is_none() {
                            let message = self.unknown_agency(id, FieldNames::CSV.agency);
                            problems
                                .push((line, format!("line {line}, field agencies: {message}")));
                            break;
                        }
                    }
                }
                Ok(mut opening) => {
                    opening.agencies.sort();
                    opening.agencies.dedup();
                    let refused = self.check_opening_fields(&opening, &FieldNames::CSV);
                    for refusal in &refused {
                        let field: &str = refusal.field.into();
                        let message = &refusal.message;
                        problems.push((line, format!("line {line}, field {field}: {message}")));
                    }
                    if !refused.is_empty() {
                        continue;
                    }
                    if let Some((first, spelled)) = seen.insert(
                        opening.reference.as_str().to_ascii_lowercase(),
                        (line, opening.reference.to_string()),
                    ) {
                        problems.push((
                            line,
                            format!(
                                "line {line}, field reference: {} is also on line {first}{}: \
                                 each case once",
                                opening.reference,
                                same_but_case(&spelled, opening.reference.as_str())
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
        let existing = tx.existing_references(&references).await?;
        for (line, opening) in &openings {
            if let Some(stored) = existing.get(opening.reference.as_str()) {
                problems.push((
                    *line,
                    format!(
                        "line {line}, field reference: case {}{} already exists: remove the row \
                         or change the reference",
                        opening.reference,
                        same_but_case(stored, opening.reference.as_str())
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
}

/// " (as `RR-2026-050`)" when a reference was matched in another spelling: references are the
/// same whatever their case.
pub(super) fn same_but_case(stored: &str, given: &str) -> String {
    if stored == given {
        String::new()
    } else {
        format!(" (as `{stored}`: references are the same whatever their case)")
    }
}
