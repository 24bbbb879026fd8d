//! `rrn plan`: what a run would queue now, or every email a case would produce day by day.
//! Writes nothing.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use tokio::runtime::Runtime;

use super::case::open_store;
use super::output::not_written;
use super::table::{Column, Layout, column, count, line_width};
use super::{CliError, Format, PlanArgs, load, print, print_json, usage};
use crate::domain::case::CaseOverview;
use crate::domain::plan::{Capacity, Decision, Rule, group, preview};
use crate::store::StatusFilter;

/// The longest preview: a year, past any Rapid Review and its local review's publication, and
/// a bound on the memory a preview holds.
const MAX_PREVIEW_DAYS: i64 = 366;

/// `--from`, `--to` and `--case` come together, in order, at most a year apart.
fn check_preview(args: &PlanArgs) -> Result<(), CliError> {
    match (args.from, args.to, &args.case) {
        (None, None, None) => {}
        (Some(from), Some(to), Some(_)) if (to - from).num_days() > MAX_PREVIEW_DAYS => {
            return Err(usage(anyhow::anyhow!(
                "--from {from} --to {to} is more than {MAX_PREVIEW_DAYS} days: preview a year \
                 at most"
            )));
        }
        (Some(from), Some(to), Some(_)) if from > to => {
            return Err(usage(anyhow::anyhow!(
                "--from {from} is after --to {to}: give the earlier date first"
            )));
        }
        (Some(_), Some(_), Some(_)) => {}
        _ => {
            return Err(usage(anyhow::anyhow!(
                "a preview needs all of --from DATE, --to DATE and --case REF"
            )));
        }
    }
    Ok(())
}

pub(super) fn run(
    runtime: &Runtime,
    config_path: Option<&Path>,
    args: PlanArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let loaded = load(config_path, args.at.at)?;
    let (config, today) = (&loaded.config, loaded.today());
    let planner = loaded.planner();
    check_preview(&args)?;
    runtime.block_on(async {
        let store = open_store(config).await?;
        let mut cases: Vec<CaseOverview> = Vec::new();
        if args.case.is_some() {
            store
                .scan_cases(StatusFilter::Open, |case| {
                    if args
                        .case
                        .as_ref()
                        .is_none_or(|r| r.as_str().eq_ignore_ascii_case(case.reference.as_str()))
                    {
                        cases.push(case);
                    }
                })
                .await?;
        }

        if let (Some(from), Some(to), Some(reference)) = (args.from, args.to, &args.case) {
            let case = cases.first().ok_or_else(|| {
                usage(anyhow::anyhow!(
                    "no open case {reference}: check the reference with `rrn case list`"
                ))
            })?;
            let days = preview(&planner, case, from, to).map_err(usage)?;
            return match args.format {
                Format::Json => {
                    let days: Vec<_> = days
                        .iter()
                        .map(|(day, decisions)| {
                            serde_json::json!({
                                "date": day,
                                "emails": group(decisions),
                                "decisions": decisions,
                            })
                        })
                        .collect();
                    print_json(out, &days)
                }
                Format::Table => print(out, &preview_table(&days)),
            };
        }

        // Written page by page as decided: 100,000 cases' decisions are never all in memory.
        // After a failed write the planning goes on to its end without writing more.
        let mut written = Ok(());
        let mut printed = 0usize;
        let layout = Layout::fixed(&COLUMNS, "", line_width());
        let decided =
            crate::service::evaluation::decide_each(&store, &planner, today, false, |decisions| {
                let mut text = String::new();
                if printed == 0 && args.format == Format::Table && !decisions.is_empty() {
                    text.push_str(&layout.header(&COLUMNS));
                }
                for decision in &decisions {
                    match args.format {
                        Format::Json => {
                            text.push_str(if printed == 0 { "[\n" } else { ",\n" });
                            text.push_str(
                                &serde_json::to_string_pretty(decision).expect("serialisable"),
                            );
                        }
                        Format::Table => text.push_str(&line(&layout, decision)),
                    }
                    printed += 1;
                }
                if written.is_ok() {
                    written = out.write_all(text.as_bytes());
                }
            })
            .await?;
        written.map_err(not_written)?;
        print(
            out,
            match (args.format, printed) {
                (Format::Json, 0) => "[]\n",
                (Format::Json, _) => "\n]\n",
                (Format::Table, 0) => "nothing to send\n",
                (Format::Table, _) => "",
            },
        )?;
        // The plan comes before the warnings about it, on a terminal that shows both.
        out.flush().map_err(not_written)?;
        for failure in &decided.failed_cases {
            eprintln!("rrn: warning: cannot plan case {failure}");
        }
        Ok(())
    })
}

