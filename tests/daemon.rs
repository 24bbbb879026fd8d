//! `rrn run`, the daemon, as a real process on SQLite with a real SMTP server on 127.0.0.1:
//! it picks up a change made with the CLI within seconds, refuses a second instance, reloads
//! on SIGHUP (keeping the old config when the new one is invalid), serves /healthz and
//! /metrics, stops cleanly on SIGTERM, and never logs the SMTP password or an address.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use common::smtp::SmtpServer;
use common::{PrivateCa, rrn_command};

trials!(
    the_daemon_picks_up_changes_reloads_on_sighup_stops_on_sigterm_and_logs_no_secrets,
    json_logs_are_one_object_per_line,
    systemd_hears_ready_status_watchdog_and_stopping,
    a_refused_reload_leads_the_status_line_and_rrn_status_until_a_good_one,
    a_notify_socket_nobody_reads_never_stalls_the_daemon,
    at_start_the_daemon_catches_up_a_scheduled_run_it_missed_and_only_that,
    a_run_over_many_cases_feeds_the_watchdog_between_pages,
    after_each_run_the_database_file_holds_it_without_its_write_ahead_log,
);

const PASSWORD: &str = "s3cret-Daemon-Passw0rd";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A GET over a plain socket: (status code, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

/// A copy of the shipped config folder, so a test can break and mend it.
fn config_copy(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let target = dir.join("config");
    std::fs::create_dir_all(target.join("templates")).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, target.join(path.file_name().unwrap())).unwrap();
        }
    }
    for entry in std::fs::read_dir(source.join("templates")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            target.join("templates").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    target.join("rrn.toml")
}

