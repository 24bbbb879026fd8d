//! `rrn run --once` and `rrn outbox list`, `retry` and `cancel`.

use crate::service::retry::Retried;
use std::path::Path;

use chrono::Utc;
use tokio::runtime::Runtime;

use super::case::open_store;
use super::error::config_error;
use super::table::{Table, column, count, line_width};
use super::{CliError, Format, OutboxArgs, RunArgs, load_config, print, print_json, usage};
use lettre::message::Mailbox;

use crate::config::state_dir;
use crate::domain::address::escape_hidden;
use crate::mail::{Mailer, Renderer};
use crate::service::delivery::Claimer;
use crate::service::{Service, StepReport};
use crate::store::{Cancel, OutboxKind, OutboxRow, OutboxStatus};

pub(super) fn run(
    runtime: &Runtime,
    config_path: Option<&Path>,
    args: RunArgs,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    if !args.once {
        if args.at.at.is_some() {
            return Err(usage(anyhow::anyhow!(
                "--at travels in time for one run: use it with --once"
            )));
        }
        return crate::service::daemon::run(runtime, config_path).map_err(config_error);
    }
    let config = load_config(config_path)?;
    if args.rehearse.rehearse
        && let Some(host) = config.relay_beyond_this_machine()
    {
        return Err(usage(anyhow::anyhow!(
            "--rehearse would send its emails through the relay {host}, to the real people in \
             the config: rehearse with [mail] transport = \"maildir\" (RRN_MAIL__TRANSPORT=maildir) \
             or a test relay on this machine; nothing was done"
        )));
    }
    let tz = config.partnership.timezone;
    let at = crate::service::moment::now_or(args.at.at, tz)?;
    crate::service::moment::refuse_ahead(
        at,
        crate::service::moment::now(tz),
        args.rehearse.rehearse,
    )?;
    // One clock for the whole run: `--at` moves it, for time travel in tests and the demo
    // (what the run records is then stamped with the simulated time).
    let now = at.with_timezone(&Utc);
    let service = Service::load(config, &state_dir().join("maildir"))?;
    runtime.block_on(async {
        let store = open_store(&service.config).await?;
        // Holding the run lock: one process plans and delivers at a time.
        let Some(_leadership) = store.try_lead().await? else {
            return Err(CliError::Failed(anyhow::anyhow!(
                "another rrn instance is leading on this database: it plans and delivers, so \
                 nothing was done here"
            )));
        };
        // A time given with --at is chosen on purpose; the clock's, only once a person confirms
        // it when it is far past the last run.
        if args.at.at.is_none()
            && !args.confirm_clock
            && let Some(reason) = service.unconfirmed_gap(&store, now).await?
        {
            return Err(CliError::Failed(anyhow::anyhow!(
                "nothing was done: {reason}"
            )));
        }
        let claimer = Claimer::this_process(chrono::Duration::seconds(
            service.config.service.lease_seconds as i64,
        ));
        let StepReport {
            run: report,
            delivery,
        } = service.step(&store, &claimer, now, None).await?;
        for failure in &report.failed_cases {
            eprintln!("rrn: warning: cannot plan case {failure}");
        }
        match args.format {
            Format::Json => print_json(
                out,
                &serde_json::json!({ "run": report, "delivery": delivery }),
            )?,
            Format::Table => {
                let delivered = if delivery.waiting_for_window {
                    "outside the sending window: queued emails wait for it".to_owned()
                } else {
                    format!(
                        "{} sent, {} to retry, {} failed",
                        delivery.sent, delivery.retrying, delivery.failed
                    )
                };
                let mut text = format!(
                    "run for {}: {} open cases, {} emails queued, {} skipped, {} cases failed; \
                     delivery: {delivered}\n",
                    report.today,
                    report.cases,
                    report.queued,
                    report.skipped,
                    report.failed_cases.len()
                );
                if let Some(why) = &delivery.unavailable {
                    text.push_str(&format!(
                        "delivery stopped: {} (`rrn status` shows what waits)\n",
                        escape_hidden(why)
                    ));
                }
                if delivery.relay_fault_told {
                    text.push_str("a notice of it to the admin contact is queued with them\n");
                }
                print(out, &text)?;
            }
        }
        if delivery.failed > 0 {
            return Err(CliError::Finished(format!(
                "{} email{} failed for good in this run: see `rrn outbox list --status failed`, \
                 fix the address or the relay, then `rrn outbox retry ID`",
                delivery.failed,
                if delivery.failed == 1 { "" } else { "s" }
            )));
        }
        Ok(())
    })
}

pub(super) fn outbox(
    runtime: &Runtime,
    config_path: Option<&Path>,
    args: OutboxArgs,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let status = args.status.map(|s| match s {
        super::OutboxStatusArg::Pending => OutboxStatus::Pending,
        super::OutboxStatusArg::InFlight => OutboxStatus::InFlight,
        super::OutboxStatusArg::Sent => OutboxStatus::Sent,
        super::OutboxStatusArg::Failed => OutboxStatus::Failed,
        super::OutboxStatusArg::Cancelled => OutboxStatus::Cancelled,
    });
    runtime.block_on(async {
        let store = open_store(&config).await?;
        let rows = store.outbox(status).await?;
        match args.format {
            Format::Json => print_json(out, &rows),
            Format::Table => print(out, &outbox_table(&rows, config.partnership.timezone)),
        }
    })
}

