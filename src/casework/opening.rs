//! Opening a case: its reference, aware date, day 0 and agencies checked, then written with
//! its audit entry.

use chrono::NaiveDate;

use super::{Casework, CaseworkError, refuse};
use crate::domain::agency::AgencyId;
use crate::domain::case::{CaseRef, CompletionRecord};
use crate::domain::timeline::evaluate;
use crate::store::{NewCase, StoreError, Tx};

/// How far back an aware date may be: older ones are typing mistakes (1026 for 2026).
pub const MAX_AWARE_AGE_YEARS: u32 = 3;
/// The note on the day-0 completion a case opened with day 0 gets.
pub(super) const DAY0_NOTE: &str = "day 0 given when the case was opened";
/// The audit detail of opening a case, the same whether opened alone or imported.
pub(super) fn opening_detail(opening: &Opening) -> String {
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
/// A field of an opening, as a refusal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub(super) enum Field {
    Aware,
    Day0,
    Agencies,
}

/// A refused opening: the field at fault and why, in the words of the caller's [`FieldNames`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub(super) field: Field,
    pub(super) message: String,
}

/// How a caller names the fields of an opening: the CLI's flags or the CSV file's columns.
pub(super) struct FieldNames {
    aware: &'static str,
    day0: &'static str,
    pub(super) agency: &'static str,
    at_least_one_agency: &'static str,
}

