//! Two `rrn run` daemons on one PostgreSQL database: one leads (plans and delivers), the other
//! stands by; the leader is killed with SIGKILL in the middle of a burst of emails, and the
//! standby takes over. Nothing is lost, and the only duplicates are of rows the dead leader had
//! in flight (at most the one message it was sending).
//!
//! PostgreSQL comes from `RRN_TEST_POSTGRES_URL` or the default server, as for the store's tests
//! (`common::db::with_postgres`): the test makes its own database, and is reported ignored with
//! the reason when there is no server (except under `CI=true`, where it fails). The SMTP server
//! is mailin-embedded in this process, slowed down so the burst lasts a few seconds.
//!
//! The daemons run on the real clock: the test cannot move it. Emails only go out on working
//! days in the sending window (`SendingWindow`, Europe/London), and the test widens the window
//! to the whole day, so on a weekend, a bank holiday or a closure day (or in the last minute
//! before midnight in London) the daemons would never send: the test is then reported ignored,
//! with the reason, having checked nothing.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Completion, Trial};

use crate::common::db::{TestDb, with_postgres};
use crate::common::smtp::{SmtpServer, smtp_env};
use crate::common::{CONFIG, rrn_command};
/// How many emails the burst has.
const EMAILS: usize = 200;
/// How long the SMTP server takes to accept each message: 200 take about 4 s.
const SMTP_DELAY: Duration = Duration::from_millis(20);
/// The leader is killed once the SMTP server has accepted this many messages: inside the
/// second claimed batch of 50.
const KILL_AFTER: usize = 60;
/// `[service] lease_seconds` of both daemons.
const LEASE_SECONDS: u64 = 3;

/// A connection of the test's own to its database, to watch the outbox.
struct Watch {
    runtime: tokio::runtime::Runtime,
    connection: sqlx::PgConnection,
}

impl Watch {
    fn open(url: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let connection = runtime.block_on(async {
            use sqlx::Connection as _;
            sqlx::PgConnection::connect(url).await.unwrap()
        });
        Self {
            runtime,
            connection,
        }
    }

    /// The outbox ids with this status (all when `None`), in order.
    fn ids(&mut self, status: Option<&str>) -> Vec<i64> {
        self.runtime
            .block_on(
                sqlx::query_scalar(
                    "SELECT id FROM outbox WHERE $1::text IS NULL OR status = $1 ORDER BY id",
                )
                .bind(status)
                .fetch_all(&mut self.connection),
            )
            .unwrap()
    }

    /// The rows in flight that the process `pid` claimed (`claimed_by` is host:pid:start).
    fn in_flight_of(&mut self, pid: u32) -> Vec<i64> {
        self.runtime
            .block_on(
                sqlx::query_scalar(
                    "SELECT id FROM outbox WHERE status = 'in_flight' AND claimed_by LIKE $1 \
                 ORDER BY id",
                )
                .bind(format!("%:{pid}:%"))
                .fetch_all(&mut self.connection),
            )
            .unwrap()
    }
}

/// Whether the daemons, with the sending window of this test, may send from now for `span`:
/// the same check as theirs (`SendingWindow::contains` with the config's calendar).
fn sending_window_open_for(env: &[(String, String)], span: chrono::Duration) -> bool {
    let config = rrn::config::Config::load_from(Some(Path::new(CONFIG)), env).unwrap();
    let feed = config.holiday_feed().unwrap();
    let calendar = config.calendar(&feed, None);
    let (start, end) = config.sending_window();
    let window = rrn::service::delivery::SendingWindow {
        start,
        end,
        timezone: config.partnership.timezone,
    };
    let now = chrono::Utc::now();
    window.contains(now, &calendar) && window.contains(now + span, &calendar)
}

/// The outbox id in a message's `Message-ID: <rrn.outbox.ID@domain>`.
fn outbox_id(message: &str) -> Option<i64> {
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("message-id").then_some(value)
        })?
        .trim()
        .strip_prefix("<rrn.outbox.")?
        .split_once('@')?
        .0
        .parse()
        .ok()
}

