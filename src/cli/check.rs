//! `rrn check-config`: every problem with its location, then what will need attention soon.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{Datelike, Months, NaiveDate};

use super::{CheckConfigArgs, CliError, load_config, print, usage};
use crate::config::Config;
use crate::service::moment;

/// The milestone the statutory limit is compared with.
const SUBMISSION_MILESTONE: &str = "national_panel_submission";

pub(super) fn run(
    runtime: &tokio::runtime::Runtime,
    config_path: Option<&Path>,
    args: CheckConfigArgs,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let today = moment::now_or(args.at.at, config.partnership.timezone)?.date_naive();
    if args.impact {
        return impact(
            runtime,
            &config,
            args.against.as_deref(),
            today,
            args.format,
            out,
        );
    }

    let mut problems = Vec::new();
    let timeline = config
        .load_timeline()
        .map_err(|e| problems.push(e.to_string()))
        .ok();
    let feed = config
        .holiday_feed()
        .map_err(|e| problems.push(e.to_string()))
        .ok();
    if let Err(e) = crate::mail::Renderer::load(&config) {
        problems.push(e.to_string());
    }
    if let Some(timeline) = &timeline {
        problems.extend(missing_contacts(&config, timeline));
    }
    if !problems.is_empty() {
        return Err(usage(anyhow::anyhow!(problems.join("\n"))));
    }
    let (timeline, feed) = (timeline.expect("checked"), feed.expect("checked"));

    let mut text = String::new();
    let source = |p: Option<&Path>| p.map_or("built-in".to_owned(), |p| p.display().to_string());
    writeln!(text, "config: {}", source(config.file.as_deref())).expect("String");
    writeln!(
        text,
        "timeline: {} ({} milestones)",
        source(config.timeline.file.as_deref()),
        timeline.milestones().len()
    )
    .expect("String");
    let division = config.partnership.division;
    let years = feed.coverage(division);
    writeln!(
        text,
        "bank holidays: {} ({division}: {}-{} from the file, other years from the rules)",
        source(config.calendar.bank_holidays.as_deref()),
        years.start(),
        years.end()
    )
    .expect("String");

    let mut warnings = warnings(&config, &timeline, *years.end(), today);
    if let Err(e) = crate::mail::Mailer::check(&config) {
        warnings.push(format!(
            "{e} (fine if the service gets it at run time, for example as a systemd credential)"
        ));
    }
    for warning in warnings {
        writeln!(text, "warning: {warning}").expect("String");
    }
    text.push_str("ok\n");
    print(out, &text)
}

/// `check-config --impact [--against OLD]`: the due dates this configuration moves compared
/// with the rules the last run planned with (or the old file's), on this configuration's
/// database.
fn impact(
    runtime: &tokio::runtime::Runtime,
    config: &Config,
    against: Option<&Path>,
    today: NaiveDate,
    format: super::Format,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    use crate::domain::calendar::{Calendar, HolidayFeed};
    use crate::domain::impact::Rules;
    use crate::domain::timeline::Timeline;
    let (old_timeline, old_calendar, compared) = match against {
        Some(against) => {
            let old = load_config(Some(against))?;
            let calendar = old.calendar(&old.holiday_feed()?, None);
            (
                old.load_timeline()?,
                calendar,
                format!("the configuration in {}", against.display()),
            )
        }
        None => {
            let used = runtime
                .block_on(async {
                    super::case::open_store(config)
                        .await?
                        .rules_of_last_run()
                        .await
                        .map_err(CliError::from)
                })?
                .ok_or_else(|| {
                    usage(anyhow::anyhow!(
                        "no run on this database has recorded the rules it planned with (a run \
                         of this version records them): compare with a copy of the old file, \
                         `--against OLD_CONFIG`"
                    ))
                })?;
            let origin = "the rules the last run planned with";
            let timeline = Timeline::parse(&used.timeline, &format!("the timeline {origin}"))?;
            let feed =
                HolidayFeed::parse(&used.bank_holidays, &format!("the bank holidays {origin}"))?;
            let calendar = Calendar::new(&feed, used.division, &used.closure_days);
            (timeline, calendar, origin.to_owned())
        }
    };
    let new_timeline = config.load_timeline()?;
    let new_calendar = config.calendar(&config.holiday_feed()?, None);
    super::impact::show(
        runtime,
        config,
        Rules {
            timeline: &old_timeline,
            calendar: &old_calendar,
        },
        Rules {
            timeline: &new_timeline,
            calendar: &new_calendar,
        },
        compared,
        today,
        format,
        out,
    )
}

fn warnings(
    config: &Config,
    timeline: &crate::domain::timeline::Timeline,
    last_covered_year: i32,
    today: NaiveDate,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let end_of_data = NaiveDate::from_ymd_opt(last_covered_year, 12, 31).expect("valid");
    if today
        .checked_add_months(Months::new(12))
        .is_some_and(|d| d > end_of_data)
    {
        warnings.push(format!(
            "the bank-holiday file covers {} only to {last_covered_year}: from {} holidays come \
             from the statutory rules, which cannot know one-off days; download \
             https://www.gov.uk/bank-holidays.json and load it with `rrn calendar import FILE`",
            config.partnership.division,
            last_covered_year + 1
        ));
    }
    let limit = config.partnership.statutory_limit_working_days;
    match timeline.working_days_from_day0(SUBMISSION_MILESTONE) {
        Some(days) if days > limit => warnings.push(format!(
            "{SUBMISSION_MILESTONE} is due on working day {days} after day 0, {} after the national \
             panel's expectation of {limit} working days from the notification \
             (statutory_limit_working_days); the timeline follows the partnership flowchart",
            plural_days(days - limit)
        )),
        Some(_) => {}
        None if timeline.milestone(SUBMISSION_MILESTONE).is_none() => warnings.push(format!(
            "the timeline has no `{SUBMISSION_MILESTONE}` milestone: nothing tracks the submission \
             to the national panel"
        )),
        None => {}
    }
    if config.agencies.is_empty() {
        warnings.push("no [[agency]] entries: cases cannot name the agencies involved".to_owned());
    }
    if today.year() > crate::domain::calendar::LAST_YEAR {
        warnings.push("today is beyond the calendar's range".to_owned());
    }
    warnings
}

/// A role the timeline sends to without a contact: every email to it would be held, so the
/// config is refused, at the `[contacts]` table where the contact belongs.
fn missing_contacts(config: &Config, timeline: &crate::domain::timeline::Timeline) -> Vec<String> {
    let configured: Vec<&str> = config
        .contacts
        .roles()
        .into_iter()
        .filter(|(_, contact)| contact.is_some())
        .map(|(role, _)| role)
        .collect();
    let place = match &config.file {
        Some(file) => {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let line = text
                .lines()
                .position(|l| l.trim() == "[contacts]")
                .map_or(String::new(), |i| format!(":{}:1", i + 1));
            format!("{}{line}", file.display())
        }
        None => "built-in config".to_owned(),
    };
    timeline
        .roles_sent_to()
        .into_iter()
        .filter(|(role, _)| !configured.contains(&role.as_str()))
        .map(|(role, why)| {
            format!(
                "{place}: [contacts] has no {role}, and the timeline sends to it ({why}): add \
                 {role} = {{ name = \"…\", email = \"…\" }}"
            )
        })
        .collect()
}

fn plural_days(n: u32) -> String {
    if n == 1 {
        "1 working day".to_owned()
    } else {
        format!("{n} working days")
    }
}
