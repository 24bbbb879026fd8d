//! `rrn demo`: a sample case run day by day into a maildir, for a newcomer to see what the
//! service does. It uses the same code as the real thing (casework, and the daemon's
//! [`Service::step`]); only the calendar days are simulated.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{NaiveTime, TimeZone, Utc};
use tokio::runtime::Runtime;

use super::{CliError, Loaded, load, print};
use crate::casework::{Casework, Opening};
use crate::config::Transport;
use crate::domain::case::CaseRef;
use crate::domain::timeline::{Status, evaluate};
use crate::service::Service;
use crate::service::delivery::Claimer;
use crate::store::Store;

/// The sample case: aware Wednesday 16 December 2026, notification (day 0) Monday 21st, so the
/// clock runs across Christmas and New Year.
const AWARE: (i32, u32, u32) = (2026, 12, 16);
const DAY0: (i32, u32, u32) = (2026, 12, 21);
/// The last agency's summary arrives this many working days late: late enough for its lead to
/// be told, its manager to be asked to chase and the Executive Chair to be asked to step in.
const LATE_BY: i32 = 4;

pub(super) fn run(
    runtime: &Runtime,
    config_path: Option<&Path>,
    dir: Option<PathBuf>,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let mut loaded = load(config_path, None)?;
    let (dir, maildir) = throwaway(&mut loaded, dir)?;
    let agencies: Vec<_> = loaded
        .config
        .agencies
        .iter()
        .take(3)
        .map(|a| a.id.clone())
        .collect();
    if agencies.is_empty() {
        return Err(CliError::Failed(anyhow::anyhow!(
            "the demo needs [[agency]] entries in the config"
        )));
    }
    let late_agency = agencies.last().expect("not empty").clone();
    let date =
        |(y, m, d): (i32, u32, u32)| chrono::NaiveDate::from_ymd_opt(y, m, d).expect("valid");
    let (aware, day0) = (date(AWARE), date(DAY0));
    let last_day = loaded.calendar.add_working_days(day0, 20)?;
    let tz = loaded.config.partnership.timezone;
    let reference = CaseRef::parse("RR-DEMO-001").expect("valid");

    runtime.block_on(async {
        let url = loaded.config.database.url.clone().expect("set above");
        let store = Store::open(&url).await?;
        let service = Service::load(loaded.config.clone(), &maildir)?;
        let claimer = Claimer::this_process(chrono::Duration::seconds(60));
        let header = format!(
            "Demo: case {reference} (aware {aware}, day 0 {day0}, agencies {}); \
             {late_agency}'s summary arrives {LATE_BY} working days late.\n\n",
            agencies
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        print(out, &header)?;
        for today in aware.iter_days().take_while(|d| *d <= last_day) {
            if !loaded.calendar.is_working_day(today).unwrap_or(false) {
                continue;
            }
            let at = nine_am(tz, today);
            let work = Casework {
                store: &store,
                config: &loaded.config,
                timeline: &loaded.timeline,
                calendar: &loaded.calendar,
                actor: "demo".to_owned(),
                now: at,
                dated: at,
                today,
            };
            let sample = Sample {
                reference: &reference,
                aware,
                day0,
                agencies: &agencies,
                late_agency: &late_agency,
            };
            let done = record_progress(&work, &sample, today).await?;
            let before: std::collections::HashSet<PathBuf> = emails(&maildir);
            // The daemon's own step: evaluate and queue, then deliver.
            service.step(&store, &claimer, at, None).await?;
            let day = day_number(&loaded.calendar, day0, today);
            let sent = emails(&maildir);
            print(
                out,
                &report_day(today, &day, &done, sent.difference(&before)),
            )?;
        }
        print(
            out,
            &format!(
                "\nThe emails are in the Maildir {maildir}; to read them in a mail client: \
                 mutt -f {maildir}\nThe demo database is {}\n",
                dir.join("demo.db").display(),
                maildir = maildir.display(),
            ),
        )
    })
}

/// The messages delivered into the Maildir (its `new/`, which the demo's reader has not opened).
fn emails(maildir: &Path) -> std::collections::HashSet<PathBuf> {
    std::fs::read_dir(maildir.join("new"))
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// "-3" before day 0, "0" on it, "10" on day 10.
fn day_number(
    calendar: &crate::domain::calendar::Calendar,
    day0: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> String {
    calendar
        .between(day0, today)
        .map_or("?".to_owned(), |n| n.to_string())
}

/// A folder for the demo (`dir`, or a new temporary one) holding a throwaway database and the
/// maildir, which `loaded` is pointed at whatever its config says; the folder and the maildir.
fn throwaway(loaded: &mut Loaded, dir: Option<PathBuf>) -> Result<(PathBuf, PathBuf), CliError> {
    let dir = match dir {
        Some(dir) => dir,
        None => tempfile::Builder::new()
            .prefix("rrn-demo-")
            .tempdir()
            .context("creating a folder for the demo")?
            .keep(),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let maildir = dir.join("maildir");
    loaded.config.database.url = Some(format!("sqlite://{}", dir.join("demo.db").display()));
    loaded.config.mail.transport = Transport::Maildir;
    // The business team's daily summary is one of the emails a newcomer should see.
    loaded.config.mail.heartbeat = true;
    loaded.config.mail.maildir = Some(maildir.clone());
    Ok((dir, maildir))
}

/// 09:00 local time on `day`, when the demo's business team and daemon act.
fn nine_am(tz: chrono_tz::Tz, day: chrono::NaiveDate) -> chrono::DateTime<Utc> {
    tz.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(9, 0, 0).expect("valid")))
        .earliest()
        .expect("09:00 exists")
        .with_timezone(&Utc)
}

/// A day of the demo: what the business team recorded and each email that went out.
fn report_day<'p>(
    today: chrono::NaiveDate,
    day: &str,
    done: &[String],
    sent: impl Iterator<Item = &'p PathBuf>,
) -> String {
    let mut out = String::new();
    let mut sent: Vec<&PathBuf> = sent.collect();
    sent.sort();
    let _ = writeln!(out, "{} (working day {day}):", today.format("%a %d %b %Y"));
    for what in done {
        let _ = writeln!(out, "  business team: {what}");
    }
    for path in sent {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let (to, subject) = (header(&text, "To"), header(&text, "Subject"));
        let _ = writeln!(out, "  email to {to}: {subject}");
    }
    out
}

/// The demo's case and how its agencies answer.
struct Sample<'a> {
    reference: &'a CaseRef,
    aware: chrono::NaiveDate,
    day0: chrono::NaiveDate,
    agencies: &'a [crate::domain::agency::AgencyId],
    /// Its summary arrives [`LATE_BY`] working days late.
    late_agency: &'a crate::domain::agency::AgencyId,
}

