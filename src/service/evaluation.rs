//! One evaluation run: every open case is planned, decided against the notification log, and
//! what is due is queued in the outbox together with its log entries, in one transaction.
//!
//! Level-triggered: each run re-derives everything from the cases, so a run after downtime
//! heals what was missed. One case that cannot be evaluated is reported and never stops the
//! others.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::case::{CaseOverview, CaseRef, FailedCase};
use crate::domain::plan::{Decision, Email, Notification, Planner, Proposal, decide, group_owned};
use crate::domain::plan::{NotificationKey, SkipReason};
use crate::domain::timeline::evaluate;
use crate::store::{Batch, CaseId, LogEntry, NewEmail, RunCounts, Store, StoreError};

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
    /// Cases that could not be planned (evaluated, or addressed), with the reason.
    pub failed_cases: Vec<FailedCase>,
}

/// Cases planned, decided and written together: a run holds a few pages of cases, their
/// proposals and decisions in memory at a time, whatever the number of cases.
pub const CASES_PER_PAGE: i64 = 2_000;

/// Cases per page when every case proposes its whole history (the first run, or new rules):
/// ten times the proposals per case, so fewer cases keep a page's memory alike.
pub const WHOLE_HISTORY_CASES_PER_PAGE: i64 = 500;

/// What planning decided for every open case, besides the decisions themselves.
#[derive(Debug)]
pub struct Decided {
    /// The business team's daily summary, when it is on and not yet sent today.
    pub heartbeat: Option<crate::domain::plan::Email>,
    pub cases: usize,
    /// How many occurrences were proposed and looked up in the log.
    pub proposals: usize,
    pub failed_cases: Vec<FailedCase>,
}

/// What a run knows before it looks at the cases.
struct Prepared {
    today: NaiveDate,
    /// The daily summary is on and today is a working day.
    heartbeat: bool,
    /// The revision counter when planning started.
    revision: i64,
    /// The fingerprint of the rules planning uses.
    rules: String,
    /// The day after the last run, and the revision it had seen, under the same rules.
    window: Option<(NaiveDate, i64)>,
    /// When the last run is known to have logged nothing for the days after it: the cases with
    /// something logged since it all the same (by a run that died half-way). The other cases
    /// unchanged since that run need no lookup: nothing can be logged for their window.
    logged_since_window: Option<HashSet<i64>>,
}

async fn prepare(
    store: &Store,
    planner: &Planner<'_>,
    today: NaiveDate,
    heartbeat: bool,
) -> Result<Prepared, StoreError> {
    let revision = store.revision().await?;
    let rules = planner.fingerprint();
    // Occurrences up to the last run's day were all proposed to that run, for a case unchanged
    // since and under the same rules: only the days after it are new.
    // A run recorded for a later day (a rehearsal, a clock that jumped) says nothing about today.
    let last = store
        .last_run()
        .await?
        .filter(|last| last.rules == rules && last.day <= today);
    let window = last
        .as_ref()
        .map(|last| (last.day.succ_opt().unwrap_or(last.day), last.revision));
    let logged_since_window = match last.and_then(|last| last.log_mark) {
        Some(mark) => Some(store.cases_logged_after(mark).await?),
        None => None,
    };
    Ok(Prepared {
        today,
        // The daily summary goes out on working days only.
        heartbeat: heartbeat && planner.calendar.is_working_day(today).unwrap_or(false),
        revision,
        rules,
        window,
        logged_since_window,
    })
}

/// One page's decisions, with what it adds to the run's totals.
#[derive(Default)]
struct PageDecisions {
    proposals: usize,
    decisions: Vec<Decision>,
    /// The page's cases' row ids, for the log.
    case_ids: HashMap<CaseRef, i64>,
}