/// Every address in the shipped config.
fn configured_addresses() -> Vec<String> {
    let text = std::fs::read_to_string(common::CONFIG).unwrap();
    text.split(['"', '<', '>', ' '])
        .filter(|w| w.contains('@') && w.contains('.') && !w.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    env: Vec<(String, String)>,
}

impl Setup {
    /// The shipped config with an SQLite database and a maildir in `dir`, and `extra` variables.
    fn embedded(dir: tempfile::TempDir, extra: Vec<(&str, String)>) -> Self {
        let mut env = vec![
            (
                "RRN_DATABASE__URL".to_owned(),
                format!("sqlite://{}", dir.path().join("rrn.db").display()),
            ),
            (
                "RRN_MAIL__MAILDIR".to_owned(),
                dir.path().join("maildir").display().to_string(),
            ),
        ];
        env.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
        Self {
            config: PathBuf::from(common::CONFIG),
            env,
            dir,
        }
    }

    fn rrn(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = rrn_command();
        command
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--config")
            .arg(&self.config)
            .args(args);
        command
    }

    fn start(&self, name: &str) -> Daemon {
        let log = self.dir.path().join(format!("{name}.log"));
        let child = self
            .command(&["run"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn outbox(&self) -> Vec<serde_json::Value> {
        let output = self.rrn(&["outbox", "list", "--format", "json"]);
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

fn the_daemon_picks_up_changes_reloads_on_sighup_stops_on_sigterm_and_logs_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    // STARTTLS with a private CA's certificate, and AUTH PLAIN.
    let ca = PrivateCa::new(dir.path());
    let (mailbox, smtp_port) = SmtpServer::default()
        .with_auth("rrn", PASSWORD)
        .with_starttls(&ca)
        .start();
    let http_port = free_port();
    let config = config_copy(dir.path());
    let env = [
        (
            "RRN_DATABASE__URL",
            format!("sqlite://{}", dir.path().join("rrn.db").display()),
        ),
        ("RRN_MAIL__TRANSPORT", "smtp".to_owned()),
        ("RRN_SMTP__HOST", "127.0.0.1".to_owned()),
        ("RRN_SMTP__PORT", smtp_port.to_string()),
        ("RRN_SMTP__TLS", "starttls".to_owned()),
        ("RRN_SMTP__CA_FILE", ca.ca.display().to_string()),
        ("RRN_SMTP__USERNAME", "rrn".to_owned()),
        ("RRN_SMTP_PASSWORD", PASSWORD.to_owned()),
        ("RRN_MAIL__WINDOW_START", "00:00".to_owned()),
        ("RRN_MAIL__WINDOW_END", "23:59".to_owned()),
        ("RRN_SCHEDULE__POLL_SECONDS", "1".to_owned()),
        ("RRN_SERVICE__HTTP_PORT", http_port.to_string()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    let setup = Setup {
        dir,
        config,
        env: env.to_vec(),
    };

    let daemon = setup.start("first");
    wait_for("READY", Duration::from_secs(20), || {
        daemon.log().contains("ready in")
    });
    assert!(daemon.log().contains("leading"), "{}", daemon.log());
    wait_for("the first run", Duration::from_secs(20), || {
        daemon.log().contains("first run")
    });
    // The run is logged before its delivery pass ends and the health is recorded: on a busy
    // machine /healthz may still say "no run has completed yet" for a moment.
    wait_for("/healthz to answer 200", Duration::from_secs(20), || {
        http_get(http_port, "/healthz").0 == 200
    });

    // A second daemon on the same SQLite file is refused, and told why.
    let second = setup.rrn(&["run"]);
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("SQLite serves one instance") && stderr.contains("PostgreSQL"),
        "{stderr}"
    );
    // So is `run --once` while the daemon runs: two processes would deliver the same rows.
    let once = setup.rrn(&["run", "--once"]);
    assert!(!once.status.success(), "{once:?}");

    // A case opened with the CLI is evaluated within seconds, not at the next scheduled run:
    // the Executive Chair hears that a Rapid Review has started (on day 0, given here).
    let opened = setup.rrn(&[
        "case",
        "open",
        "RR-2026-101",
        "--aware",
        &chrono::Utc::now().date_naive().to_string(),
        "--day0",
        &chrono::Utc::now().date_naive().to_string(),
        "--agency",
        "police",
        "--agency",
        "health",
    ]);
    assert!(opened.status.success(), "{opened:?}");
    let picked_up = wait_for("the change to be queued", Duration::from_secs(30), || {
        setup
            .outbox()
            .iter()
            .any(|row| row["case"] == "RR-2026-101")
    });
    eprintln!("change picked up and queued after {picked_up:?}");
    assert!(picked_up < Duration::from_secs(60));
    wait_for(
        "the change to be evaluated",
        Duration::from_secs(10),
        || daemon.log().contains("cases changed"),
    );
    // Delivered over SMTP with AUTH (today is always inside the 00:00-23:59 window on a
    // working day; on a weekend or bank holiday the email waits, as it should).
    // (`between yesterday today` is 1 exactly when today is a working day.)
    let today = chrono::Utc::now().date_naive();
    let working = rrn_command()
        .args([
            "calendar",
            "between",
            &today.pred_opt().unwrap().to_string(),
            &today.to_string(),
        ])
        .output()
        .unwrap();
    if String::from_utf8_lossy(&working.stdout).trim() == "1" {
        wait_for("delivery", Duration::from_secs(20), || {
            mailbox
                .received()
                .iter()
                .any(|(to, _)| to.iter().any(|to| to.contains("executive-chair@")))
        });
    }

    // The daemon logs the evaluation, delivers, and only then takes the figures /metrics shows.
    // Up to 10 s for them, then the figures as they are.
    let deadline = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let (status, metrics) = http_get(http_port, "/metrics");
        assert_eq!(status, 200);
        if metrics.lines().any(|l| l == "rrn_open_cases 1") || Instant::now() > deadline {
            break metrics;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for line in ["rrn_leader 1", "rrn_open_cases 1", "rrn_up 1"] {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }
    assert!(
        metrics.contains("rrn_emails{status=\"pending\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rrn_seconds_since_last_successful_run"),
        "{metrics}"
    );

    // SIGHUP with a broken config: refused and logged, the old one stays in force.
    let good = std::fs::read_to_string(&setup.config).unwrap();
    std::fs::write(&setup.config, good.replace("[mail]", "[mail]\nbogus = 1")).unwrap();
    daemon.signal("HUP");
    wait_for("the refusal", Duration::from_secs(10), || {
        daemon.log().contains("keeping the old one")
    });
    assert!(daemon.log().contains("bogus"), "{}", daemon.log());
    assert_eq!(http_get(http_port, "/healthz").0, 200);
    std::fs::write(&setup.config, good).unwrap();
    daemon.signal("HUP");
    wait_for("the reload", Duration::from_secs(10), || {
        daemon.log().contains("configuration reloaded")
    });

    // SIGTERM: exit 0 well within 10 s.
    let mut daemon = daemon;
    daemon.signal("TERM");
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    eprintln!("stopped {:?} after SIGTERM", stopping.elapsed());

    // The log says what happened without a secret or an address in it.
    let log = daemon.log();
    assert!(
        log.contains("evaluated") && log.contains("stopping"),
        "{log}"
    );
    assert!(!log.contains(PASSWORD), "the SMTP password is in the log");
    for address in configured_addresses() {
        assert!(!log.contains(&address), "{address} is in the log:\n{log}");
    }
    assert!(!log.contains('@') || !log.contains(".example"), "{log}");
}

/// The write-ahead log is checkpointed after each run: a copy of the main file alone (a backup
/// that left the `-wal` out, a log deleted by hand) still holds the case and the run.
fn after_each_run_the_database_file_holds_it_without_its_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::embedded(dir, vec![("RRN_SCHEDULE__POLL_SECONDS", "1".to_owned())]);
    let mut daemon = setup.start("checkpoint");
    wait_for("the first run", Duration::from_secs(20), || {
        daemon.log().contains("evaluated")
    });
    let today = chrono::Utc::now().date_naive().to_string();
    let opened = setup.rrn(&[
        "case",
        "open",
        "RR-2026-401",
        "--aware",
        &today,
        "--agency",
        "police",
    ]);
    assert!(opened.status.success(), "{opened:?}");
    wait_for("the run for the new case", Duration::from_secs(20), || {
        daemon.log().matches("evaluated").count() >= 2
    });
    // Copied while the daemon still runs, without the -wal file beside it.
    let copy = setup.dir.path().join("copy.db");
    std::fs::copy(setup.dir.path().join("rrn.db"), &copy).unwrap();
    let copied = rrn_command()
        .env("RRN_DATABASE__URL", format!("sqlite://{}", copy.display()))
        .args([
            "--config",
            common::CONFIG,
            "case",
            "list",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(copied.status.success(), "{copied:?}");
    let listed = String::from_utf8_lossy(&copied.stdout);
    assert!(listed.contains("RR-2026-401"), "{listed}");
    daemon.signal("TERM");
    assert!(daemon.child.wait().unwrap().success());
}

fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::embedded(dir, vec![("RRN_SERVICE__LOG_FORMAT", "json".to_owned())]);
    let daemon = setup.start("json");
    wait_for("the first run", Duration::from_secs(20), || {
        daemon.log().contains("first run")
    });
    daemon.signal("TERM");
    let mut daemon = daemon;
    assert!(daemon.child.wait().unwrap().success());
    for line in daemon.log().lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
            panic!("not JSON ({e}): {line}");
        });
        assert!(value["level"].is_string(), "{line}");
    }
}

fn systemd_hears_ready_status_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let setup = Setup::embedded(
        dir,
        vec![
            ("NOTIFY_SOCKET", socket_path.display().to_string()),
            // A 2 s watchdog: the main loop must ping at least every second.
            ("WATCHDOG_USEC", "2000000".to_owned()),
        ],
    );
    let mut daemon = setup.start("notify");
    let mut messages: Vec<String> = Vec::new();
    let receive = |messages: &mut Vec<String>, until: &dyn Fn(&[String]) -> bool| {
        let mut buffer = [0u8; 4096];
        while !until(messages) {
            let n = socket.recv(&mut buffer).expect("a notification in time");
            messages.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
        }
    };
    receive(&mut messages, &|m| m.iter().any(|m| m.contains("READY=1")));
    receive(&mut messages, &|m| {
        m.iter().any(|m| m.starts_with("STATUS=next run "))
            && m.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2
    });
    let status = messages
        .iter()
        .find(|m| m.starts_with("STATUS=next run "))
        .unwrap();
    assert!(
        status.contains("emails pending") && status.contains("failed"),
        "{status}"
    );
    daemon.signal("TERM");
    receive(&mut messages, &|m| {
        m.iter().any(|m| m.contains("STOPPING=1"))
    });
    assert!(daemon.child.wait().unwrap().success());
}

/// Issue 13: `systemctl reload` cannot fail, so a refused reload must show where an
/// administrator looks: the STATUS line of `systemctl status`, and `rrn status`.
fn a_refused_reload_leads_the_status_line_and_rrn_status_until_a_good_one() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let config = config_copy(dir.path());
    let mut setup = Setup::embedded(
        dir,
        vec![("NOTIFY_SOCKET", socket_path.display().to_string())],
    );
    setup.config = config;
    let mut daemon = setup.start("refused");
    let next_status = |what: &str, wanted: &dyn Fn(&str) -> bool| -> String {
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket
                .recv(&mut buffer)
                .unwrap_or_else(|e| panic!("no STATUS {what} in time ({e})"));
            let message = String::from_utf8_lossy(&buffer[..n]).into_owned();
            if let Some(line) = message.lines().find_map(|l| l.strip_prefix("STATUS="))
                && wanted(line)
            {
                return line.to_owned();
            }
        }
    };
    next_status("at start", &|l| l.starts_with("next run "));
    let reload_line = || -> Option<String> {
        let output = setup.rrn(&["status"]);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("reload:"))
            .map(str::to_owned)
    };

    let good = std::fs::read_to_string(&setup.config).unwrap();
    std::fs::write(&setup.config, good.replace("[mail]", "[mail]\nbogus = 1")).unwrap();
    daemon.signal("HUP");
    let refused = next_status("after the refusal", &|l| {
        l.starts_with("configuration reload refused at ")
    });
    // The file, line and column, the old configuration's next run and queue after it.
    assert!(refused.contains("rrn.toml:"), "{refused}");
    assert!(refused.contains("; next run "), "{refused}");
    assert!(!refused.contains('\n'), "{refused}");

    // The file fixed but not yet reloaded: `rrn status` says the daemon still refuses it.
    std::fs::write(&setup.config, &good).unwrap();
    let shown = reload_line().expect("a reload: line in rrn status");
    assert!(
        shown.contains("configuration reload refused at") && shown.contains("previous"),
        "{shown}"
    );

    daemon.signal("HUP");
    next_status("after a good reload", &|l| l.starts_with("next run "));
    wait_for(
        "rrn status without the refusal",
        Duration::from_secs(10),
        || reload_line().is_none(),
    );
    daemon.signal("TERM");
    assert!(daemon.child.wait().unwrap().success());
}