/// The plan's columns, fixed so that a plan is printed as it is decided.
const COLUMNS: [Column; 5] = [
    column("DO", 4),
    column("CASE", 12),
    column("MILESTONE", 28),
    column("TO", 24),
    column("WHAT", 24),
];

/// A decision's row: who it is for and what it is, in words; the reason when it is skipped.
fn line(layout: &Layout, decision: &Decision) -> String {
    let n = decision.notification();
    let milestone = match (&n.milestone, &n.agency) {
        (Some(m), Some(a)) => format!("{m} ({a})"),
        (Some(m), None) => m.clone(),
        (None, _) => "-".to_owned(),
    };
    let (what, why) = match decision {
        Decision::Send { .. } => ("send", None),
        Decision::Skip { reason, .. } => ("skip", Some(reason)),
    };
    let mut text = layout.line(&[
        what,
        n.case.as_ref().map_or("-", |c| c.as_str()),
        &milestone,
        &recipient_words(&n.recipient.role),
        &rule_words(n.rule, n.rung, n.repeat),
    ]);
    // Why a skip is skipped, on lines of its own under the row.
    if let Some(why) = why {
        text.push_str(&layout.note(&format!("why not: {why}")));
    }
    text
}

/// Who a notification is for, as the business team would say it.
fn recipient_words(role: &Capacity) -> String {
    match role {
        Capacity::Role(role) => role.as_str().replace('_', " "),
        Capacity::AgencyLead(agency) => format!("{agency} lead"),
        Capacity::AgencyManager(agency) => format!("{agency} lead's manager"),
        Capacity::Unaddressed => "nobody holds the role".to_owned(),
    }
}

/// What kind of notification it is, in words.
fn rule_words(rule: Rule, rung: u32, repeat: u32) -> String {
    match rule {
        Rule::AgencyLetter => "letter".to_owned(),
        Rule::ChairNotice => "notice of a new case".to_owned(),
        Rule::Reminder => match rung {
            1 => "reminder, 1 day before".to_owned(),
            n => format!("reminder, {n} days before"),
        },
        Rule::DueToday => "due today".to_owned(),
        Rule::Escalation => match repeat {
            0 => format!("escalation {rung}"),
            r => format!("escalation {rung}, repeat {r}"),
        },
        Rule::NationalPanelSubmitted => "submission recorded".to_owned(),
        Rule::NationalPanelDelay => "submission overdue".to_owned(),
        Rule::Heartbeat => "daily summary".to_owned(),
        Rule::Overdue => "overdue, to its owner".to_owned(),
    }
}

fn preview_table(days: &[(NaiveDate, Vec<Decision>)]) -> String {
    let layout = Layout::fixed(&COLUMNS, "  ", line_width());
    let mut out = String::new();
    for (day, decisions) in days {
        if decisions.is_empty() {
            continue;
        }
        let emails = group(decisions);
        if out.is_empty() {
            out.push_str(&layout.header(&COLUMNS));
        }
        writeln!(
            out,
            "{} ({})",
            day.format("%a %Y-%m-%d"),
            count(emails.len(), "email", "emails")
        )
        .expect("String");
        for decision in decisions {
            out.push_str(&line(&layout, decision));
        }
    }
    if out.is_empty() {
        out.push_str("nothing to send in that period\n");
    }
    out
}
