//! The preview: a case replayed day by day, for `rrn plan --case`.

use chrono::NaiveDate;

use super::{Decision, Planner, decide};
use crate::domain::calendar::OutOfRange;
use crate::domain::case::CaseOverview;

/// Every decision a case would produce on each working day from `from` to `to` (the sending
/// window opens only on working days), each day decided against the keys of the days before,
/// and assuming nothing is completed beyond what the case already records.
pub fn preview(
    planner: &Planner,
    case: &CaseOverview,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, Vec<Decision>)>, OutOfRange> {
    let mut log = std::collections::HashSet::new();
    let mut days = Vec::new();
    for today in from.iter_days().take_while(|d| *d <= to) {
        if !planner.calendar.is_working_day(today)? {
            continue;
        }
        let planned = planner.plan_case(case, today, None)?;
        let decisions = decide(planned, planner.timeline.policy(), today, &|key| {
            log.contains(key)
        });
        log.extend(decisions.iter().map(|d| d.notification().key.clone()));
        days.push((today, decisions));
    }
    Ok(days)
}