/// What the business team records on `today`: the case opened on the aware day, day 0 on its
/// day, each milestone on its due day, and the late agency's summary late; what it did, in words.
async fn record_progress(
    work: &Casework<'_>,
    sample: &Sample<'_>,
    today: chrono::NaiveDate,
) -> Result<Vec<String>, CliError> {
    let mut done = Vec::new();
    if today == sample.aware {
        work.open(Opening {
            reference: sample.reference.clone(),
            aware: sample.aware,
            day0: None,
            agencies: sample.agencies.to_vec(),
            local_review_proposed: false,
        })
        .await?;
        done.push("case opened".to_owned());
    }
    if today == sample.day0 {
        work.complete(
            sample.reference,
            work.timeline.day0_milestone(),
            None,
            today,
            None,
        )
        .await?;
        done.push(format!("{} recorded", work.timeline.day0_milestone()));
    }
    // The business team records each milestone on its due day; the late agency later.
    let (case, _) = work
        .store
        .case_with_audit(sample.reference)
        .await?
        .expect("opened on the aware day");
    let facts = case.facts();
    let states = evaluate(work.timeline, work.calendar, &facts, today)?;
    for state in &states {
        let Some(due) = state.due else { continue };
        let late = state.agency == Some(sample.late_agency);
        let when = if late {
            work.calendar.add_working_days(due, LATE_BY).unwrap_or(due)
        } else {
            due
        };
        if when == today && !matches!(state.status, Status::DoneOnTime | Status::DoneLate { .. }) {
            work.complete(sample.reference, state.id, state.agency, today, None)
                .await?;
            done.push(match state.agency {
                Some(a) => format!("{}/{a} recorded", state.id),
                None => format!("{} recorded", state.id),
            });
        }
    }
    Ok(done)
}

/// A header's value in an `.eml` file, unfolded (long ones continue on indented lines).
fn header(text: &str, name: &str) -> String {
    let prefix = format!("{name}: ");
    let mut lines = text.lines().skip_while(|l| !l.starts_with(&prefix));
    let first = lines
        .next()
        .and_then(|l| l.strip_prefix(&prefix))
        .unwrap_or("");
    let rest: Vec<&str> = lines
        .take_while(|l| l.starts_with(' '))
        .map(str::trim_start)
        .collect();
    std::iter::once(first)
        .chain(rest)
        .collect::<Vec<_>>()
        .join(" ")
}
