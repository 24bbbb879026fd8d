//! A database of a test's own: an SQLite file in a temporary folder, or a database created on
//! the tests' PostgreSQL server and dropped at the end.
//!
//! PostgreSQL comes from `RRN_TEST_POSTGRES_URL` (set by `.ci/run`), or without it from the
//! server on [`DEFAULT_POSTGRES_URL`] where one answers; each test creates its own database, so
//! tests run in parallel. With no server a PostgreSQL test is reported ignored with the reason,
//! except under `CI=true`, where it fails ([`with_postgres`]).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use libtest_mimic::{Completion, Failed};

use super::block_on;

/// The PostgreSQL server the tests use when `RRN_TEST_POSTGRES_URL` is unset.
pub(crate) const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Where [`DEFAULT_POSTGRES_URL`] answers.
const DEFAULT_POSTGRES_ADDRESS: &str = "127.0.0.1:5432";

/// A database of its own for one test, and a temporary folder beside it; a PostgreSQL one is
/// dropped at the end.
pub(crate) struct TestDb {
    /// The database's URL, for `RRN_DATABASE__URL` or `Store::connect`.
    pub url: String,
    dir: tempfile::TempDir,
    /// For a PostgreSQL database: the URL of the server's database it was created from, and its
    /// name.
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// An SQLite file (not yet created) in a new temporary folder.
    pub(crate) fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            url: format!("sqlite://{}", dir.path().join("state/rrn.db").display()),
            dir,
            postgres: None,
        }
    }

    /// A new database on the server of `base` (the URL of one of its databases).
    pub(crate) fn postgres(base: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "rrn_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        block_on(async {
            use sqlx::Connection as _;
            let mut admin = sqlx::PgConnection::connect(base).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .unwrap();
        });
        let (head, tail) = base.rsplit_once('/').expect("a URL with a database");
        let query = tail
            .split_once('?')
            .map_or(String::new(), |(_, q)| format!("?{q}"));
        Self {
            url: format!("{head}/{name}{query}"),
            dir,
            postgres: Some((base.to_owned(), name)),
        }
    }

    /// Another new database on the same backend (and server) as this one.
    pub(crate) fn another(&self) -> Self {
        match &self.postgres {
            Some((base, _)) => Self::postgres(base),
            None => Self::sqlite(),
        }
    }

    /// Whether this is a PostgreSQL database.
    pub(crate) fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The test's temporary folder.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = self.postgres.take() {
            // On a thread of its own: the drop may happen inside a test's runtime.
            let _ = std::thread::spawn(move || {
                block_on(async {
                    use sqlx::Connection as _;
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&base).await {
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut admin)
                        .await;
                    }
                })
            })
            .join();
        }
    }
}

/// Runs a PostgreSQL test with a database of its own on the tests' server, or says why it does
/// not run. The test may itself decide it cannot run (`Completion::Ignored`, with the reason).
///
/// The server is `RRN_TEST_POSTGRES_URL`; a URL given there that does not connect fails the
/// test (it was asked for). Without the variable it is [`DEFAULT_POSTGRES_URL`] where a server
/// answers there; where none does, the test is ignored with the reason, except under `CI=true`,
/// where it fails. The server is looked for once, by the first test that needs it (so `--list`
/// and a filter that leaves out the PostgreSQL tests never look).
pub(crate) fn with_postgres(
    test: impl FnOnce(&TestDb) -> Completion,
) -> Result<Completion, Failed> {
    static SERVER: std::sync::OnceLock<Result<String, Absent>> = std::sync::OnceLock::new();
    match SERVER.get_or_init(find_postgres) {
        Ok(base) => Ok(test(&TestDb::postgres(base))),
        Err(Absent::Ignore(reason)) if std::env::var("CI").as_deref() != Ok("true") => {
            Ok(Completion::ignored_with(reason))
        }
        Err(Absent::Ignore(reason)) => {
            Err(format!("CI=true, so the PostgreSQL tests must run, but {reason}").into())
        }
        Err(Absent::Fail(reason)) => Err(reason.as_str().into()),
    }
}

/// Why there is no server for the PostgreSQL tests.
enum Absent {
    /// None was asked for and none answered at the default address.
    Ignore(String),
    /// The one asked for (`RRN_TEST_POSTGRES_URL`) did not connect.
    Fail(String),
}

fn find_postgres() -> Result<String, Absent> {
    match std::env::var("RRN_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => match connect(&url) {
            Ok(()) => Ok(url),
            // The URL is not shown: it may hold a password.
            Err(error) => Err(Absent::Fail(format!(
                "RRN_TEST_POSTGRES_URL is set but does not connect: {error}"
            ))),
        },
        _ => {
            let address = DEFAULT_POSTGRES_ADDRESS.parse().unwrap();
            let timeout = std::time::Duration::from_secs(1);
            if std::net::TcpStream::connect_timeout(&address, timeout).is_err() {
                return Err(Absent::Ignore(format!(
                    "no PostgreSQL server answered on {DEFAULT_POSTGRES_ADDRESS}: set \
                     RRN_TEST_POSTGRES_URL"
                )));
            }
            match connect(DEFAULT_POSTGRES_URL) {
                Ok(()) => Ok(DEFAULT_POSTGRES_URL.to_owned()),
                Err(error) => Err(Absent::Ignore(format!(
                    "a server answered on {DEFAULT_POSTGRES_ADDRESS} but \
                     {DEFAULT_POSTGRES_URL} does not connect ({error}): set \
                     RRN_TEST_POSTGRES_URL"
                ))),
            }
        }
    }
}

/// A real connection to `url`, given at most 10 seconds.
fn connect(url: &str) -> Result<(), String> {
    use sqlx::Connection as _;
    block_on(async {
        let connecting = sqlx::PgConnection::connect(url);
        match tokio::time::timeout(std::time::Duration::from_secs(10), connecting).await {
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
                Ok(())
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("no answer in 10 s".to_owned()),
        }
    })
}
