//! `rrn report`: the compliance report of a period (the last complete April-to-March year by
//! default) as a table, JSON, CSV or a self-contained HTML page.
//!
//! The cases are streamed from the store (`Store::scan_every_case`) and folded one at a time
//! into a [`Tally`](crate::domain::report::Tally), so memory holds one case whatever their
//! number.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use tokio::runtime::Runtime;

use super::case::open_store;
use super::table::{Table, column, count};
use super::{CliError, ReportArgs, ReportFormat, load, print, usage};
use crate::domain::report::{MilestoneFigures, Period, Report, html, lcspr_publication_milestone};

/// What Excel needs to open a CSV as UTF-8 without its import wizard, as the case export has it.
const BOM: &str = "\u{feff}";

pub(super) fn run(
    runtime: &Runtime,
    config_path: Option<&Path>,
    args: ReportArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let loaded = load(config_path, args.at.at)?;
    let today = loaded.today();
    let period = match (args.from, args.to) {
        (Some(from), Some(to)) => Period::new(from, to).map_err(|_| {
            usage(anyhow!(
                "--from {from} is after --to {to}: give the period's first day, then its last"
            ))
        })?,
        // clap requires both or neither.
        _ => Period::last_complete_year(today),
    };
    let timeline = &loaded.timeline;
    let publication = match args.lcspr_milestone.as_deref() {
        Some(id) if timeline.milestone(id).is_some() => Some(id),
        Some(id) => {
            let ids: Vec<&str> = timeline
                .milestones()
                .iter()
                .map(|m| m.id.as_str())
                .collect();
            return Err(usage(anyhow!(
                "--lcspr-milestone `{}` is not a milestone of the timeline: use one of {}",
                crate::domain::diagnostic::excerpt(id),
                ids.join(", ")
            )));
        }
        None => lcspr_publication_milestone(timeline),
    };
    let report = runtime.block_on(async {
        let store = open_store(&loaded.config).await?;
        Ok::<_, CliError>(
            crate::service::report::compile(
                &store,
                timeline,
                &loaded.calendar,
                period,
                today,
                publication,
            )
            .await?,
        )
    })?;
    let text = match args.format {
        ReportFormat::Table => table(&report),
        ReportFormat::Json => {
            let mut json = serde_json::to_string_pretty(&report).expect("a report serialises");
            json.push('\n');
            json
        }
        ReportFormat::Csv => csv(&report)?,
        ReportFormat::Html => html::page(&report),
    };
    match &args.output {
        None => print(out, &text),
        Some(file) => {
            write_atomically(file, &text)?;
            print(out, &format!("wrote the report to {}\n", file.display()))
        }
    }
}

/// Writes `text` to `file` through a temporary file beside it, renamed over it when whole.
fn write_atomically(file: &Path, text: &str) -> Result<(), CliError> {
    let folder = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut staged = tempfile::NamedTempFile::new_in(folder)
        .with_context(|| format!("writing {}", file.display()))?;
    staged
        .write_all(text.as_bytes())
        .and_then(|()| staged.as_file().sync_all())
        .with_context(|| format!("writing {}", file.display()))?;
    staged
        .persist(file)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(())
}

