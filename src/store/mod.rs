//! The case store: the only module that knows SQL.
//!
//! One seam over two backends chosen by the URL: embedded SQLite (the default, single instance)
//! and PostgreSQL (several instances). Each backend has its own migrations folder; the queries
//! below are written once in the SQL both dialects share and expanded for each backend by
//! [`on_backend!`]. Writes happen in a [`Tx`]: one transaction per command, so a refused input
//! leaves the database as it was. On SQLite a write transaction starts with `BEGIN IMMEDIATE`, so
//! two writers queue on the busy timeout instead of failing half-way.

mod scan;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Row, Sqlite, SqlitePool, Transaction};

use crate::domain::agency::AgencyId;
use crate::domain::case::{AuditEntry, Case, CaseRef, CaseState, CompletionRecord};

pub use log::LogEntry;
pub use outbox::{Batch, Cancel, Claimed, NewEmail, OutboxCounts, OutboxRow, OutboxStatus};
pub use runs::{LastRun, RunCounts};
pub use scan::{CaseReader, StatusFilter};

/// How long a PostgreSQL statement waits for a lock another session holds before giving up.
const POSTGRES_LOCK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an SQLite writer waits for another before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// The `agency_id` stored for case-level milestones (part of the completions primary key).
const NO_AGENCY: &str = "";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL (scheme `{0}`): use sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the database folder {path}: {reason}")]
    CreateFolder {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("cannot connect to the {backend} database: {reason}")]
    Connect {
        backend: &'static str,
        reason: sqlx::Error,
    },
    #[error("cannot lock {path} to apply migrations: {reason}")]
    MigrationLock {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("applying database migrations failed (nothing was changed by the failed step): {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A concurrent writer got there first (a unique key already taken).
    #[error("another change to the same record happened at the same time: try again")]
    Conflict,
    /// Another session held a lock for longer than the lock timeout (or SQLite's busy timeout).
    #[error(
        "the database stayed locked by another session for {0} s: nothing was changed; try \
         again, and if it persists find the session holding the lock (PostgreSQL: pg_locks; \
         SQLite: another rrn process or a tool with the file open)"
    )]
    Locked(u64),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("the database holds a value this version cannot read: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Conflict,
            // PostgreSQL's lock_not_available; SQLite's SQLITE_BUSY after its busy timeout.
            sqlx::Error::Database(e) if e.code().as_deref() == Some("55P03") => {
                StoreError::Locked(POSTGRES_LOCK_TIMEOUT.as_secs())
            }
            sqlx::Error::Database(e) if e.code().as_deref() == Some("5") => {
                StoreError::Locked(SQLITE_BUSY_TIMEOUT.as_secs())
            }
            _ => StoreError::Database(error),
        }
    }
}

/// A connection pool on one of the two backends.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The case's row id, only meaningful inside the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseId(i64);

impl CaseId {
    /// A row id a scan handed out (`store::scan` pages carry them).
    pub fn from_row_id(id: i64) -> Self {
        Self(id)
    }
}

/// Runs `$body` once per backend with `$conn` bound to that backend's connection and `$pg` a
/// constant saying which, so one piece of code serves both where the SQL is the same.
macro_rules! on_backend {
    ($target:expr, $conn:ident, $pg:ident => $body:expr) => {
        match $target {
            Inner::Sqlite($conn) => {
                #[allow(unused)]
                const $pg: bool = false;
                $body
            }
            Inner::Postgres($conn) => {
                #[allow(unused)]
                const $pg: bool = true;
                $body
            }
        }
    };
}

// After the macro, so that the modules see it.
mod leadership;
mod log;
mod outbox;
mod revision;
mod runs;

pub use leadership::{LeadError, Leadership};

/// The scheme of a database URL, without the rest (which may hold a password).
fn scheme(url: &str) -> &str {
    url.split_once(':').map_or(url, |(scheme, _)| scheme)
}

