//! What the service can say about itself: a [`Snapshot`] of the cases and the queue (for
//! `rrn status` and `/metrics`), the daemon's own health ([`Observed`]), and the optional HTTP
//! listener on 127.0.0.1 that serves `/healthz` and `/metrics`.
//!
//! Nothing here names a person or an address: references, milestone ids and counts only.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::calendar::Calendar;
use crate::domain::case::FailedCase;
use crate::domain::timeline::{Status, Timeline, evaluate};
use crate::service::delivery::DeliveryReport;
use crate::store::{OutboxCounts, StatusFilter, Store, StoreError};

/// One overdue milestone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overdue {
    pub case: String,
    pub milestone: String,
    pub agency: Option<String>,
    pub due: Option<NaiveDate>,
    pub working_days: i32,
}

/// The cases and the queue at one moment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    pub today: Option<NaiveDate>,
    pub open_cases: usize,
    pub overdue: Vec<Overdue>,
    pub emails: OutboxCounts,
    pub last_run: Option<DateTime<Utc>>,
    /// The cases the last run could not plan: nothing goes out for them until fixed.
    pub failed_cases: Vec<FailedCase>,
}

impl Snapshot {
    /// Evaluates every open case on `today` and counts the outbox.
    pub async fn take(
        store: &Store,
        timeline: &Timeline,
        calendar: &Calendar,
        today: NaiveDate,
    ) -> Result<Self, StoreError> {
        let mut snapshot = Snapshot {
            today: Some(today),
            ..Snapshot::default()
        };
        store
            .scan_cases(StatusFilter::Open, |case| {
                snapshot.open_cases += 1;
                let Ok(states) = evaluate(timeline, calendar, &case.facts, today) else {
                    return;
                };
                for state in states {
                    if let Status::Overdue { working_days } = state.status {
                        snapshot.overdue.push(Overdue {
                            case: case.reference.to_string(),
                            milestone: state.id.to_owned(),
                            agency: state.agency.map(|a| a.to_string()),
                            due: state.due,
                            working_days,
                        });
                    }
                }
            })
            .await?;
        snapshot.emails = store.outbox_counts().await?;
        snapshot.last_run = store.last_run_at().await?;
        snapshot.failed_cases = store.last_run_failures().await?;
        Ok(snapshot)
    }
}

/// The daemon's view of itself, shared with the HTTP listener.
pub struct Observed {
    backend: &'static str,
    leader: AtomicBool,
    state: Mutex<Health>,
}

/// The outcome of the daemon's recent work.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub last_success: Option<DateTime<Utc>>,
    /// The last failure, if it came after the last success.
    pub failing: Option<(DateTime<Utc>, String)>,
    /// When and why a delivery pass last found the mail server unavailable, until a later pass
    /// gets an answer from it: runs may succeed while no email leaves.
    pub mail_unavailable: Option<(DateTime<Utc>, String)>,
    pub snapshot: Option<Snapshot>,
}

