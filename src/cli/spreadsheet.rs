//! The case CSV as a UK spreadsheet writes and reads it: dates as `DD/MM/YYYY` (or ISO), the
//! agencies cell in any case with `;` or `,`, a byte-order mark so that Excel reads UTF-8.
//! Refuses what it would have to guess; knows nothing of cases beyond their columns.

use chrono::NaiveDate;

use crate::config::DateFormat;
use crate::domain::agency::AgencyId;

/// What Excel needs to open a CSV as UTF-8 without its import wizard.
pub(super) const BOM: &str = "\u{feff}";

/// A date as a UK spreadsheet gives it: `2026-12-21`, `21/12/2026` or `1/2/2027` (day first).
/// A month above 12, a two-digit year or a day the month does not have is refused with what
/// was read, never guessed.
pub(super) fn uk_date(text: &str) -> Result<NaiveDate, String> {
    if let Ok(date) = crate::domain::calendar::parse_date(text) {
        return Ok(date);
    }
    let shown = format!("`{}`", crate::domain::diagnostic::excerpt(text));
    let parts: Vec<&str> = text.split('/').collect();
    let digits = |p: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    let usage = "use DD/MM/YYYY (21/12/2026) or YYYY-MM-DD (2026-12-21)";
    match parts.as_slice() {
        [day, month, year] if digits(day, 1..=2) && digits(month, 1..=2) && digits(year, 4..=4) => {
            let (d, m, y) = (
                day.parse::<u32>().expect("digits"),
                month.parse::<u32>().expect("digits"),
                year.parse::<i32>().expect("digits"),
            );
            if m > 12 || m == 0 {
                let hint = if (1..=12).contains(&d) && m <= 31 {
                    format!(": for day {m} of month {d}, write {m:02}/{d:02}/{y}")
                } else {
                    String::new()
                };
                return Err(format!(
                    "{shown} is not a date: day {d}, month {m}; dates are day/month/year{hint}"
                ));
            }
            NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| {
                format!("{shown} is not a date: day {d}, month {m}: that month has no day {d}")
            })
        }
        [_, _, year] if digits(year, 2..=2) => Err(format!(
            "{shown} is not a date: give the year in four digits ({usage})"
        )),
        _ => Err(format!("{shown} is not a date: {usage}")),
    }
}

/// A date as `[csv] date_format` says the export writes it.
pub(super) fn write_date(date: NaiveDate, format: DateFormat) -> String {
    match format {
        DateFormat::Uk => date.format("%d/%m/%Y").to_string(),
        DateFormat::Iso => date.to_string(),
    }
}

/// The agencies cell: ids separated by `;` or `,` (a quoted cell), spaces around them and
/// capitals ignored, empty pieces dropped. Every bad id is named.
pub(super) fn agencies(cell: &str) -> Result<Vec<AgencyId>, String> {
    let mut ids = Vec::new();
    let mut bad = Vec::new();
    for piece in cell
        .split([';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match AgencyId::parse(&piece.to_ascii_lowercase()) {
            Ok(id) => ids.push(id),
            Err(e) => bad.push(e.to_string()),
        }
    }
    if bad.is_empty() {
        Ok(ids)
    } else {
        Err(bad.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn uk_and_iso_dates_are_read_day_first() {
        for (text, expected) in [
            ("2026-12-21", date(2026, 12, 21)),
            ("21/12/2026", date(2026, 12, 21)),
            ("01/02/2027", date(2027, 2, 1)),
            ("1/2/2027", date(2027, 2, 1)),
            ("29/02/2028", date(2028, 2, 29)),
        ] {
            assert_eq!(uk_date(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn a_us_shaped_or_impossible_date_is_refused_with_what_was_read() {
        assert_eq!(
            uk_date("13/25/2026").unwrap_err(),
            "`13/25/2026` is not a date: day 13, month 25; dates are day/month/year"
        );
        assert_eq!(
            uk_date("12/25/2026").unwrap_err(),
            "`12/25/2026` is not a date: day 12, month 25; dates are day/month/year: for day 25 \
             of month 12, write 25/12/2026"
        );
        assert!(
            uk_date("31/02/2026")
                .unwrap_err()
                .contains("day 31, month 2: that month has no day 31")
        );
        assert!(uk_date("21/12/26").unwrap_err().contains("four digits"));
        for slip in [
            "2026/12/21",
            "21.12.2026",
            "21-12-2026",
            "",
            "21/12/2026 09:00",
        ] {
            assert!(uk_date(slip).is_err(), "{slip:?} was taken for a date");
        }
    }

    #[test]
    fn the_agencies_cell_takes_semicolons_or_commas_in_any_case() {
        let ids = |cell: &str| -> Vec<String> {
            agencies(cell)
                .unwrap()
                .iter()
                .map(|a| a.to_string())
                .collect()
        };
        assert_eq!(ids("police;health"), ["police", "health"]);
        assert_eq!(
            ids(" Police , HEALTH ,; education "),
            ["police", "health", "education"]
        );
        assert!(ids("").is_empty());
        assert!(
            agencies("police; social care")
                .unwrap_err()
                .contains("social care")
        );
    }

    proptest! {
        /// Whatever date, both export formats read back as that date.
        #[test]
        fn an_exported_date_reads_back(days in 0i64..100_000) {
            let day = date(1900, 1, 1) + chrono::Duration::days(days);
            for format in [DateFormat::Uk, DateFormat::Iso] {
                prop_assert_eq!(uk_date(&write_date(day, format)), Ok(day));
            }
        }
    }
}
