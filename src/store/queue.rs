//! Queueing a page of a run: its emails, their notification-log entries and the skips' audit
//! entries, written in one transaction (a transactional outbox), so a key is logged exactly
//! when its email is queued.

use chrono::{DateTime, Utc};
use sqlx::Sqlite;

use super::log::{LogEntry, key_hash};
use super::{Inner, OutboxKind, StoreError, Tx, next_ids_postgres};

/// Emails queued per SQLite statement (eight values each, under SQLite's 32,766).
const EMAILS_PER_STATEMENT: usize = 500;
/// `$1`: a JSON array of `[case id, key hash, key, decision, reason, email index]`; `$3`: the
/// first email's outbox id (the batch's ids are consecutive on SQLite).
const LOG_SQLITE: &str = "INSERT INTO notification_log \
     (case_id, key_hash, key, decision, reason, decided_at, outbox_id) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, $2, \
     $3 + (value ->> 5) FROM json_each($1)";
/// `$3`: the batch's outbox ids.
const LOG_POSTGRES: &str = "INSERT INTO notification_log \
     (case_id, key_hash, key, decision, reason, decided_at, outbox_id) \
     SELECT (e ->> 0)::bigint, (e ->> 1)::bigint, e ->> 2, e ->> 3, e ->> 4, $2, \
     ($3::bigint[])[(e ->> 5)::int + 1] FROM jsonb_array_elements($1::jsonb) AS e";
/// `$1`: a JSON array of `[case id, detail]`.
const AUDIT_SKIPS_SQLITE: &str = "INSERT INTO audit_log (case_id, at, actor, action, detail) \
     SELECT value ->> 0, $2, $3, 'skip', value ->> 1 FROM json_each($1)";
const AUDIT_SKIPS_POSTGRES: &str = "INSERT INTO audit_log (case_id, at, actor, action, detail) \
     SELECT (e ->> 0)::bigint, $2, $3, 'skip', e ->> 1 FROM jsonb_array_elements($1::jsonb) AS e";