/// Plans one page of cases and decides against the notification log, looking up only the keys
/// proposed.
async fn decide_page(
    store: &Store,
    planner: &Planner<'_>,
    prepared: &Prepared,
    page: &[(i64, CaseOverview)],
    heartbeat_lines: &mut Vec<Notification>,
    failed_cases: &mut Vec<FailedCase>,
) -> Result<PageDecisions, StoreError> {
    let today = prepared.today;
    let mut proposals: Vec<Proposal> = Vec::new();
    // The proposals that must be looked up in the log.
    let mut unsure = Vec::new();
    for (id, case) in page {
        let since = match prepared.window {
            Some((day, seen)) if case.revision <= seen => Some(day),
            _ => None,
        };
        let fail = |reason: String| FailedCase {
            reference: case.reference.clone(),
            reason,
        };
        let states = match evaluate(planner.timeline, planner.calendar, &case.facts, today) {
            Ok(states) => states,
            Err(e) => {
                failed_cases.push(fail(e.to_string()));
                continue;
            }
        };
        let first = proposals.len();
        match planner.plan_states(case, &states, today, since) {
            Ok(mut planned) => {
                // One with no one to send to (an agency or a role without a contact) fails its
                // case, and stays unlogged so that it goes out once the config names someone.
                let mut unaddressed: Vec<String> = Vec::new();
                planned.retain(|p| match &p.unaddressed {
                    Some(why) => {
                        if !unaddressed.contains(why) {
                            unaddressed.push(why.clone());
                        }
                        false
                    }
                    None => true,
                });
                // An agency the config no longer names fails its case at every run, not only
                // at the run whose days had something for it: what falls due later is held too.
                for agency in &case.facts.agencies {
                    if planner.agencies.iter().all(|a| &a.id != agency) {
                        let why = format!("agency {agency} is not in the config");
                        if !unaddressed.contains(&why) {
                            unaddressed.push(why);
                        }
                    }
                }
                if !unaddressed.is_empty() {
                    failed_cases.push(fail(format!(
                        "{}: what is due for it is held (not lost) and goes out at the first \
                         run after the config names someone",
                        unaddressed.join("; ")
                    )));
                }
                proposals.extend(planned);
            }
            Err(e) => failed_cases.push(fail(e.to_string())),
        }
        let sure = since.is_some()
            && prepared
                .logged_since_window
                .as_ref()
                .is_some_and(|logged| !logged.contains(id));
        if !sure {
            unsure.push((*id, first..proposals.len()));
        }
        if prepared.heartbeat
            && let Ok(lines) = planner.heartbeat_lines(case, &states, today)
        {
            heartbeat_lines.extend(lines);
        }
    }
    let case_ids: HashMap<CaseRef, i64> = page
        .iter()
        .map(|(id, case)| (case.reference.clone(), *id))
        .collect();
    let keys: Vec<_> = unsure
        .iter()
        .flat_map(|(id, range)| {
            proposals[range.clone()]
                .iter()
                .map(move |p| (Some(*id), &p.notification.key))
        })
        .collect();
    let logged = store.logged_keys(&keys).await?;
    let count = proposals.len();
    let decisions = decide(proposals, planner.timeline.policy(), today, &|key| {
        logged.contains(key)
    });
    Ok(PageDecisions {
        proposals: count,
        decisions,
        case_ids,
    })
}

/// The business team's daily summary, unless today's was already sent.
async fn due_heartbeat(
    store: &Store,
    planner: &Planner<'_>,
    today: NaiveDate,
    cases: usize,
    lines: Vec<Notification>,
    failed_cases: &[FailedCase],
) -> Result<Option<crate::domain::plan::Email>, StoreError> {
    let failed = store.outbox_counts().await?.failed as usize;
    let Some(email) = planner.heartbeat(today, cases, lines, failed, failed_cases) else {
        return Ok(None);
    };
    let key = &email
        .heartbeat
        .as_ref()
        .expect("a summary email has figures")
        .key;
    Ok(store
        .logged_keys(&[(None, key)])
        .await?
        .is_empty()
        .then_some(email))
}

