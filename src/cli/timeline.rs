//! `rrn timeline`: a hypothetical case evaluated against the timeline, with no database.

use std::fmt::Write as _;
use std::path::Path;

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

/// The evaluated milestones as a table that fits an 80-column terminal.
pub(super) fn table(states: &[MilestoneState]) -> String {
    const NAME_WIDTH: usize = 30;
    let mut out = format!(
        "{:<4} {:<NAME_WIDTH$} {:<10} {:<10} {}\n",
        "STEP", "MILESTONE", "OPENS", "DUE", "STATUS"
    );
    for state in states {
        let mut name = match &state.agency {
            Some(agency) => format!("{}/{agency}", state.id),
            None => state.id.to_owned(),
        };
        if name.chars().count() > NAME_WIDTH {
            name = name.chars().take(NAME_WIDTH - 1).collect::<String>() + "…";
        }
        let date = |d: Option<chrono::NaiveDate>| d.map_or("-".to_owned(), |d| d.to_string());
        writeln!(
            out,
            "{:<4} {name:<NAME_WIDTH$} {:<10} {:<10} {}",
            state.step,
            date(state.opens),
            date(state.due),
            state.status.describe()
        )
        .expect("writing to a String");
    }
    out
}
