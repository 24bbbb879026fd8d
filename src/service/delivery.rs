//! Delivery: outbox rows to messages on the wire, each recorded only after the transport
//! accepted it.
//!
//! A row is claimed (marked in flight) in a short transaction, sent with no transaction open,
//! and its outcome recorded in another. Rows left in flight by a crash are released at the
//! start of a pass and sent again: at most one duplicate of what was in flight, never a loss.
//! Transient failures are retried with exponential backoff for 24 hours; permanent ones are
//! marked failed and reported to the admin contact in an email of their own.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use lettre::message::Mailbox;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::domain::calendar::Calendar;
use crate::domain::case::CaseRef;
use crate::domain::plan::Email;
use crate::mail::{FailureReport, MailError, Mailer, RelayFault, Renderer, SendError};
use crate::store::{CaseId, Claimed, OutboxKind, Store, StoreError};

/// How many rows one claim takes.
const CLAIM_BATCH: i64 = 50;
/// The first retry waits this long; each next one twice as long, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::minutes(1);
const MAX_BACKOFF: Duration = Duration::hours(1);
/// A transient failure is retried for this long after the email was queued.
const GIVE_UP_AFTER: Duration = Duration::hours(24);

/// When to try again after `attempts` failed attempts, or `None` when it is time to give up:
/// after 24 hours of waiting between attempts. Counted in attempts, not from when the email was
/// queued, so a weekend with the sending window shut does not use the retries up. Pure.
pub fn next_attempt(attempts: i32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let backoff = |n: i32| {
        let doublings = n.saturating_sub(1).clamp(0, 16) as u32;
        (FIRST_BACKOFF * 2i32.pow(doublings)).min(MAX_BACKOFF)
    };
    let waited: Duration = (1..attempts).map(backoff).sum();
    let next = backoff(attempts);
    (waited + next <= GIVE_UP_AFTER).then_some(now + next)
}

/// The sending window: `start` to `end` local time on working days.
#[derive(Debug, Clone, Copy)]
pub struct SendingWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub timezone: Tz,
}

impl SendingWindow {
    /// Whether `now` is inside the window; outside it, queued emails wait (never dropped).
    pub fn contains(&self, now: DateTime<Utc>, calendar: &Calendar) -> bool {
        let local = self.timezone.from_utc_datetime(&now.naive_utc());
        let working = calendar.is_working_day(local.date_naive()).unwrap_or(false);
        let time = local.time();
        working && self.start <= time && time < self.end
    }
}

/// What a delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Rows found in flight at the start (left by a crash) and queued again.
    pub released: u64,
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Rows withdrawn before sending: nothing in them held any more (the case closed, the task
    /// done, the agency taken off the case since they were queued).
    pub withdrawn: usize,
    /// True when the pass found itself outside the sending window and sent nothing.
    pub waiting_for_window: bool,
    /// Why the mail server was unavailable (unreachable, refused the session, or silent past
    /// the timeout), when it was: every message after that one in the pass was left to retry
    /// without being tried.
    pub unavailable: Option<String>,
    /// True when this pass found the relay refusing every email alike and queued the admin's
    /// notice of it (once per fault: see `Store::queue_relay_fault_notice`).
    pub relay_fault_told: bool,
    /// The reply of a relay fault found earlier in the pass.
    #[serde(skip)]
    pub(crate) relay_reply: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who claims outbox rows, and for how long a claim holds without being renewed.
#[derive(Debug, Clone)]
pub struct Claimer {
    /// This process (host, pid, start time): written on the rows it claims.
    pub owner: String,
    pub lease: Duration,
}

impl Claimer {
    /// A claimer named after this process.
    pub fn this_process(lease: Duration) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        Self {
            owner: format!(
                "{host}:{}:{}",
                std::process::id(),
                Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
            ),
            lease,
        }
    }
}

/// Everything a delivery pass needs besides the time.
pub struct Delivery<'a> {
    pub store: &'a Store,
    /// Who holds each role now: an email whose recipient the config has changed since it was
    /// queued goes to the new one.
    pub config: &'a Config,
    pub renderer: &'a Renderer,
    pub mailer: &'a Mailer,
    pub admin: Option<&'a Mailbox>,
    pub claimer: &'a Claimer,
    /// Called between messages: the daemon's watchdog ping, so a long pass is not taken for a
    /// hung one.
    pub progress: Option<&'a (dyn Fn() + Send + Sync)>,
}