impl FieldNames {
    pub(super) const CLI: Self = Self {
        aware: "--aware",
        day0: "--day0",
        agency: "--agency",
        at_least_one_agency: "at least one --agency",
    };
    pub(super) const WEB: Self = Self {
        aware: "the date you became aware",
        day0: "day 0",
        agency: "the agencies",
        at_least_one_agency: "at least one agency",
    };
    pub(super) const CSV: Self = Self {
        aware: "aware",
        day0: "day0",
        agency: "agencies",
        at_least_one_agency: "at least one agency in the agencies column",
    };
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
    /// Checks an opening against the config, the calendar and the timeline, without the
    /// database; a refusal names the field as `names` calls it.
    pub(super) fn check_opening(
        &self,
        opening: &Opening,
        names: &FieldNames,
    ) -> Result<(), Refusal> {
        match self.check_opening_fields(opening, names).into_iter().next() {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }

    /// Every field of an opening that is refused, each once (a CSV import reports them all).
    pub(super) fn check_opening_fields(
        &self,
        opening: &Opening,
        names: &FieldNames,
    ) -> Vec<Refusal> {
        let mut refused: Vec<Refusal> = Vec::new();
        let mut refuse = |field: Field, message: String| {
            if !refused.iter().any(|r| r.field == field) {
                refused.push(Refusal { field, message });
            }
        };
        let (aware, day0) = (names.aware, names.day0);
        for (field, name, date) in [
            (Field::Aware, aware, Some(opening.aware)),
            (Field::Day0, day0, opening.day0),
        ] {
            if let Some(Err(e)) = date.map(|d| self.calendar.is_working_day(d)) {
                refuse(field, format!("{name} {}: {e}", date.expect("some")));
            }
        }
        if let Err(refusal) = self.check_agencies(opening, names) {
            refuse(refusal.field, refusal.message);
        }
        if opening.aware > self.today {
            refuse(
                Field::Aware,
                format!(
                    "{aware} {} is in the future (today is {}): give the day the local \
                     authority became aware",
                    opening.aware, self.today
                ),
            );
        }
        let oldest = self
            .today
            .checked_sub_months(chrono::Months::new(12 * MAX_AWARE_AGE_YEARS))
            .unwrap_or(NaiveDate::MIN);
        if opening.aware < oldest {
            refuse(
                Field::Aware,
                format!(
                    "{aware} {} is more than {MAX_AWARE_AGE_YEARS} years before today ({}): a \
                     Rapid Review starts within days of the incident; check the year",
                    opening.aware, self.today
                ),
            );
        }
        if let Some(date) = opening.day0 {
            if date < opening.aware {
                refuse(
                    Field::Day0,
                    format!(
                        "{day0} {date} is before {aware} {}: day 0 (the notification to Ofsted) \
                         is on or after the aware date",
                        opening.aware
                    ),
                );
            }
            if date > self.today {
                refuse(
                    Field::Day0,
                    format!(
                        "{day0} {date} is in the future (today is {}): give day 0 once the \
                         notification has been sent",
                        self.today
                    ),
                );
            }
        }
        let dates_refused = refused.iter().any(|r| r.field != Field::Agencies);
        // Every date the timeline derives for the case must be one the calendar answers, or
        // the case would fail at every run instead of being refused now.
        let facts = crate::domain::timeline::CaseFacts {
            aware: Some(opening.aware),
            day0: opening.day0,
            agencies: opening.agencies.clone(),
            completions: Vec::new(),
            local_review_proposed: opening.local_review_proposed,
        };
        if !dates_refused && let Err(e) = evaluate(self.timeline, self.calendar, &facts, self.today)
        {
            refused.push(Refusal {
                field: Field::Aware,
                message: format!(
                    "{aware} {}: the timeline cannot be worked out from it ({e}): check the date",
                    opening.aware
                ),
            });
        }
        // In the order of the columns, whichever check found them.
        refused.sort_by_key(|r| r.field as u8);
        refused
    }

    /// Why `id`, given as `field`, is refused: it is none of the config's agencies.
    pub(super) fn unknown_agency(&self, id: &AgencyId, field: &str) -> String {
        format!(
            "unknown agency `{id}` for {field}: expected one of {} (the [[agency]] entries of \
             the config)",
            self.known_agencies()
        )
    }

    /// An opening names at least one agency, each one of the config's.
    fn check_agencies(&self, opening: &Opening, names: &FieldNames) -> Result<(), Refusal> {
        let refuse = |message: String| {
            Err(Refusal {
                field: Field::Agencies,
                message,
            })
        };
        let agency = names.agency;
        if opening.agencies.is_empty() {
            return refuse(format!(
                "no agencies for {}: give {} (one of {})",
                opening.reference,
                names.at_least_one_agency,
                self.known_agencies()
            ));
        }
        for id in &opening.agencies {
            if self.config.agency(id).is_none() {
                return refuse(self.unknown_agency(id, agency));
            }
        }
        Ok(())
    }
    async fn open_in(&self, tx: &mut Tx, opening: &Opening) -> Result<(), CaseworkError> {
        if let Some((_, case)) = tx.case(&opening.reference, true).await? {
            return refuse(format!(
                "case {}{} already exists: choose another reference, or see it with `rrn case \
                 show {}`",
                opening.reference,
                super::import::same_but_case(case.reference.as_str(), opening.reference.as_str()),
                case.reference
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
        self.check_opening(&opening, &FieldNames::CLI)
            .map_err(|refusal| CaseworkError::Refused(refusal.message))?;
        let mut tx = self.store.begin().await?;
        self.open_in(&mut tx, &opening).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opens a case from the workspace's form; a refusal names the form field at fault
    /// (`aware`, `day0` or `agencies`; `reference` when the reference is taken).
    pub async fn open_from_form(
        &self,
        mut opening: Opening,
    ) -> Result<(), (&'static str, CaseworkError)> {
        opening.agencies.sort();
        opening.agencies.dedup();
        self.check_opening(&opening, &FieldNames::WEB)
            .map_err(|r| (r.field.into(), CaseworkError::Refused(r.message)))?;
        let write = async {
            let mut tx = self.store.begin().await?;
            self.open_in(&mut tx, &opening).await?;
            tx.commit().await?;
            Ok::<_, CaseworkError>(())
        };
        write.await.map_err(|e| ("reference", e))
    }
}
