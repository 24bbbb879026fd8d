//! `rrn outbox retry`: a failed email queued again, to the recipient the config names now.
//!
//! The failure email tells IT to fix the address and retry, so a retry goes to the fixed
//! address; and since a key names its recipient, what it carries is logged for that address in
//! the same transaction, so that no later run sends it there again. When a run has already
//! sent everything in it to the new address, the row is withdrawn instead: no retry sends what
//! a later email already carried.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::domain::case::CaseRef;
use crate::domain::contacts::Contact;
use crate::domain::plan::{Capacity, Email, Recipient};
use crate::store::{Batch, CaseId, FailedRow, LogEntry, OutboxKind, Store, StoreError, Tx};

/// What `rrn outbox retry` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// There is no failed row with that id.
    NotFailed,
    /// Queued again, to this address.
    Queued { to: String },
    /// Not queued: a later email to the new address already carried all of it.
    Withdrawn { reason: String },
}

/// Queues the failed row `id` again, addressed as the config says now; one transaction, with
/// an audit entry on the row's case when the address changed.
pub async fn retry(
    store: &Store,
    config: &Config,
    id: i64,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Retried, StoreError> {
    let mut tx = store.begin().await?;
    let Some(row) = tx.failed_row(id).await? else {
        tx.rollback().await?;
        return Ok(Retried::NotFailed);
    };
    let retried = match readdressed(config, &row) {
        None => {
            let body = renamed(config, &row).unwrap_or_else(|| row.email.clone());
            tx.requeue(id, &row.recipient, &body).await?;
            Retried::Queued {
                to: row.recipient.clone(),
            }
        }
        Some(Readdressed::Report { to }) => {
            tx.requeue(id, &to, &row.email).await?;
            Retried::Queued { to }
        }
        Some(Readdressed::Email(email)) => requeue_email(&mut tx, id, email, actor, now).await?,
    };
    let to = match &retried {
        Retried::Queued { to } if *to != row.recipient => Some(to.as_str()),
        _ => None,
    };
    let detail = match (&retried, to) {
        (Retried::Withdrawn { reason }, _) => Some(format!("outbox row {id} withdrawn: {reason}")),
        (_, Some(to)) => Some(format!(
            "outbox row {id} queued again, to {to} instead of {}",
            row.recipient
        )),
        _ => None,
    };
    if let Some(detail) = detail {
        let case = row.case_id.map(CaseId::from_row_id);
        tx.audit(case, now, actor, "outbox-retry", &detail).await?;
    }
    tx.commit().await?;
    Ok(retried)
}

/// A failed row addressed to someone the config no longer names for its role.
enum Readdressed {
    /// A failure report, now to the current admin contact.
    Report { to: String },
    /// An email, re-keyed for its new recipient.
    Email(Email),
}

/// The row as the config would address it now; `None` when it would go where it went.
fn readdressed(config: &Config, row: &FailedRow) -> Option<Readdressed> {
    if row.kind == OutboxKind::DeliveryFailure {
        let admin = config.contacts.admin.as_ref()?.email.as_str();
        return (admin != row.recipient).then(|| Readdressed::Report {
            to: admin.to_owned(),
        });
    }
    let email: Email = serde_json::from_str(&row.email).ok()?;
    readdressed_email(config, email).map(Readdressed::Email)
}

/// `email` re-keyed for the person the config now names in its recipient's capacity; `None`
/// when that is still its recipient (or the capacity has no holder now).
pub(crate) fn readdressed_email(config: &Config, email: Email) -> Option<Email> {
    let contact = holder(config, &email.recipient.role)?;
    if contact.email == email.recipient.email {
        return None;
    }
    let to = Recipient {
        role: email.recipient.role.clone(),
        name: contact.name.to_string(),
        email: contact.email.clone(),
    };
    Some(email.readdressed(to))
}

/// Who the config names in `capacity` now.
fn holder<'c>(config: &'c Config, capacity: &Capacity) -> Option<&'c Contact> {
    match capacity {
        Capacity::Role(role) => config.contacts.holder(*role),
        Capacity::AgencyLead(agency) => Some(&config.agency(agency)?.lead),
        Capacity::AgencyManager(agency) => Some(&config.agency(agency)?.manager),
        Capacity::Unaddressed => None,
    }
}