/// An email to queue.
#[derive(Debug, Clone)]
pub struct NewEmail {
    /// The case's row id, when the email is about one case.
    pub case_id: Option<i64>,
    pub kind: OutboxKind,
    pub recipient: String,
    /// The email as the outbox keeps it.
    pub json: String,
}
/// Emails and the decisions that go with them, made ready for [`Tx::queue`] without the
/// database (so a run prepares the next batch on another thread while one is written).
#[derive(Debug, Default)]
pub struct Batch {
    emails: Vec<NewEmail>,
    /// Log rows as JSON arrays of `[case id, key hash, key, decision, reason, email index]`,
    /// each with its skips' audit rows as a JSON array of `[case id, detail]`.
    log: Vec<(String, Option<String>)>,
}
impl Batch {
    /// The log entries of one email already in the outbox (their email index is 0), for
    /// [`Tx::log_for`].
    pub fn for_one_row(entries: &[LogEntry<'_>]) -> Self {
        Batch {
            emails: Vec::new(),
            log: log_rows(entries),
        }
    }

    /// `entries` name their emails by index in `emails`.
    pub fn new(emails: Vec<NewEmail>, entries: &[LogEntry<'_>]) -> Self {
        debug_assert!(
            entries
                .iter()
                .all(|e| e.email.is_none_or(|i| i < emails.len()))
        );
        Batch {
            emails,
            log: log_rows(entries),
        }
    }
}

/// Log rows as JSON arrays of `[case id, key hash, key, decision, reason, email index]`, each
/// chunk with its skips' audit rows as a JSON array of `[case id, detail]`.
fn log_rows(entries: &[LogEntry<'_>]) -> Vec<(String, Option<String>)> {
    // Thousands of rows per statement, handed over as one JSON array: binding each value
    // cost more than inserting it.
    const ROWS_PER_STATEMENT: usize = 5_000;
    let mut rows: Vec<_> = entries
        .iter()
        .map(|entry| (entry.case_id, key_hash(entry.key.as_str()), entry))
        .collect();
    // In index order, so the inserts walk the log's index instead of touching a random page
    // per row.
    rows.sort_unstable_by_key(|(case, hash, _)| (case.unwrap_or(0), *hash));
    rows.chunks(ROWS_PER_STATEMENT)
        .map(|chunk| {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(case_id, hash, entry)| {
                    let decision = match entry.skip_reason {
                        Some(_) => "skip",
                        None => "send",
                    };
                    let key = entry.key.as_str();
                    (case_id, hash, key, decision, entry.skip_reason, entry.email)
                })
                .collect();
            let skips: Vec<(i64, String)> = chunk
                .iter()
                .filter_map(|(case_id, _, e)| {
                    let reason = e.skip_reason?;
                    Some(((*case_id)?, format!("{}: {reason}", e.key)))
                })
                .collect();
            (
                serde_json::to_string(&rows).expect("log rows serialise"),
                (!skips.is_empty())
                    .then(|| serde_json::to_string(&skips).expect("audit rows serialise")),
            )
        })
        .collect()
}

impl Tx {
    /// Queues a batch's emails and logs its decisions.
    ///
    /// A few statements per batch, whatever its size: the emails take their ids up front (the
    /// next of SQLite's `AUTOINCREMENT` sequence, within this write transaction; PostgreSQL's
    /// identity sequence), so the log rows can name them without a round trip per email.
    pub async fn queue(
        &mut self,
        batch: &Batch,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let ids = match &mut self.0 {
            Inner::Sqlite(conn) => insert_emails_sqlite(conn, &batch.emails, now).await?,
            Inner::Postgres(conn) => insert_emails_postgres(conn, &batch.emails, now).await?,
        };
        self.write_log(&batch.log, &ids, actor, now).await
    }

    /// Logs the entries of one email already in the outbox, row `id` (a retried row sent to a
    /// new address: what it carries is then logged for that address too).
    pub async fn log_for(
        &mut self,
        id: i64,
        batch: &Batch,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_log(&batch.log, &[id], actor, now).await
    }

    /// Writes log rows (and their skips' audit rows) whose email indexes point into `ids`.
    async fn write_log(
        &mut self,
        log: &[(String, Option<String>)],
        ids: &[i64],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for (rows, skips) in log {
            match &mut self.0 {
                Inner::Sqlite(conn) => {
                    sqlx::query(LOG_SQLITE)
                        .bind(rows.as_str())
                        .bind(now)
                        .bind(ids.first().copied().unwrap_or(0))
                        .execute(&mut **conn)
                        .await?;
                }
                Inner::Postgres(conn) => {
                    sqlx::query(LOG_POSTGRES)
                        .bind(rows.as_str())
                        .bind(now)
                        .bind(ids)
                        .execute(&mut **conn)
                        .await?;
                }
            }
            if let Some(skips) = skips {
                on_backend!(&mut self.0, conn, PG => {
                    sqlx::query(if PG { AUDIT_SKIPS_POSTGRES } else { AUDIT_SKIPS_SQLITE })
                        .bind(skips.as_str())
                        .bind(now)
                        .bind(actor)
                        .execute(&mut **conn)
                        .await?;
                });
            }
        }
        Ok(())
    }
}

/// The outbox rows of `emails` on SQLite, [`EMAILS_PER_STATEMENT`] per statement; their ids.
async fn insert_emails_sqlite(
    conn: &mut sqlx::SqliteConnection,
    emails: &[NewEmail],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let count = emails.len() as i64;
    // BEGIN IMMEDIATE holds the write lock, so no one else takes these ids.
    let last: i64 = sqlx::query_scalar(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
    )
    .fetch_one(&mut *conn)
    .await?;
    let ids: Vec<i64> = (last + 1..=last + count).collect();
    for (chunk, ids) in emails
        .chunks(EMAILS_PER_STATEMENT)
        .zip(ids.chunks(EMAILS_PER_STATEMENT))
    {
        let mut insert = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO outbox (id, created_at, case_id, kind, recipient, email, \
             status, next_attempt_at) ",
        );
        insert.push_values(chunk.iter().zip(ids), |mut row, (email, id)| {
            row.push_bind(*id)
                .push_bind(now)
                .push_bind(email.case_id)
                .push_bind(email.kind.as_str())
                .push_bind(email.recipient.as_str())
                .push_bind(email.json.as_str())
                .push("'pending'")
                .push_bind(now);
        });
        insert.build().persistent(false).execute(&mut *conn).await?;
    }
    Ok(ids)
}

/// The outbox rows of `emails` on PostgreSQL, in one statement; their ids.
async fn insert_emails_postgres(
    conn: &mut sqlx::PgConnection,
    emails: &[NewEmail],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let ids = next_ids_postgres(conn, "outbox", emails.len()).await?;
    if !ids.is_empty() {
        sqlx::query(
            "INSERT INTO outbox (id, created_at, case_id, kind, recipient, email, \
             status, next_attempt_at) OVERRIDING SYSTEM VALUE \
             SELECT id, $6, case_id, kind, recipient, email, 'pending', $6 \
             FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], \
             $5::text[]) AS e (id, case_id, kind, recipient, email)",
        )
        .bind(&ids)
        .bind(emails.iter().map(|e| e.case_id).collect::<Vec<_>>())
        .bind(emails.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>())
        .bind(
            emails
                .iter()
                .map(|e| e.recipient.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(emails.iter().map(|e| e.json.as_str()).collect::<Vec<_>>())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(ids)
}
