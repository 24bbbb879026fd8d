//! The rules' fingerprint: a run records it, and when it changes the next run replans every
//! case's whole history.

use chrono::NaiveDate;

use super::Planner;

impl Planner<'_> {
    /// A fingerprint of everything planning depends on besides the cases: the timeline and its
    /// policy, the contacts and agencies, and the calendar's non-working days. A run records it;
    /// when it changes, the next run looks at every case whole again.
    pub fn fingerprint(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        format!(
            "{:?}|{:?}|{:?}",
            self.timeline, self.contacts, self.agencies
        )
        .hash(&mut hasher);
        self.calendar.division().hash(&mut hasher);
        let first =
            NaiveDate::from_ymd_opt(crate::domain::calendar::FIRST_YEAR, 1, 1).expect("valid");
        let last =
            NaiveDate::from_ymd_opt(crate::domain::calendar::LAST_YEAR, 12, 31).expect("valid");
        for day in self.calendar.closed_weekdays_between(first, last) {
            day.date.hash(&mut hasher);
        }
        format!("{:016x}", hasher.finish())
    }
}
