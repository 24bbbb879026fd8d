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

/// How long past the run the schedule wanted next the clock may be before a person must say
/// it is right: longer than any holiday a service stays down for without anyone noticing, far
/// shorter than the years a clock with a flat battery or a bad NTP source is off by.
pub const UNCONFIRMED_GAP_DAYS: i64 = 7;

/// Why the clock must be confirmed before a run acts on it: when `now` is more than
/// [`UNCONFIRMED_GAP_DAYS`] past the run the schedule wanted after the latest one recorded
/// (`next_due`), or the latest run is more than a day ahead of `now` (a rehearsal's database,
/// or a clock that was wrong then). Such a clock would plan the days in between as if they had come and gone,
/// and use up their reminders; across a restart the daemon's own clock watch cannot see it.
/// Pure: `None` when the gap is short, or there was no run yet.
pub fn unconfirmed_gap(
    latest_run: Option<DateTime<chrono::Utc>>,
    next_due: Option<DateTime<chrono::Utc>>,
    now: DateTime<chrono::Utc>,
) -> Option<String> {
    let latest = latest_run?;
    if latest - now > chrono::Duration::days(1) {
        return Some(format!(
            "this database holds a run dated {}, more than a day ahead of the clock ({}): a \
             rehearsal ran on it (`--rehearse` is for a throwaway copy), or the clock was wrong \
             then. Its notification log has used up the days up to then, so nothing is planned \
             or sent: use the live database. If this is the live one and the clock is right \
             now, run `rrn run --once --confirm-clock` once to go on from today",
            latest.format("%Y-%m-%d %H:%M UTC"),
            now.format("%Y-%m-%d %H:%M UTC"),
        ));
    }
    let due = next_due?;
    let late = now - due;
    (late > chrono::Duration::days(UNCONFIRMED_GAP_DAYS)).then(|| {
        format!(
            "the clock says {}, {} days after the run that was due at {} (the last run was at \
             {}): nothing is planned or sent until a person confirms the time. If the clock is \
             wrong, correct it (check NTP). If it is right (the service was down that long), \
             stop the service, run `rrn run --once --confirm-clock` once (it plans as of now) and \
             start it again",
            now.format("%Y-%m-%d %H:%M UTC"),
            late.num_days(),
            due.format("%Y-%m-%d %H:%M UTC"),
            latest.format("%Y-%m-%d %H:%M UTC"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::London;

    #[test]
    fn only_a_clock_a_week_past_the_next_scheduled_run_needs_confirming() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let (last, due) = (at("2026-12-24T13:00:00Z"), at("2026-12-29T08:00:00Z"));
        // Christmas, restarted on the first working day after it: no question.
        assert_eq!(
            unconfirmed_gap(Some(last), Some(due), at("2026-12-29T10:00:00Z")),
            None
        );
        assert_eq!(
            unconfirmed_gap(Some(last), Some(due), at("2027-01-05T08:00:00Z")),
            None
        );
        let years = unconfirmed_gap(Some(last), Some(due), at("2029-06-01T09:00:00Z")).unwrap();
        assert!(
            years.contains("885 days after") && years.contains("--confirm-clock"),
            "{years}"
        );
        // A first run, or a schedule with nothing ahead, has nothing to compare with.
        assert_eq!(
            unconfirmed_gap(None, Some(due), at("2029-06-01T09:00:00Z")),
            None
        );
        assert_eq!(
            unconfirmed_gap(Some(last), None, at("2029-06-01T09:00:00Z")),
            None
        );
    }

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