/// One delivery pass: everything due is sent, retried later, or marked failed. When `stop` is
/// cancelled the pass ends after the message being sent, and gives back what it claimed but
/// did not send.
pub async fn deliver(
    delivery: &Delivery<'_>,
    in_window: bool,
    now: DateTime<Utc>,
    stop: Option<&CancellationToken>,
) -> Result<DeliveryReport, DeliveryError> {
    let Delivery {
        store,
        mailer,
        claimer,
        progress,
        ..
    } = *delivery;
    let mut report = DeliveryReport {
        released: store.release_in_flight(now).await?,
        ..DeliveryReport::default()
    };
    if !in_window {
        report.waiting_for_window = true;
        return Ok(report);
    }
    // `now` may be simulated (`--at`); leases move on with the real time the pass takes.
    let started = std::time::Instant::now();
    let clock = || now + Duration::from_std(started.elapsed()).unwrap_or_default();
    let stopping = || stop.is_some_and(CancellationToken::is_cancelled);
    // Rows the server refused for good, held until their batch ends: a relay that refuses
    // every message alike is at fault, not the messages.
    let mut refused: Vec<(Claimed, String)> = Vec::new();
    'pass: while !stopping() {
        // Rows due when the pass started (one attempt each per pass: a row retried in this pass
        // is due again only later), and leases on the moving clock, so one that lapsed during
        // the pass is seen as lapsed.
        let at = clock();
        let batch = store
            .claim(now, at, CLAIM_BATCH, &claimer.owner, at + claimer.lease)
            .await?;
        if batch.is_empty() {
            break;
        }
        for (index, row) in batch.iter().enumerate() {
            if let Some(progress) = progress {
                progress();
            }
            if stopping() {
                let unsent: Vec<i64> = batch[index..].iter().map(|r| r.id).collect();
                store.release_claimed(&unsent, &claimer.owner).await?;
                break 'pass;
            }
            // Renewed before each message: a row whose lease lapsed may be another's by now.
            if !store
                .renew_lease(row.id, &claimer.owner, clock() + claimer.lease)
                .await?
            {
                continue;
            }
            if let Some(error) = deliver_one(delivery, row, now, &clock, &mut report).await? {
                refused.push((row.clone(), error));
            }
        }
        // Decided per batch, so that the admin's reports of this batch's failures are claimed
        // and sent by the next one.
        let batch_refused = std::mem::take(&mut refused);
        settle_refused(delivery, batch_refused, now, &clock, &mut report).await?;
    }
    mailer.close().await;
    settle_refused(delivery, refused, now, &clock, &mut report).await?;
    Ok(report)
}

