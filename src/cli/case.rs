//! `rrn case …` and `rrn migrate`: the business team's record of each Rapid Review.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use tokio::runtime::Runtime;

use super::table::{Table, column, count, line_width};
use super::{
    CaseArgs, CaseCommand, CliError, Format, Loaded, StatusArg, load, load_config, print,
    print_json, usage,
};
use crate::casework::spreadsheet::{self, CSV_COLUMNS};
use crate::casework::{Casework, ImportRow, Opening};
use crate::config::Config;
use crate::config::default_sqlite_url;
use crate::domain::address::escape_hidden;
use crate::domain::agency::AgencyId;
use crate::domain::case::{Case, CaseRef};
use crate::domain::listing::CaseLine;
use crate::domain::timeline::{evaluate, explain};
use crate::store::Store;

/// The database the config names, or the default SQLite file; migrated on open.
pub(super) async fn open_store(config: &Config) -> Result<Store, CliError> {
    let url = config
        .database
        .url
        .clone()
        .unwrap_or_else(default_sqlite_url);
    Ok(Store::open(&url).await.context("opening the database")?)
}

pub(super) fn migrate(
    runtime: &Runtime,
    config_path: Option<&Path>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let url = config
        .database
        .url
        .clone()
        .unwrap_or_else(default_sqlite_url);
    let (store, applied) = runtime
        .block_on(async {
            let store = Store::connect(&url).await?;
            let applied = store.migrate().await?;
            Ok::<_, crate::store::StoreError>((store, applied))
        })
        .context("opening the database")?;
    let mut text = String::new();
    for migration in &applied {
        let _ = writeln!(text, "applied {migration}");
    }
    let _ = writeln!(
        text,
        "{} ({}): {}",
        if applied.is_empty() {
            "database is up to date"
        } else {
            "database migrated"
        },
        store.backend(),
        count(applied.len(), "migration applied", "migrations applied")
    );
    print(out, &text)
}

/// `rrn backup FILE`: a consistent copy of the SQLite database in a new file.
pub(super) fn backup(
    runtime: &Runtime,
    config_path: Option<&Path>,
    file: &Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if file.exists() {
        return Err(usage(anyhow::anyhow!(
            "{} exists: give a new file name (a backup never overwrites)",
            file.display()
        )));
    }
    if let Some(folder) = file.parent().filter(|f| !f.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(usage(anyhow::anyhow!(
            "the folder {} does not exist: create it first, or give a file in a folder that \
             does (nothing was backed up)",
            folder.display()
        )));
    }
    let config = load_config(config_path)?;
    let url = config
        .database
        .url
        .clone()
        .unwrap_or_else(default_sqlite_url);
    // A backup reads a database; opening a mistyped path would create an empty one and
    // "back it up".
    if let Some(source) = crate::store::Store::sqlite_file(&url)
        && !source.exists()
    {
        return Err(usage(anyhow::anyhow!(
            "there is no database at {}: check `--database`, `RRN_DATABASE__URL` or \
             `[database] url` (`rrn status` shows the database in use); nothing was backed up",
            source.display()
        )));
    }
    let store = runtime.block_on(open_store(&config))?;
    if store.backend() != "sqlite" {
        return Err(usage(anyhow::anyhow!(
            "rrn backup copies an SQLite database; for PostgreSQL use pg_dump (for example: \
             pg_dump --format=custom --file=rrn.dump DATABASE_URL)"
        )));
    }
    runtime.block_on(store.backup(file))?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    print(
        out,
        &format!(
            "backed up the database to {} ({bytes} bytes)\n",
            file.display()
        ),
    )
}

/// The OS user (or who `sudo` was run by), from the environment or else the password file,
/// checked like `--actor`: anyone can set `$USER`, and it goes into the append-only audit log.
pub(super) fn os_user() -> Result<String, CliError> {
    use std::os::unix::fs::MetadataExt as _;
    let from_env = ["SUDO_USER", "USER", "LOGNAME"]
        .into_iter()
        .find_map(|k| Some((k, std::env::var(k).ok().filter(|v| !v.is_empty())?)));
    if let Some((var, user)) = from_env {
        return match crate::casework::check_text(Some(&user), &format!("${var}")) {
            Ok(_) => Ok(user),
            Err(e) => Err(usage(anyhow::anyhow!(
                "{e}; or say who is acting with --actor NAME"
            ))),
        };
    }
    let from_passwd = || {
        let uid = std::fs::metadata("/proc/self").ok()?.uid();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.get(2) == Some(&uid.to_string().as_str())).then(|| fields[0].to_owned())
        })
    };
    let user = from_passwd().unwrap_or_else(|| "unknown".to_owned());
    crate::casework::check_text(Some(&user), "the user name in /etc/passwd")?;
    Ok(user)
}

