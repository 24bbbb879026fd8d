//! Re-checking a queued email just before it is sent: an item about a case closed, a task
//! recorded as done, or an agency taken off the case since the email was queued no longer
//! holds, and is left out.

use super::{Email, Notification, Rule};
use crate::domain::case::Case;

/// The case a reference names, as it stands now.
pub type CaseNow<'c> = dyn Fn(&str) -> Option<&'c Case> + 'c;

/// Why `item` no longer holds for its case as the case stands now; `None` while it holds.
pub fn no_longer_holds(item: &Notification, case_now: &CaseNow<'_>) -> Option<String> {
    let reference = item.case.as_ref()?;
    // Cases are never deleted; one the database does not hold (a sample email's) has nothing
    // to check the item against.
    let case = case_now(reference.as_str())?;
    if !case.state.is_open() {
        return Some(format!("case {reference} was closed"));
    }
    if let Some(agency) = &item.agency
        && !case.agencies.contains(agency)
    {
        return Some(format!("{agency} was taken off case {reference}"));
    }
    // The national panel's note is about the submission being done.
    let about_a_task = item.rule != Rule::NationalPanelSubmitted;
    let done = item.milestone.as_deref().is_some_and(|milestone| {
        case.completions
            .iter()
            .any(|c| c.milestone == milestone && c.agency == item.agency)
    });
    if about_a_task && done {
        let task = item.milestone.as_deref().unwrap_or_default();
        let whose = item
            .agency
            .as_ref()
            .map_or(String::new(), |a| format!(" for {a}"));
        return Some(format!(
            "{task}{whose} was recorded as done on case {reference}"
        ));
    }
    None
}

impl Email {
    /// This email with only the items that still hold, and why each other one does not (by
    /// its case). A daily summary is a snapshot of its day and is sent as it is.
    pub fn still_holding(
        mut self,
        case_now: &CaseNow<'_>,
    ) -> (Option<Email>, Vec<(Option<String>, String)>) {
        if self.heartbeat.is_some() {
            return (Some(self), Vec::new());
        }
        let mut left_out = Vec::new();
        self.items
            .retain(|item| match no_longer_holds(item, case_now) {
                None => true,
                Some(why) => {
                    let case = item.case.as_ref().map(|c| c.as_str().to_owned());
                    left_out.push((case, format!("{}: {why}", item.key)));
                    false
                }
            });
        let kept = (!self.items.is_empty()).then_some(self);
        (kept, left_out)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::domain::address::EmailAddress;
    use crate::domain::agency::AgencyId;
    use crate::domain::case::{CaseRef, CaseState, CompletionRecord};
    use crate::domain::plan::{Capacity, Item, Recipient};
    use crate::domain::timeline::Role;

    fn case(state: CaseState, agencies: &[&str], done: &[(&str, Option<&str>)]) -> Case {
        let day = NaiveDate::from_ymd_opt(2026, 12, 21).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 12, 21, 9, 0, 0).unwrap();
        Case {
            reference: CaseRef::parse("RR-1").unwrap(),
            aware: day,
            day0: Some(day),
            state,
            local_review_proposed: false,
            agencies: agencies
                .iter()
                .map(|a| AgencyId::parse(a).unwrap())
                .collect(),
            completions: done
                .iter()
                .map(|(milestone, agency)| CompletionRecord {
                    milestone: (*milestone).to_owned(),
                    agency: agency.map(|a| AgencyId::parse(a).unwrap()),
                    completed_on: day,
                    recorded_by: "test".to_owned(),
                    recorded_at: at,
                    note: None,
                })
                .collect(),
            created_at: at,
            updated_at: at,
        }
    }

    fn reminder(agency: &str) -> Notification {
        let recipient = Recipient {
            role: Capacity::Role(Role::BusinessTeam),
            name: "Team".to_owned(),
            email: EmailAddress::parse("team@example.org").unwrap(),
        };
        let mut n = Notification::standalone(
            CaseRef::parse("RR-1").unwrap(),
            Rule::Reminder,
            recipient,
            NaiveDate::from_ymd_opt(2027, 1, 4).unwrap(),
            Item {
                title: "Individual Agency Summary".to_owned(),
                step: Some(4),
                due: None,
                status: "due in 1 working day".to_owned(),
                derivation: None,
                progress: None,
                ..Item::default()
            },
        );
        n.milestone = Some("ias".to_owned());
        n.agency = Some(AgencyId::parse(agency).unwrap());
        n
    }

    #[test]
    fn an_item_holds_until_its_case_is_closed_its_agency_removed_or_its_task_done() {
        let holds = |case: Case| {
            let cases = HashMap::from([("RR-1".to_owned(), case)]);
            no_longer_holds(&reminder("police"), &|r| cases.get(r))
        };
        assert_eq!(holds(case(CaseState::Open, &["police"], &[])), None);
        let closed = holds(case(
            CaseState::Closed("opened in error".to_owned()),
            &["police"],
            &[],
        ));
        assert!(closed.unwrap().contains("was closed"));
        let removed = holds(case(CaseState::Open, &["health"], &[]));
        assert!(removed.unwrap().contains("police was taken off"));
        let done = holds(case(
            CaseState::Open,
            &["police"],
            &[("ias", Some("police"))],
        ));
        assert!(
            done.unwrap()
                .contains("ias for police was recorded as done")
        );
        // Another agency's summary being in does not settle this one.
        let other = holds(case(
            CaseState::Open,
            &["police", "health"],
            &[("ias", Some("health"))],
        ));
        assert_eq!(other, None);
        assert_eq!(no_longer_holds(&reminder("police"), &|_| None), None);
    }
}
