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
use crate::store::{RunCounts, StatusFilter, Store, StoreError};

/// Who the run writes in the audit log.
const RUN_ACTOR: &str = "rrn run";

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub today: NaiveDate,
    pub cases: usize,
    /// Emails queued in the outbox.
    pub queued: usize,
    /// Notifications skipped (stale, superseded, unaddressed), each recorded in the audit log.
    pub skipped: usize,
    /// Cases that could not be evaluated, with the reason.
    pub failed_cases: Vec<String>,
}

/// Plans every open case for `today` and queues what is due. `now` stamps the records.
pub async fn run_once(
    store: &Store,
    planner: &Planner<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RunReport, StoreError> {
    // Cases unchanged since the last run only propose what is new since its day; the rest of
    // their history was decided then. Changed cases (and every case on a first run) propose
    // their whole history, and the log sorts out what was already done.
    let revision = store.revision().await?;
    let last_run = store.last_run().await?;
    let mut proposals: Vec<Proposal> = Vec::new();
    let mut failed_cases = Vec::new();
    let mut cases = 0;
    store
        .scan_cases(StatusFilter::Open, |case: CaseOverview| {
            cases += 1;
            let since = match last_run {
                Some((day, seen)) if case.revision <= seen => Some(day.min(today)),
                _ => None,
            };
            match planner.plan_case(&case, today, since) {
                Ok(planned) => proposals.extend(planned),
                Err(e) => failed_cases.push(format!("{}: {e}", case.reference)),
            }
        })
        .await?;

    let keys: Vec<_> = proposals.iter().map(|p| &p.notification.key).collect();
    let logged = store.logged_keys(&keys).await?;
    let decisions = decide(proposals, planner.timeline.policy(), today, &|key| {
        logged.contains(key)
    });
    let emails = group(&decisions);

    let mut tx = store.begin().await?;
    let mut queued = 0;
    for email in &emails {
        let case = email.items.first().and_then(|n| n.case.as_ref());
        let json = serde_json::to_string(email).expect("emails serialise");
        let kind = match email.kind {
            crate::plan::EmailKind::Digest => "digest",
            crate::plan::EmailKind::AgencyLetter => "agency_letter",
        };
        let outbox_id = tx
            .enqueue(case, kind, email.recipient.email.as_str(), &json, now)
            .await?;
        for item in &email.items {
            tx.log_decision(&item.key, item.case.as_ref(), Some(outbox_id), None, now)
                .await?;
        }
        queued += 1;
    }
    let mut skipped = 0;
    for decision in &decisions {
        if let Decision::Skip {
            notification,
            reason,
        } = decision
        {
            tx.log_decision(
                &notification.key,
                notification.case.as_ref(),
                None,
                Some(reason),
                now,
            )
            .await?;
            if let Some(case) = &notification.case {
                let detail = format!("{}: {reason}", notification.key);
                tx.audit_case(case, now, RUN_ACTOR, "skip", &detail).await?;
            }
            skipped += 1;
        }
    }
    let counts = RunCounts {
        queued: queued as i64,
        skipped: skipped as i64,
        failed_cases: failed_cases.len() as i64,
        revision,
    };
    tx.record_run(now, now, today, counts).await?;
    tx.commit().await?;
    Ok(RunReport {
        today,
        cases,
        queued,
        skipped,
        failed_cases,
    })
}