fn a_notify_socket_nobody_reads_never_stalls_the_daemon() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    // Bound but never read: its queue fills after a few datagrams.
    let _socket = UnixDatagram::bind(&socket_path).unwrap();
    let setup = Setup::embedded(
        dir,
        vec![
            ("NOTIFY_SOCKET", socket_path.display().to_string()),
            // Pings every 100 ms: the queue is full within a second.
            ("WATCHDOG_USEC", "200000".to_owned()),
        ],
    );
    let mut daemon = setup.start("stalled");
    wait_for("the first run", Duration::from_secs(20), || {
        daemon.log().contains("first run")
    });
    std::thread::sleep(Duration::from_secs(2));
    daemon.signal("TERM");
    let stopping = Instant::now();
    while daemon.child.try_wait().unwrap().is_none() {
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "stalled on a full notify socket"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The daemon pings the watchdog from the run's progress callback (and between messages of a
/// delivery pass): a run over many cases calls it once a page, so a long run is not taken for a
/// hung one, and a hung one stops calling it.
fn a_run_over_many_cases_feeds_the_watchdog_between_pages() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cases.csv");
    let mut rows = String::from("reference,aware,day0,agencies\n");
    for n in 1..=1_200 {
        rows.push_str(&format!(
            "RR-WD-{n:05},2026-11-16,2026-11-20,police;health\n"
        ));
    }
    std::fs::write(&csv, rows).unwrap();
    let setup = Setup::embedded(dir, vec![]);
    let imported = setup.rrn(&[
        "case",
        "import",
        csv.to_str().unwrap(),
        "--at",
        "2026-11-30",
    ]);
    assert!(imported.status.success(), "{imported:?}");

    let config = rrn::config::Config::load_from(Some(&setup.config), &setup.env).unwrap();
    let url = format!("sqlite://{}", setup.dir.path().join("rrn.db").display());
    let service = rrn::service::Service::load(config, &setup.dir.path().join("maildir")).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
        .unwrap()
        .to_utc();
    let pings = std::sync::atomic::AtomicUsize::new(0);
    let ping = || {
        pings.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let run = common::block_on(async {
        let store = rrn::store::Store::connect(&url).await.unwrap();
        rrn::service::evaluation::run_once(
            &store,
            &service.planner(),
            service.today(now),
            now,
            false,
            Some(&ping),
        )
        .await
        .unwrap()
    });
    assert_eq!(run.cases, 1_200);
    // The first run replans whole histories, 500 cases a page: three pages, three pings.
    let pages =
        1_200usize.div_ceil(rrn::service::evaluation::WHOLE_HISTORY_CASES_PER_PAGE as usize);
    assert!(pings.into_inner() >= pages, "fewer pings than pages");
}

fn at_start_the_daemon_catches_up_a_scheduled_run_it_missed_and_only_that() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::embedded(dir, vec![]);
    // The last run was four days ago: at least one weekday 08:00 passed since (and less than
    // the week after which a restart asks a person to confirm the clock).
    let days_ago = (chrono::Utc::now() - chrono::Duration::days(4)).date_naive();
    let once = setup.rrn(&["run", "--once", "--at", &format!("{days_ago}T07:00")]);
    assert!(once.status.success(), "{once:?}");
    let mut daemon = setup.start("catch-up");
    wait_for("the catch-up run", Duration::from_secs(20), || {
        daemon.log().contains("evaluated")
    });
    assert!(
        daemon.log().contains("catching up the run due at"),
        "{}",
        daemon.log()
    );
    daemon.signal("TERM");
    assert!(daemon.child.wait().unwrap().success());
    // Started again at once, nothing was missed: no run until the schedule or a change says so.
    let mut again = setup.start("no-catch-up");
    wait_for("READY", Duration::from_secs(20), || {
        again.log().contains("ready in")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(!again.log().contains("evaluated"), "{}", again.log());
    again.signal("TERM");
    assert!(again.child.wait().unwrap().success());
    // A case opened while no daemon ran is evaluated as soon as one starts.
    let opened = setup.rrn(&[
        "case",
        "open",
        "RR-2026-301",
        "--aware",
        &chrono::Utc::now().date_naive().to_string(),
        "--agency",
        "police",
    ]);
    assert!(opened.status.success(), "{opened:?}");
    let mut third = setup.start("changed-while-down");
    wait_for("the run for the change", Duration::from_secs(20), || {
        third.log().contains("evaluated")
    });
    assert!(
        third.log().contains("cases changed while no instance led"),
        "{}",
        third.log()
    );
    third.signal("TERM");
    assert!(third.child.wait().unwrap().success());
}

/// libfaketime, where Debian's `faketime` package puts it.
const LIBFAKETIME: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
];

/// The faketime test, reported ignored (with the reason) where libfaketime is missing, except
/// under `CI=true`, where it fails (`.ci/run` installs it).
pub(crate) fn faketime_trials() -> Vec<libtest_mimic::Trial> {
    vec![crate::ignorable_trial(
        crate::test_name(
            module_path!(),
            "a_daemon_whose_wall_clock_jumps_days_ahead_says_so_and_plans_nothing",
        ),
        || {
            let Some(library) = LIBFAKETIME.iter().find(|p| Path::new(p).exists()) else {
                let reason = "libfaketime is not installed (apt-get install faketime)";
                if std::env::var("CI").as_deref() == Ok("true") {
                    return Err(format!("CI=true, so this test must run, but {reason}").into());
                }
                return Ok(libtest_mimic::Completion::ignored_with(reason));
            };
            a_daemon_whose_wall_clock_jumps_days_ahead_says_so_and_plans_nothing(library);
            Ok(libtest_mimic::Completion::Completed)
        },
    )]
}

/// `rrn run` as a process whose wall clock (libfaketime, re-reading its offset from a file at
/// every read) jumps three days ahead while its monotonic clock goes on as before: the daemon
/// logs the jump once, holds (nothing planned, nothing sent, no run recorded) while the clock
/// stays ahead, and its STATUS says so.
fn a_daemon_whose_wall_clock_jumps_days_ahead_says_so_and_plans_nothing(library: &str) {
    let dir = tempfile::tempdir().unwrap();
    let offset = dir.path().join("faketime");
    std::fs::write(&offset, "+0\n").unwrap();
    let setup = Setup::embedded(dir, vec![("RRN_SCHEDULE__POLL_SECONDS", "1".to_owned())]);
    // The wall clock from the file (the offset from the real time), read afresh every time; the
    // monotonic clock left real, as it is when an administrator or NTP steps the clock.
    let faked = |mut command: Command| {
        command
            .env("LD_PRELOAD", library)
            .env_remove("FAKETIME")
            .env("FAKETIME_TIMESTAMP_FILE", &offset)
            .env("FAKETIME_NO_CACHE", "1")
            .env("DONT_FAKE_MONOTONIC", "1");
        command
    };
    let log = setup.dir.path().join("jump.log");
    let mut command = faked(setup.command(&["run"]));
    command
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut daemon = Daemon {
        child: command.spawn().unwrap(),
        log,
    };
    wait_for("the first run", Duration::from_secs(30), || {
        daemon.log().contains("evaluated")
    });
    let runs_before = daemon.log().matches("evaluated").count();
    // A month: past the week a restart accepts without asking.
    std::fs::write(&offset, "+30d\n").unwrap();
    wait_for("the jump to be noticed", Duration::from_secs(20), || {
        daemon.log().contains("the clock jumped")
    });
    // Several polls later: still holding, said once, nothing planned.
    std::thread::sleep(Duration::from_secs(3));
    let held = daemon.log();
    assert_eq!(held.matches("the clock jumped").count(), 1, "{held}");
    assert!(held.contains("days ahead"), "{held}");
    assert_eq!(held.matches("evaluated").count(), runs_before, "{held}");
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "still running: {held}"
    );
    daemon.signal("TERM");
    let stopped = Instant::now();
    while daemon.child.try_wait().unwrap().is_none() {
        assert!(stopped.elapsed() < Duration::from_secs(15), "did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    // No run was recorded for the days the clock jumped to.
    let status = setup.rrn(&["status", "--format", "json"]);
    assert!(status.status.success(), "{status:?}");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let last: chrono::DateTime<chrono::Utc> = status["last_run"].as_str().unwrap().parse().unwrap();
    assert!(
        last < chrono::Utc::now() + chrono::Duration::hours(1),
        "{status}"
    );

    // Started again with the clock still a month ahead: the restart does not accept it.
    let log = setup.dir.path().join("restart.log");
    let mut command = faked(setup.command(&["run"]));
    command
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut daemon = Daemon {
        child: command.spawn().unwrap(),
        log,
    };
    wait_for(
        "the hold after the restart",
        Duration::from_secs(30),
        || daemon.log().contains("until a person confirms the time"),
    );
    std::thread::sleep(Duration::from_secs(2));
    let held = daemon.log();
    assert!(!held.contains("evaluated"), "{held}");
    assert_eq!(held.matches("until a person confirms").count(), 1, "{held}");
    daemon.signal("TERM");
    assert!(daemon.child.wait().unwrap().success());

    // Nor does a run of its own; a person who says the clock is right lets it go on.
    let refused = faked(setup.command(&["run", "--once"])).output().unwrap();
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("nothing was done") && said.contains("--confirm-clock"),
        "{said}"
    );
    let confirmed = faked(setup.command(&["run", "--once", "--confirm-clock"]))
        .output()
        .unwrap();
    assert!(confirmed.status.success(), "{confirmed:?}");
    let again = faked(setup.command(&["run", "--once"])).output().unwrap();
    assert!(again.status.success(), "{again:?}");
}
