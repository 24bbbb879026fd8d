//! `rrn status`: what the daemon would report, read from the database by anyone who can open it.

use std::fmt::Write as _;
use std::path::Path;

use chrono::Utc;
use serde::Serialize;
use tokio::runtime::Runtime;

use super::case::open_store;
use super::table::{Table, column, count, line_width, thousands};
use super::{CliError, Format, StatusArgs, load, print, print_json};
use crate::domain::address::escape_hidden;
use crate::service::observe::{Overdue, Snapshot};
use crate::store::Waiting;

/// How many overdue milestones (and failed cases) `rrn status` lists: a screen, not every line.
const MOST_URGENT: usize = 10;

#[derive(Serialize)]
struct Leader {
    instance: String,
    since: chrono::DateTime<Utc>,
    seen_at: chrono::DateTime<Utc>,
    /// The configuration reload it refused ("configuration reload refused at 14:02: …"): it
    /// runs on the configuration it had before, until a good reload or a restart.
    reload_refused: Option<String>,
}

#[derive(Serialize)]
struct Status {
    /// The config file in use (`built-in defaults` when none).
    config: String,
    /// The database in use, its password (if any) hidden.
    database: String,
    backend: &'static str,
    next_run: Option<chrono::DateTime<Utc>>,
    leader: Option<Leader>,
    /// Emails tried and not yet taken by the mail server.
    waiting: Waiting,
    #[serde(flatten)]
    snapshot: Snapshot,
}

pub(super) fn run(
    runtime: &Runtime,
    config_path: Option<&Path>,
    args: StatusArgs,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let loaded = load(config_path, args.at.at)?;
    let now = loaded.at.with_timezone(&Utc);
    let tz = loaded.config.partnership.timezone;
    let schedule = loaded.config.schedule();
    runtime.block_on(async {
        let store = open_store(&loaded.config).await?;
        let snapshot =
            Snapshot::take(&store, &loaded.timeline, &loaded.calendar, loaded.today()).await?;
        let leader = store.leader().await?.map(|row| Leader {
            instance: row.instance,
            since: row.since,
            seen_at: row.seen_at,
            reload_refused: row.reload_refused,
        });
        let waiting = store.waiting(now).await?;
        let status = Status {
            config: loaded
                .config
                .file
                .as_ref()
                .map_or("built-in defaults".to_owned(), |f| f.display().to_string()),
            database: crate::config::shown_url(
                &loaded
                    .config
                    .database
                    .url
                    .clone()
                    .unwrap_or_else(crate::config::default_sqlite_url),
            ),
            backend: store.backend(),
            next_run: schedule.next_after(now),
            leader,
            waiting,
            snapshot,
        };
        match args.format {
            Format::Json => print_json(out, &status),
            Format::Table => print(out, &table(&status, tz)),
        }
    })
}

