//! `rrn plan`: what a run would queue now, or every email a case would produce day by day.
//! Writes nothing.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use tokio::runtime::Runtime;

use super::case::open_store;
use super::output::not_written;
use super::{CliError, Format, PlanArgs, load, print, print_json, usage};
use crate::domain::case::CaseOverview;
use crate::domain::plan::{Decision, group, preview};
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
                    if args.case.as_ref().is_none_or(|r| *r == case.reference) {
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
        let decided =
            crate::service::evaluation::decide_each(&store, &planner, today, false, |decisions| {
                let mut text = String::new();
                for decision in &decisions {
                    match args.format {
                        Format::Json => {
                            text.push_str(if printed == 0 { "[\n" } else { ",\n" });
                            text.push_str(
                                &serde_json::to_string_pretty(decision).expect("serialisable"),
                            );
                        }
                        Format::Table => line(&mut text, "", decision),
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

fn line(out: &mut String, prefix: &str, decision: &Decision) {
    let n = decision.notification();
    let milestone = match (&n.milestone, &n.agency) {
        (Some(m), Some(a)) => format!("{m}/{a}"),
        (Some(m), None) => m.clone(),
        (None, _) => "-".to_owned(),
    };
    let (what, why) = match decision {
        Decision::Send { .. } => ("send", String::new()),
        Decision::Skip { reason, .. } => ("skip", format!("  ({reason})")),
    };
    writeln!(
        out,
        "{prefix}{what:<4}  {:<26}  {:<12}  {:<30}  {:<24}  {}{why}",
        n.recipient.role,
        n.case.as_ref().map_or("-", |c| c.as_str()),
        milestone,
        n.rule.as_str(),
        n.key
    )
    .expect("String");
}

fn preview_table(days: &[(NaiveDate, Vec<Decision>)]) -> String {
    let mut out = String::new();
    for (day, decisions) in days {
        if decisions.is_empty() {
            continue;
        }
        let emails = group(decisions);
        let count = match emails.len() {
            1 => "1 email".to_owned(),
            n => format!("{n} emails"),
        };
        writeln!(out, "{} ({count})", day.format("%a %Y-%m-%d")).expect("String");
        for decision in decisions {
            line(&mut out, "  ", decision);
        }
    }
    if out.is_empty() {
        out.push_str("nothing to send in that period\n");
    }
    out
}
