//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `rrn` with every `RRN_*` variable of the test process removed from its environment, so the
/// machine's settings cannot leak into a test.
pub fn rrn_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rrn"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RRN_") {
            command.env_remove(name);
        }
    }
    command
}

/// `args` with `--rehearse` added when they date a change or a run with `--at`: a test's
/// database is a throwaway, and its fixed dates may be ahead of the real clock.
#[allow(dead_code)] // not every test crate writes with --at
pub fn rehearsing<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut args = args.to_vec();
    let writes = matches!(args.first(), Some(&"case") | Some(&"run"))
        && !matches!(args.get(1), Some(&"show") | Some(&"list") | Some(&"export"));
    if writes && args.contains(&"--at") {
        args.push("--rehearse");
    }
    args
}

/// A private certificate authority and a server certificate for 127.0.0.1 signed by it, made
/// with the `openssl` command (as a partnership's internal relay would have).
#[allow(dead_code)] // not every test crate makes certificates
pub fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=rrn test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// The PostgreSQL server the tests use when `RRN_TEST_POSTGRES_URL` is unset.
#[allow(dead_code)] // only the crates with PostgreSQL tests use it
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Where [`DEFAULT_POSTGRES_URL`] answers.
#[allow(dead_code)]
const DEFAULT_POSTGRES_ADDRESS: &str = "127.0.0.1:5432";

/// Runs a PostgreSQL test with the base URL of the tests' server (each test makes a database of
/// its own on it), or says why it does not run.
///
/// The server is `RRN_TEST_POSTGRES_URL`; a URL given there that does not connect fails the
/// test (it was asked for). Without the variable it is [`DEFAULT_POSTGRES_URL`] where a server
/// answers there; where none does, the test is ignored with the reason, except under `CI=true`,
/// where it fails. The server is looked for once per test binary, by the first test that needs
/// it (so `--list` and a filter that leaves out the PostgreSQL tests never look).
#[allow(dead_code)]
pub fn with_postgres(
    test: impl FnOnce(&str),
) -> Result<libtest_mimic::Completion, libtest_mimic::Failed> {
    static SERVER: std::sync::OnceLock<Result<String, Absent>> = std::sync::OnceLock::new();
    match SERVER.get_or_init(find_postgres) {
        Ok(base) => {
            test(base);
            Ok(libtest_mimic::Completion::Completed)
        }
        Err(Absent::Ignore(reason)) if std::env::var("CI").as_deref() != Ok("true") => {
            Ok(libtest_mimic::Completion::ignored_with(reason))
        }
        Err(Absent::Ignore(reason)) => {
            Err(format!("CI=true, so the PostgreSQL tests must run, but {reason}").into())
        }
        Err(Absent::Fail(reason)) => Err(reason.as_str().into()),
    }
}

/// Why there is no server for the PostgreSQL tests.
#[allow(dead_code)]
enum Absent {
    /// None was asked for and none answered at the default address.
    Ignore(String),
    /// The one asked for (`RRN_TEST_POSTGRES_URL`) did not connect.
    Fail(String),
}

#[allow(dead_code)]
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
#[allow(dead_code)]
fn connect(url: &str) -> Result<(), String> {
    use sqlx::Connection as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
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