/// Decides the rows the server refused for good in a batch. When it refused every message of
/// the pass so far, to two recipients or more, all with the same reply, the relay is at fault (a
/// login or relaying setting, say): the rows stay queued and are retried like an unavailable
/// server, which `/healthz` and the metrics report. Otherwise each row fails and the admin
/// contact is told.
async fn settle_refused(
    delivery: &Delivery<'_>,
    refused: Vec<(Claimed, String)>,
    now: DateTime<Utc>,
    clock: &dyn Fn() -> DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<(), DeliveryError> {
    let Delivery {
        store,
        admin,
        claimer,
        ..
    } = *delivery;
    let recipients: std::collections::HashSet<&str> = refused
        .iter()
        .map(|(row, _)| row.recipient.as_str())
        .collect();
    let alike = refused.windows(2).all(|pair| pair[0].1 == pair[1].1);
    // A later batch of the same pass (the admin's notice, say) refused with the same reply is
    // the same fault.
    let same_fault = report.relay_reply.is_some()
        && refused.first().map(|(_, reply)| reply) == report.relay_reply.as_ref();
    let relay_fault = report.sent == 0 && alike && (recipients.len() >= 2 || same_fault);
    if relay_fault && !same_fault {
        let (first, reply) = &refused[0];
        report.relay_reply = Some(reply.clone());
        report.unavailable = Some(format!(
            "the mail relay refused all {} messages of the pass with the same reply ({reply}): \
             they stay queued and are retried; check the relay's settings",
            refused.len()
        ));
        if let Some(admin) = admin {
            let notice = FailureReport {
                outbox_id: first.id,
                recipient: first.recipient.clone(),
                error: reply.clone(),
                relay_fault: Some(RelayFault {
                    refused: refused.len(),
                    recipients: recipients.len(),
                }),
            };
            let notice = serde_json::to_string(&notice).expect("serialises");
            report.relay_fault_told |= store
                .queue_relay_fault_notice(admin.email.as_ref(), &notice, now)
                .await?;
        }
    }
    for (row, error) in &refused {
        match relay_fault
            .then(|| next_attempt(row.attempts, clock()))
            .flatten()
        {
            Some(at) => {
                store.mark_retry(row.id, &claimer.owner, at, error).await?;
                report.retrying += 1;
            }
            None => fail(store, admin, claimer, row, error, now, report).await?,
        }
    }
    Ok(())
}

/// Renders and sends one claimed row, and records what became of it: sent, retried later, or
/// failed (and reported to the admin contact); the server's reply when it refused the message
/// for good, which the pass decides at its end ([`settle_refused`]).
async fn deliver_one(
    delivery: &Delivery<'_>,
    row: &Claimed,
    now: DateTime<Utc>,
    clock: &dyn Fn() -> DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<Option<String>, DeliveryError> {
    let Delivery {
        store,
        renderer,
        mailer,
        admin,
        claimer,
        config,
        ..
    } = *delivery;
    let rechecked;
    let (row, email) = match recheck(store, config, row, &claimer.owner, clock()).await? {
        Rechecked::Holds(email) => (row, email),
        Rechecked::Fewer(fewer, email) => {
            rechecked = fewer;
            (&rechecked, Some(email))
        }
        Rechecked::Withdrawn => {
            report.withdrawn += 1;
            return Ok(None);
        }
    };
    match render(renderer, admin, row, email.as_ref(), clock()) {
        Err(e) => {
            fail(
                store,
                admin,
                claimer,
                row,
                &format!("cannot render: {e}"),
                now,
                report,
            )
            .await?
        }
        Ok(message) => match send(mailer, &message, row, report).await {
            Ok(_) => {
                // The message went out: a database hiccup now must not leave the row
                // in flight to be sent again.
                let mut tries = 0;
                while let Err(e) = store.mark_sent(row.id, clock()).await {
                    tries += 1;
                    if tries == 5 {
                        return Err(e.into());
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
                report.sent += 1;
            }
            Err(SendError::Transient(error) | SendError::Unavailable(error)) => {
                match next_attempt(row.attempts, clock()) {
                    Some(at) => {
                        store.mark_retry(row.id, &claimer.owner, at, &error).await?;
                        report.retrying += 1;
                    }
                    None => {
                        let error = format!("{error} (gave up after 24 hours of retries)");
                        fail(store, admin, claimer, row, &error, now, report).await?;
                    }
                }
            }
            Err(SendError::Permanent(error)) => return Ok(Some(error)),
        },
    }
    Ok(None)
}

/// A claimed row after its re-check, with its email as parsed for the re-check (so it is
/// parsed once per send).
enum Rechecked {
    /// Everything in it still holds; the email, unless the row is a failure report or its body
    /// cannot be read (which rendering then reports).
    Holds(Option<Email>),
    /// Some items no longer hold, or it goes to someone else now: the row as rewritten.
    Fewer(Claimed, Email),
    /// Nothing in it holds any more, or the row is no longer this claimer's: not sent.
    Withdrawn,
}

/// Re-checks a planned email against its cases as they stand now, just before it is sent:
/// what no longer holds is left out (and the row rewritten), an email left with nothing is
/// withdrawn; each with an audit entry on its case. Failure reports are sent as they are, and
/// a row whose body cannot be read fails at rendering, as before.
async fn recheck(
    store: &Store,
    config: &Config,
    row: &Claimed,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Rechecked, StoreError> {
    if row.kind == OutboxKind::DeliveryFailure {
        return Ok(Rechecked::Holds(None));
    }
    let Ok(email) = serde_json::from_str::<Email>(&row.email) else {
        return Ok(Rechecked::Holds(None));
    };
    let references: Vec<&CaseRef> = email.items.iter().filter_map(|i| i.case.as_ref()).collect();
    let found = store.cases_now(&references).await?;
    let case_now = |reference: &str| found.get(reference).map(|(_, case)| case);
    let (kept, left_out) = email.still_holding(&case_now);
    let changed = !left_out.is_empty();
    let (row, email) = if !changed {
        match kept {
            Some(email) => (row.clone(), email),
            None => return Ok(Rechecked::Holds(None)),
        }
    } else {
        let left_out: Vec<(Option<CaseId>, String)> = left_out
            .into_iter()
            .map(|(case, why)| (case.and_then(|c| found.get(&c).map(|(id, _)| *id)), why))
            .collect();
        let body = kept
            .as_ref()
            .map(|email| serde_json::to_string(email).expect("emails serialise"));
        let ours = store
            .record_recheck(row.id, owner, body.as_deref(), &left_out, now)
            .await?;
        match (kept, body) {
            (Some(kept), Some(body)) if ours => (
                Claimed {
                    email: body,
                    ..row.clone()
                },
                kept,
            ),
            _ => return Ok(Rechecked::Withdrawn),
        }
    };
    match readdress(store, config, &row, &email, owner, now).await? {
        Some(readdressed) => Ok(readdressed),
        None if changed => Ok(Rechecked::Fewer(row, email)),
        None => Ok(Rechecked::Holds(Some(email))),
    }
}

/// An email queued for someone the config no longer names in that capacity (the police lead
/// changed, say) goes to the one it names now: re-keyed, without what the log already holds for
/// them, the rest logged for them, with an entry in its cases' audit logs; `None` when its
/// recipient is still the right one.
async fn readdress(
    store: &Store,
    config: &Config,
    row: &Claimed,
    email: &Email,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Option<Rechecked>, StoreError> {
    use crate::service::retry::{Retried, Then, readdress_row, readdressed_email};
    let from = email.recipient.email.as_str().to_owned();
    let Some(email) = readdressed_email(config, email.clone()) else {
        return Ok(None);
    };
    let references: Vec<CaseRef> = email.items.iter().filter_map(|i| i.case.clone()).collect();
    let mut tx = store.begin().await?;
    let cases: Vec<CaseId> = tx
        .case_ids(&references.iter().collect::<Vec<_>>())
        .await?
        .into_values()
        .map(CaseId::from_row_id)
        .collect();
    let actor = "rrn delivery";
    let written = readdress_row(
        &mut tx,
        row.id,
        email,
        actor,
        now,
        Then::StayClaimed { owner },
    )
    .await?;
    let (rechecked, detail) = match written {
        None => {
            tx.rollback().await?;
            return Ok(Some(Rechecked::Withdrawn));
        }
        Some((Retried::Queued { to }, Some((body, email)))) => {
            let detail = format!(
                "outbox row {} goes to {to} instead of {from}: the config names them now",
                row.id
            );
            let claimed = Claimed {
                recipient: to,
                email: body,
                ..row.clone()
            };
            (Rechecked::Fewer(claimed, email), ("readdressed", detail))
        }
        Some((Retried::Withdrawn { reason }, _)) => (
            Rechecked::Withdrawn,
            (
                "withdrawn",
                format!("outbox row {} withdrawn: {reason}", row.id),
            ),
        ),
        // Queued without a body, or "not failed": not what re-addressing writes; send as is.
        Some(_) => {
            tx.rollback().await?;
            return Ok(None);
        }
    };
    let cases: Vec<Option<CaseId>> = if cases.is_empty() {
        vec![None]
    } else {
        cases.into_iter().map(Some).collect()
    };
    for case in cases {
        tx.audit(case, now, actor, detail.0, &detail.1).await?;
    }
    tx.commit().await?;
    Ok(Some(rechecked))
}

/// Sends one message, unless the server was found unavailable earlier in the pass: asking a
/// dead or silent server again for each email would make the pass last a timeout per email.
async fn send(
    mailer: &Mailer,
    message: &lettre::Message,
    row: &Claimed,
    report: &mut DeliveryReport,
) -> Result<String, SendError> {
    if let Some(reason) = &report.unavailable {
        return Err(SendError::Unavailable(format!(
            "not tried: the server was unavailable earlier in this pass ({reason})"
        )));
    }
    let sent = mailer.send(message, &format!("{:08}", row.id)).await;
    if let Err(SendError::Unavailable(reason)) = &sent {
        report.unavailable = Some(reason.clone());
    }
    sent
}

/// The message for a row, or why there is none. Never panics: a row no message can be made of
/// (a name an older version stored unchecked, say) must fail alone, not crash the pass and leave
/// every row in flight to crash the next one too. The renderer checks what it knows lettre
/// would choke on; anything lettre still panics on is caught here as the last guard.
fn render(
    renderer: &Renderer,
    admin: Option<&Mailbox>,
    row: &Claimed,
    email: Option<&Email>,
    now: DateTime<Utc>,
) -> Result<lettre::Message, MailError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        build(renderer, admin, row, email, now)
    }))
    .unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no reason given".to_owned());
        Err(MailError::Message(format!(
            "building the message failed inside lettre: {why}"
        )))
    })
}

