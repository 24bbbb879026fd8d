//! The rules' fingerprint: a run records it, and when it changes the next run replans every
//! case's whole history.
//!
//! SHA-256 over a stable encoding (the rules serialised as JSON, field by field in declaration
//! order), so the same rules give the same fingerprint whatever the toolchain or the versions of
//! the dependencies: `DefaultHasher` and `Debug` text promise neither.

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Planner;
use crate::domain::calendar::{Division, FIRST_YEAR, LAST_YEAR};
use crate::domain::contacts::{Agency, ContactsSection};
use crate::domain::timeline::Timeline;

/// Everything planning depends on besides the cases.
#[derive(Serialize)]
struct Rules<'a> {
    timeline: &'a Timeline,
    contacts: &'a ContactsSection,
    agencies: &'a [Agency],
    division: Division,
    /// The calendar's bank holidays and closure days that fall on weekdays.
    closed: Vec<NaiveDate>,
}

impl Planner<'_> {
    /// A fingerprint of everything planning depends on besides the cases: the timeline and its
    /// policy, the contacts and agencies, and the calendar's non-working days. A run records it;
    /// when it changes, the next run looks at every case whole again.
    pub fn fingerprint(&self) -> String {
        let first = NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).expect("valid");
        let last = NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).expect("valid");
        let rules = Rules {
            timeline: self.timeline,
            contacts: self.contacts,
            agencies: self.agencies,
            division: self.calendar.division(),
            closed: self
                .calendar
                .closed_weekdays_between(first, last)
                .iter()
                .map(|day| day.date)
                .collect(),
        };
        let encoded = serde_json::to_vec(&rules).expect("the rules serialise");
        let digest = Sha256::digest(&encoded);
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::calendar::{Calendar, Division, HolidayFeed};
    use crate::domain::contacts::ContactsSection;
    use crate::domain::plan::Planner;
    use crate::domain::timeline::Timeline;

    #[test]
    fn the_fingerprint_changes_with_the_rules_and_only_with_them() {
        let feed = HolidayFeed::builtin();
        let calendar = Calendar::new(&feed, Division::EnglandAndWales, &[]);
        let scotland = Calendar::new(&feed, Division::Scotland, &[]);
        let timeline = Timeline::builtin();
        let contacts = ContactsSection::default();
        let planner = |calendar| Planner {
            timeline: &timeline,
            calendar,
            contacts: &contacts,
            agencies: &[],
        };
        let fingerprint = planner(&calendar).fingerprint();
        assert_eq!(fingerprint.len(), 32, "{fingerprint}");
        assert_eq!(fingerprint, planner(&calendar).fingerprint());
        assert_ne!(fingerprint, planner(&scotland).fingerprint());
    }
}