impl Store {
    /// Connects and applies any pending migrations. An SQLite database (and its folder) is
    /// created on first use.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        match scheme(url) {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|reason| StoreError::Connect {
                        backend: "SQLite",
                        reason,
                    })?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
                    // Statement journals (a multi-row insert's undo) in memory, not in
                    // temporary files: a run's log writes were a third slower with files.
                    .pragma("temp_store", "memory")
                    // Let the SQLite worker thread read a whole page of cases ahead while
                    // the previous page is planned (run::CASES_PER_PAGE), instead of
                    // stopping every 50 rows until they are taken.
                    .row_buffer_size(2_048);
                if let Some(folder) = options.get_filename().parent()
                    && !folder.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(folder).map_err(|reason| StoreError::CreateFolder {
                        path: folder.to_owned(),
                        reason,
                    })?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .map_err(|reason| StoreError::Connect {
                        backend: "SQLite",
                        reason,
                    })?;
                Ok(Store::Sqlite(pool))
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|reason| StoreError::Connect {
                        backend: "PostgreSQL",
                        reason,
                    })?
                    // A lock another session holds (an operator's `LOCK TABLE`, a stuck
                    // migration) must not make a command wait for ever.
                    .options([(
                        "lock_timeout",
                        format!("{}s", POSTGRES_LOCK_TIMEOUT.as_secs()),
                    )]);
                let pool = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|reason| StoreError::Connect {
                        backend: "PostgreSQL",
                        reason,
                    })?;
                Ok(Store::Postgres(pool))
            }
            other => Err(StoreError::UnsupportedUrl(other.to_owned())),
        }
    }

    /// Applies the embedded migrations of this backend; each runs in its own transaction.
    /// PostgreSQL serialises concurrent migrators with an advisory lock; sqlx has no lock for
    /// SQLite, so two processes starting on a new file take an exclusive lock on a file beside it.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(pool) => {
                let _lock = match sqlite_migration_lock(pool) {
                    Some(path) => Some(lock_file(&path).await?),
                    None => None,
                };
                sqlx::migrate!("migrations/sqlite").run(pool).await?;
                hash_copied_log_keys(pool).await?;
            }
            Store::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx(match self {
            Store::Sqlite(pool) => Inner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(pool) => Inner::Postgres(pool.begin().await?),
        }))
    }

    /// A read-only view: one snapshot, so the reads agree with each other (an SQLite read
    /// transaction is one already; PostgreSQL needs REPEATABLE READ for that).
    async fn read(&self) -> Result<Tx, StoreError> {
        Ok(Tx(match self {
            Store::Sqlite(pool) => Inner::Sqlite(pool.begin().await?),
            Store::Postgres(pool) => Inner::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        }))
    }

    /// One case and its audit trail from one snapshot.
    pub async fn case_with_audit(
        &self,
        reference: &CaseRef,
    ) -> Result<Option<(Case, Vec<AuditEntry>)>, StoreError> {
        let mut tx = self.read().await?;
        let Some((id, case)) = tx.case(reference, false).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let audit = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query("SELECT at, actor, action, detail FROM audit_log WHERE case_id = $1 ORDER BY id")
                .bind(id.0)
                .fetch_all(&mut **conn)
                .await?
                .iter()
                .map(|row| {
                    Ok(AuditEntry {
                        at: row.try_get("at")?,
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        detail: row.try_get("detail")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        tx.rollback().await?;
        Ok(Some((case, audit)))
    }

    /// Every row of every case table in a stable text form, for comparing a database before and
    /// after a refused command, and for support.
    pub async fn dump(&self) -> Result<String, StoreError> {
        const QUERIES: [&str; 4] = [
            "SELECT reference || '|' || CAST(aware_on AS TEXT) || '|' || \
             COALESCE(CAST(day0_on AS TEXT), '-') || '|' || status || '|' || \
             COALESCE(closed_reason, '-') || '|' || CAST(local_review_proposed AS TEXT) || '|' || \
             CAST(created_at AS TEXT) || '|' || CAST(updated_at AS TEXT) AS line \
             FROM cases ORDER BY reference",
            "SELECT c.reference || '|' || a.agency_id || '|' || CAST(a.added_at AS TEXT) AS line \
             FROM case_agencies a JOIN cases c ON c.id = a.case_id \
             ORDER BY c.reference, a.agency_id",
            "SELECT c.reference || '|' || m.milestone_id || '|' || m.agency_id || '|' || \
             CAST(m.completed_on AS TEXT) || '|' || m.recorded_by || '|' || \
             CAST(m.recorded_at AS TEXT) || '|' || COALESCE(m.note, '-') AS line \
             FROM completions m JOIN cases c ON c.id = m.case_id \
             ORDER BY c.reference, m.milestone_id, m.agency_id",
            "SELECT CAST(id AS TEXT) || '|' || COALESCE(CAST(case_id AS TEXT), '-') || '|' || \
             CAST(at AS TEXT) || '|' || actor || '|' || action || '|' || detail AS line \
             FROM audit_log ORDER BY id",
        ];
        let mut out = String::new();
        let mut tx = self.read().await?;
        for (table, query) in ["cases", "case_agencies", "completions", "audit_log"]
            .into_iter()
            .zip(QUERIES)
        {
            out.push_str(&format!("[{table}]\n"));
            let lines: Vec<String> = on_backend!(&mut tx.0, conn, _PG => {
                sqlx::query_scalar(query).fetch_all(&mut **conn).await?
            });
            for line in lines {
                out.push_str(&line);
                out.push('\n');
            }
        }
        tx.rollback().await?;
        Ok(out)
    }
}

enum Inner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// One write transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx(Inner);

/// A new case as the business team opens it.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub reference: &'a CaseRef,
    pub aware: NaiveDate,
    pub day0: Option<NaiveDate>,
    pub local_review_proposed: bool,
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.0 {
            Inner::Sqlite(tx) => tx.commit().await?,
            Inner::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.0 {
            Inner::Sqlite(tx) => tx.rollback().await?,
            Inner::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// Finds a case; with `lock`, holds its row until the transaction ends (PostgreSQL; an SQLite
    /// write transaction already excludes other writers).
    pub async fn case(
        &mut self,
        reference: &CaseRef,
        lock: bool,
    ) -> Result<Option<(CaseId, Case)>, StoreError> {
        const SELECT: &str = "SELECT id, reference, aware_on, day0_on, status, closed_reason, \
             local_review_proposed, created_at, updated_at FROM cases WHERE reference = $1";
        const SELECT_FOR_UPDATE: &str = "SELECT id, reference, aware_on, day0_on, status, \
             closed_reason, local_review_proposed, created_at, updated_at FROM cases \
             WHERE reference = $1 FOR UPDATE";
        on_backend!(&mut self.0, conn, PG => {
            let query = if PG && lock { SELECT_FOR_UPDATE } else { SELECT };
            let Some(row) = sqlx::query(query)
                .bind(reference.as_str())
                .fetch_optional(&mut **conn)
                .await?
            else {
                return Ok(None);
            };
            let id = CaseId(row.try_get("id")?);
            let mut case = scan::case_from_row(&row)?;
            let agencies: Vec<String> = sqlx::query_scalar(
                "SELECT agency_id FROM case_agencies WHERE case_id = $1 ORDER BY agency_id",
            )
            .bind(id.0)
            .fetch_all(&mut **conn)
            .await?;
            case.agencies = agencies
                .iter()
                .map(scan::agency)
                .collect::<Result<_, _>>()?;
            for row in sqlx::query(
                "SELECT case_id, milestone_id, agency_id, completed_on, recorded_by, recorded_at, \
                 note FROM completions WHERE case_id = $1 ORDER BY completed_on, milestone_id, \
                 agency_id",
            )
            .bind(id.0)
            .fetch_all(&mut **conn)
            .await?
            {
                case.completions.push(scan::completion_from_row(&row)?);
            }
            Ok(Some((id, case)))
        })
    }

    pub async fn insert_case(
        &mut self,
        case: &NewCase<'_>,
        now: DateTime<Utc>,
    ) -> Result<CaseId, StoreError> {
        let id = on_backend!(&mut self.0, conn, _PG => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO cases (reference, aware_on, day0_on, status, local_review_proposed, \
                 created_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $5) RETURNING id",
            )
            .bind(case.reference.as_str())
            .bind(case.aware)
            .bind(case.day0)
            .bind(case.local_review_proposed)
            .bind(now)
            .fetch_one(&mut **conn)
            .await?;
            CaseId(id)
        });
        self.bump_revision(id).await?;
        Ok(id)
    }

    /// Takes the next value of the revision counter for a changed case, in this transaction, so
    /// runs and the daemon can tell which cases changed since they last looked.
    async fn bump_revision(&mut self, case: CaseId) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("UPDATE revision_counter SET value = value + 1 WHERE id = 1")
                .execute(&mut **conn)
                .await?;
            sqlx::query(
                "UPDATE cases SET revision = (SELECT value FROM revision_counter WHERE id = 1) \
                 WHERE id = $1",
            )
            .bind(case.0)
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }

    pub async fn add_agency(
        &mut self,
        case: CaseId,
        agency: &AgencyId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("INSERT INTO case_agencies (case_id, agency_id, added_at) VALUES ($1, $2, $3)")
                .bind(case.0)
                .bind(agency.as_str())
                .bind(now)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }

    pub async fn remove_agency(
        &mut self,
        case: CaseId,
        agency: &AgencyId,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("DELETE FROM case_agencies WHERE case_id = $1 AND agency_id = $2")
                .bind(case.0)
                .bind(agency.as_str())
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }

    pub async fn insert_completion(
        &mut self,
        case: CaseId,
        completion: &CompletionRecord,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO completions (case_id, milestone_id, agency_id, completed_on, \
                 recorded_by, recorded_at, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(case.0)
            .bind(&completion.milestone)
            .bind(completion.agency.as_ref().map_or(NO_AGENCY, AgencyId::as_str))
            .bind(completion.completed_on)
            .bind(&completion.recorded_by)
            .bind(completion.recorded_at)
            .bind(&completion.note)
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }

    /// Deletes a completion; false when there was none.
    pub async fn delete_completion(
        &mut self,
        case: CaseId,
        milestone: &str,
        agency: Option<&AgencyId>,
    ) -> Result<bool, StoreError> {
        let deleted = on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "DELETE FROM completions WHERE case_id = $1 AND milestone_id = $2 AND agency_id = $3",
            )
            .bind(case.0)
            .bind(milestone)
            .bind(agency.map_or(NO_AGENCY, AgencyId::as_str))
            .execute(&mut **conn)
            .await?
            .rows_affected()
        });
        Ok(deleted > 0)
    }

    /// Sets day 0, the state and the local-review flag, and the updated time.
    pub async fn update_case(
        &mut self,
        case: CaseId,
        day0: Option<NaiveDate>,
        state: &CaseState,
        local_review_proposed: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (status, reason) = match state {
            CaseState::Open => ("open", None),
            CaseState::Closed(reason) => ("closed", Some(reason.as_str())),
        };
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "UPDATE cases SET day0_on = $2, status = $3, closed_reason = $4, \
                 local_review_proposed = $5, updated_at = $6 WHERE id = $1",
            )
            .bind(case.0)
            .bind(day0)
            .bind(status)
            .bind(reason)
            .bind(local_review_proposed)
            .bind(now)
            .execute(&mut **conn)
            .await?;
        });
        self.bump_revision(case).await
    }

    /// Appends to the audit log.
    pub async fn audit(
        &mut self,
        case: Option<CaseId>,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO audit_log (case_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(case.map(|c| c.0))
            .bind(at)
            .bind(actor)
            .bind(action)
            .bind(detail)
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }
}

