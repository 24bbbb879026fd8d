//! When the daemon evaluates: cron patterns read in the partnership's timezone. Pure: the
//! caller passes the instants.
//!
//! Every occurrence is computed afresh in the named zone (croner + chrono-tz), so 08:00 London
//! is 08:00 UTC in winter and 07:00 UTC in summer. The daemon's tick (tokio-cron-scheduler, in
//! UTC, where nothing shifts) only asks [`Schedule::latest_between`] whether an occurrence fell
//! since the previous tick; tokio-cron-scheduler's own `*_tz` jobs freeze the offset at
//! creation and would run an hour late after the March change.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

use croner::Cron;

/// The evaluation schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    patterns: Vec<(String, Cron)>,
    timezone: Tz,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "[schedule] runs: `{pattern}` is not a cron pattern ({reason}); write five fields, for example \"0 8 * * Mon-Fri\""
)]
pub struct ScheduleError {
    pub pattern: String,
    pub reason: String,
}

impl Schedule {
    /// Five-field cron patterns (minute hour day-of-month month day-of-week), Vixie semantics.
    pub fn new(patterns: &[String], timezone: Tz) -> Result<Self, ScheduleError> {
        let patterns = patterns
            .iter()
            .map(|pattern| {
                let fields = pattern.split_whitespace().count();
                let parsed = if fields == 5 {
                    Cron::from_str(pattern).map_err(|e| e.to_string())
                } else {
                    Err(format!("{fields} fields"))
                };
                parsed
                    .map(|cron| (pattern.clone(), cron))
                    .map_err(|reason| ScheduleError {
                        pattern: pattern.clone(),
                        reason,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns, timezone })
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first occurrence strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.timezone);
        self.patterns
            .iter()
            .filter_map(|(_, cron)| cron.find_next_occurrence(&local, false).ok())
            .map(|at| at.with_timezone(&Utc))
            .min()
    }

    /// The last occurrence in `(after, upto]`, if any: a tick at `upto` that follows one at
    /// `after` runs once for it, however many occurrences it spans.
    pub fn latest_between(
        &self,
        after: DateTime<Utc>,
        upto: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let local = upto.with_timezone(&self.timezone);
        self.patterns
            .iter()
            .filter_map(|(_, cron)| cron.find_previous_occurrence(&local, true).ok())
            .map(|at| at.with_timezone(&Utc))
            .filter(|at| *at > after)
            .max()
    }
}