/// The message for a row; `email` is its body as the re-check parsed it, when it did.
fn build(
    renderer: &Renderer,
    admin: Option<&Mailbox>,
    row: &Claimed,
    email: Option<&Email>,
    now: DateTime<Utc>,
) -> Result<lettre::Message, MailError> {
    if row.kind == OutboxKind::DeliveryFailure {
        let report: FailureReport = serde_json::from_str(&row.email)
            .map_err(|e| MailError::Message(format!("outbox row {}: {e}", row.id)))?;
        let admin = admin.ok_or_else(|| MailError::Message("no admin contact".to_owned()))?;
        renderer.render_failure(&report, admin, row.id, now)
    } else if let Some(email) = email {
        renderer.render(email, row.id, now)
    } else {
        let email: Email = serde_json::from_str(&row.email)
            .map_err(|e| MailError::Message(format!("outbox row {}: {e}", row.id)))?;
        renderer.render(&email, row.id, now)
    }
}

/// Marks a row failed and, unless it was itself a failure report, tells the admin contact.
async fn fail(
    store: &Store,
    admin: Option<&Mailbox>,
    claimer: &Claimer,
    row: &Claimed,
    error: &str,
    now: DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<(), StoreError> {
    let alert = match admin {
        Some(admin) if row.kind != OutboxKind::DeliveryFailure => {
            let failure = FailureReport {
                outbox_id: row.id,
                recipient: row.recipient.clone(),
                error: error.to_owned(),
                relay_fault: None,
            };
            Some((
                admin.email.to_string(),
                serde_json::to_string(&failure).expect("serialises"),
            ))
        }
        _ => None,
    };
    store
        .mark_failed(
            row.id,
            &claimer.owner,
            error,
            alert.as_ref().map(|(a, r)| (a.as_str(), r.as_str())),
            now,
        )
        .await?;
    report.failed += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn backoff_doubles_up_to_an_hour_and_gives_up_after_a_day_of_waiting() {
        let now = at("2027-01-07T09:00:00Z");
        assert_eq!(next_attempt(1, now), Some(now + Duration::minutes(1)));
        assert_eq!(next_attempt(2, now), Some(now + Duration::minutes(2)));
        assert_eq!(next_attempt(5, now), Some(now + Duration::minutes(16)));
        assert_eq!(next_attempt(12, now), Some(now + Duration::hours(1)));
        // 1+2+4+8+16+32 minutes, then hours: the 24 hours of waiting run out after attempt 28,
        // however long the sending window kept the email waiting in between.
        let last = (1..60)
            .take_while(|n| next_attempt(*n, now).is_some())
            .last();
        assert_eq!(last, Some(28));
        assert_eq!(next_attempt(29, now), None);
    }
}
