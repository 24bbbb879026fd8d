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

/// How long the first connection to PostgreSQL may take before a command says it cannot reach
/// the server.
const POSTGRES_CONNECT_TIMEOUT: Duration = Duration::from_secs(4);

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

pub use accounts::{AccountId, StoredAccount, StoredSession, Throttle};
pub use amend::FailedRow;
pub use cases::NewCase;
pub use import::{NewCaseRows, Opened};
pub use log::LogEntry;
pub use outbox::{Cancel, Claimed, OutboxCounts, OutboxKind, OutboxRow, OutboxStatus, Waiting};
pub use queue::{Batch, NewEmail};
pub use restore::RestoredCase;
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
    #[error(
        "cannot connect to PostgreSQL at {host}:{port}, database `{database}`: {reason}. Check \
         that the server runs and listens there (`pg_isready -h {host} -p {port}`), that \
         [database] url (or --database) names the right host, port and database, and that \
         the database exists and the user may connect (pg_hba.conf, the password)"
    )]
    PostgresUnreachable {
        host: String,
        port: u16,
        database: String,
        /// The server's or the network's answer, or that none came in time.
        reason: String,
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
    #[error(
        "the database {} is missing or empty, but {} shows it was opened here before: restore \
         it from a backup (`rrn backup FILE` makes one) and start again; to begin with an \
         empty database on purpose, delete {}",
        database.display(), marker.display(), marker.display()
    )]
    Vanished { database: PathBuf, marker: PathBuf },
    /// Root asked for a database that another user owns (the file, or the folder it is in).
    #[error(
        "{} belongs to the user {owner}, and rrn is running as root: files root makes beside the \
         database (its write-ahead log, lock files) would stop the service; run the command as \
         that user (`sudo -u {owner} rrn …`), or add --allow-root (RRN_ALLOW_ROOT=1) to do it \
         as root on purpose",
        path.display()
    )]
    NotRoots { path: PathBuf, owner: String },
    /// Root would create the database in the service's state folder, which does not exist yet.
    #[error(
        "{} does not exist yet, and rrn is running as root: it is the service's state folder, \
         which systemd creates for the user {SERVICE_USER} when the service starts, and a \
         root-owned one would stop the service; run the command as that user (`sudo -u \
         {SERVICE_USER} env STATE_DIRECTORY={} rrn …`) once the service has started, set \
         [database] url, or add --allow-root (RRN_ALLOW_ROOT=1) to do it as root on purpose",
        folder.display(), folder.display()
    )]
    ServiceFolderMissing { folder: PathBuf },
    /// What was asked does not apply to this backend.
    #[error("{0}")]
    Unsupported(String),
}

/// The user the packaged service runs as (deploy/rapid-review-notifier.sysusers).
const SERVICE_USER: &str = "rapid-review-notifier";

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
mod accounts;
mod amend;
mod cases;
mod import;
mod leadership;
mod log;
mod outbox;
mod owner;
mod queue;
mod report;
mod restore;
mod revision;
mod rules;
mod runs;

pub use leadership::{LeadError, LeaderRecord, Leadership};
pub use owner::{RootGuard, guard_root};
pub use rules::RulesUsed;

