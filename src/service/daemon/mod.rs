//! `rrn run`: the daemon. It owns no schedule state that could wedge: every wake-up re-derives
//! what to do from the database (the last run, the change counter, the outbox) and the clock.
//!
//! Wake-ups come from a UTC minute tick (tokio-cron-scheduler), a poll every
//! `[schedule] poll_seconds`, and signals. On each, the leader (the one instance holding the run
//! lock) evaluates when a scheduled time has passed, when a case changed, or at start when a
//! scheduled run was missed, and otherwise only delivers what is due (retries, a sending window
//! that opened). A standby only asks for the lock again.
//!
//! SIGTERM/SIGINT: planning stops at once (its transaction rolls back), delivery ends after the
//! message in flight (at most [`STOP_GRACE`]), and what was claimed but not sent is given back.
//! SIGHUP: the config, timeline and templates are loaded again; if they are invalid the error
//! is logged, the old ones stay, and the refusal leads the STATUS line (and the `leader` row
//! `rrn status` reads) until a good reload or a restart: `systemctl reload` itself cannot fail.

mod clock;
mod systemd;
mod wakeups;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::default_sqlite_url;
use crate::config::{Config, LogFormat, state_dir};
use crate::service::Service;
use crate::service::delivery::{Claimer, DeliveryReport};
use crate::service::evaluation::run_once;
use crate::service::observe::{Observed, Snapshot};
use crate::store::{LastRun, LeadError, Leadership, Store};

use clock::ClockWatch;
use systemd::{
    notify, redact_addresses, refused_reload_line, status, status_line, watchdog_interval,
};
use wakeups::{listen_for_signals, start_ticker};

/// How long a stopping daemon waits for the message in flight.
pub const STOP_GRACE: Duration = Duration::from_secs(8);

/// Why the daemon wakes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    Tick,
    Poll,
    Reload,
}

/// Runs the daemon on `runtime` until SIGTERM or SIGINT. One thread serves it (the CLI's
/// current-thread runtime): the daemon is mostly asleep, and a small footprint matters more
/// than parallelism (SQLite and rustls work on their own threads where they need to).
pub fn run(runtime: &tokio::runtime::Runtime, config_path: Option<&Path>) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = Config::load(config_path)?;
    init_logging(config.service.log_format);
    let config_path = config_path.map(Path::to_path_buf);
    runtime.block_on(daemon(config_path, config, started))
}

/// Logs to stderr (journald takes it from there): info and above, nothing of the scheduler
/// crate's chatter, colours only on a terminal.
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("tokio_cron_scheduler", tracing::Level::WARN)
        // PostgreSQL's notices ("relation … already exists, skipping") at each migration.
        .with_target("sqlx::postgres::notice", tracing::Level::WARN);
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // A broken stderr must not panic the task that writes (the signal listener among them).
        .log_internal_errors(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().finish().with(filter).try_init(),
        LogFormat::Plain => builder.finish().with(filter).try_init(),
    };
}

async fn daemon(
    config_path: Option<PathBuf>,
    config: Config,
    started: Instant,
) -> anyhow::Result<()> {
    let mut daemon = Daemon::start(config_path, config, started).await?;
    let stop = CancellationToken::new();
    let (wake_tx, mut wake) = mpsc::channel::<Wake>(8);
    listen_for_signals(stop.clone(), wake_tx.clone())?;
    let mut ticker = start_ticker(wake_tx.clone()).await?;

    let watchdog = watchdog_interval();
    let mut poll = poll_interval(&daemon.service, watchdog);
    loop {
        let woke = tokio::select! {
            // Stopping wins over any other wake-up that is ready at the same time.
            biased;
            _ = stop.cancelled() => break,
            _ = poll.tick() => Wake::Poll,
            Some(wake) = wake.recv() => wake,
        };
        if watchdog.is_some() {
            let _ = notify(&[sd_notify::NotifyState::Watchdog]);
        }
        if woke == Wake::Reload {
            daemon.refused_reload = match reload(daemon.config_path.as_deref(), &mut daemon.service)
            {
                Ok(()) => None,
                Err(reason) => {
                    let zone = daemon.service.config.partnership.timezone;
                    Some(refused_reload_line(
                        Utc::now().with_timezone(&zone).time(),
                        &reason,
                    ))
                }
            };
            let fresh = poll_interval(&daemon.service, watchdog);
            if fresh.period() != poll.period() {
                poll = fresh;
            }
        }
        if !daemon.keep_leading().await || !daemon.wake(&stop, Utc::now()).await {
            continue;
        }
        if stop.is_cancelled() {
            break;
        }
        daemon.report().await;
    }

    let _ = notify(&[sd_notify::NotifyState::Stopping]);
    info!("stopping");
    // The main file holds everything after a clean stop: a write-ahead log lost then (deleted
    // by hand, left behind by a copy) loses nothing.
    if let Err(e) = daemon.store.checkpoint().await {
        warn!("cannot checkpoint the database at stop: {e}");
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ticker.shutdown()).await;
    drop(daemon.leadership);
    Ok(())
}

