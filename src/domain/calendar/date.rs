//! A civil date as people type it, strictly: `YYYY-MM-DD`, four digits, two, two.
//!
//! chrono's `%Y-%m-%d` also takes `2026-1-1`, `+2026-01-01` and other shapes a typing slip
//! makes; a date that decides a statutory deadline is better refused than guessed.

use chrono::NaiveDate;

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a date: use YYYY-MM-DD, for example 2026-12-21")]
pub struct NotADate(pub String);

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
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
    let date = shaped
        .then(|| {
            let year = i32::try_from(number(0..4)?).ok()?;
            NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
        })
        .flatten();
    date.ok_or_else(|| NotADate(crate::domain::diagnostic::excerpt(text)))
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
