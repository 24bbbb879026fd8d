//! What wakes the daemon: signals and the minute tick.

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::Wake;

pub(super) fn listen_for_signals(
    stop: CancellationToken,
    wake: mpsc::Sender<Wake>,
) -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut hangup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                // Stop first, then say so: a log write that fails must not lose the signal.
                _ = terminate.recv() => { stop.cancel(); info!("SIGTERM"); break; }
                _ = interrupt.recv() => { stop.cancel(); info!("SIGINT"); break; }
                _ = hangup.recv() => {
                    // Never wait here: a full queue already holds a wake-up.
                    let _ = wake.try_send(Wake::Reload);
                    info!("SIGHUP: reloading");
                }
            }
        }
    });
    Ok(())
}
/// A tick at the start of every UTC minute. UTC has no clock changes, so the offset that
/// tokio-cron-scheduler freezes when a job is created is always right; the local-time
/// schedule itself is evaluated by [`crate::config::Schedule`] on each tick.
pub(super) async fn start_ticker(wake: mpsc::Sender<Wake>) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new()
        .await
        .context("starting the scheduler")?;
    let job = Job::new_async("0 * * * * *", move |_, _| {
        let wake = wake.clone();
        Box::pin(async move {
            let _ = wake.try_send(Wake::Tick);
        })
    })
    .context("creating the minute tick")?;
    scheduler.add(job).await.context("adding the minute tick")?;
    scheduler.start().await.context("starting the scheduler")?;
    Ok(scheduler)
}