/// The poll: every `[schedule] poll_seconds`, or the watchdog's interval if that is shorter.
fn poll_interval(service: &Service, watchdog: Option<Duration>) -> tokio::time::Interval {
    let period = Duration::from_secs(service.config.schedule.poll_seconds);
    let mut poll = tokio::time::interval(watchdog.map_or(period, |w| period.min(w)));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    poll
}

/// What the daemon keeps between wake-ups. None of it is schedule state that could wedge:
/// the marks only say where the last evaluation left off, and a start or takeover clears them.
struct Daemon {
    config_path: Option<PathBuf>,
    service: Service,
    store: Store,
    claimer: Claimer,
    observed: Arc<Observed>,
    leadership: Option<Leadership>,
    leading_since: DateTime<Utc>,
    last_status: String,
    /// "configuration reload refused at 14:02: …" since the last refused reload, until a good
    /// one: it leads the STATUS line and is recorded in the `leader` row.
    refused_reload: Option<String>,
    marks: Marks,
    clock: ClockWatch,
    /// Whether the hold for an unconfirmed clock was logged (once per hold).
    gap_reported: bool,
}

/// Where the last evaluation left off: when it looked, and the revision counter it saw.
/// `None` after a start or a takeover, so that the next wake-up catches up.
#[derive(Default)]
struct Marks {
    checked: Option<DateTime<Utc>>,
    revision: Option<i64>,
}

impl Daemon {
    /// Loads what the config names, opens the database, takes the lead where it can, serves
    /// `/healthz` if asked, and says READY.
    async fn start(
        config_path: Option<PathBuf>,
        config: Config,
        started: Instant,
    ) -> anyhow::Result<Self> {
        let service = Service::load(config, &state_dir().join("maildir"))?;
        let url = service
            .config
            .database
            .url
            .clone()
            .unwrap_or_else(default_sqlite_url);
        let store = Store::open(&url).await.context("opening the database")?;
        let claimer = Claimer::this_process(chrono::Duration::seconds(
            service.config.service.lease_seconds as i64,
        ));
        // SQLite serves one instance: a second daemon refuses to start, before it says READY.
        let leadership = match store.try_lead().await {
            Ok(leadership) => leadership,
            Err(e @ LeadError::SqliteBusy(_)) => return Err(e.into()),
            Err(e) => return Err(anyhow::Error::new(e).context("taking the run lock")),
        };
        let observed = Arc::new(Observed::new(store.backend()));
        if let Some(port) = service.config.service.http_port {
            crate::service::observe::serve(port, store.clone(), Arc::clone(&observed))
                .await
                .with_context(|| format!("listening on 127.0.0.1:{port}"))?;
        }
        let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
        let _ = notify(&[sd_notify::NotifyState::Ready]);
        info!(
            backend = store.backend(),
            instance = %claimer.owner,
            "ready in {ready_ms:.0} ms; {}",
            if leadership.is_some() { "leading" } else { "standing by: another instance leads" }
        );
        Ok(Self {
            config_path,
            service,
            store,
            claimer,
            observed,
            leadership,
            leading_since: Utc::now(),
            last_status: String::new(),
            refused_reload: None,
            marks: Marks::default(),
            clock: ClockWatch::default(),
            gap_reported: false,
        })
    }

    /// Keeps the leader lock, loses it, or asks for it; whether this instance leads now.
    async fn keep_leading(&mut self) -> bool {
        let held = match self.leadership.as_mut() {
            Some(lock) => Some(lock.still_held().await),
            None => None,
        };
        match held {
            Some(false) => {
                warn!("lost the database connection that holds the leader lock: standing by");
                self.leadership = None;
                self.marks = Marks::default();
            }
            Some(true) => {}
            None => match self.store.try_lead().await {
                Ok(Some(lock)) => {
                    info!("took over as leader");
                    self.leadership = Some(lock);
                    self.leading_since = Utc::now();
                }
                Ok(None) => {}
                Err(e) => warn!("cannot reach the database to ask for the leader lock: {e}"),
            },
        }
        let leading = self.leadership.is_some();
        self.observed.set_leader(leading);
        if !leading {
            let line = format!("standby: another instance leads ({})", self.store.backend());
            self.status(line);
        }
        leading
    }

