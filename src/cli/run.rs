//! `rrn run --once` and `rrn outbox list`.

use std::fmt::Write as _;
use std::path::Path;

use chrono::Utc;

use super::case::{open_store, runtime};
use super::{CliError, Format, OutboxArgs, RunArgs, load, load_config, usage};
use lettre::message::Mailbox;

use crate::config::state_dir;
use crate::delivery::{SendingWindow, deliver};
use crate::mailer::{Mailer, Renderer};
use crate::run::run_once;
use crate::store::OutboxStatus;

pub(super) fn run(config_path: Option<&Path>, args: RunArgs) -> Result<String, CliError> {
    if !args.once {
        return Err(usage(anyhow::anyhow!(
            "the daemon is not built yet: use `rrn run --once` for one evaluation run"
        )));
    }
    let loaded = load(config_path, args.at.at)?;
    let (config, calendar, today) = (&loaded.config, &loaded.calendar, loaded.today());
    let planner = loaded.planner();
    let (start, end) = config
        .sending_window()
        .map_err(|e| CliError::Failed(anyhow::anyhow!(e)))?;
    let window = SendingWindow {
        start,
        end,
        timezone: config.partnership.timezone,
    };
    let at = loaded.at.with_timezone(&Utc);
    let renderer = Renderer::load(config).map_err(|e| CliError::Failed(e.into()))?;
    let admin: Option<Mailbox> = config.contacts.admin.as_ref().and_then(|c| {
        c.email
            .as_str()
            .parse()
            .ok()
            .map(|email| Mailbox::new(Some(c.name.clone()), email))
    });
    runtime()?.block_on(async {
        let mailer = Mailer::from_config(config, &state_dir().join("maildir"))
            .map_err(|e| CliError::Failed(e.into()))?;
        let store = open_store(config).await?;
        // One clock for the whole run: `--at` moves it, for time travel in tests and the demo
        // (what the run records is then stamped with the simulated time).
        let now = at;
        let report = run_once(&store, &planner, today, now, config.mail.heartbeat)
            .await
            .map_err(|e| CliError::Failed(anyhow::Error::new(e).context("the run failed")))?;
        for failure in &report.failed_cases {
            eprintln!("rrn: warning: cannot evaluate case {failure}");
        }
        let delivery = deliver(
            &store,
            &renderer,
            &mailer,
            admin.as_ref(),
            window.contains(now, calendar),
            now,
        )
        .await
        .map_err(|e| CliError::Failed(anyhow::Error::new(e).context("delivery failed")))?;
        mailer.close().await;
        Ok(match args.format {
            Format::Json => {
                serde_json::to_string_pretty(
                    &serde_json::json!({ "run": report, "delivery": delivery }),
                )
                .expect("serialisable")
                    + "\n"
            }
            Format::Table => {
                let delivered = if delivery.waiting_for_window {
                    "outside the sending window: queued emails wait for it".to_owned()
                } else {
                    format!(
                        "{} sent, {} to retry, {} failed",
                        delivery.sent, delivery.retrying, delivery.failed
                    )
                };
                format!(
                    "run for {}: {} open cases, {} emails queued, {} skipped, {} cases failed; \
                     delivery: {delivered}\n",
                    report.today,
                    report.cases,
                    report.queued,
                    report.skipped,
                    report.failed_cases.len()
                )
            }
        })
    })
}

pub(super) fn outbox(config_path: Option<&Path>, args: OutboxArgs) -> Result<String, CliError> {
    let config = load_config(config_path)?;
    let status = args.status.map(|s| match s {
        super::OutboxStatusArg::Pending => OutboxStatus::Pending,
        super::OutboxStatusArg::InFlight => OutboxStatus::InFlight,
        super::OutboxStatusArg::Sent => OutboxStatus::Sent,
        super::OutboxStatusArg::Failed => OutboxStatus::Failed,
    });
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        let rows = store
            .outbox(status)
            .await
            .map_err(|e| CliError::Failed(e.into()))?;
        Ok(match args.format {
            Format::Json => serde_json::to_string_pretty(&rows).expect("serialisable") + "\n",
            Format::Table => {
                let mut out = format!(
                    "{:>6}  {:<20}  {:<9}  {:<13}  {:<14}  {}\n",
                    "ID", "QUEUED", "STATUS", "KIND", "CASE", "RECIPIENT"
                );
                for row in rows {
                    writeln!(
                        out,
                        "{:>6}  {:<20}  {:<9}  {:<13}  {:<14}  {}",
                        row.id,
                        row.created_at.format("%Y-%m-%d %H:%M:%SZ"),
                        row.status.as_str(),
                        row.kind,
                        row.case.as_deref().unwrap_or("-"),
                        row.recipient
                    )
                    .expect("String");
                }
                out
            }
        })
    })
}

pub(super) fn retry(config_path: Option<&Path>, id: i64) -> Result<String, CliError> {
    let config = load_config(config_path)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        if store
            .retry(id, Utc::now())
            .await
            .map_err(|e| CliError::Failed(e.into()))?
        {
            Ok(format!(
                "outbox row {id} is queued again; the next run sends it\n"
            ))
        } else {
            Err(usage(anyhow::anyhow!(
                "no failed outbox row {id}: see `rrn outbox list --status failed`"
            )))
        }
    })
}

pub(super) fn send_test(config_path: Option<&Path>, address: &str) -> Result<String, CliError> {
    let config = load_config(config_path)?;
    let to: Mailbox = address.parse().map_err(|e| {
        usage(anyhow::anyhow!(
            "`{address}` is not an email address ({e}): give one like name@example.org"
        ))
    })?;
    let renderer = Renderer::load(&config).map_err(|e| CliError::Failed(e.into()))?;
    let message = renderer
        .render_test(&to)
        .map_err(|e| CliError::Failed(e.into()))?;
    runtime()?.block_on(async {
        let mailer = Mailer::from_config(&config, &state_dir().join("maildir"))
            .map_err(|e| CliError::Failed(e.into()))?;
        let name = format!("test-{}", Utc::now().format("%Y%m%dT%H%M%S"));
        match mailer.send(&message, &name).await {
            Ok(reply) => Ok(format!("sent to {address}: {reply}\n")),
            Err(e) => Err(CliError::Failed(anyhow::anyhow!(
                "sending to {address} failed: {e}"
            ))),
        }
    })
}