pub(super) fn run(
    runtime: &Runtime,
    config_path: Option<&Path>,
    args: CaseArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let ctx = load(config_path, args.at.at)?;
    let reads_only = matches!(
        args.command,
        CaseCommand::List { .. } | CaseCommand::Show { .. } | CaseCommand::Export { .. }
    );
    if !reads_only {
        ctx.refuse_ahead(&args.rehearse)?;
    }
    runtime.block_on(async {
        let store = open_store(&ctx.config).await?;
        let actor = actor(args.actor.as_deref(), reads_only)?;
        let work = Casework {
            store: &store,
            config: &ctx.config,
            timeline: &ctx.timeline,
            calendar: &ctx.calendar,
            actor,
            // Audit entries carry the real time; `--at` moves "today" and the day a case is
            // recorded as opened (never ahead of the clock, see `refuse_ahead`).
            now: Utc::now(),
            dated: ctx.at.with_timezone(&Utc),
            today: ctx.today(),
        };
        let format = args.format;
        match args.command {
            CaseCommand::List { status } => {
                let lines = case_lines(&store, &ctx, status).await?;
                match format {
                    Format::Json => print_json(out, &lines),
                    Format::Table => list_table(&lines, out),
                }
            }
            CaseCommand::Show { reference } => show(&store, &ctx, &reference, format, out).await,
            CaseCommand::Export { status } => match format {
                // Every fact of every case, for a restore or a move to another database.
                Format::Json => super::export::write_json(&store, status, out)
                    .await
                    .map(|_| ()),
                Format::Table => export_csv(&store, &ctx, status, out).await,
            },
            change => {
                let message = change_case(&work, change, ctx.today()).await?;
                match format {
                    Format::Table => print(out, &format!("{message}\n")),
                    Format::Json => {
                        let json = serde_json::json!({ "ok": true, "message": message });
                        print(out, &format!("{json}\n"))
                    }
                }
            }
        }
    })
}

/// Who the audit log names: `--actor`, or the OS user for a change (a listing records nothing).
pub(super) fn actor(given: Option<&str>, reads_only: bool) -> Result<String, CliError> {
    Ok(match given.map(str::trim) {
        Some("") => return Err(usage(anyhow::anyhow!("--actor is empty: give a name"))),
        Some(actor) => crate::casework::check_text(Some(actor), "--actor")?
            .expect("given")
            .to_owned(),
        None if reads_only => String::new(),
        None => os_user()?,
    })
}

/// A command that changes cases, done through casework; what it did, in words.
async fn change_case(
    work: &Casework<'_>,
    command: CaseCommand,
    today: chrono::NaiveDate,
) -> Result<String, CliError> {
    Ok(match command {
        CaseCommand::Open {
            reference,
            aware,
            day0,
            agencies,
            local_review,
        } => {
            work.open(Opening {
                reference: reference.clone(),
                aware,
                day0,
                agencies,
                local_review_proposed: local_review,
            })
            .await?;
            format!("opened {reference}")
        }
        CaseCommand::Agencies {
            reference,
            add,
            remove,
        } => {
            if add.is_empty() && remove.is_empty() {
                return Err(usage(anyhow::anyhow!(
                    "nothing to change: give --add ID or --remove ID"
                )));
            }
            work.change_agencies(&reference, &add, &remove).await?;
            format!("updated the agencies of {reference}")
        }
        CaseCommand::Complete {
            reference,
            milestone,
            agency,
            on,
            note,
        } => {
            let on = on.unwrap_or(today);
            work.complete(&reference, &milestone, agency.as_ref(), on, note.as_deref())
                .await?;
            format!("recorded {milestone} on {reference} as done on {on}")
        }
        CaseCommand::Uncomplete {
            reference,
            milestone,
            agency,
        } => {
            work.uncomplete(&reference, &milestone, agency.as_ref())
                .await?;
            format!("recorded {milestone} on {reference} as not done")
        }
        CaseCommand::Close { reference, reason } => {
            work.close(&reference, &reason).await?;
            format!("closed {reference}")
        }
        CaseCommand::Reopen { reference } => {
            work.reopen(&reference).await?;
            format!("reopened {reference}")
        }
        CaseCommand::LocalReview {
            reference,
            proposed,
        } => {
            work.set_local_review(&reference, proposed.0).await?;
            format!(
                "recorded that a local review was {}proposed for {reference}",
                if proposed.0 { "" } else { "not " }
            )
        }
        CaseCommand::Import { file } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read {}", file.display()))
                .map_err(CliError::Usage)?;
            if super::export::is_json(&file, &bytes) {
                let records = super::export::read_records(&file, bytes)?;
                let n = work.restore(records, &file.display().to_string()).await?;
                format!(
                    "restored {} from {}",
                    count(n, "case", "cases"),
                    file.display()
                )
            } else {
                let (rows, trimmed) = read_csv(&file, bytes)?;
                let n = work.import(rows).await?;
                let mut said = format!(
                    "imported {} from {}",
                    count(n, "case", "cases"),
                    file.display()
                );
                if let Some(trimmed) = trimmed {
                    said.push_str(&format!("\n{trimmed}"));
                }
                said
            }
        }
        CaseCommand::List { .. } | CaseCommand::Show { .. } | CaseCommand::Export { .. } => {
            unreachable!("read-only commands are handled by run")
        }
    })
}