fn long(date: chrono::NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

/// A figure that may not be counted.
fn maybe(n: Option<u64>) -> String {
    n.map_or("-".to_owned(), |n| n.to_string())
}

fn table(report: &Report) -> String {
    let mut out = format!(
        "Compliance report, {} to {} (as of {}, {} read)\n\n",
        long(report.period.from),
        long(report.period.to),
        long(report.as_of),
        count(report.cases as usize, "case", "cases"),
    );
    let reviews = &report.rapid_reviews;
    let lcsprs = &report.lcsprs;
    let mut summary = Table::new(&[column("RAPID REVIEWS", 60), column("NUMBER", 8)]);
    for (label, value) in [
        (
            "notified (day 0 in the period)".to_owned(),
            reviews.notified.to_string(),
        ),
        (
            "submitted to the national panel".to_owned(),
            maybe(reviews.submitted),
        ),
        (
            format!(
                "  within {} working days of day 0",
                report.statutory_limit_working_days
            ),
            maybe(reviews.submitted_within_statutory_limit),
        ),
        (
            "  by the timeline's due day".to_owned(),
            maybe(reviews.submitted_within_timeline),
        ),
        ("LCSPRs proposed".to_owned(), lcsprs.proposed.to_string()),
        ("LCSPRs published".to_owned(), maybe(lcsprs.published)),
        (
            "  within 6 months of the review's start".to_owned(),
            maybe(lcsprs.published_within_6_months),
        ),
    ] {
        summary.row(vec![label, value]);
    }
    out.push_str(&summary.render("", 100));
    if lcsprs.milestone.is_none() {
        out.push_str(
            "(the timeline has no only_if = \"local_review\" milestone to count publications by)\n",
        );
    }
    out.push('\n');
    out.push_str(&figures_table(&report.milestones, false));
    if !report.agencies.is_empty() {
        out.push('\n');
        out.push_str(&figures_table(&report.agencies, true));
    }
    if !report.not_evaluated.is_empty() {
        let refs: Vec<&str> = report.not_evaluated.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(
            out,
            "\nLeft out (dates beyond the calendar): {}",
            refs.join(", ")
        );
    }
    out
}

fn figures_table(rows: &[MilestoneFigures], by_agency: bool) -> String {
    let mut columns = vec![column("MILESTONE", 26)];
    if by_agency {
        columns.push(column("AGENCY", 14));
    }
    columns.extend([
        column("DUE", 6),
        column("ON TIME", 7),
        column("LATE", 6),
        column("OVERDUE", 7),
        column("NOT YET", 7),
        column("CLOSED", 6),
        column("MEDIAN", 6),
        column("LONGEST", 7),
        column("DELAYED", 7),
    ]);
    let mut table = Table::new(&columns);
    for m in rows {
        let mut cells = vec![m.milestone.clone()];
        if let Some(agency) = &m.agency {
            cells.push(agency.to_string());
        }
        cells.extend([
            m.due.to_string(),
            m.on_time.to_string(),
            m.late.to_string(),
            m.open_overdue.to_string(),
            m.open_not_yet_due.to_string(),
            m.closed_not_done.to_string(),
            m.median_late_working_days
                .map_or("-".to_owned(), |v| v.to_string()),
            m.max_late_working_days
                .map_or("-".to_owned(), |v| v.to_string()),
            m.delayed.to_string(),
        ]);
        table.row(cells);
    }
    let mut out = table.render("", 120);
    out.push_str("(MEDIAN and LONGEST: working days late, of those done late)\n");
    out
}

/// The CSV: one figure per line (`section,milestone,agency,reason,figure,value`), with the
/// JSON's field names, so a spreadsheet's filter or pivot table finds any figure; UTF-8 with a
/// byte-order mark and ISO dates, so that Excel opens it without its import wizard.
fn csv(report: &Report) -> Result<String, CliError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BOM.as_bytes().to_vec());
    let mut record = |section: &str,
                      milestone: &str,
                      agency: &str,
                      reason: &str,
                      figure: &str,
                      value: String| {
        writer.write_record([section, milestone, agency, reason, figure, &value])
    };
    let failed = |e: csv::Error| CliError::Failed(anyhow::Error::new(e).context("writing the CSV"));
    (|| -> Result<(), csv::Error> {
        record(
            "section",
            "milestone",
            "agency",
            "reason",
            "figure",
            "value".to_owned(),
        )?;
        record("period", "", "", "", "from", report.period.from.to_string())?;
        record("period", "", "", "", "to", report.period.to.to_string())?;
        record("period", "", "", "", "as_of", report.as_of.to_string())?;
        record("period", "", "", "", "cases", report.cases.to_string())?;
        let reviews = &report.rapid_reviews;
        let opt = |n: Option<u64>| n.map_or(String::new(), |n| n.to_string());
        for (figure, value) in [
            ("notified", reviews.notified.to_string()),
            ("submitted", opt(reviews.submitted)),
            (
                "submitted_within_statutory_limit",
                opt(reviews.submitted_within_statutory_limit),
            ),
            (
                "submitted_within_timeline",
                opt(reviews.submitted_within_timeline),
            ),
        ] {
            record("rapid_reviews", "", "", "", figure, value)?;
        }
        let lcsprs = &report.lcsprs;
        for (figure, value) in [
            ("proposed", lcsprs.proposed.to_string()),
            ("published", opt(lcsprs.published)),
            (
                "published_within_6_months",
                opt(lcsprs.published_within_6_months),
            ),
        ] {
            record(
                "lcsprs",
                lcsprs.milestone.as_deref().unwrap_or(""),
                "",
                "",
                figure,
                value,
            )?;
        }
        for (section, rows) in [
            ("milestones", &report.milestones),
            ("agencies", &report.agencies),
        ] {
            for m in rows.iter() {
                let agency = m.agency.as_ref().map_or("", |a| a.as_str());
                let mut figure = |name: &str, value: String| {
                    record(section, &m.milestone, agency, "", name, value)
                };
                figure("due", m.due.to_string())?;
                figure("on_time", m.on_time.to_string())?;
                figure("late", m.late.to_string())?;
                figure("open_overdue", m.open_overdue.to_string())?;
                figure("open_not_yet_due", m.open_not_yet_due.to_string())?;
                figure("closed_not_done", m.closed_not_done.to_string())?;
                figure(
                    "median_late_working_days",
                    m.median_late_working_days
                        .map_or(String::new(), |v| v.to_string()),
                )?;
                figure(
                    "max_late_working_days",
                    m.max_late_working_days
                        .map_or(String::new(), |v| v.to_string()),
                )?;
                figure("delayed", m.delayed.to_string())?;
                for (reason, n) in &m.delayed_by_reason {
                    record(
                        section,
                        &m.milestone,
                        agency,
                        reason,
                        "delayed_by_reason",
                        n.to_string(),
                    )?;
                }
            }
        }
        for reference in &report.not_evaluated {
            record(
                "not_evaluated",
                "",
                "",
                "",
                "reference",
                reference.to_string(),
            )?;
        }
        Ok(())
    })()
    .map_err(failed)?;
    let bytes = writer
        .into_inner()
        .map_err(|e| failed(e.into_error().into()))?;
    Ok(String::from_utf8(bytes).expect("the CSV is UTF-8"))
}
