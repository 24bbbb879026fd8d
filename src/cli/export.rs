//! The full-fidelity JSON export: `rrn case export --format json`, `rrn case import FILE.json`,
//! and `rrn migrate-store --to URL`, which is the one followed by the other, into another
//! database, through the same code.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use chrono::Utc;
use tokio::runtime::Runtime;

use super::case::{actor, open_store};
use super::output::not_written;
use super::{CliError, StatusArg, load, print, usage};
use crate::casework::Casework;
use crate::domain::record::{self, CaseRecord, DOCUMENT_TAIL, document_head};
use crate::store::{StatusFilter, Store};

/// Writes every fact of every case of `status` as an `rrn-cases` document, a case per line, as
/// the store reads them: memory holds a page of cases.
pub(super) async fn write_json(
    store: &Store,
    status: StatusArg,
    out: &mut dyn Write,
) -> Result<usize, CliError> {
    out.write_all(document_head().as_bytes())
        .map_err(not_written)?;
    // The first failed write; the scan goes on to its end without writing more.
    let mut written = Ok(());
    let mut count = 0usize;
    store
        .export_cases(status.into(), |case| {
            if written.is_ok() {
                let separator: &[u8] = if count == 0 { b"\n" } else { b",\n" };
                written = out
                    .write_all(separator)
                    .and_then(|()| serde_json::to_writer(&mut *out, &case).map_err(Into::into));
            }
            count += 1;
        })
        .await?;
    written.map_err(not_written)?;
    out.write_all(DOCUMENT_TAIL.as_bytes())
        .map_err(not_written)?;
    Ok(count)
}

/// Whether an import file is a JSON export rather than CSV: by its extension, or else by its
/// first character (a CSV header starts with `reference`).
pub(super) fn is_json(file: &Path, bytes: &[u8]) -> bool {
    if let Some(extension) = file.extension().and_then(|e| e.to_str()) {
        match extension.to_ascii_lowercase().as_str() {
            "json" => return true,
            "csv" => return false,
            _ => {}
        }
    }
    let text = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// The cases of a JSON export, or why the file was refused (naming the place in it).
pub(super) fn read_records(file: &Path, bytes: Vec<u8>) -> Result<Vec<CaseRecord>, CliError> {
    let text = String::from_utf8(bytes).map_err(|_| {
        usage(anyhow::anyhow!(
            "{}: not UTF-8 text; nothing was imported",
            file.display()
        ))
    })?;
    record::parse(&text).map_err(|e| {
        usage(anyhow::anyhow!(
            "{}: {e}; nothing was imported",
            file.display()
        ))
    })
}

/// `rrn migrate-store --to URL`: every case of the configured database copied into another
/// (which must hold none), by writing the JSON export and importing it, as `rrn case export
/// --format json` and `rrn case import` would.
pub(super) fn migrate_store(
    runtime: &Runtime,
    config_path: Option<&Path>,
    to: &str,
    given_actor: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let ctx = load(config_path, None)?;
    let url = ctx
        .config
        .database
        .url
        .clone()
        .unwrap_or_else(crate::config::default_sqlite_url);
    if url == to {
        return Err(usage(anyhow::anyhow!(
            "--to names the database the config already uses: give another one"
        )));
    }
    runtime.block_on(async {
        let source = open_store(&ctx.config).await?;
        let target = Store::open(to)
            .await
            .context("opening the database given with --to")?;
        let mut document = Vec::new();
        write_json(&source, StatusArg::All, &mut document).await?;
        let records = record::parse(std::str::from_utf8(&document).expect("JSON is UTF-8"))
            .context("reading back the export")?;
        let (completions, audit, log) = records.iter().fold((0, 0, 0), |(c, a, l), r| {
            (
                c + r.completions.len(),
                a + r.audit.len(),
                l + r.notifications.len(),
            )
        });
        let now = Utc::now();
        let work = Casework {
            store: &target,
            config: &ctx.config,
            timeline: &ctx.timeline,
            calendar: &ctx.calendar,
            actor: actor(given_actor, false)?,
            now,
            dated: now,
            today: ctx.today(),
        };
        let source_name = format!("the {} database (rrn migrate-store)", source.backend());
        let count = work
            .restore(records, &source_name)
            .await
            // The refusal names the CLI's way to give another database; here that is --to.
            .map_err(|e| match e {
                crate::casework::CaseworkError::RefusedRows(rows) => {
                    crate::casework::CaseworkError::RefusedRows(
                        rows.into_iter()
                            .map(|row| row.replace("--database URL", "--to URL"))
                            .collect(),
                    )
                }
                other => other,
            })
            .map_err(|e| match CliError::from(e) {
                CliError::Usage(e) => {
                    CliError::Usage(e.context("copying into the database given with --to"))
                }
                other => other,
            })?;
        print(
            out,
            &format!(
                "copied {count} cases ({completions} completions, {audit} audit entries, {log} \
                 notification log entries) from the {} database to the {} one; the outbox and \
                 the record of runs stay behind. Point [database] url (or RRN_DATABASE__URL) at \
                 the new database before the service starts again.\n",
                source.backend(),
                target.backend()
            ),
        )
    })
}

impl From<StatusArg> for StatusFilter {
    fn from(status: StatusArg) -> Self {
        match status {
            StatusArg::Open => StatusFilter::Open,
            StatusArg::Closed => StatusFilter::Closed,
            StatusArg::All => StatusFilter::All,
        }
    }
}