/// Cases handed to SQLite per statement: a JSON array of a few hundred kB each.
const CASES_PER_STATEMENT: usize = 5_000;

/// One case of a bulk opening with the rows opening it writes besides the case row.
#[derive(Debug, Clone)]
pub struct NewCaseRows<'a> {
    pub case: NewCase<'a>,
    pub agencies: &'a [AgencyId],
    /// The audit log's `open` entry for the case.
    pub detail: String,
}

/// What every case of a bulk opening shares.
#[derive(Debug, Clone, Copy)]
pub struct Opened<'a> {
    /// The case-level milestone that records day 0, when a case has one.
    pub day0_milestone: &'a str,
    pub day0_note: &'a str,
    pub actor: &'a str,
    /// The cases' created and updated time (the command's date).
    pub dated: DateTime<Utc>,
    /// The real time: agencies added, day 0 recorded, audit entries.
    pub now: DateTime<Utc>,
}

impl Tx {
    /// The references among `references` that already name a case, in one query whatever
    /// their number (an import checks all its rows at once).
    pub async fn existing_references(
        &mut self,
        references: &[&CaseRef],
    ) -> Result<Vec<String>, StoreError> {
        let names: Vec<&str> = references.iter().map(|r| r.as_str()).collect();
        Ok(match &mut self.0 {
            Inner::Sqlite(conn) => {
                sqlx::query_scalar(
                    "SELECT reference FROM cases WHERE reference IN \
                     (SELECT value FROM json_each($1))",
                )
                .bind(serde_json::to_string(&names).expect("strings serialise"))
                .fetch_all(&mut **conn)
                .await?
            }
            Inner::Postgres(conn) => {
                sqlx::query_scalar("SELECT reference FROM cases WHERE reference = ANY($1::text[])")
                    .bind(&names)
                    .fetch_all(&mut **conn)
                    .await?
            }
        })
    }