/// The log lines of a daemon, with when the test read each.
type Log = Arc<Mutex<Vec<(Instant, String)>>>;

/// A running `rrn run`, killed (SIGKILL) when dropped; its log is printed if the test fails.
struct Daemon {
    name: &'static str,
    child: Child,
    log: Log,
}

impl Daemon {
    fn start(name: &'static str, env: &[(String, String)]) -> Self {
        let mut command: Command = rrn_command();
        command
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(["--config", CONFIG, "run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let log = Log::default();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push((Instant::now(), line));
            }
        });
        Self { name, child, log }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When a log line containing `needle` was first read, if it was.
    fn seen(&self, needle: &str) -> Option<Instant> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .find(|(_, line)| line.contains(needle))
            .map(|(at, _)| *at)
    }

    /// Waits up to `timeout` for a log line containing `needle`; panics (with the log) if the
    /// daemon exits first or the line never comes.
    fn wait_for(&mut self, needle: &str, timeout: Duration) -> Instant {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(at) = self.seen(needle) {
                return at;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "daemon {} exited ({status}) before logging `{needle}`",
                    self.name
                );
            }
            assert!(
                Instant::now() < deadline,
                "daemon {} did not log `{needle}` within {timeout:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, line)| format!("  {line}\n"))
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- log of daemon {}:\n{}", self.name, self.log_text());
        }
    }
}

/// Polls `condition` every 20 ms for up to `timeout`; whether it came true.
fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The one test, `failover::two_daemons_on_postgres_one_leads_and_the_other_takes_over_when_it_is_killed`.
pub(crate) fn trials() -> Vec<Trial> {
    vec![crate::ignorable_trial(
        crate::test_name(
            module_path!(),
            "two_daemons_on_postgres_one_leads_and_the_other_takes_over_when_it_is_killed",
        ),
        || with_postgres(failover),
    )]
}