/// `count` new ids from the identity sequence of `table`'s `id`, in one round trip, so that
/// rows written in bulk can be named before they are inserted.
async fn next_ids_postgres(
    conn: &mut sqlx::PgConnection,
    table: &str,
    count: usize,
) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
    )
    .bind(table)
    .bind(count as i64)
    .fetch_all(conn)
    .await?)
}

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

    /// The file an SQLite URL names (`None` for PostgreSQL, an in-memory database or a URL
    /// that does not parse): for commands that must not create the database they read.
    pub fn sqlite_file(url: &str) -> Option<PathBuf> {
        if scheme(url) != "sqlite" {
            return None;
        }
        let options = SqliteConnectOptions::from_str(url).ok()?;
        let file = options.get_filename();
        (!file.as_os_str().is_empty() && !file.to_string_lossy().starts_with(':'))
            .then(|| file.to_owned())
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
                // A database opened here before and now gone is not created again, empty.
                let file = options.get_filename();
                if let Some(marker) = side_file(file, "migrate-lock")
                    && marker.exists()
                    && !file.exists()
                {
                    let database = file.to_owned();
                    return Err(StoreError::Vanished { database, marker });
                }
                owner::check(file)?;
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
                // One connection first, bounded: a closed port or a wrong database is said at
                // once, with where it looked, instead of after the pool's acquire timeout.
                let unreachable = |reason: String| StoreError::PostgresUnreachable {
                    host: options.get_host().to_owned(),
                    port: options.get_port(),
                    database: options
                        .get_database()
                        .unwrap_or("(the user's name)")
                        .to_owned(),
                    reason,
                };
                let probe = tokio::time::timeout(
                    POSTGRES_CONNECT_TIMEOUT,
                    <sqlx::PgConnection as sqlx::Connection>::connect_with(&options),
                );
                match probe.await {
                    Err(_) => {
                        return Err(unreachable(format!(
                            "no answer within {} s",
                            POSTGRES_CONNECT_TIMEOUT.as_secs()
                        )));
                    }
                    Ok(Err(e)) => return Err(unreachable(e.to_string())),
                    Ok(Ok(probe)) => {
                        let _ = sqlx::Connection::close(probe).await;
                    }
                }
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
    /// Returns the migrations it applied (`0011 folded references`), none when up to date.
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let before = self.applied_migrations().await?;
        match self {
            Store::Sqlite(pool) => {
                let marker = sqlite_migration_lock(pool);
                // The lock file stays beside the database once it has been opened: a database
                // found empty beside it was lost (deleted, or its write-ahead log deleted), and
                // must not silently start again empty.
                let opened_before = marker.as_ref().is_some_and(|path| path.exists());
                let _lock = match &marker {
                    Some(path) => Some(lock_file(path).await?),
                    None => None,
                };
                if opened_before && !has_migrations(pool).await? {
                    let database = pool.connect_options().get_filename().to_owned();
                    return Err(StoreError::Vanished {
                        database,
                        marker: marker.expect("opened before"),
                    });
                }
                sqlx::migrate!("migrations/sqlite").run(pool).await?;
                hash_copied_log_keys(pool).await?;
            }
            Store::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        let after = self.applied_migrations().await?;
        Ok(after
            .into_iter()
            .filter(|m| !before.contains(m))
            .map(|(version, description)| format!("{version:04} {description}"))
            .collect())
    }

    /// The migrations the database records as applied, oldest first (none on a new one).
    async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        const APPLIED: &str =
            "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version";
        Ok(match self {
            Store::Sqlite(pool) => {
                if !has_migrations(pool).await? {
                    return Ok(Vec::new());
                }
                sqlx::query_as(APPLIED).fetch_all(pool).await?
            }
            Store::Postgres(pool) => {
                let exists: bool =
                    sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                        .fetch_one(pool)
                        .await?;
                if !exists {
                    return Ok(Vec::new());
                }
                sqlx::query_as(APPLIED).fetch_all(pool).await?
            }
        })
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
}

enum Inner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// One write transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx(Inner);

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

/// Whether the SQLite database has had migrations applied: a database that was never opened
/// has not.
async fn has_migrations(pool: &SqlitePool) -> Result<bool, StoreError> {
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await?;
    Ok(tables > 0)
}

/// `<database file>.<suffix>` beside an SQLite database, or `None` for an in-memory one.
fn sqlite_side_file(pool: &SqlitePool, suffix: &str) -> Option<PathBuf> {
    side_file(pool.connect_options().get_filename(), suffix)
}

/// `<file>.<suffix>`, or `None` for an in-memory database.
fn side_file(file: &Path, suffix: &str) -> Option<PathBuf> {
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
