//! `rrn timeline`: a hypothetical case evaluated against the timeline, with no database.

use std::fmt::Write as _;
use std::path::Path;

use unicode_width::UnicodeWidthStr;

use super::table::{cut, line_width, wrap};
use super::{CliError, Format, TimelineArgs, load, print, print_json, usage};
use crate::domain::timeline::{CaseFacts, MilestoneState, evaluate, explain};

pub(super) fn run(
    config_path: Option<&Path>,
    args: TimelineArgs,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let loaded = load(config_path, args.at.at)?;
    let (config, timeline, calendar) = (&loaded.config, &loaded.timeline, &loaded.calendar);
    let today = loaded.today();
    if args.aware.is_none() && args.day0.is_none() {
        return Err(usage(anyhow::anyhow!(
            "give --aware DATE (the day the local authority became aware) or --day0 DATE (the day \
             the notification went to Ofsted), or both"
        )));
    }
    if let (Some(aware), Some(day0)) = (args.aware, args.day0)
        && day0 < aware
    {
        return Err(usage(anyhow::anyhow!(
            "--day0 {day0} is before --aware {aware}: day 0 is on or after the aware date"
        )));
    }
    if !config.agencies.is_empty() {
        for agency in &args.agencies {
            if config.agency(agency).is_none() {
                let known: Vec<&str> = config.agencies.iter().map(|a| a.id.as_str()).collect();
                return Err(usage(anyhow::anyhow!(
                    "unknown agency `{agency}` for --agency: expected one of {}",
                    known.join(", ")
                )));
            }
        }
    }
    let mut agencies = args.agencies;
    agencies.sort();
    agencies.dedup();
    let facts = CaseFacts {
        aware: args.aware,
        day0: args.day0,
        agencies,
        completions: Vec::new(),
        local_review_proposed: args.local_review,
    };
    let mut states = evaluate(timeline, calendar, &facts, today).map_err(usage)?;
    explain(&mut states, calendar);
    match args.format {
        Format::Json => print_json(out, &states),
        Format::Table => {
            let mut text = String::new();
            let show = |d: Option<chrono::NaiveDate>| d.map_or("-".to_owned(), |d| d.to_string());
            writeln!(
                text,
                "aware {}  day 0 {}  today {}  ({})",
                show(facts.aware),
                show(facts.day0),
                today,
                calendar.division()
            )
            .expect("writing to a String");
            text.push_str(&table(&states));
            print(out, &text)
        }
    }
}

/// The evaluated milestones as a table that fits an 80-column terminal (or a narrower
/// `$COLUMNS`): one space between columns, the milestone column as wide as its widest id (up to
/// 30), and the status, in words, wrapped under itself rather than run past the edge.
pub(super) fn table(states: &[MilestoneState]) -> String {
    const MAX_NAME: usize = 30;
    let date = |d: Option<chrono::NaiveDate>| d.map_or("-".to_owned(), |d| d.to_string());
    let rows: Vec<[String; 5]> = states
        .iter()
        .map(|state| {
            let name = match &state.agency {
                Some(agency) => format!("{}/{agency}", state.id),
                None => state.id.to_owned(),
            };
            [
                state.step.to_string(),
                cut(&name, MAX_NAME),
                date(state.opens),
                date(state.due),
                state.status.describe(),
            ]
        })
        .collect();
    let name_width = rows
        .iter()
        .map(|r| r[1].width())
        .chain(["MILESTONE".len()])
        .max()
        .unwrap_or(0);
    let before = 4 + 1 + name_width + 1 + 10 + 1 + 10 + 1;
    let status_width = line_width().min(80).saturating_sub(before).max(16);
    let mut out = String::new();
    let header = ["STEP", "MILESTONE", "OPENS", "DUE", "STATUS"].map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let name = format!("{}{}", row[1], " ".repeat(name_width - row[1].width()));
        let start = format!("{:<4} {name} {:<10} {:<10} ", row[0], row[2], row[3]);
        for (i, line) in wrap(&row[4], status_width).iter().enumerate() {
            if i == 0 {
                out.push_str(&start);
            } else {
                out.push('\n');
                out.push_str(&" ".repeat(before));
            }
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}