/// Evaluates every case of `status`, holding one case at a time.
async fn case_lines(
    store: &Store,
    ctx: &Loaded,
    status: StatusArg,
) -> Result<Vec<CaseLine>, CliError> {
    let mut summaries = Vec::new();
    let mut failures = Vec::new();
    store
        .scan_cases(status.into(), |case| {
            match evaluate(&ctx.timeline, &ctx.calendar, &case.facts, ctx.today()) {
                Ok(states) => summaries.push(CaseLine::new(&case, &states)),
                // One case the calendar cannot evaluate must not hide the others.
                Err(e) => failures.push(format!("{}: {e}", case.reference)),
            }
        })
        .await?;
    for failure in failures {
        eprintln!("rrn: warning: cannot evaluate case {failure}");
    }
    CaseLine::sort(&mut summaries);
    Ok(summaries)
}

/// The table of `rrn case list`: most urgent first, a count below it.
fn list_table(summaries: &[CaseLine], out: &mut dyn Write) -> Result<(), CliError> {
    if summaries.is_empty() {
        return print(out, "no cases\n");
    }
    let mut table = Table::new(&[
        column("REFERENCE", 24),
        column("DAY 0", 10),
        column("NEXT MILESTONE", 34),
        column("DUE", 10),
        column("STATUS", 30),
    ]);
    let date = |d: Option<NaiveDate>| d.map_or("-".to_owned(), |d| d.to_string());
    for s in summaries {
        table.row(vec![
            s.reference.to_string(),
            date(s.day0),
            s.next_milestone.clone().unwrap_or_else(|| "-".to_owned()),
            date(s.next_due),
            s.describe_status(),
        ]);
    }
    let mut text = table.render("", line_width());
    text.push_str(&format!("{}\n", count(summaries.len(), "case", "cases")));
    print(out, &text)
}

/// One case with its milestones and audit trail. Free text (actors, notes, reasons) is printed
/// with control and invisible formatting characters escaped: rows written before they were
/// refused may hold them, and they must not rewrite the terminal or fake an audit line.
async fn show(
    store: &Store,
    ctx: &Loaded,
    reference: &CaseRef,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let (case, audit) = store.case_with_audit(reference).await?.ok_or_else(|| {
        usage(anyhow::anyhow!(
            "no case {reference}: check the reference with `rrn case list --status all`"
        ))
    })?;
    let facts = case.facts();
    let mut states = evaluate(&ctx.timeline, &ctx.calendar, &facts, ctx.today()).map_err(usage)?;
    explain(&mut states, &ctx.calendar);
    match format {
        Format::Json => {
            let mut value = serde_json::to_value(&case).expect("serialisable");
            value["today"] = serde_json::json!(ctx.today());
            value["milestones"] = serde_json::to_value(&states).expect("serialisable");
            value["audit"] = serde_json::to_value(&audit).expect("serialisable");
            print_json(out, &value)
        }
        Format::Table => {
            let mut text = show_header(&case, ctx.today());
            text.push_str(&super::timeline::table(&states));
            text.push_str("\ncompletions:\n");
            for c in &case.completions {
                let name = match &c.agency {
                    Some(a) => format!("{}/{a}", c.milestone),
                    None => c.milestone.clone(),
                };
                let note = c
                    .note
                    .as_deref()
                    .map(|n| format!("  ({})", escape_hidden(n)))
                    .unwrap_or_default();
                writeln!(
                    text,
                    "  {}  {name}  by {}{note}",
                    c.completed_on,
                    escape_hidden(&c.recorded_by)
                )
                .expect("String");
            }
            text.push_str("\naudit:\n");
            for a in &audit {
                writeln!(
                    text,
                    "  {}  {}  {}  {}",
                    a.at.format("%Y-%m-%d %H:%M:%SZ"),
                    escape_hidden(&a.actor),
                    escape_hidden(&a.action),
                    escape_hidden(&a.detail)
                )
                .expect("String");
            }
            print(out, &text)
        }
    }
}

