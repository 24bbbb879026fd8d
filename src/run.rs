//! One evaluation run: every open case is planned, decided against the notification log, and
//! what is due is queued in the outbox together with its log entries, in one transaction.
//!
//! Level-triggered: each run re-derives everything from the cases, so a run after downtime
//! heals what was missed. One case that cannot be evaluated is reported and never stops the
//! others.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::case::CaseOverview;
use crate::plan::{Decision, Planner, Proposal, decide, group};
use crate::store::{LogEntry, RunCounts, StatusFilter, Store, StoreError};
use crate::timeline::evaluate;

/// Who the run writes in the audit log.
const RUN_ACTOR: &str = "rrn run";

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub today: NaiveDate,
    pub cases: usize,
    /// Occurrences proposed by planning and looked up in the notification log.
    pub proposals: usize,
    /// Emails queued in the outbox.
    pub queued: usize,
    /// Notifications skipped (stale, superseded, unaddressed), each recorded in the audit log.
    pub skipped: usize,
    /// Cases that could not be evaluated, with the reason.
    pub failed_cases: Vec<String>,
}

/// What planning decided for every open case, before anything is written.
#[derive(Debug)]
pub struct Decided {
    /// The business team's daily summary, when it is on and not yet sent today.
    pub summary: Option<crate::plan::Email>,
    pub cases: usize,
    /// How many occurrences were proposed and looked up in the log.
    pub proposals: usize,
    pub decisions: Vec<Decision>,
    pub failed_cases: Vec<String>,
    /// The revision counter when planning started.
    pub revision: i64,
    /// The fingerprint of the rules planning used.
    pub rules: String,
}

/// Plans every open case for `today` and decides against the notification log; writes nothing
/// (`rrn plan` shows this, `run_once` acts on it).
///
/// Cases unchanged since the last run only propose what is new since its day: the rest of their
/// history was decided then. Changed cases (and every case on a first run) propose their whole
/// history, and the log sorts out what was already done. Only the proposed keys are looked up:
/// the log itself is never read whole.
pub async fn decide_all(
    store: &Store,
    planner: &Planner<'_>,
    today: NaiveDate,
    heartbeat: bool,
) -> Result<Decided, StoreError> {
    // The daily summary goes out on working days only.
    let heartbeat = heartbeat && planner.calendar.is_working_day(today).unwrap_or(false);
    let mut summary_lines = Vec::new();
    let revision = store.revision().await?;
    let rules = planner.fingerprint();
    // Occurrences up to the last run's day were all proposed to that run, for a case unchanged
    // since and under the same rules: only the days after it are new.
    let window = store
        .last_run()
        .await?
        .filter(|(_, _, last_rules)| *last_rules == rules)
        .map(|(day, seen, _)| (day.succ_opt().unwrap_or(day), seen));
    let mut proposals: Vec<Proposal> = Vec::new();
    let mut failed_cases = Vec::new();
    let mut cases = 0;
    store
        .scan_cases(StatusFilter::Open, |case: CaseOverview| {
            cases += 1;
            let since = match window {
                Some((day, seen)) if case.revision <= seen => Some(day),
                _ => None,
            };
            let states = match evaluate(planner.timeline, planner.calendar, &case.facts, today) {
                Ok(states) => states,
                Err(e) => {
                    failed_cases.push(format!("{}: {e}", case.reference));
                    return;
                }
            };
            match planner.plan_states(&case, &states, today, since) {
                Ok(planned) => proposals.extend(planned),
                Err(e) => failed_cases.push(format!("{}: {e}", case.reference)),
            }
            if heartbeat && let Ok(lines) = planner.summary_lines(&case, &states, today) {
                summary_lines.extend(lines);
            }
        })
        .await?;
    // The daily summary, unless today's was already sent.
    let mut summary = None;
    if heartbeat {
        let failed = store
            .outbox(Some(crate::store::OutboxStatus::Failed))
            .await?
            .len();
        if let Some(email) = planner.summary(today, cases, summary_lines, failed) {
            let key = &email
                .summary
                .as_ref()
                .expect("a summary email has figures")
                .key;
            if store.logged_keys(&[key]).await?.is_empty() {
                summary = Some(email);
            }
        }
    }
    let keys: Vec<_> = proposals.iter().map(|p| &p.notification.key).collect();
    let logged = store.logged_keys(&keys).await?;
    let count = proposals.len();
    let decisions = decide(proposals, planner.timeline.policy(), today, &|key| {
        logged.contains(key)
    });
    Ok(Decided {
        summary,
        cases,
        proposals: count,
        decisions,
        failed_cases,
        revision,
        rules,
    })
}

/// Plans every open case for `today` and queues what is due. `now` stamps the records.
pub async fn run_once(
    store: &Store,
    planner: &Planner<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
    heartbeat: bool,
) -> Result<RunReport, StoreError> {
    let Decided {
        summary,
        cases,
        proposals,
        decisions,
        failed_cases,
        revision,
        rules,
    } = decide_all(store, planner, today, heartbeat).await?;
    let mut emails = group(&decisions);
    emails.extend(summary);

    let mut tx = store.begin().await?;
    let mut entries: Vec<LogEntry> = Vec::with_capacity(decisions.len());
    for email in &emails {
        let case = email.items.first().and_then(|n| n.case.as_ref());
        let json = serde_json::to_string(email).expect("emails serialise");
        let kind = match email.kind {
            crate::plan::EmailKind::Digest => "digest",
            crate::plan::EmailKind::AgencyLetter => "agency_letter",
            crate::plan::EmailKind::Heartbeat => "heartbeat",
        };
        let outbox_id = tx
            .enqueue(case, kind, email.recipient.email.as_str(), &json, now)
            .await?;
        match &email.summary {
            // A summary is one notification of its own; its lines are not.
            Some(summary) => entries.push(LogEntry {
                key: &summary.key,
                case: None,
                outbox_id: Some(outbox_id),
                skip_reason: None,
            }),
            None => entries.extend(email.items.iter().map(|item| LogEntry {
                key: &item.key,
                case: item.case.as_ref(),
                outbox_id: Some(outbox_id),
                skip_reason: None,
            })),
        }
    }
    let queued = emails.len();
    let mut skipped = 0;
    for decision in &decisions {
        if let Decision::Skip {
            notification,
            reason,
        } = decision
        {
            entries.push(LogEntry {
                key: &notification.key,
                case: notification.case.as_ref(),
                outbox_id: None,
                skip_reason: Some(reason),
            });
            skipped += 1;
        }
    }
    tx.log_decisions(&entries, RUN_ACTOR, now).await?;
    let counts = RunCounts {
        queued: queued as i64,
        skipped: skipped as i64,
        failed_cases: failed_cases.len() as i64,
        revision,
        rules,
    };
    tx.record_run(now, now, today, counts).await?;
    tx.commit().await?;
    Ok(RunReport {
        today,
        cases,
        proposals,
        queued,
        skipped,
        failed_cases,
    })
}
