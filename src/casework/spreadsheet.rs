//! The case CSV as a UK spreadsheet writes and reads it: dates as `DD/MM/YYYY` (or ISO), the
//! agencies cell in any case with `;` or `,`, a byte-order mark so that Excel reads UTF-8.
//! Refuses what it would have to guess; knows nothing of cases beyond their columns. Both edges
//! read an import through [`read_cases`]: the CLI from a file, the workspace from an upload.

use chrono::NaiveDate;

use super::import::{ImportRow, Unparsed};
use super::opening::Opening;
use crate::config::DateFormat;
use crate::domain::agency::AgencyId;
use crate::domain::case::CaseRef;

/// What Excel needs to open a CSV as UTF-8 without its import wizard.
pub const BOM: &str = "\u{feff}";

/// The CSV columns a case import needs, in this order; export adds its own after them.
pub const CSV_COLUMNS: [&str; 4] = ["reference", "aware", "day0", "agencies"];

/// A case CSV read: its rows by line number, parsed or why not, and the values that had spaces
/// around them (removed before reading, and said so by [`trimmed_note`]).
#[derive(Debug, Default)]
pub struct Sheet {
    pub rows: Vec<ImportRow>,
    pub trimmed: Vec<Trimmed>,
}

/// A value read without the spaces around it: its line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    pub line: usize,
    pub field: &'static str,
}

/// The trimmed values listed in full up to this many; beyond, "and N more".
const TRIMMED_LISTED: usize = 10;

/// "spaces around 3 values were removed: line 4 agencies, line 5 reference, line 5 aware", or
/// nothing when no value had any.
pub fn trimmed_note(trimmed: &[Trimmed]) -> Option<String> {
    if trimmed.is_empty() {
        return None;
    }
    let mut places: Vec<String> = trimmed
        .iter()
        .take(TRIMMED_LISTED)
        .map(|t| format!("line {} {}", t.line, t.field))
        .collect();
    if trimmed.len() > TRIMMED_LISTED {
        places.push(format!("and {} more", trimmed.len() - TRIMMED_LISTED));
    }
    let values = if trimmed.len() == 1 {
        "1 value was".to_owned()
    } else {
        format!("{} values were", trimmed.len())
    };
    Some(format!(
        "spaces around {values} removed: {}",
        places.join(", ")
    ))
}

/// Reads a case CSV whole: a header without the columns refuses the file (the message says
/// what it found); a bad row is kept with its line number and every bad field, so that one
/// pass reports them all. Spreadsheets' CRLF and a byte-order mark are taken as they come.
pub fn read_cases(bytes: &[u8]) -> Result<Sheet, String> {
    // Spreadsheets write CRLF; the csv crate's line numbers only count LF, so normalise first
    // (a CR inside a quoted field goes too, which no field of ours needs).
    let bytes: Vec<u8> = bytes.iter().copied().filter(|&b| b != b'\r').collect();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| format!("cannot read the header: {e}"))?
        .clone();
    let found: Vec<String> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
        .collect();
    if found.len() < CSV_COLUMNS.len() || found[..CSV_COLUMNS.len()] != CSV_COLUMNS {
        return Err(format!(
            "the header must start with {} (found: {}); nothing was imported",
            CSV_COLUMNS.join(","),
            found.join(",")
        ));
    }
    // The line a record starts on, from its byte offset (the csv crate's own line count skips
    // blank lines). Records come in file order, so the count goes on from the last record's
    // start: each byte is counted once, and an import is linear in the file's size.
    let (mut counted_to, mut lines_before) = (0usize, 0usize);
    let mut line_at = |position: Option<&csv::Position>| {
        position.map_or(0, |p| {
            let mut start = usize::try_from(p.byte())
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            while bytes.get(start) == Some(&b'\n') {
                start += 1; // a blank line before the record
            }
            if start < counted_to {
                (counted_to, lines_before) = (0, 0);
            }
            lines_before += bytes[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted_to = start;
            lines_before + 1
        })
    };
    let mut sheet = Sheet::default();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = line_at(e.position());
                sheet.rows.push((
                    line,
                    Err(Unparsed {
                        problems: vec![format!("unreadable row ({e}): save the file as UTF-8 CSV")],
                        agencies: None,
                    }),
                ));
                continue;
            }
        };
        // Excel writes rows that are empty or only commas below the data: not cases.
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let line = line_at(record.position());
        if record.len() < CSV_COLUMNS.len() {
            sheet.rows.push((
                line,
                Err(Unparsed {
                    problems: vec![format!(
                        "field {}: missing (the row has {} of the columns {})",
                        CSV_COLUMNS[record.len()],
                        record.len(),
                        CSV_COLUMNS.join(",")
                    )],
                    agencies: None,
                }),
            ));
            continue;
        }
        let mut cells = [""; CSV_COLUMNS.len()];
        for (i, field) in CSV_COLUMNS.iter().enumerate() {
            let value = record.get(i).unwrap_or_default();
            cells[i] = value.trim();
            if cells[i].len() != value.len() {
                sheet.trimmed.push(Trimmed { line, field });
            }
        }
        sheet.rows.push((line, parse_row(cells)));
    }
    Ok(sheet)
}

