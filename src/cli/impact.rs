//! What a new configuration or bank-holiday file would move, shown before it takes effect:
//! `rrn check-config --impact --against OLD` and `rrn calendar import FILE --dry-run`.

use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;
use tokio::runtime::Runtime;

use super::case::open_store;
use super::table::{Table, column, count, line_width, thousands};
use super::{CliError, Format, print, print_json};
use crate::config::Config;
use crate::domain::case::FailedCase;
use crate::domain::impact::{Moved, Rules, moved};
use crate::domain::timeline::long_date;
use crate::store::StatusFilter;

/// Every due date of the open cases that `after` would move compared with `before`.
#[derive(Serialize)]
struct Impact {
    /// What is compared: "the configuration in FILE" or "the bank holidays of FILE".
    compared: String,
    today: NaiveDate,
    open_cases: usize,
    moved: Vec<Moved>,
    /// Cases the calendar could not evaluate under one of the rules (dates beyond its range).
    failed_cases: Vec<FailedCase>,
}

/// Evaluates every open case of `config`'s database under both rules on `today` and prints
/// what moves.
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
        today,
        open_cases: 0,
        moved: Vec::new(),
        failed_cases: Vec::new(),
    };
    runtime.block_on(async {
        let store = open_store(config).await?;
        store
            .scan_cases(StatusFilter::Open, |case| {
                impact.open_cases += 1;
                let reference = case.reference.to_string();
                match moved(before, after, &reference, &case.facts, today) {
                    Ok(found) => impact.moved.extend(found),
                    Err(e) => impact.failed_cases.push(FailedCase {
                        reference: case.reference.clone(),
                        reason: e.to_string(),
                    }),
                }
            })
            .await?;
        Ok::<_, CliError>(())
    })?;
    match format {
        Format::Json => print_json(out, &impact),
        Format::Table => print(out, &table(&impact)),
    }
}

/// The moves for a person: one line per due date, old and new side by side, and a summary.
fn table(impact: &Impact) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compared with {}, on {}:",
        impact.compared,
        long_date(impact.today)
    );
    let shown = |date: Option<NaiveDate>| date.map_or("-".to_owned(), long_date);
    if !impact.moved.is_empty() {
        let mut table = Table::new(&[
            column("CASE", 20),
            column("MILESTONE", 30),
            column("AGENCY", 14),
            column("DUE (OLD)", 26),
            column("DUE (NEW)", 26),
            column("THEN", 16),
        ]);
        for m in &impact.moved {
            table.row(vec![
                m.case.clone(),
                m.milestone.clone(),
                m.agency.clone().unwrap_or_else(|| "-".to_owned()),
                shown(m.before),
                shown(m.after),
                m.becomes.map_or("", |b| b.words()).to_owned(),
            ]);
        }
        out.push_str(&table.render("  ", line_width()));
    }
    let cases: std::collections::BTreeSet<&str> =
        impact.moved.iter().map(|m| m.case.as_str()).collect();
    if impact.moved.is_empty() {
        let _ = writeln!(
            out,
            "it moves no due date of the {}",
            count(impact.open_cases, "open case", "open cases")
        );
    } else {
        let _ = writeln!(
            out,
            "it moves {} in {} of the {}",
            count(impact.moved.len(), "due date", "due dates"),
            count(cases.len(), "case", "cases"),
            count(impact.open_cases, "open case", "open cases"),
        );
    }
    let sooner = impact.moved.iter().filter(|m| m.becomes.is_some()).count();
    if sooner > 0 {
        let _ = writeln!(
            out,
            "{} would be due or overdue at once: the next run reminds or chases their owners",
            count(sooner, "task", "tasks")
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
