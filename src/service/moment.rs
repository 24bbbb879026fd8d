//! What `--at` means: a bare date is 09:00 that day in the partnership's timezone; a local
//! date-time or one with an offset is also accepted.
//!
//! Parsing is separate from resolving because the timezone comes from the config, which is read
//! after the arguments.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// The hour a bare `--at DATE` stands for: the start of a working morning.
const BARE_DATE_HOUR: u32 = 9;

/// A point in time as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Date(NaiveDate),
    Local(NaiveDateTime),
    Instant(DateTime<FixedOffset>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AtError {
    #[error(
        "invalid date or time `{0}`: use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] or an RFC 3339 time \
         with an offset"
    )]
    Malformed(String),
    #[error("{0} does not exist in {1} (the clocks went forward): give a time outside the gap")]
    Skipped(NaiveDateTime, Tz),
    #[error(
        "--at {at} is after today ({today}): a change or a run dated in the future would use up \
         the notifications of the days in between, which would then never go out. Leave out \
         --at, or add --rehearse when this database is a throwaway copy (training, tests)"
    )]
    Ahead { at: NaiveDate, today: NaiveDate },
}

impl FromStr for At {
    type Err = AtError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(date) = crate::domain::calendar::parse_date(s) {
            return Ok(At::Date(date));
        }
        if let Ok(instant) = DateTime::parse_from_rfc3339(s) {
            return Ok(At::Instant(instant));
        }
        // An offset without seconds: 2027-07-01T09:00+01:00.
        if let Ok(instant) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%:z") {
            return Ok(At::Instant(instant));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(local) = NaiveDateTime::parse_from_str(s, format) {
                return Ok(At::Local(local));
            }
        }
        Err(AtError::Malformed(s.to_owned()))
    }
}

impl At {
    /// The instant in `tz`. An ambiguous local time (the clocks went back) takes the earlier one.
    pub fn resolve(self, tz: Tz) -> Result<DateTime<Tz>, AtError> {
        let local = match self {
            At::Instant(instant) => return Ok(instant.with_timezone(&tz)),
            At::Date(date) => {
                date.and_time(NaiveTime::from_hms_opt(BARE_DATE_HOUR, 0, 0).expect("valid time"))
            }
            At::Local(local) => local,
        };
        tz.from_local_datetime(&local)
            .earliest()
            .ok_or(AtError::Skipped(local, tz))
    }
}

/// The current time in `tz`: the one clock read of the library (the daemon's loop and the
/// audit timestamps come through here too).
pub fn now(tz: Tz) -> DateTime<Tz> {
    chrono::Utc::now().with_timezone(&tz)
}

/// `--at` resolved, or the current time.
pub fn now_or(at: Option<At>, tz: Tz) -> Result<DateTime<Tz>, AtError> {
    match at {
        Some(at) => at.resolve(tz),
        None => Ok(now(tz)),
    }
}

/// Refuses a write dated on a later day than `real` (the clock), unless the caller rehearses on
/// a throwaway database. A past day is fine: replaying or back-dating consumes nothing ahead.
pub fn refuse_ahead(at: DateTime<Tz>, real: DateTime<Tz>, rehearse: bool) -> Result<(), AtError> {
    let (at, today) = (at.date_naive(), real.date_naive());
    if at > today && !rehearse {
        return Err(AtError::Ahead { at, today });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::London;

    #[test]
    fn a_bare_date_is_nine_in_the_morning_local_time() {
        let at: At = "2027-07-01".parse().unwrap();
        assert_eq!(
            at.resolve(London).unwrap().to_rfc3339(),
            "2027-07-01T09:00:00+01:00"
        );
    }

    #[test]
    fn an_offset_without_seconds_is_accepted() {
        let at: At = "2027-07-01T09:00+01:00".parse().unwrap();
        assert_eq!(
            at.resolve(London).unwrap().to_rfc3339(),
            "2027-07-01T09:00:00+01:00"
        );
    }

    #[test]
    fn an_instant_with_an_offset_becomes_the_local_date() {
        let at: At = "2027-06-30T23:30:00Z".parse().unwrap();
        assert_eq!(
            at.resolve(London).unwrap().date_naive().to_string(),
            "2027-07-01"
        );
    }

    #[test]
    fn a_later_day_is_refused_unless_rehearsing_and_a_later_hour_today_is_not() {
        let real = London.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let later_today = London.with_ymd_and_hms(2026, 12, 1, 23, 0, 0).unwrap();
        let tomorrow = London.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap();
        let last_year = London.with_ymd_and_hms(2025, 12, 2, 0, 0, 0).unwrap();
        assert!(refuse_ahead(later_today, real, false).is_ok());
        assert!(refuse_ahead(last_year, real, false).is_ok());
        let refused = refuse_ahead(tomorrow, real, false).unwrap_err().to_string();
        assert!(
            refused.contains("--at 2026-12-02 is after today (2026-12-01)"),
            "{refused}"
        );
        assert!(refused.contains("--rehearse"), "{refused}");
        assert!(refuse_ahead(tomorrow, real, true).is_ok());
    }

    #[test]
    fn a_time_in_the_spring_gap_is_refused_and_garbage_is_malformed() {
        let at: At = "2027-03-28T01:30".parse().unwrap();
        assert!(matches!(at.resolve(London), Err(AtError::Skipped(..))));
        assert!("2027-02-30".parse::<At>().is_err());
        assert!("next tuesday".parse::<At>().is_err());
    }
}