/// `rrn status` for a person: a screen's worth, one fact per line, the most overdue below.
fn table(status: &Status, tz: chrono_tz::Tz) -> String {
    let local = |at: chrono::DateTime<Utc>| {
        at.with_timezone(&tz)
            .format("%a %Y-%m-%d %H:%M")
            .to_string()
    };
    let mut out = String::new();
    let never = || "never".to_owned();
    let _ = writeln!(out, "config:     {}", status.config);
    let _ = writeln!(out, "database:   {} ({})", status.database, status.backend);
    let _ = writeln!(
        out,
        "last run:   {}",
        status.snapshot.last_run.map(local).unwrap_or_else(never)
    );
    let _ = writeln!(
        out,
        "next run:   {}",
        status.next_run.map(local).unwrap_or_else(never)
    );
    let _ = writeln!(
        out,
        "leader:     {}",
        match &status.leader {
            Some(l) => format!(
                "{} (leading since {}, last seen {})",
                l.instance,
                local(l.since),
                local(l.seen_at)
            ),
            None => "no daemon has run on this database".to_owned(),
        }
    );
    if let Some(refused) = status
        .leader
        .as_ref()
        .and_then(|l| l.reload_refused.as_ref())
    {
        let _ = writeln!(
            out,
            "reload:     {refused} (the daemon runs on its previous configuration until a \
             good reload or a restart)"
        );
    }
    let e = status.snapshot.emails;
    let _ = write!(
        out,
        "emails:     {} pending, {} in flight, {} sent, {} failed",
        thousands(e.pending as usize),
        thousands(e.in_flight as usize),
        thousands(e.sent as usize),
        thousands(e.failed as usize)
    );
    if e.cancelled > 0 {
        let _ = write!(out, ", {} cancelled", thousands(e.cancelled as usize));
    }
    out.push('\n');
    let w = &status.waiting;
    if w.retrying > 0 {
        let _ = write!(
            out,
            "delivery:   {} tried and waiting to be tried again",
            count(w.retrying as usize, "email", "emails")
        );
        if let Some(since) = w.since {
            let _ = write!(out, " (the oldest queued {})", local(since));
        }
        out.push('\n');
        if let Some(error) = &w.last_error {
            let _ = writeln!(
                out,
                "            the mail server said: {}",
                escape_hidden(error)
            );
        }
        if let Some(next) = w.next_try {
            let _ = write!(out, "            next try {}; ", local(next));
        } else {
            out.push_str("            ");
        }
        out.push_str("`rrn outbox list --status pending` lists them\n");
    }
    if w.abandoned > 0 {
        let _ = writeln!(
            out,
            "delivery:   {} claimed by a sender that stopped before finishing; the next \
             delivery sends {} again",
            count(w.abandoned as usize, "email was", "emails were"),
            if w.abandoned == 1 { "it" } else { "them" }
        );
    }
    let overdue = &status.snapshot.overdue;
    let _ = writeln!(
        out,
        "cases:      {}, {}",
        count(status.snapshot.open_cases, "open case", "open cases"),
        count(overdue.len(), "milestone overdue", "milestones overdue")
    );
    let failed = &status.snapshot.failed_cases;
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            "failed:     {} the last run could not plan (nothing is sent for them until fixed):",
            count(failed.len(), "case", "cases")
        );
        for f in failed.iter().take(MOST_URGENT) {
            let _ = writeln!(out, "  {f}");
        }
        if failed.len() > MOST_URGENT {
            let _ = writeln!(
                out,
                "  and {} more: `rrn status --format json`",
                thousands(failed.len() - MOST_URGENT)
            );
        }
    }
    if !overdue.is_empty() {
        let mut most: Vec<&Overdue> = overdue.iter().collect();
        // The longest overdue first; the earliest due, then the case, among equals.
        most.sort_by(|a, b| {
            b.working_days
                .cmp(&a.working_days)
                .then(a.due.cmp(&b.due))
                .then(a.case.cmp(&b.case))
                .then(a.milestone.cmp(&b.milestone))
                .then(a.agency.cmp(&b.agency))
        });
        let _ = writeln!(out, "most overdue:");
        let mut table = Table::new(&[
            column("CASE", 24),
            column("MILESTONE", 32),
            column("AGENCY", 16),
            column("DUE", 10),
            column("OVERDUE", 24),
        ]);
        for o in most.iter().take(MOST_URGENT) {
            table.row(vec![
                o.case.clone(),
                o.milestone.clone(),
                o.agency.clone().unwrap_or_else(|| "-".to_owned()),
                o.due.map(|d| d.to_string()).unwrap_or_default(),
                count(o.working_days as usize, "working day", "working days"),
            ]);
        }
        out.push_str(&table.render("  ", line_width()));
        if most.len() > MOST_URGENT {
            let _ = writeln!(
                out,
                "  and {} more: `rrn case list`",
                thousands(most.len() - MOST_URGENT)
            );
        }
    }
    out
}
