//! What the daemon needs from the database besides cases and the outbox: being the one instance
//! that plans and delivers, and saying so for `rrn status`.
//!
//! On SQLite that is an exclusive lock on a file beside the database: SQLite serves a single
//! instance, and a second one is refused. On PostgreSQL it is a session-level advisory lock held
//! on a dedicated connection: it goes when the process or its connection dies, and a standby
//! that asks next gets it.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use sqlx::Connection as _;

use super::{Inner, Store, StoreError};

/// The advisory lock key of the leader on PostgreSQL ("rrn" and 1).
const LEADER_LOCK: i64 = 0x0072_726e_0000_0001;

/// The `leader` row: who said last that it leads, and what it refused to reload.
#[derive(Debug, sqlx::FromRow)]
pub struct LeaderRecord {
    /// Host, process id and start time.
    pub instance: String,
    pub since: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
    /// "configuration reload refused at 14:02: …" until a good reload or a restart.
    pub reload_refused: Option<String>,
}

/// Held by the one instance that plans and delivers; dropped, it lets another take over.
pub enum Leadership {
    SqliteFile(std::fs::File),
    Postgres(sqlx::PgConnection),
}

/// Why this process may not lead.
#[derive(Debug, thiserror::Error)]
pub enum LeadError {
    #[error(
        "another rrn process is running on this SQLite database (it holds {0}): SQLite serves \
         one instance; to run several, use PostgreSQL ([database] url = \"postgres://…\")"
    )]
    SqliteBusy(PathBuf),
    #[error("cannot lock {path}: {reason}")]
    SqliteLock {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Tries to become the instance that plans and delivers. On PostgreSQL `Ok(None)` means
    /// another instance leads (wait and ask again); on SQLite that is an error, since a second
    /// instance is never right there.
    pub async fn try_lead(&self) -> Result<Option<Leadership>, LeadError> {
        match self {
            Store::Sqlite(pool) => {
                let Some(path) = super::sqlite_side_file(pool, "run-lock") else {
                    // In memory: no other process can open this database.
                    let file = pool.connect_options().get_filename().to_owned();
                    return Ok(Some(Leadership::SqliteFile(tempfile::tempfile().map_err(
                        |reason| LeadError::SqliteLock { path: file, reason },
                    )?)));
                };
                let lock = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|reason| LeadError::SqliteLock {
                        path: path.clone(),
                        reason,
                    })?;
                match lock.try_lock() {
                    Ok(()) => Ok(Some(Leadership::SqliteFile(lock))),
                    Err(std::fs::TryLockError::WouldBlock) => Err(LeadError::SqliteBusy(path)),
                    Err(std::fs::TryLockError::Error(reason)) => {
                        Err(LeadError::SqliteLock { path, reason })
                    }
                }
            }
            Store::Postgres(pool) => {
                let options = pool.connect_options();
                let connect = sqlx::PgConnection::connect_with(&options);
                let mut connection =
                    match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await {
                        Ok(connection) => connection.map_err(StoreError::from)?,
                        // Unreachable: not the leader, ask again at the next poll.
                        Err(_) => return Ok(None),
                    };
                // The server drops this session, and with it the lock, within about 25 s of
                // this host going silent, so a standby can take over when the leader's machine
                // dies or is cut off (the system default is two hours).
                sqlx::raw_sql(
                    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
                     SET tcp_keepalives_count = 3",
                )
                .execute(&mut connection)
                .await
                .map_err(StoreError::from)?;
                let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(LEADER_LOCK)
                    .fetch_one(&mut connection)
                    .await
                    .map_err(StoreError::from)?;
                Ok(locked.then_some(Leadership::Postgres(connection)))
            }
        }
    }

    /// Records that `instance` leads (called by the leader on each loop), with the reload it
    /// refused since it started, if any.
    pub async fn record_leader(
        &self,
        instance: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        reload_refused: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO leader (id, instance, since, seen_at, reload_refused) \
                 VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE \
                 SET instance = $1, since = $2, seen_at = $3, reload_refused = $4",
            )
            .bind(instance)
            .bind(since)
            .bind(now)
            .bind(reload_refused)
            .execute(&mut **conn)
            .await?;
        });
        tx.commit().await
    }

    /// The instance that last said it leads.
    pub async fn leader(&self) -> Result<Option<LeaderRecord>, StoreError> {
        let mut tx = self.read().await?;
        let row = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_as(
                "SELECT instance, since, seen_at, reload_refused FROM leader WHERE id = 1",
            )
                .fetch_optional(&mut **conn)
                .await?
        });
        tx.rollback().await?;
        Ok(row)
    }
}

impl Leadership {
    /// Whether the lock is still ours: a PostgreSQL session lock goes with its connection.
    pub async fn still_held(&mut self) -> bool {
        match self {
            Leadership::SqliteFile(_) => true,
            Leadership::Postgres(connection) => {
                matches!(
                    tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&mut *connection),
                    )
                    .await,
                    Ok(Ok(1))
                )
            }
        }
    }
}