/// `Completion::Ignored` when today the daemons would send nothing.
fn failover(db: &TestDb) -> Completion {
    let state = tempfile::tempdir().unwrap();
    // A slow server: each message is taken after `SMTP_DELAY`, then answered 250.
    let (mailbox, port) = SmtpServer::default().with_delay(SMTP_DELAY).start();
    let env: Vec<(String, String)> = smtp_env(port)
        .into_iter()
        .chain([
            ("RRN_DATABASE__URL", db.url.clone()),
            ("RRN_SCHEDULE__POLL_SECONDS", "1".to_owned()),
            ("RRN_SERVICE__LEASE_SECONDS", LEASE_SECONDS.to_string()),
            ("RRN_MAIL__WINDOW_START", "00:00".to_owned()),
            ("RRN_MAIL__WINDOW_END", "23:59".to_owned()),
            // Nothing of the daemons' goes under the home folder.
            ("STATE_DIRECTORY", state.path().display().to_string()),
        ])
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    if !sending_window_open_for(&env, chrono::Duration::minutes(2)) {
        return Completion::ignored_with(
            "today is not a working day in Europe/London (weekend, bank holiday or closure), \
             or midnight is near: the daemons, on the real clock, would send nothing",
        );
    }
    let rrn = |args: &[&str]| {
        let output = rrn_command()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(["--config", CONFIG])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "rrn {args:?}: {output:?}");
    };
    rrn(&["migrate"]);
    let mut watch = Watch::open(&db.url);

    // A leads, then B stands by.
    let mut a = Daemon::start("A", &env);
    a.wait_for("; leading", Duration::from_secs(15));
    let mut b = Daemon::start("B", &env);
    b.wait_for("standing by", Duration::from_secs(15));

    // The burst: A sends it on its next poll.
    let started = Instant::now();
    rrn(&["dev", "enqueue", "--emails", &EMAILS.to_string()]);
    let ids = watch.ids(None);
    assert_eq!(ids.len(), EMAILS, "the enqueue queued {EMAILS} emails");

    // A is killed with SIGKILL in the middle of the burst.
    assert!(
        wait_until(Duration::from_secs(20), || mailbox.received().len()
            >= KILL_AFTER),
        "the leader sent {} emails in 20 s",
        mailbox.received().len()
    );
    a.child.kill().unwrap();
    let killed = Instant::now();
    a.child.wait().unwrap();
    let received_at_kill = mailbox.received().len();
    let in_flight_at_kill = watch.in_flight_of(a.pid());
    let sent_at_kill = watch.ids(Some("sent")).len();
    assert!(
        b.seen("took over").is_none() && b.seen("delivered").is_none(),
        "B did something while A led:\n{}",
        b.log_text()
    );

    // B takes over, and sends everything left, including what A had in flight once the
    // leases lapse.
    let took_over = b.wait_for("took over as leader", Duration::from_secs(30));
    let takeover = took_over.saturating_duration_since(killed);
    let all_sent = wait_until(Duration::from_secs(60), || {
        watch.ids(Some("sent")).len() == EMAILS
    });
    let delivered = Instant::now();
    assert!(
        all_sent,
        "not all sent within 60 s of the kill: {} sent, {} pending, {} in flight, {} failed",
        watch.ids(Some("sent")).len(),
        watch.ids(Some("pending")).len(),
        watch.ids(Some("in_flight")).len(),
        watch.ids(Some("failed")).len()
    );

    // Every row received at least once; duplicates only of what A had in flight.
    let received: Vec<Option<i64>> = mailbox
        .received()
        .iter()
        .map(|(_, message)| outbox_id(message))
        .collect();
    assert!(
        received.iter().all(Option::is_some),
        "a message without an outbox Message-ID was received"
    );
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for id in received.iter().flatten() {
        *counts.entry(*id).or_default() += 1;
    }
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !counts.contains_key(id))
        .collect();
    assert!(missing.is_empty(), "never received: {missing:?}");
    let unknown: Vec<i64> = counts
        .keys()
        .copied()
        .filter(|id| !ids.contains(id))
        .collect();
    assert!(unknown.is_empty(), "received but never queued: {unknown:?}");
    let duplicated: BTreeSet<i64> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    let in_flight: BTreeSet<i64> = in_flight_at_kill.iter().copied().collect();
    assert!(
        duplicated.is_subset(&in_flight),
        "duplicated {duplicated:?}, but A had only {in_flight:?} in flight at the kill"
    );
    // A sent one message at a time: only the one on the wire can have been taken by the
    // server without being marked sent.
    assert!(duplicates <= 1, "{duplicates} duplicates: {duplicated:?}");
    assert!(
        takeover < Duration::from_secs(30),
        "B took over {takeover:?} after the kill"
    );

    eprintln!(
        "failover: A killed after {received_at_kill} messages received ({sent_at_kill} marked \
         sent, {} in flight: {:?}..{:?}); B took over {:.2} s after the kill; {duplicates} \
         duplicate(s) {duplicated:?}; all {EMAILS} delivered {:.2} s after the kill, {:.2} s \
         after queueing; {} messages received",
        in_flight.len(),
        in_flight.first(),
        in_flight.last(),
        takeover.as_secs_f64(),
        delivered.saturating_duration_since(killed).as_secs_f64(),
        delivered.saturating_duration_since(started).as_secs_f64(),
        received.len()
    );

    // (The log of B was printed here: libtest captured it, libtest-mimic does not, and a
    // failure below shows it anyway, in its message or from `Daemon`'s drop.)

    // SIGTERM: B stops cleanly, soon.
    let term = Command::new("kill")
        .args(["-TERM", &b.pid().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let mut status = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            status = b.child.try_wait().unwrap();
            status.is_some()
        }),
        "B still running 10 s after SIGTERM"
    );
    assert!(
        status.unwrap().success(),
        "B exited with {status:?} after SIGTERM:\n{}",
        b.log_text()
    );
    Completion::Completed
}