impl Observed {
    pub fn new(backend: &'static str) -> Self {
        Self {
            backend,
            leader: AtomicBool::new(false),
            state: Mutex::new(Health::default()),
        }
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    pub fn record_success(&self, at: DateTime<Utc>, snapshot: Option<Snapshot>) {
        let mut state = self.state.lock().expect("not poisoned");
        state.last_success = Some(at);
        state.failing = None;
        if snapshot.is_some() {
            state.snapshot = snapshot;
        }
    }

    pub fn record_failure(&self, at: DateTime<Utc>, reason: String) {
        self.state.lock().expect("not poisoned").failing = Some((at, reason));
    }

    /// What a delivery pass found out about the mail server: unavailable, answering (a
    /// message sent, deferred or refused by it), or nothing when it had nothing to send.
    pub fn record_delivery(&self, at: DateTime<Utc>, report: &DeliveryReport) {
        let mut state = self.state.lock().expect("not poisoned");
        match &report.unavailable {
            Some(reason) => state.mail_unavailable = Some((at, reason.clone())),
            None if report.sent + report.retrying + report.failed > 0 => {
                state.mail_unavailable = None;
            }
            None => {}
        }
    }

    pub fn health(&self) -> Health {
        self.state.lock().expect("not poisoned").clone()
    }
}

/// The Prometheus text exposition of `health` and the current queue.
pub fn metrics_text(
    observed: &Observed,
    emails: Option<OutboxCounts>,
    database_answers: bool,
    now: DateTime<Utc>,
) -> String {
    let health = observed.health();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "rrn_leader",
        "1 when this process is the instance that plans and delivers.",
        u8::from(observed.is_leader()).to_string(),
    );
    if let Some(snapshot) = &health.snapshot {
        gauge(
            "rrn_open_cases",
            "Open cases at the last evaluation.",
            snapshot.open_cases.to_string(),
        );
        gauge(
            "rrn_milestones_overdue",
            "Milestones (per agency where per agency) overdue at the last evaluation.",
            snapshot.overdue.len().to_string(),
        );
    }
    if let Some(last) = health.last_success {
        gauge(
            "rrn_seconds_since_last_successful_run",
            "Seconds since this process last completed a run or delivery pass without error.",
            (now - last).num_seconds().max(0).to_string(),
        );
    }
    let failed_cases = health
        .snapshot
        .as_ref()
        .map_or(0, |snapshot| snapshot.failed_cases.len());
    gauge(
        "rrn_failed_cases",
        "Cases the last run could not plan (nothing is sent for them until fixed).",
        failed_cases.to_string(),
    );
    // The same verdict as /healthz, so an alert on either fires for the same reasons.
    let up = database_answers && verdict(&health, observed.is_leader()).0 == StatusCode::OK;
    gauge(
        "rrn_up",
        "1 when /healthz answers 200: the database answers and, on the leader, the last run \
         planned every case and the mail server answered (a healthy standby is 1, with \
         rrn_leader 0).",
        u8::from(up).to_string(),
    );
    gauge(
        "rrn_mail_server_unavailable",
        "1 when the last delivery pass that tried to send found the mail server unavailable.",
        u8::from(health.mail_unavailable.is_some()).to_string(),
    );
    if let Some(emails) = emails {
        let _ = writeln!(
            out,
            "# HELP rrn_emails Outbox rows by status.\n# TYPE rrn_emails gauge\n\
             rrn_emails{{status=\"pending\"}} {}\nrrn_emails{{status=\"in_flight\"}} {}\n\
             rrn_emails{{status=\"sent\"}} {}\nrrn_emails{{status=\"failed\"}} {}\n\
             rrn_emails{{status=\"cancelled\"}} {}",
            emails.pending, emails.in_flight, emails.sent, emails.failed, emails.cancelled
        );
    }
    let _ = writeln!(
        out,
        "# HELP rrn_info The database backend.\n# TYPE rrn_info gauge\nrrn_info{{backend=\"{}\"}} 1",
        observed.backend
    );
    out
}

#[derive(Clone)]
struct Shared {
    store: Store,
    observed: Arc<Observed>,
}

/// Serves `/healthz` and `/metrics` on 127.0.0.1:`port` until the process ends.
pub async fn serve(port: u16, store: Store, observed: Arc<Observed>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(Shared { store, observed });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(())
}

async fn database_answers(store: &Store) -> Result<(), String> {
    match tokio::time::timeout(Duration::from_secs(2), store.revision()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("the database does not answer: {e}")),
        Err(_) => Err("the database does not answer within 2 s".to_owned()),
    }
}

async fn healthz(State(shared): State<Shared>) -> impl IntoResponse {
    if let Err(reason) = database_answers(&shared.store).await {
        return (StatusCode::SERVICE_UNAVAILABLE, reason + "\n");
    }
    verdict(&shared.observed.health(), shared.observed.is_leader())
}