fn show_header(case: &Case, today: NaiveDate) -> String {
    let state = match &case.state {
        crate::domain::case::CaseState::Open => "open".to_owned(),
        crate::domain::case::CaseState::Closed(reason) => {
            format!("closed: {}", escape_hidden(reason))
        }
    };
    let agencies: Vec<&str> = case.agencies.iter().map(AgencyId::as_str).collect();
    format!(
        "case {} ({state})\naware {}  day 0 {}  today {today}\nagencies: {}\nlocal review proposed: {}\n\n",
        case.reference,
        case.aware,
        case.day0.map_or("-".to_owned(), |d| d.to_string()),
        agencies.join(", "),
        if case.local_review_proposed {
            "yes"
        } else {
            "no"
        }
    )
}

/// Reads a case CSV ([`spreadsheet::read_cases`]); a missing column refuses the whole file, a
/// bad row is reported with its line number and field. Also what was trimmed, in words.
fn read_csv(file: &Path, bytes: Vec<u8>) -> Result<(Vec<ImportRow>, Option<String>), CliError> {
    let sheet = spreadsheet::read_cases(&bytes)
        .map_err(|e| usage(anyhow::anyhow!("{}: {e}", file.display())))?;
    Ok((sheet.rows, spreadsheet::trimmed_note(&sheet.trimmed)))
}

/// Cases as CSV, evaluated and written in the same single pass that reads them: a case at a
/// time is in memory.
async fn export_csv(
    store: &Store,
    ctx: &Loaded,
    status: StatusArg,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    // The byte-order mark tells Excel the file is UTF-8; the import skips it.
    out.write_all(spreadsheet::BOM.as_bytes())
        .context("writing CSV")?;
    let mut writer = csv::Writer::from_writer(out);
    let mut header: Vec<&str> = CSV_COLUMNS.to_vec();
    header.extend([
        "status",
        "closed_reason",
        "local_review_proposed",
        "next_milestone",
        "next_due",
        "worst_status",
    ]);
    writer.write_record(&header).context("writing CSV")?;
    // The first failed write; the scan goes on to its end without writing more.
    let mut written = Ok(());
    let date_format = ctx.config.csv.date_format;
    store
        .scan_cases(status.into(), |case| {
            let summary = evaluate(&ctx.timeline, &ctx.calendar, &case.facts, ctx.today())
                .ok()
                .map(|states| CaseLine::new(&case, &states));
            let date = |d: Option<NaiveDate>| {
                d.map_or(String::new(), |d| spreadsheet::write_date(d, date_format))
            };
            let agencies: Vec<&str> = case.facts.agencies.iter().map(AgencyId::as_str).collect();
            let (state, reason) = match &case.state {
                crate::domain::case::CaseState::Open => ("open", String::new()),
                crate::domain::case::CaseState::Closed(r) => ("closed", spreadsheet_safe(r)),
            };
            let row = [
                case.reference.to_string(),
                date(case.facts.aware),
                date(case.facts.day0),
                agencies.join(";"),
                state.to_owned(),
                reason,
                case.facts.local_review_proposed.to_string(),
                summary
                    .as_ref()
                    .and_then(|s| s.next_milestone.clone())
                    .unwrap_or_default(),
                date(summary.as_ref().and_then(|s| s.next_due)),
                summary
                    .as_ref()
                    .map(|s| s.describe_status())
                    .unwrap_or_default(),
            ];
            if written.is_ok() {
                written = writer.write_record(&row);
            }
        })
        .await?;
    written.context("writing CSV")?;
    writer.flush().context("writing CSV")?;
    Ok(())
}

/// Free text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) gets a leading `'`.
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}