    /// One wake-up of the leader, with what it did recorded for `/healthz`; `false` when it
    /// held because of the clock.
    async fn wake(&mut self, stop: &CancellationToken, now: DateTime<Utc>) -> bool {
        if let Some(reason) = self.clock.hold(now) {
            self.observed.record_failure(now, reason.clone());
            self.status(format!("holding: {reason}"));
            return false;
        }
        // Across a restart the clock watch starts afresh: the database's last run says how far
        // the clock moved while no instance watched it.
        match self.service.unconfirmed_gap(&self.store, now).await {
            Ok(Some(reason)) => {
                if !self.gap_reported {
                    error!("{reason}");
                    self.gap_reported = true;
                }
                self.observed.record_failure(now, reason.clone());
                status(&mut self.last_status, format!("holding: {reason}"));
                return false;
            }
            Ok(None) => self.gap_reported = false,
            // The tick below reports a database that does not answer.
            Err(_) => {}
        }
        match self.tick(stop, now).await {
            Ok(Ticked {
                evaluated,
                delivery,
            }) => {
                if let Some(delivery) = &delivery {
                    self.observed.record_delivery(now, delivery);
                }
                let snapshot = match evaluated {
                    true => self.snapshot(now).await,
                    false => None,
                };
                self.observed.record_success(now, snapshot);
            }
            Err(e) => {
                error!("{e:#}");
                self.observed.record_failure(now, format!("{e:#}"));
            }
        }
        true
    }

    /// Open cases and overdue milestones for `/metrics`, when it is served.
    async fn snapshot(&self, now: DateTime<Utc>) -> Option<Snapshot> {
        self.service.config.service.http_port?;
        let service = &self.service;
        Snapshot::take(
            &self.store,
            &service.timeline,
            &service.calendar,
            service.today(now),
        )
        .await
        .ok()
    }

    /// Records this instance as the leader and updates the STATUS line.
    async fn report(&mut self) {
        let _ = self
            .store
            .record_leader(
                &self.claimer.owner,
                self.leading_since,
                Utc::now(),
                self.refused_reload.as_deref(),
            )
            .await;
        let line = status_line(&self.service, &self.store, Utc::now()).await;
        self.status(line);
    }

    /// Sends `line` as the STATUS, after a refused reload if there is one.
    fn status(&mut self, line: String) {
        let line = match &self.refused_reload {
            Some(refused) => format!("{refused}; {line}"),
            None => line,
        };
        status(&mut self.last_status, line);
    }
}

/// What one wake-up of the leader did.
struct Ticked {
    evaluated: bool,
    /// The delivery pass, when it ran to its end.
    delivery: Option<DeliveryReport>,
}