    /// Opens many cases with a few statements per [`CASES_PER_STATEMENT`] instead of several
    /// per case: the same rows, ids and audit entries as opening them one by one in this order,
    /// except that they all take one new value of the revision counter. That is enough for the
    /// daemon and the next run, which only ask whether a case's revision is newer than what they
    /// last saw. The references must be new (see [`Tx::existing_references`]).
    pub async fn insert_cases(
        &mut self,
        cases: &[NewCaseRows<'_>],
        opened: &Opened<'_>,
    ) -> Result<(), StoreError> {
        if cases.is_empty() {
            return Ok(());
        }
        let count = cases.len() as i64;
        let revision: i64 = on_backend!(&mut self.0, conn, _PG => {
            sqlx::query_scalar(
                "UPDATE revision_counter SET value = value + 1 WHERE id = 1 RETURNING value",
            )
            .fetch_one(&mut **conn)
            .await?
        });
        match &mut self.0 {
            Inner::Sqlite(conn) => {
                // BEGIN IMMEDIATE holds the write lock, so no one else takes these ids; an
                // INTEGER PRIMARY KEY without AUTOINCREMENT would take the same (max + 1).
                let last: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM cases")
                    .fetch_one(&mut **conn)
                    .await?;
                for (n, chunk) in cases.chunks(CASES_PER_STATEMENT).enumerate() {
                    let first = last + 1 + (n * CASES_PER_STATEMENT) as i64;
                    let mut rows = Vec::with_capacity(chunk.len());
                    let mut agencies = Vec::new();
                    let mut day0s = Vec::new();
                    let mut audits = Vec::with_capacity(chunk.len());
                    for (id, c) in (first..).zip(chunk) {
                        rows.push(serde_json::json!([
                            id,
                            c.case.reference.as_str(),
                            c.case.aware.to_string(),
                            c.case.day0.map(|d| d.to_string()),
                            c.case.local_review_proposed
                        ]));
                        for agency in c.agencies {
                            agencies.push(serde_json::json!([id, agency.as_str()]));
                        }
                        if let Some(day0) = c.case.day0 {
                            day0s.push(serde_json::json!([id, day0.to_string()]));
                        }
                        audits.push(serde_json::json!([id, c.detail]));
                    }
                    sqlx::query(
                        "INSERT INTO cases (id, reference, aware_on, day0_on, status, \
                         local_review_proposed, created_at, updated_at, revision) \
                         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'open', \
                         value ->> 4, $2, $2, $3 FROM json_each($1)",
                    )
                    .bind(serde_json::Value::Array(rows).to_string())
                    .bind(opened.dated)
                    .bind(revision)
                    .execute(&mut **conn)
                    .await?;
                    sqlx::query(
                        "INSERT INTO case_agencies (case_id, agency_id, added_at) \
                         SELECT value ->> 0, value ->> 1, $2 FROM json_each($1)",
                    )
                    .bind(serde_json::Value::Array(agencies).to_string())
                    .bind(opened.now)
                    .execute(&mut **conn)
                    .await?;
                    sqlx::query(
                        "INSERT INTO completions (case_id, milestone_id, agency_id, \
                         completed_on, recorded_by, recorded_at, note) \
                         SELECT value ->> 0, $2, $3, value ->> 1, $4, $5, $6 FROM json_each($1)",
                    )
                    .bind(serde_json::Value::Array(day0s).to_string())
                    .bind(opened.day0_milestone)
                    .bind(NO_AGENCY)
                    .bind(opened.actor)
                    .bind(opened.now)
                    .bind(opened.day0_note)
                    .execute(&mut **conn)
                    .await?;
                    sqlx::query(
                        "INSERT INTO audit_log (case_id, at, actor, action, detail) \
                         SELECT value ->> 0, $2, $3, 'open', value ->> 1 FROM json_each($1)",
                    )
                    .bind(serde_json::Value::Array(audits).to_string())
                    .bind(opened.now)
                    .bind(opened.actor)
                    .execute(&mut **conn)
                    .await?;
                }
            }
            Inner::Postgres(conn) => {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT nextval(pg_get_serial_sequence('cases', 'id')) \
                     FROM generate_series(1, $1)",
                )
                .bind(count)
                .fetch_all(&mut **conn)
                .await?;
                sqlx::query(
                    "INSERT INTO cases (id, reference, aware_on, day0_on, status, \
                     local_review_proposed, created_at, updated_at, revision) \
                     OVERRIDING SYSTEM VALUE \
                     SELECT id, reference, aware, day0, 'open', proposed, $6, $6, $7 \
                     FROM unnest($1::bigint[], $2::text[], $3::date[], $4::date[], \
                     $5::boolean[]) AS c (id, reference, aware, day0, proposed)",
                )
                .bind(&ids)
                .bind(
                    cases
                        .iter()
                        .map(|c| c.case.reference.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(cases.iter().map(|c| c.case.aware).collect::<Vec<_>>())
                .bind(cases.iter().map(|c| c.case.day0).collect::<Vec<_>>())
                .bind(
                    cases
                        .iter()
                        .map(|c| c.case.local_review_proposed)
                        .collect::<Vec<_>>(),
                )
                .bind(opened.dated)
                .bind(revision)
                .execute(&mut **conn)
                .await?;
                let (agency_cases, agencies): (Vec<i64>, Vec<&str>) = ids
                    .iter()
                    .zip(cases)
                    .flat_map(|(id, c)| c.agencies.iter().map(|a| (*id, a.as_str())))
                    .unzip();
                sqlx::query(
                    "INSERT INTO case_agencies (case_id, agency_id, added_at) \
                     SELECT case_id, agency_id, $3 \
                     FROM unnest($1::bigint[], $2::text[]) AS a (case_id, agency_id)",
                )
                .bind(&agency_cases)
                .bind(&agencies)
                .bind(opened.now)
                .execute(&mut **conn)
                .await?;
                let (day0_cases, day0s): (Vec<i64>, Vec<NaiveDate>) = ids
                    .iter()
                    .zip(cases)
                    .filter_map(|(id, c)| c.case.day0.map(|day0| (*id, day0)))
                    .unzip();
                sqlx::query(
                    "INSERT INTO completions (case_id, milestone_id, agency_id, completed_on, \
                     recorded_by, recorded_at, note) \
                     SELECT case_id, $3, $4, completed_on, $5, $6, $7 \
                     FROM unnest($1::bigint[], $2::date[]) AS m (case_id, completed_on)",
                )
                .bind(&day0_cases)
                .bind(&day0s)
                .bind(opened.day0_milestone)
                .bind(NO_AGENCY)
                .bind(opened.actor)
                .bind(opened.now)
                .bind(opened.day0_note)
                .execute(&mut **conn)
                .await?;
                sqlx::query(
                    "INSERT INTO audit_log (case_id, at, actor, action, detail) \
                     SELECT case_id, $3, $4, 'open', detail \
                     FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY \
                     AS e (case_id, detail, n) ORDER BY n",
                )
                .bind(&ids)
                .bind(cases.iter().map(|c| c.detail.as_str()).collect::<Vec<_>>())
                .bind(opened.now)
                .bind(opened.actor)
                .execute(&mut **conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// The lock file serialising migrations of an SQLite database file (`None` in memory).
/// Fills in the lookup hash of log rows that migration 0004 copied (SQLite has no SHA-256 to do
/// it in SQL); a few thousand rows per transaction. Costs one empty index probe once done.
async fn hash_copied_log_keys(pool: &SqlitePool) -> Result<(), StoreError> {
    loop {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, key FROM notification_log WHERE key_hash IS NULL ORDER BY id LIMIT 5000",
        )
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        for (id, key) in rows {
            sqlx::query("UPDATE notification_log SET key_hash = $1 WHERE id = $2")
                .bind(log::key_hash(&key))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
}

fn sqlite_migration_lock(pool: &SqlitePool) -> Option<PathBuf> {
    sqlite_side_file(pool, "migrate-lock")
}

/// `<database file>.<suffix>` beside an SQLite database, or `None` for an in-memory one.
fn sqlite_side_file(pool: &SqlitePool, suffix: &str) -> Option<PathBuf> {
    let file = pool.connect_options().get_filename().to_owned();
    let name = file.file_name()?.to_string_lossy().into_owned();
    (!name.is_empty() && name != ":memory:")
        .then(|| file.with_file_name(format!("{name}.{suffix}")))
}

/// Waits for an exclusive lock on `path` (created if missing), off the async threads.
async fn lock_file(path: &Path) -> Result<std::fs::File, StoreError> {
    let (path, path_for_error) = (path.to_owned(), path.to_owned());
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .expect("the lock task does not panic")
    .map_err(|reason| StoreError::MigrationLock {
        path: path_for_error,
        reason,
    })
}