/// The outbox for a person: queued in local time, every case an email covers, the last error
/// wrapped in its column; the machine names (`in_flight`, `agency_letter`) only in JSON.
fn outbox_table(rows: &[OutboxRow], tz: chrono_tz::Tz) -> String {
    if rows.is_empty() {
        return "no emails\n".to_owned();
    }
    let mut table = Table::new(&[
        column("ID", 8),
        column("QUEUED", 16),
        column("STATUS", 9),
        column("KIND", 14),
        column("TO", 36),
        column("CASES", 40),
    ]);
    for row in rows {
        let error = row.last_error.as_deref().map(|e| {
            format!(
                "last error ({}): {}",
                count(row.attempts.max(0) as usize, "try", "tries"),
                escape_hidden(e)
            )
        });
        table.row_with_note(
            vec![
                row.id.to_string(),
                row.created_at
                    .with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                row.status.as_str().replace('_', " "),
                match row.kind {
                    OutboxKind::Digest => "digest",
                    OutboxKind::AgencyLetter => "agency letter",
                    OutboxKind::Heartbeat => "daily summary",
                    OutboxKind::DeliveryFailure => "failure report",
                }
                .to_owned(),
                row.recipient.clone(),
                if row.cases.is_empty() {
                    "-".to_owned()
                } else {
                    row.cases.join(", ")
                },
            ],
            error,
        );
    }
    let mut text = table.render("", line_width());
    text.push_str(&format!("{}\n", count(rows.len(), "email", "emails")));
    text
}

pub(super) fn retry(
    runtime: &Runtime,
    config_path: Option<&Path>,
    id: i64,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    runtime.block_on(async {
        let store = open_store(&config).await?;
        let actor = super::case::os_user()?;
        let now = chrono::Utc::now();
        match crate::service::retry::retry(&store, &config, id, now, &actor).await? {
            Retried::Queued { to } => print(
                out,
                &format!("outbox row {id} is queued again, to {to}; the next run sends it\n"),
            ),
            Retried::Withdrawn { reason } => print(
                out,
                &format!("outbox row {id} is not queued again: {reason}\n"),
            ),
            Retried::NotFailed => Err(usage(anyhow::anyhow!(
                "no failed outbox row {id}: see `rrn outbox list --status failed`"
            ))),
        }
    })
}

pub(super) fn cancel(
    runtime: &Runtime,
    config_path: Option<&Path>,
    id: i64,
    actor: Option<&str>,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let actor = match actor.map(str::trim) {
        Some("") => return Err(usage(anyhow::anyhow!("--actor is empty: give a name"))),
        Some(actor) => crate::casework::check_text(Some(actor), "--actor")?
            .expect("given")
            .to_owned(),
        None => super::case::os_user()?,
    };
    let config = load_config(config_path)?;
    runtime.block_on(async {
        let store = open_store(&config).await?;
        match store.cancel(id, &actor, Utc::now()).await? {
            Cancel::Cancelled => print(
                out,
                &format!("outbox row {id} is cancelled: it will not be sent\n"),
            ),
            Cancel::NoSuchRow => Err(usage(anyhow::anyhow!(
                "no outbox row {id}: see `rrn outbox list`"
            ))),
            Cancel::Finished(status) => Err(usage(anyhow::anyhow!(
                "outbox row {id} is {} already: there is nothing to cancel",
                status.as_str()
            ))),
            Cancel::InFlight { claimed_by, until } => Err(usage(anyhow::anyhow!(
                "outbox row {id} is being sent by {} (its claim holds until {}): try again \
                 after that",
                claimed_by.as_deref().unwrap_or("another process"),
                until.format("%Y-%m-%d %H:%M:%SZ")
            ))),
        }
    })
}

pub(super) fn send_test(
    runtime: &Runtime,
    config_path: Option<&Path>,
    address: &str,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let config = load_config(config_path)?;
    let to: Mailbox = address.parse().map_err(|e| {
        usage(anyhow::anyhow!(
            "`{address}` is not an email address ({e}): give one like name@example.org"
        ))
    })?;
    let renderer = Renderer::load(&config)?;
    let message = renderer.render_test(&to)?;
    runtime.block_on(async {
        let mailer = Mailer::from_config(&config, &state_dir().join("maildir"))?;
        let name = format!("test-{}", Utc::now().format("%Y%m%dT%H%M%S"));
        let sent = mailer.send(&message, &name).await;
        mailer.close().await;
        match sent {
            Ok(reply) => print(out, &format!("sent to {address}: {reply}\n")),
            Err(e) => Err(CliError::Failed(anyhow::anyhow!(
                "sending to {address} failed: {e}"
            ))),
        }
    })
}