impl Daemon {
    /// One wake-up of the leader: evaluate if due, then deliver.
    async fn tick(
        &mut self,
        stop: &CancellationToken,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Ticked> {
        // Stopped while planning: its transaction rolled back, and the next start redoes it.
        let Some(evaluated) = self.evaluate_if_due(stop, now).await? else {
            return Ok(Ticked {
                evaluated: false,
                delivery: None,
            });
        };
        let delivery = self.deliver(stop, now).await?;
        Ok(Ticked {
            evaluated,
            delivery,
        })
    }

    /// Evaluates when a scheduled time passed, a case changed, or at start a run was missed:
    /// whether it evaluated, `None` when stopped while planning.
    async fn evaluate_if_due(
        &mut self,
        stop: &CancellationToken,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<bool>> {
        let (service, store) = (&self.service, &self.store);
        let revision = store.revision().await?;
        let reason = match self.marks.checked {
            // Just started (or just took over): catch up a scheduled run missed while no instance
            // was up, a change made while none led, or the first run ever.
            None => match (store.last_run_at().await?, store.last_run().await?) {
                (Some(last), Some(LastRun { revision: seen, .. })) => service
                    .schedule
                    .latest_between(last, now)
                    .map(|missed| format!("catching up the run due at {missed}"))
                    .or_else(|| {
                        (revision > seen).then(|| "cases changed while no instance led".to_owned())
                    }),
                _ => Some("first run".to_owned()),
            },
            Some(after) => service
                .schedule
                .latest_between(after, now)
                .map(|at| format!("scheduled for {at}"))
                .or_else(|| {
                    (Some(revision) != self.marks.revision).then(|| "cases changed".to_owned())
                }),
        };
        let Some(reason) = reason else {
            self.marks = Marks {
                checked: Some(now),
                revision: Some(revision),
            };
            return Ok(Some(false));
        };
        {
            service.remember_rules(store, now).await?;
            let planner = service.planner();
            let today = service.today(now);
            let ping = watchdog_ping;
            let heartbeat = service.config.mail.heartbeat;
            let run = tokio::select! {
                run = run_once(store, &planner, today, now, heartbeat, Some(&ping)) => run?,
                // Planning stops at once: its transaction rolls back, and the next start redoes it.
                _ = stop.cancelled() => return Ok(None),
            };
            for failure in &run.failed_cases {
                warn!(case = %failure.reference, "cannot plan case {failure}");
            }
            // The main file holds the run (SQLite): a write-ahead log lost before the next
            // checkpoint (deleted by hand, left out of a copy) then loses nothing of it.
            if let Err(e) = store.checkpoint().await {
                warn!("cannot checkpoint the database after the run: {e}");
            }
            // Only a run that succeeded moves the marks: a failed one is tried again next wake-up.
            self.marks = Marks {
                checked: Some(now),
                revision: Some(revision),
            };
            info!(
                reason,
                today = %run.today,
                cases = run.cases,
                queued = run.queued,
                skipped = run.skipped,
                failed_cases = run.failed_cases.len(),
                failed = %crate::service::observe::references(&run.failed_cases),
                "evaluated"
            );
        }
        Ok(Some(true))
    }

    /// The delivery pass; `None` when stopped while a message was being sent.
    async fn deliver(
        &self,
        stop: &CancellationToken,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<DeliveryReport>> {
        // A long pass keeps the watchdog fed between messages.
        let ping = watchdog_ping;
        let delivery =
            self.service
                .deliver(&self.store, &self.claimer, now, Some(stop), Some(&ping));
        let grace = async {
            stop.cancelled().await;
            tokio::time::sleep(STOP_GRACE).await;
        };
        let delivery = tokio::select! {
            delivery = delivery => delivery?,
            _ = grace => {
                warn!("stopping while a message was being sent: it stays in flight and is sent again at the next start");
                return Ok(None);
            }
        };
        if let Some(reason) = &delivery.unavailable {
            warn!("the mail server is unavailable, emails wait for a retry: {reason}");
        }
        if delivery.relay_fault_told {
            error!(
                "the mail relay refuses every email alike: the admin contact is told once (an \
                 email queued like the others), until an email goes out again"
            );
        }
        if delivery.sent + delivery.retrying + delivery.failed > 0 || delivery.released > 0 {
            info!(
                sent = delivery.sent,
                retrying = delivery.retrying,
                failed = delivery.failed,
                released = delivery.released,
                "delivered"
            );
        }
        Ok(Some(delivery))
    }
}

/// Feeds the systemd watchdog, when one is set: called between pages of a run and between
/// messages of a delivery pass, so a long one is not taken for a hung one (a hung one stops
/// calling it).
fn watchdog_ping() {
    if watchdog_interval().is_some() {
        let _ = notify(&[sd_notify::NotifyState::Watchdog]);
    }
}

/// Loads the config again into `current`; leaves it as it was, and says why (addresses
/// redacted), if the new one is invalid.
fn reload(config_path: Option<&Path>, current: &mut Service) -> Result<(), String> {
    let loaded = Config::load(config_path)
        .map_err(anyhow::Error::new)
        .and_then(|config| {
            Service::load(config, &state_dir().join("maildir")).map_err(anyhow::Error::new)
        });
    match loaded {
        Ok(service) => {
            info!("configuration reloaded");
            let (old, new) = (&current.config, &service.config);
            if old.database.url != new.database.url
                || old.service.http_port != new.service.http_port
                || old.service.lease_seconds != new.service.lease_seconds
                || old.service.log_format != new.service.log_format
            {
                warn!(
                    "[database] url and [service] http_port, lease_seconds and log_format take \
                     effect at the next restart"
                );
            }
            *current = service;
            Ok(())
        }
        Err(e) => {
            let reason = redact_addresses(&format!("{e:#}"));
            error!("the new configuration is invalid, keeping the old one: {reason}");
            Err(reason)
        }
    }
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Leadership::SqliteFile(_) => "Leadership(SQLite run lock)",
            Leadership::Postgres(_) => "Leadership(PostgreSQL advisory lock)",
        })
    }
}