/// A failed row's body with its recipient's name as the config has it now, when only the name
/// changed: one stored unchecked by an older version (a line break in it) cannot be sent, and
/// a retry after the config is fixed must take the fixed one.
fn renamed(config: &Config, row: &FailedRow) -> Option<String> {
    if row.kind == OutboxKind::DeliveryFailure {
        return None;
    }
    let mut email: Email = serde_json::from_str(&row.email).ok()?;
    let contact = holder(config, &email.recipient.role)?;
    if contact.email != email.recipient.email || contact.name.as_str() == email.recipient.name {
        return None;
    }
    email.recipient.name = contact.name.to_string();
    Some(serde_json::to_string(&email).expect("emails serialise"))
}

/// How a row re-addressed goes on: queued again (a retry), or still claimed by the sender
/// about to send it (delivery's re-check).
#[derive(Clone, Copy)]
pub(crate) enum Then<'a> {
    Requeue,
    StayClaimed { owner: &'a str },
}

async fn requeue_email(
    tx: &mut Tx,
    id: i64,
    email: Email,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Retried, StoreError> {
    Ok(readdress_row(tx, id, email, actor, now, Then::Requeue)
        .await?
        .map_or(Retried::NotFailed, |(retried, _)| retried))
}

/// Writes `email` (re-keyed for its new recipient) as row `id`, without what the log already
/// holds for that recipient, and logs the rest for it; withdraws the row when nothing is left.
/// What was done, with the row's new body (as stored and as parsed) when it was kept; `None` when the row is no longer
/// the claimer's (`Then::StayClaimed`).
pub(crate) async fn readdress_row(
    tx: &mut Tx,
    id: i64,
    email: Email,
    actor: &str,
    now: DateTime<Utc>,
    then: Then<'_>,
) -> Result<Option<(Retried, Option<(String, Email)>)>, StoreError> {
    let references: Vec<&CaseRef> = email.items.iter().filter_map(|i| i.case.as_ref()).collect();
    let case_ids = tx.case_ids(&references).await?;
    let case_id = |case: Option<&CaseRef>| case.and_then(|c| case_ids.get(c.as_str()).copied());
    let keys: Vec<_> = email
        .logged_keys()
        .into_iter()
        .map(|(case, key)| (case_id(case), key))
        .collect();
    let logged = tx.logged_keys(&keys).await?;
    let to = email.recipient.email.as_str().to_owned();
    let Some(email) = email.without(&logged) else {
        let reason = format!("a later email to {to} already carried everything in it");
        match then {
            Then::Requeue => tx.withdraw(id, &reason).await?,
            Then::StayClaimed { owner } => {
                if !tx.withdraw_claimed(id, owner, &reason).await? {
                    return Ok(None);
                }
            }
        }
        return Ok(Some((Retried::Withdrawn { reason }, None)));
    };
    let body = serde_json::to_string(&email).expect("emails serialise");
    match then {
        Then::Requeue => tx.requeue(id, &to, &body).await?,
        Then::StayClaimed { owner } => {
            if !tx.readdress_claimed(id, owner, &to, &body).await? {
                return Ok(None);
            }
        }
    }
    let entries: Vec<LogEntry> = email
        .logged_keys()
        .into_iter()
        .map(|(case, key)| LogEntry {
            key,
            case_id: case_id(case),
            email: Some(0),
            skip_reason: None,
        })
        .collect();
    tx.log_for(id, &Batch::for_one_row(&entries), actor, now)
        .await?;
    Ok(Some((Retried::Queued { to }, Some((body, email)))))
}
