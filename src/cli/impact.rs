//! What a new configuration or bank-holiday file would move, shown before it takes effect:
//! `rrn check-config --impact --against OLD` and `rrn calendar import FILE --dry-run`.

use std::fmt::Write as _;

use chrono::NaiveDate;
use tokio::runtime::Runtime;

use super::case::open_store;
use super::table::{Column, Layout, column, count, line_width, thousands};
use super::{CliError, Format, print};
use crate::config::Config;
use crate::domain::case::FailedCase;
use crate::domain::impact::{Moved, Rules, moved};
use crate::domain::timeline::long_date;
use crate::store::StatusFilter;

/// What the summary and the JSON's closing fields need once every case is seen.
struct Impact {
    /// What is compared: "the configuration in FILE" or "the bank holidays of FILE".
    compared: String,
    open_cases: usize,
    /// Cases the calendar could not evaluate under one of the rules (dates beyond its range).
    failed_cases: Vec<FailedCase>,
}

/// The table's columns: old and new side by side, and what the move makes of the task.
const COLUMNS: [Column; 6] = [
    column("CASE", 20),
    column("MILESTONE", 26),
    column("AGENCY", 12),
    column("DUE (OLD)", 15),
    column("DUE (NEW)", 15),
    column("THEN", 14),
];

/// Evaluates every open case of `config`'s database under both rules on `today` and prints
/// what moves, a move at a time as the cases come (the table's lines, or the JSON's `moved`
/// array, one object a line), so that a change moving every date of 100,000 cases is never
/// held whole. The JSON ends with `open_cases` and `failed_cases`, known only then.
#[allow(clippy::too_many_arguments)]
pub(super) fn show(
    runtime: &Runtime,
    config: &Config,
    before: Rules<'_>,
    after: Rules<'_>,
    compared: String,
    today: NaiveDate,
    format: Format,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let mut impact = Impact {
        compared,
        open_cases: 0,
        failed_cases: Vec::new(),
    };
    let layout = Layout::fixed(&COLUMNS, "  ", line_width());
    let mut tally = Tally::default();
    let mut written = match format {
        Format::Table => writeln!(
            out,
            "compared with {}, on {}:",
            impact.compared,
            long_date(today)
        ),
        Format::Json => write!(
            out,
            "{{\n  \"compared\": {},\n  \"today\": \"{today}\",\n  \"moved\": [",
            one_line(&impact.compared)
        ),
    };
    runtime.block_on(async {
        let store = open_store(config).await?;
        store
            .scan_cases(StatusFilter::Open, |case| {
                impact.open_cases += 1;
                let reference = case.reference.to_string();
                let found = match moved(before, after, &reference, &case.facts, today) {
                    Ok(found) => found,
                    Err(e) => {
                        impact.failed_cases.push(FailedCase {
                            reference: case.reference.clone(),
                            reason: e.to_string(),
                        });
                        return;
                    }
                };
                tally.cases += usize::from(!found.is_empty());
                for m in &found {
                    if written.is_err() {
                        return;
                    }
                    written = match format {
                        Format::Table if tally.moved == 0 => out
                            .write_all(layout.header(&COLUMNS).as_bytes())
                            .and_then(|()| out.write_all(line(&layout, m).as_bytes())),
                        Format::Table => out.write_all(line(&layout, m).as_bytes()),
                        Format::Json => write!(
                            out,
                            "{}\n    {}",
                            if tally.moved == 0 { "" } else { "," },
                            one_line(m)
                        ),
                    };
                    tally.moved += 1;
                    tally.sooner += usize::from(m.becomes.is_some());
                }
            })
            .await?;
        Ok::<_, CliError>(())
    })?;
    written.map_err(super::output::not_written)?;
    match format {
        Format::Json => print(
            out,
            &format!(
                "{}],\n  \"open_cases\": {},\n  \"failed_cases\": {}\n}}\n",
                if tally.moved == 0 { "" } else { "\n  " },
                impact.open_cases,
                one_line(&impact.failed_cases)
            ),
        ),
        Format::Table => print(out, &summary(&impact, &tally)),
    }
}

/// A value as one line of JSON.
fn one_line(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

/// What the table's summary counts, as the lines go out.
#[derive(Default)]
struct Tally {
    moved: usize,
    cases: usize,
    sooner: usize,
}

fn line(layout: &Layout, m: &Moved) -> String {
    // "Thu 7 Jan 2027": the weekday and the date whole, in a column a screen can hold twice.
    let shown = |date: Option<NaiveDate>| {
        date.map_or("-".to_owned(), |d| d.format("%a %-d %b %Y").to_string())
    };
    layout.line(&[
        &m.case,
        &m.milestone,
        m.agency.as_deref().unwrap_or("-"),
        &shown(m.before),
        &shown(m.after),
        m.becomes.map_or("", |b| b.words()),
    ])
}

/// The lines under the table: how much moves, and what would be chased at once.
fn summary(impact: &Impact, tally: &Tally) -> String {
    let mut out = String::new();
    if tally.moved == 0 {
        let _ = writeln!(
            out,
            "it moves no due date of the {}",
            count(impact.open_cases, "open case", "open cases")
        );
    } else {
        let _ = writeln!(
            out,
            "it moves {} in {} of the {}",
            count(tally.moved, "due date", "due dates"),
            count(tally.cases, "case", "cases"),
            count(impact.open_cases, "open case", "open cases"),
        );
    }
    if tally.sooner > 0 {
        let _ = writeln!(
            out,
            "{} would be due or overdue at once: the next run reminds or chases their owners",
            count(tally.sooner, "task", "tasks")
        );
    }
    for failed in &impact.failed_cases {
        let _ = writeln!(out, "cannot compare {failed}");
    }
    if impact.failed_cases.len() > 1 {
        let _ = writeln!(
            out,
            "{} could not be compared",
            thousands(impact.failed_cases.len())
        );
    }
    out
}