/// Plans every open case for `today` and decides against the notification log, handing each
/// page's decisions to `on_decisions` (most urgent first within a page); writes nothing (`rrn
/// plan` shows this as it comes, `run_once` acts on it page by page).
///
/// Cases unchanged since the last run only propose what is new since its day: the rest of their
/// history was decided then. Changed cases (and every case on a first run) propose their whole
/// history, and the log sorts out what was already done. Only the proposed keys are looked up:
/// the log itself is never read whole.
pub async fn decide_each(
    store: &Store,
    planner: &Planner<'_>,
    today: NaiveDate,
    heartbeat: bool,
    mut on_decisions: impl FnMut(Vec<Decision>),
) -> Result<Decided, StoreError> {
    let (decided, _) = plan_pages(store, planner, today, heartbeat, |page| {
        on_decisions(page.decisions);
        std::future::ready(Ok(false))
    })
    .await?;
    Ok(decided)
}

/// What `decide_each` and `run_once` share: every open case planned and decided page by page
/// (`for_each_page`), then the daily summary. Returns the rules and revision it planned under.
async fn plan_pages<W>(
    store: &Store,
    planner: &Planner<'_>,
    today: NaiveDate,
    heartbeat: bool,
    mut on_page: impl FnMut(PageDecisions) -> W,
) -> Result<(Decided, Prepared), StoreError>
where
    W: Future<Output = Result<bool, StoreError>>,
{
    let prepared = prepare(store, planner, today, heartbeat).await?;
    let mut heartbeat_lines = Vec::new();
    let mut failed_cases = Vec::new();
    let mut proposals = 0;
    let cases = for_each_page(
        store,
        planner,
        &prepared,
        &mut heartbeat_lines,
        &mut failed_cases,
        |page: PageDecisions| {
            proposals += page.proposals;
            on_page(page)
        },
    )
    .await?;
    let heartbeat = if prepared.heartbeat {
        due_heartbeat(store, planner, today, cases, heartbeat_lines, &failed_cases).await?
    } else {
        None
    };
    let decided = Decided {
        heartbeat,
        cases,
        proposals,
        failed_cases,
    };
    Ok((decided, prepared))
}

/// Plans and decides every open case a page at a time, handing each page's decisions to
/// `on_page`, whose future writes them and says whether it wrote anything; returns how many
/// cases there were.
///
/// A pipeline: while one page is planned, the next is read, the future `on_page` returned for
/// the previous one (its writes) runs, and what the page before that wrote is checkpointed. The
/// database works on its own threads (SQLite's workers, PostgreSQL's server), so reading,
/// planning and writing overlap. Pages hold disjoint cases, so a page's lookups never depend on
/// the previous page's writes.
async fn for_each_page<W>(
    store: &Store,
    planner: &Planner<'_>,
    prepared: &Prepared,
    heartbeat_lines: &mut Vec<Notification>,
    failed_cases: &mut Vec<FailedCase>,
    mut on_page: impl FnMut(PageDecisions) -> W,
) -> Result<usize, StoreError>
where
    W: Future<Output = Result<bool, StoreError>>,
{
    let mut cases = 0;
    let per_page = match prepared.window {
        Some(_) => CASES_PER_PAGE,
        None => WHOLE_HISTORY_CASES_PER_PAGE,
    };
    let mut reader = store.open_cases().await?;
    let mut page = reader.page(0, per_page).await?;
    let mut previous: Option<W> = None;
    let mut wrote = false;
    while let Some(&(last, _)) = page.last() {
        cases += page.len();
        let (next, decided, written, checkpointed) = futures_util::future::join4(
            reader.page(last, per_page),
            // Handed on as soon as it is decided, so `on_page` can start on it (preparing its
            // writes on another thread) while the previous page is still being written.
            async {
                decide_page(
                    store,
                    planner,
                    prepared,
                    &page,
                    heartbeat_lines,
                    failed_cases,
                )
                .await
                .map(&mut on_page)
            },
            async {
                match previous.take() {
                    Some(write) => write.await,
                    None => Ok(false),
                }
            },
            async {
                match wrote {
                    true => store.checkpoint().await,
                    false => Ok(()),
                }
            },
        )
        .await;
        wrote = written?;
        checkpointed?;
        previous = Some(decided?);
        page = next?;
    }
    if let Some(write) = previous {
        write.await?;
    }
    Ok(cases)
}

