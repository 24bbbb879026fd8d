//! A civil date as people type it, strictly: `YYYY-MM-DD`, four digits, two, two.
//!
//! chrono's `%Y-%m-%d` also takes `2026-1-1`, `+2026-01-01` and other shapes a typing slip
//! makes; a date that decides a statutory deadline is better refused than guessed.

use chrono::NaiveDate;

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotADate {
    /// Not written `YYYY-MM-DD`.
    #[error("`{0}` is not a date: use YYYY-MM-DD, for example 2026-12-21")]
    Shape(String),
    /// Written `YYYY-MM-DD`, but no such day: the shape is right, the day is not.
    #[error("`{text}` is not a date: {why}")]
    NoSuchDay { text: String, why: String },
}

/// `text` as a date, if it is exactly `YYYY-MM-DD` and a real day.
pub fn parse_date(text: &str) -> Result<NaiveDate, NotADate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(NotADate::Shape(crate::domain::diagnostic::excerpt(text)));
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(0..4) as i32, number(5..7), number(8..10));
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| NotADate::NoSuchDay {
        text: text.to_owned(),
        why: no_such_day(year, month, day),
    })
}

/// Why `year-month-day`, written in the right shape, names no day.
fn no_such_day(year: i32, month: u32, day: u32) -> String {
    let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
        return format!("there is no month {month} (months are 01 to 12)");
    };
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let days = (next - first).num_days();
    format!(
        "{} has {days} days, so there is no day {day}",
        first.format("%B %Y")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_four_two_two_digits_make_a_date() {
        assert_eq!(
            parse_date("2026-12-21"),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 21).unwrap())
        );
        for slip in [
            "2026-1-1",
            "+2026-01-01",
            " 2026-11-20",
            "2026-11-20 ",
            "2026/11/20",
            "20261120",
            "2026-02-30",
            "2026-13-01",
            "２０２６-11-20",
            "",
        ] {
            assert!(parse_date(slip).is_err(), "{slip:?} was taken for a date");
        }
    }

    #[test]
    fn a_day_that_does_not_exist_is_said_as_such_not_as_a_wrong_shape() {
        let said = |text: &str| parse_date(text).unwrap_err().to_string();
        assert_eq!(
            said("2026-02-30"),
            "`2026-02-30` is not a date: February 2026 has 28 days, so there is no day 30"
        );
        assert_eq!(
            said("2028-02-30"),
            "`2028-02-30` is not a date: February 2028 has 29 days, so there is no day 30"
        );
        assert_eq!(
            said("2026-13-01"),
            "`2026-13-01` is not a date: there is no month 13 (months are 01 to 12)"
        );
        assert!(said("2026-1-1").contains("use YYYY-MM-DD"));
    }

    proptest! {
        /// Every day the calendar counts reads back as itself.
        #[test]
        fn every_date_reads_back(days in 0i64..(301 * 366)) {
            let day = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
            prop_assume!(chrono::Datelike::year(&day) <= 2200);
            prop_assert_eq!(parse_date(&day.format("%Y-%m-%d").to_string()), Ok(day));
        }
    }
}
