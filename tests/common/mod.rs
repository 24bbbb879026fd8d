//! What the test areas share: the `rrn` command, the shipped config, the Christmas sample case,
//! a private certificate authority, and (in the submodules) the PostgreSQL and SQLite test
//! databases and the SMTP test server.

pub(crate) mod db;
pub(crate) mod smtp;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;

/// The repository's example config, with its bank-holiday file, timeline and templates beside it.
pub(crate) const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/rrn.toml");

/// `rrn` with every `RRN_*` variable of the test process removed from its environment, so the
/// machine's settings cannot leak into a test. A test gives its own settings to the command
/// (`Command::env`), never to the test process: the tests share one process.
pub(crate) fn rrn_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rrn"));
    // The listings' tables wrap at `$COLUMNS`: the tests' expected lines are at the default.
    command.env_remove("COLUMNS");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("RRN_") {
            command.env_remove(name);
        }
    }
    command
}

/// `args` with `--rehearse` added when they date a change or a run with `--at`: a test's
/// database is a throwaway, and its fixed dates may be ahead of the real clock.
pub(crate) fn rehearsing<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut args = args.to_vec();
    let writes = matches!(args.first(), Some(&"case") | Some(&"run"))
        && !matches!(args.get(1), Some(&"show") | Some(&"list") | Some(&"export"));
    if writes && args.contains(&"--at") {
        args.push("--rehearse");
    }
    args
}

/// A `YYYY-MM-DD` date.
pub(crate) fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Runs `future` to its end on a runtime of its own (the tests are not async).
pub(crate) fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A header's value in a received message, unfolded (long headers continue on lines that start
/// with a space or a tab).
pub(crate) fn header(message: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}: ");
    let mut lines = message.lines().skip_while(|l| !l.starts_with(&prefix));
    let mut value = lines.next()?.strip_prefix(&prefix)?.to_owned();
    for line in lines.take_while(|l| l.starts_with(' ') || l.starts_with('\t')) {
        value.push(' ');
        value.push_str(line.trim_start());
    }
    Some(value)
}

/// The Christmas 2026 case, the tests' running example: the local authority became aware on
/// Wednesday 16 December 2026, the Ofsted notification (day 0) went on Monday 21st, and three
/// agencies (police, health, education) are involved. 25 and 28 December and 1 January are bank
/// holidays, so day 10 is Thursday 7 January 2027 and day 16 Friday 15 January.
pub(crate) mod christmas {
    /// Its reference.
    pub(crate) const CASE: &str = "RR-2026-014";

    /// `rrn case open` of it on its day 0, with both dates (add an actor and `--rehearse` as
    /// the test needs).
    pub(crate) const OPEN: [&str; 15] = [
        "case",
        "open",
        CASE,
        "--aware",
        "2026-12-16",
        "--day0",
        "2026-12-21",
        "--agency",
        "police",
        "--agency",
        "health",
        "--agency",
        "education",
        "--at",
        "2026-12-21",
    ];

    /// What the business team records, each on the day it was done: (day, milestone, agency).
    /// Education's summary, due Thursday 7 January (day 10), arrives on Wednesday 13th, four
    /// working days late; everything else is on time.
    #[rustfmt::skip]
    pub(crate) const COMPLETED: &[(&str, &str, Option<&str>)] = &[
        ("2026-12-21", "ofsted_notification",       None),              // day 0 (due 23 December)
        ("2026-12-22", "business_team_copy",        None),              // day 1, its due day
        ("2026-12-22", "agency_letters",            None),              // day 1, its due day
        ("2026-12-23", "executive_chair_informed",  None),              // day 2 (due day 10)
        ("2027-01-05", "progress_meeting",          None),              // day 8 (due day 10)
        ("2027-01-06", "agency_summary",            Some("police")),    // day 9 (due day 10)
        ("2027-01-07", "agency_summary",            Some("health")),    // day 10, its due day
        ("2027-01-11", "panel_review",              None),              // day 12, its due day
        ("2027-01-11", "summary_and_outcome",       None),              // day 12, its due day
        ("2027-01-13", "agency_summary",            Some("education")), // day 14: 4 days late
        ("2027-01-14", "partner_signoff",           None),              // day 15, its due day
        ("2027-01-14", "final_version",             None),              // day 15, its due day
        ("2027-01-14", "pdg_chair_shared",          None),              // day 15, its due day
        ("2027-01-15", "national_panel_submission", None),              // day 16, its due day
    ];
}

/// A private certificate authority and a server certificate for 127.0.0.1 signed by it, made
/// with the `openssl` command (as a partnership's internal relay would have).
pub(crate) struct PrivateCa {
    /// The authority's certificate, which a client must trust.
    pub ca: PathBuf,
    /// The server's certificate and key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl PrivateCa {
    /// Makes one in `dir`.
    pub(crate) fn new(dir: &Path) -> Self {
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
        Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        }
    }
}