/// One row: every field read, and every one that cannot be named (not only the first).
fn parse_row([reference, aware, day0, agency_cell]: [&str; 4]) -> Result<Opening, Unparsed> {
    fn field<T>(problems: &mut Vec<String>, name: &str, read: Result<T, String>) -> Option<T> {
        read.map_err(|e| problems.push(format!("field {name}: {e}")))
            .ok()
    }
    let mut problems = Vec::new();
    let p = &mut problems;
    let reference = field(
        p,
        "reference",
        CaseRef::parse(reference).map_err(|e| e.to_string()),
    );
    let aware = field(p, "aware", uk_date(aware));
    let day0 = match day0 {
        "" => Some(None),
        value => field(p, "day0", uk_date(value)).map(Some),
    };
    let agencies = field(p, "agencies", agencies(agency_cell));
    match (reference, aware, day0, agencies) {
        (Some(reference), Some(aware), Some(day0), Some(agencies)) => Ok(Opening {
            reference,
            aware,
            day0,
            agencies,
            local_review_proposed: false,
        }),
        (.., agencies) => Err(Unparsed { problems, agencies }),
    }
}

/// A date as a UK spreadsheet gives it: `2026-12-21`, `21/12/2026` or `1/2/2027` (day first).
/// A month above 12, a two-digit year or a day the month does not have is refused with what
/// was read, never guessed.
pub fn uk_date(text: &str) -> Result<NaiveDate, String> {
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
pub fn write_date(date: NaiveDate, format: DateFormat) -> String {
    match format {
        DateFormat::Uk => date.format("%d/%m/%Y").to_string(),
        DateFormat::Iso => date.to_string(),
    }
}

/// The agencies cell: ids separated by `;` or `,` (a quoted cell), spaces around them and
/// capitals ignored, empty pieces dropped. Every bad id is named.
pub fn agencies(cell: &str) -> Result<Vec<AgencyId>, String> {
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

    fn sheet(text: &str) -> Sheet {
        read_cases(text.as_bytes()).unwrap()
    }

    #[test]
    fn a_sheet_reports_every_bad_field_by_line_and_the_spaces_it_removed() {
        let read = sheet(
            "\u{feff}Reference,Aware,Day0,Agencies\r\n\
             RR-1,21/12/2026,,police\r\n\
             \r\n\
             RR-2 , 13/25/2026,2026-12-22,\" Police ; health \"\r\n\
             RR-3,2026-12-21\r\n\
             ,,,\r\n",
        );
        let lines: Vec<usize> = read.rows.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 4, 5]);
        assert!(read.rows[0].1.is_ok());
        let problems = &read.rows[1].1.as_ref().unwrap_err().problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("field aware: `13/25/2026`"),
            "{problems:?}"
        );
        let missing = &read.rows[2].1.as_ref().unwrap_err().problems;
        assert!(missing[0].starts_with("field day0: missing"), "{missing:?}");
        assert_eq!(
            trimmed_note(&read.trimmed).as_deref(),
            Some(
                "spaces around 3 values were removed: line 4 reference, line 4 aware, line 4 agencies"
            )
        );
        assert_eq!(
            trimmed_note(&sheet("reference,aware,day0,agencies\nRR-1,2026-12-21,,\n").trimmed),
            None
        );
    }

    #[test]
    fn a_sheet_without_the_columns_is_refused_whole() {
        let refusal = read_cases(b"ref,aware\nRR-1,2026-12-21\n").unwrap_err();
        assert!(
            refusal.contains("the header must start with reference,aware,day0,agencies"),
            "{refusal}"
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