/// `/healthz` once the database answers: a leader is healthy when its last run succeeded and
/// the mail server was not found unavailable since; a standby always is.
fn verdict(health: &Health, leader: bool) -> (StatusCode, String) {
    if !leader {
        return (StatusCode::OK, "ok: standby\n".to_owned());
    }
    match (
        &health.failing,
        health.last_success,
        &health.mail_unavailable,
    ) {
        (Some((at, reason)), _, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the last run failed at {at}: {reason}\n"),
        ),
        (None, None, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "no run has completed yet\n".to_owned(),
        ),
        (None, Some(_), Some((at, reason))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("degraded: delivery at {at} found the mail server unavailable: {reason}\n"),
        ),
        (None, Some(at), None) => match health.snapshot.as_ref().map(|s| &s.failed_cases) {
            Some(failed) if !failed.is_empty() => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "degraded: the last run ({at}) could not plan {} case{}: {}\n",
                    failed.len(),
                    if failed.len() == 1 { "" } else { "s" },
                    references(failed)
                ),
            ),
            _ => (StatusCode::OK, format!("ok: last run {at}\n")),
        },
    }
}

/// The references of `failed`, the first few of them.
pub fn references(failed: &[FailedCase]) -> String {
    const SHOWN: usize = 10;
    let mut text = failed
        .iter()
        .take(SHOWN)
        .map(|f| f.reference.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if failed.len() > SHOWN {
        text.push_str(&format!(" and {} more", failed.len() - SHOWN));
    }
    text
}

async fn metrics(State(shared): State<Shared>) -> impl IntoResponse {
    let answers = database_answers(&shared.store).await.is_ok();
    let emails = match answers {
        true => shared.store.outbox_counts().await.ok(),
        false => None,
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_text(&shared.observed, emails, answers, Utc::now()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_silent_mail_server_makes_health_degraded_until_it_answers_again() {
        let observed = Observed::new("sqlite");
        observed.set_leader(true);
        observed.record_success(at("2027-01-07T09:00:00Z"), None);
        assert_eq!(verdict(&observed.health(), true).0, StatusCode::OK);

        let silent = DeliveryReport {
            retrying: 6,
            unavailable: Some("127.0.0.1:2525 did not answer within 1 s".to_owned()),
            ..DeliveryReport::default()
        };
        observed.record_delivery(at("2027-01-07T09:00:05Z"), &silent);
        // The run itself went well; the health says the mail does not leave.
        observed.record_success(at("2027-01-07T09:00:05Z"), None);
        let (status, body) = verdict(&observed.health(), true);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            body.starts_with("degraded:") && body.contains("did not answer within 1 s"),
            "{body}"
        );
        let metrics = metrics_text(&observed, None, true, at("2027-01-07T09:00:06Z"));
        assert!(
            metrics.contains("rrn_mail_server_unavailable 1") && metrics.contains("rrn_up 0"),
            "{metrics}"
        );
        // A standby sends nothing, so the mail server is not its health: it is up.
        assert_eq!(verdict(&observed.health(), false).0, StatusCode::OK);
        observed.set_leader(false);
        let standby = metrics_text(&observed, None, true, at("2027-01-07T09:00:06Z"));
        assert!(
            standby.contains("rrn_up 1") && standby.contains("rrn_leader 0"),
            "{standby}"
        );
        // A database that does not answer is down, whatever the last run did.
        let no_database = metrics_text(&observed, None, false, at("2027-01-07T09:00:06Z"));
        assert!(no_database.contains("rrn_up 0"), "{no_database}");
        observed.set_leader(true);

        // A pass with nothing to send learns nothing about the server.
        observed.record_delivery(at("2027-01-07T09:01:00Z"), &DeliveryReport::default());
        assert_eq!(
            verdict(&observed.health(), true).0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        // One that got an answer from it ends the degradation.
        let answered = DeliveryReport {
            sent: 6,
            ..DeliveryReport::default()
        };
        observed.record_delivery(at("2027-01-07T09:02:00Z"), &answered);
        assert_eq!(verdict(&observed.health(), true).0, StatusCode::OK);
    }
}