/// Plans every open case for `today` and queues what is due. `now` stamps the records.
///
/// Page by page: each page's outbox rows, their log entries and its skips are written in one
/// transaction, so memory holds a few pages. A run that dies half-way leaves whole pages done and
/// the rest undone; it records itself only at the end, so the next run looks at the undone
/// cases over the same days again.
pub async fn run_once(
    store: &Store,
    planner: &Planner<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
    heartbeat: bool,
    progress: Option<&(dyn Fn() + Send + Sync)>,
) -> Result<RunReport, StoreError> {
    let (mut queued, mut skipped) = (0, 0);
    // Emails left with nothing once keys found logged at write time were taken out.
    let withdrawn = AtomicUsize::new(0);
    let (decided, prepared) = plan_pages(store, planner, today, heartbeat, |page| {
        // The daemon's watchdog ping: a run over many cases is not taken for a hung one.
        if let Some(progress) = progress {
            progress();
        }
        let (emails, skips) = group_owned(page.decisions);
        queued += emails.len();
        skipped += skips.len();
        // Made ready on a thread of its own from now, while the previous page is written.
        let ready = (!emails.is_empty() || !skips.is_empty()).then(|| {
            tokio::task::spawn_blocking(move || {
                let batch = batch(&emails, &skips, &page.case_ids);
                (
                    batch,
                    Page {
                        emails,
                        skips,
                        case_ids: page.case_ids,
                    },
                )
            })
        });
        let withdrawn = &withdrawn;
        async move {
            let Some(ready) = ready else {
                return Ok(false);
            };
            let (batch, page) = ready.await.expect("preparing a batch does not panic");
            let left_out = write_page(store, &batch, page, now).await?;
            withdrawn.fetch_add(left_out, Ordering::Relaxed);
            Ok(true)
        }
    })
    .await?;
    let Decided {
        heartbeat,
        cases,
        proposals,
        failed_cases,
    } = decided;
    if let Some(heartbeat) = heartbeat {
        let page = Page {
            emails: vec![heartbeat],
            skips: Vec::new(),
            case_ids: HashMap::new(),
        };
        let batch = batch(&page.emails, &page.skips, &page.case_ids);
        queued += 1;
        queued -= write_page(store, &batch, page, now).await?;
    }
    queued -= withdrawn.into_inner();
    let mut tx = store.begin().await?;
    let counts = RunCounts {
        queued: queued as i64,
        skipped: skipped as i64,
        failed_cases: failed_cases.clone(),
        revision: prepared.revision,
        rules: prepared.rules,
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

/// What one page queues and skips, kept beside its [`Batch`] in case it must be written again.
struct Page {
    emails: Vec<Email>,
    skips: Vec<(Notification, SkipReason)>,
    case_ids: HashMap<CaseRef, i64>,
}

/// Writes a page's batch in one transaction; returns how many of its emails were left out.
///
/// A key the log already holds when the page is written (another run for the same days got
/// there first, or a mark that promised more than it should) was sent or skipped already: the
/// page is written again without it, in a transaction that looked the keys up first, and the
/// audit log says why. The run never fails for it.
async fn write_page(
    store: &Store,
    prepared: &Batch,
    page: Page,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut tx = store.begin().await?;
    match tx.queue(prepared, RUN_ACTOR, now).await {
        Ok(()) => return tx.commit().await.map(|()| 0),
        Err(StoreError::Conflict) => tx.rollback().await?,
        Err(other) => return Err(other),
    }
    let Page {
        emails,
        skips,
        case_ids,
    } = page;
    let case_id = |case: Option<&CaseRef>| case.and_then(|c| case_ids.get(c)).copied();
    let mut tx = store.begin().await?;
    let keys: Vec<(Option<i64>, &NotificationKey)> = emails
        .iter()
        .flat_map(Email::logged_keys)
        .map(|(case, key)| (case_id(case), key))
        .chain(
            skips
                .iter()
                .map(|(n, _)| (case_id(n.case.as_ref()), &n.key)),
        )
        .collect();
    let logged = tx.logged_keys(&keys).await?;
    drop(keys);
    let before = emails.len();
    let mut left_out: Vec<(Option<i64>, NotificationKey)> = Vec::new();
    let mut kept_emails = Vec::with_capacity(emails.len());
    for mut email in emails {
        if let Some(heartbeat) = &email.heartbeat {
            if logged.contains(&heartbeat.key) {
                left_out.push((None, heartbeat.key.clone()));
                continue;
            }
        } else {
            email.items.retain(|item| {
                let fresh = !logged.contains(&item.key);
                if !fresh {
                    left_out.push((case_id(item.case.as_ref()), item.key.clone()));
                }
                fresh
            });
            if email.items.is_empty() {
                continue;
            }
        }
        kept_emails.push(email);
    }
    let withdrawn = before - kept_emails.len();
    let kept_skips: Vec<_> = skips
        .into_iter()
        .filter(|(n, _)| {
            let fresh = !logged.contains(&n.key);
            if !fresh {
                left_out.push((case_id(n.case.as_ref()), n.key.clone()));
            }
            fresh
        })
        .collect();
    tx.queue(&batch(&kept_emails, &kept_skips, &case_ids), RUN_ACTOR, now)
        .await?;
    for (case, key) in &left_out {
        tx.audit(
            case.map(CaseId::from_row_id),
            now,
            RUN_ACTOR,
            "already-logged",
            &format!(
                "{key}: already in the notification log when this run wrote it (sent or \
                 skipped before): left out of its email"
            ),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::warn!(
        keys = left_out.len(),
        "notifications already logged when a run wrote them were left out"
    );
    Ok(withdrawn)
}

/// `emails` made ready to queue, with their keys to log, and the `skips` to log (and audit).
fn batch(
    emails: &[Email],
    skips: &[(Notification, SkipReason)],
    case_ids: &HashMap<CaseRef, i64>,
) -> Batch {
    let case_id = |case: Option<&CaseRef>| case.and_then(|c| case_ids.get(c)).copied();
    let mut entries: Vec<LogEntry> = Vec::with_capacity(skips.len());
    let mut queued = Vec::with_capacity(emails.len());
    for (index, email) in emails.iter().enumerate() {
        let case = email.items.first().and_then(|n| n.case.as_ref());
        queued.push(NewEmail {
            case_id: case_id(case),
            kind: email.kind.into(),
            recipient: email.recipient.email.as_str().to_owned(),
            json: serde_json::to_string(email).expect("emails serialise"),
        });
        entries.extend(email.logged_keys().into_iter().map(|(case, key)| LogEntry {
            key,
            case_id: case_id(case),
            email: Some(index),
            skip_reason: None,
        }));
    }
    let reasons: Vec<String> = skips.iter().map(|(_, reason)| reason.to_string()).collect();
    entries.extend(
        skips
            .iter()
            .zip(&reasons)
            .map(|((notification, _), reason)| LogEntry {
                key: &notification.key,
                case_id: case_id(notification.case.as_ref()),
                email: None,
                skip_reason: Some(reason),
            }),
    );
    Batch::new(queued, &entries)
}
