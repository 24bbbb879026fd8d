//! Emails end to end through `rrn run --once`: what they say and carry (maildir), and delivery
//! over SMTP to a real SMTP server on 127.0.0.1 (mailin-embedded, in this test process) that
//! can answer 4xx or 5xx per recipient.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use mailin_embedded::response::{INTERNAL_ERROR, NO_MAILBOX};

use crate::common;
use common::smtp::{SmtpServer, smtp_env, smtp_server};
use common::{CONFIG, PrivateCa, christmas, header, rrn_command};

trials!(
    every_email_carries_the_marking_threads_by_case_and_names_no_one_else,
    outside_the_sending_window_emails_wait_and_then_go,
    over_smtp_a_451_is_retried_a_550_is_reported_to_admin_and_nothing_is_sent_twice,
    a_relay_that_refuses_every_message_alike_keeps_them_queued_and_tells_the_admin_once,
    a_rehearsal_never_sends_through_a_relay_on_another_machine,
    a_retry_after_a_run_already_sent_it_to_the_new_address_is_withdrawn,
    what_no_longer_holds_when_an_email_is_about_to_go_is_left_out,
    a_queued_email_goes_to_the_recipient_the_config_names_when_it_is_sent,
    a_queued_email_whose_recipient_changed_is_readdressed_and_sent_to_the_new_one_once,
    with_the_smtp_server_down_emails_wait_and_are_delivered_once_it_is_back,
    starttls_and_auth_with_the_password_file_work_and_the_password_is_never_printed,
    killing_a_run_mid_delivery_loses_nothing_and_duplicates_at_most_what_was_in_flight,
    the_demo_runs_a_case_day_by_day_into_a_maildir,
    the_maildir_is_one_a_mail_client_opens_and_dates_follow_the_simulated_clock,
    each_kind_of_email_in_the_demo_reads_as_its_snapshot,
    in_the_html_part_of_every_kind_of_email_no_date_breaks_across_lines,
    the_daily_summary_goes_to_the_business_team_once_each_working_day_when_turned_on,
    a_server_that_swallows_the_message_and_never_answers_costs_one_timeout_and_loses_nothing,
);

/// Every address in the shipped config.
const ADDRESSES: [&str; 19] = [
    "business-team@partnership.example",
    "csc-manager@council.example",
    "executive-chair@partnership.example",
    "csprg@partnership.example",
    "partners@partnership.example",
    "national-panel@panel.example",
    "service-desk@council.example",
    "safeguarding-lead@police.example",
    "ppu-manager@police.example",
    "designated-nurse@health.example",
    "director-of-nursing@health.example",
    "safeguarding@education.example",
    "head-of-inclusion@education.example",
    "safeguarding@probation.example",
    "head-of-delivery@probation.example",
    "safeguarding@council.example",
    "head-of-csc@council.example",
    "safeguarding@yjs.example",
    "yjs-manager@yjs.example",
];

struct Setup {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Setup {
    fn new(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
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
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let setup = Self { dir, env };
        let opened = setup.rrn(&christmas::OPEN);
        assert!(opened.status.success(), "{opened:?}");
        setup
    }

    fn rrn(&self, args: &[&str]) -> Output {
        self.rrn_with(CONFIG, args)
    }

    /// `rrn` with the config file `config` instead of the repository's.
    fn rrn_with(&self, config: &str, args: &[&str]) -> Output {
        let mut command = rrn_command();
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
            .args(["--config", config])
            .args(common::rehearsing(args))
            .output()
            .unwrap()
    }

    fn run(&self, at: &str) -> serde_json::Value {
        self.run_exiting(at, 0).0
    }

    /// `run --once` that must exit with `code`: its report, and what it said on stderr.
    fn run_exiting(&self, at: &str, code: i32) -> (serde_json::Value, String) {
        let output = self.rrn(&["run", "--once", "--at", at, "--format", "json"]);
        assert_eq!(output.status.code(), Some(code), "{output:?}");
        (
            serde_json::from_slice(&output.stdout).unwrap(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }
}

/// The messages delivered into the Maildir `folder` (its `new/`), in the outbox's order.
fn emails_in(folder: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(folder.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

/// The addresses of the config that appear anywhere in a message.
fn addresses_in(email: &str) -> Vec<&'static str> {
    // Quoted-printable may break a long line with `=\r\n`; join such lines first.
    let joined = email.replace("=\r\n", "").replace("=\n", "");
    ADDRESSES
        .iter()
        .copied()
        .filter(|a| joined.contains(a))
        .collect()
}

fn every_email_carries_the_marking_threads_by_case_and_names_no_one_else() {
    let setup = Setup::new(&[]);
    let report = setup.run("2026-12-22");
    assert_eq!(report["delivery"]["sent"], 6, "{report}");
    let emails = emails_in(&setup.maildir());
    assert_eq!(emails.len(), 6);
    for email in &emails {
        let subject = header(email, "Subject").unwrap();
        assert!(subject.starts_with("OFFICIAL-SENSITIVE "), "{subject}");
        assert!(email.contains("RR-2026-014"));
        assert_eq!(
            header(email, "Reply-To").as_deref(),
            Some("\"Partnership Business Team\" <business-team@partnership.example>")
        );
        let id = header(email, "Message-ID").unwrap();
        assert!(
            id.starts_with("<rrn.outbox.") && id.ends_with("@partnership.example>"),
            "{id}"
        );
        assert_eq!(
            header(email, "In-Reply-To").as_deref(),
            Some("<rrn.case.RR-2026-014@partnership.example>")
        );
        assert_eq!(
            header(email, "References").as_deref(),
            Some("<rrn.case.RR-2026-014@partnership.example>")
        );
        // Only the recipient and the reply-to address: no other person's address leaks in.
        let to = header(email, "To").unwrap();
        for address in addresses_in(email) {
            assert!(
                to.contains(address) || address == "business-team@partnership.example",
                "{address} in an email to {to}"
            );
        }
        // The marking opens and closes the text.
        assert!(email.matches("OFFICIAL-SENSITIVE").count() >= 3, "{email}");
    }
    // The letters ask for the summary by the day-10 date, with its derivation.
    let letters: Vec<&String> = emails
        .iter()
        .filter(|e| {
            header(e, "Subject")
                .unwrap()
                .contains("Individual Agency Summary")
        })
        .collect();
    assert_eq!(letters.len(), 3);
    for letter in letters {
        // Read as a person does: soft and hard line breaks alike are spaces.
        let text = letter.replace("=\r\n", "").replace("=\n", "");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains("by Thursday 7 January 2027."), "{text}");
        assert!(
            text.contains("not counting 25 and 28 December and 1 January"),
            "{text}"
        );
        // The deadline as a calendar entry a recipient's calendar updates, not duplicates.
        assert!(
            text.contains("BEGIN:VCALENDAR") && text.contains("METHOD:PUBLISH"),
            "{text}"
        );
        assert!(
            text.contains("UID:rrn.RR-2026-014.agency_summary."),
            "{text}"
        );
        assert!(text.contains("DTSTART;VALUE=3DDATE:20270107"), "{text}");
        assert!(text.contains("DTEND;VALUE=3DDATE:20270108"), "{text}");
        assert!(text.contains("SEQUENCE:"), "{text}");
        // RFC 5545: exactly one PRODID and one VERSION per calendar.
        assert_eq!(text.matches("PRODID:").count(), 1, "{text}");
        assert_eq!(text.matches("VERSION:2.0").count(), 1, "{text}");
    }
    // A second run the same day sends nothing more.
    let again = setup.run("2026-12-22T14:00");
    assert_eq!(again["delivery"]["sent"], 0, "{again}");
    assert_eq!(emails_in(&setup.maildir()).len(), 6);
}

fn outside_the_sending_window_emails_wait_and_then_go() {
    let setup = Setup::new(&[]);
    let evening = setup.run("2026-12-22T19:30");
    assert_eq!(evening["run"]["queued"], 6, "{evening}");
    assert_eq!(evening["delivery"]["waiting_for_window"], true, "{evening}");
    assert!(!setup.maildir().exists() || emails_in(&setup.maildir()).is_empty());
    // The next morning: the six waiting, and what the morning's own run queued.
    let morning = setup.run("2026-12-23T08:00");
    let queued = morning["run"]["queued"].as_i64().unwrap();
    assert_eq!(
        morning["delivery"]["sent"].as_i64(),
        Some(6 + queued),
        "{morning}"
    );
}

fn message_ids(received: &[(Vec<String>, String)]) -> Vec<String> {
    received
        .iter()
        .map(|(_, m)| header(m, "Message-ID").unwrap_or_default())
        .collect()
}

fn a_relay_that_refuses_every_message_alike_keeps_them_queued_and_tells_the_admin_once() {
    let (mailbox, port) = smtp_server();
    for address in ADDRESSES {
        mailbox.answer(address, NO_MAILBOX); // 550, the same words for everyone
    }
    let env = smtp_env(port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let setup = Setup::new(&env);
    let relay_notices = || {
        let output = setup.rrn(&["outbox", "list", "--format", "json"]);
        let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["kind"] == "delivery_failure" && r["recipient"] == "service-desk@council.example"
            })
            .map(|r| r["status"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };

    // Nothing failed for good: the run ends as a success, every email waits for a retry, and
    // so does the one notice to the admin contact (refused alike: the same fault).
    let first = setup.run("2026-12-22T09:00");
    let delivery = &first["delivery"];
    assert_eq!(
        (
            delivery["sent"].as_i64(),
            delivery["retrying"].as_i64(),
            delivery["failed"].as_i64()
        ),
        (Some(0), Some(7), Some(0)),
        "{first}"
    );
    assert_eq!(delivery["relay_fault_told"], true, "{first}");
    let why = delivery["unavailable"].as_str().unwrap_or_default();
    assert!(
        why.contains("refused all 6 messages") && why.contains("check the relay"),
        "{first}"
    );
    assert!(mailbox.received().is_empty());
    assert_eq!(relay_notices(), ["pending"]);

    // Still refusing at the next attempt: told once, not once a pass.
    let again = setup.run("2026-12-22T09:03");
    assert_eq!(again["delivery"]["retrying"], 7, "{again}");
    assert_eq!(again["delivery"]["relay_fault_told"], false, "{again}");
    assert_eq!(relay_notices(), ["pending"]);

    // A person sees it without the log: `rrn status`, and the run's table (#11).
    let status = setup.rrn(&["status", "--at", "2026-12-22T09:04"]);
    let said = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{status:?}");
    assert!(
        said.contains("delivery:   7 emails tried and waiting to be tried again")
            && said.contains("the mail server said: permanent error (550): Mailbox unavailable"),
        "{said}"
    );
    let table = setup.rrn(&["run", "--once", "--at", "2026-12-22T09:06"]);
    let said = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{table:?}");
    assert!(
        said.contains("0 sent, 7 to retry, 0 failed")
            && said.contains("delivery stopped: the mail relay refused all 7 messages"),
        "{said}"
    );

    // The relay is fixed: the retries go out, each once, and the admin reads what happened.
    for address in ADDRESSES {
        mailbox.forget(address);
    }
    let second = setup.run("2026-12-22T09:30");
    assert_eq!(second["delivery"]["sent"], 7, "{second}");
    let received = mailbox.received();
    assert_eq!(received.len(), 7);
    let notice = received
        .iter()
        .find(|(to, _)| to.iter().any(|t| t == "service-desk@council.example"))
        .map(|(_, message)| message)
        .expect("the admin's notice");
    let subject = header(notice, "Subject").unwrap_or_default();
    assert!(
        subject.starts_with("OFFICIAL-SENSITIVE") && subject.contains("relay refuses every email"),
        "{subject}"
    );
    assert!(
        notice.contains("6 emails to 6 different recipients"),
        "{notice}"
    );
    assert!(notice.contains("550"), "{notice}");
    assert_eq!(relay_notices(), ["sent"]);
}

/// `--rehearse` dates a run ahead on a throwaway copy; through the real relay its emails would
/// reach the real leads in the config, so it is refused, and nothing is queued (#11).
fn a_rehearsal_never_sends_through_a_relay_on_another_machine() {
    let env = [
        ("RRN_MAIL__TRANSPORT", "smtp"),
        ("RRN_SMTP__HOST", "smtp.partnership.example"),
    ];
    let setup = Setup::new(&env);
    let before = setup.rrn(&["outbox", "list", "--format", "json"]);
    let refused = setup.rrn(&["run", "--once", "--at", "2026-12-22T09:00"]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        said.contains(
            "--rehearse would send its emails through the relay smtp.partnership.example"
        ) && said.contains("transport = \"maildir\""),
        "{said}"
    );
    let after = setup.rrn(&["outbox", "list", "--format", "json"]);
    assert_eq!(before.stdout, after.stdout);
}

fn over_smtp_a_451_is_retried_a_550_is_reported_to_admin_and_nothing_is_sent_twice() {
    let (mailbox, port) = smtp_server();
    mailbox.answer("safeguarding@education.example", INTERNAL_ERROR); // 451
    mailbox.answer("safeguarding-lead@police.example", NO_MAILBOX); // 550
    let env = smtp_env(port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let setup = Setup::new(&env);

    // Exit status 3: the run finished, but an email failed for good.
    let (first, said) = setup.run_exiting("2026-12-22T09:00", 3);
    assert!(said.contains("1 email failed for good"), "{said}");
    assert!(said.contains("rrn outbox retry"), "{said}");
    let delivery = &first["delivery"];
    // 6 planned: 4 accepted, the education letter to retry, the police letter failed; and the
    // failure report to the admin contact, queued and sent in the same pass.
    assert_eq!(
        (
            delivery["sent"].as_i64(),
            delivery["retrying"].as_i64(),
            delivery["failed"].as_i64()
        ),
        (Some(5), Some(1), Some(1)),
        "{first}"
    );
    let received = mailbox.received();
    assert_eq!(received.len(), 5);
    let report = received
        .iter()
        .find(|(to, _)| {
            to.iter()
                .any(|t| t.contains("service-desk@council.example"))
        })
        .expect("the admin contact hears of the 550");
    assert!(
        report.1.contains("safeguarding-lead@police.example"),
        "{}",
        report.1
    );
    assert!(report.1.contains("550"), "{}", report.1);
    assert!(
        header(&report.1, "Subject")
            .unwrap()
            .starts_with("OFFICIAL-SENSITIVE")
    );
    // The report as the admin contact reads it (the snapshot of this kind of email).
    let mut shown = String::new();
    for field in ["From", "To", "Subject"] {
        shown.push_str(&format!("{field}: {}\n", header(&report.1, field).unwrap()));
    }
    shown.push('\n');
    shown.push_str(&crate::story::part(&report.1, "text/plain").unwrap());
    insta::assert_snapshot!("delivery_failure", shown);

    // The education server recovers: the retry (due a minute later) is delivered, once.
    mailbox.forget("safeguarding@education.example");
    let second = setup.run("2026-12-22T09:05");
    assert_eq!(second["delivery"]["sent"], 1, "{second}");
    let received = mailbox.received();
    assert_eq!(received.len(), 6);
    let ids = message_ids(&received);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ids.len(),
        "a message was delivered twice: {ids:?}"
    );

    // The failed row stays failed until someone queues it again.
    let outbox: serde_json::Value = serde_json::from_slice(
        &setup
            .rrn(&["outbox", "list", "--status", "failed", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(outbox.as_array().unwrap().len(), 1);
    let id = outbox[0]["id"].as_i64().unwrap().to_string();
    // IT fixes the lead's address in the config, as the failure email asked, and retries: the
    // retry goes to the new address, once (the run after it, replanning under the new config,
    // does not send it there again), and the case's audit trail says so.
    let (_fixed, config) = config_with_new_police_lead();
    let retried = setup.rrn_with(&config, &["outbox", "retry", &id]);
    assert!(retried.status.success(), "{retried:?}");
    assert!(
        String::from_utf8_lossy(&retried.stdout).contains("to new-lead@police.example"),
        "{retried:?}"
    );
    let third = setup.rrn_with(
        &config,
        &[
            "run",
            "--once",
            "--at",
            "2026-12-22T09:10",
            "--format",
            "json",
        ],
    );
    assert!(third.status.success(), "{third:?}");
    let received = mailbox.received();
    let to_new: Vec<_> = received
        .iter()
        .filter(|(to, _)| to.contains(&"new-lead@police.example".to_owned()))
        .collect();
    assert_eq!(to_new.len(), 1, "{received:#?}");
    assert!(
        header(&to_new[0].1, "To")
            .unwrap()
            .contains("new-lead@police.example")
    );
    assert_eq!(received.len(), 7, "{received:#?}");
    let shown = setup.rrn(&["case", "show", christmas::CASE]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("to new-lead@police.example instead of safeguarding-lead@police.example"),
        "{shown}"
    );
    // Nothing failed is left to retry.
    let again = setup.rrn_with(&config, &["outbox", "retry", &id]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
}

fn a_retry_after_a_run_already_sent_it_to_the_new_address_is_withdrawn() {
    let (mailbox, port) = smtp_server();
    mailbox.answer("safeguarding-lead@police.example", NO_MAILBOX); // 550
    let env = smtp_env(port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let setup = Setup::new(&env);
    setup.run_exiting("2026-12-22T09:00", 3);
    let before = mailbox.received().len();

    // The address is fixed, and the next run sends the letter to the new address by itself.
    let (_fixed, config) = config_with_new_police_lead();
    let run = setup.rrn_with(
        &config,
        &[
            "run",
            "--once",
            "--at",
            "2026-12-22T09:10",
            "--format",
            "json",
        ],
    );
    assert!(run.status.success(), "{run:?}");
    let received = mailbox.received();
    assert_eq!(received.len(), before + 1, "{received:#?}");
    assert_eq!(
        received.last().unwrap().0,
        vec!["new-lead@police.example".to_owned()]
    );

    // A retry of the failed row now would send the letter twice: it is withdrawn.
    let failed: serde_json::Value = serde_json::from_slice(
        &setup
            .rrn(&["outbox", "list", "--status", "failed", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let id = failed[0]["id"].as_i64().unwrap().to_string();
    let retried = setup.rrn_with(&config, &["outbox", "retry", &id]);
    assert!(retried.status.success(), "{retried:?}");
    assert!(
        String::from_utf8_lossy(&retried.stdout).contains("already carried everything"),
        "{retried:?}"
    );
    let run = setup.rrn_with(
        &config,
        &[
            "run",
            "--once",
            "--at",
            "2026-12-22T09:20",
            "--format",
            "json",
        ],
    );
    assert!(run.status.success(), "{run:?}");
    assert_eq!(mailbox.received().len(), before + 1);
    let cancelled: serde_json::Value = serde_json::from_slice(
        &setup
            .rrn(&[
                "outbox",
                "list",
                "--status",
                "cancelled",
                "--format",
                "json",
            ])
            .stdout,
    )
    .unwrap();
    assert_eq!(cancelled.as_array().unwrap().len(), 1, "{cancelled}");
}

fn what_no_longer_holds_when_an_email_is_about_to_go_is_left_out() {
    let (mailbox, port) = smtp_server();
    let env = smtp_env(port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let setup = Setup::new(&env);
    // The evening run, outside the sending window, queues the Chair's notice for the morning.
    let evening = setup.run("2026-12-21T19:00");
    assert!(evening["run"]["queued"].as_i64().unwrap() >= 1, "{evening}");
    assert!(mailbox.received().is_empty());
    // The case was opened in error, and is closed before the window opens.
    let closed = setup.rrn(&[
        "case",
        "close",
        christmas::CASE,
        "--reason",
        "opened in error",
        "--at",
        "2026-12-21T19:30",
    ]);
    assert!(closed.status.success(), "{closed:?}");
    let morning = setup.run("2026-12-22T09:00");
    let delivery = &morning["delivery"];
    assert_eq!(delivery["sent"], 0, "{morning}");
    assert!(delivery["withdrawn"].as_i64().unwrap() >= 1, "{morning}");
    assert!(mailbox.received().is_empty(), "{:#?}", mailbox.received());
    let cancelled: serde_json::Value = serde_json::from_slice(
        &setup
            .rrn(&[
                "outbox",
                "list",
                "--status",
                "cancelled",
                "--format",
                "json",
            ])
            .stdout,
    )
    .unwrap();
    assert!(!cancelled.as_array().unwrap().is_empty(), "{cancelled}");
    let shown = setup.rrn(&["case", "show", christmas::CASE]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("withdrawn") && shown.contains("was closed"),
        "{shown}"
    );
}

fn a_queued_email_goes_to_the_recipient_the_config_names_when_it_is_sent() {
    let (mailbox, port) = smtp_server();
    let env = smtp_env(port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let setup = Setup::new(&env);
    // Before the sending window opens on day 1, the run queues the agency letters.
    let early = setup.run("2026-12-22T07:00");
    assert!(early["run"]["queued"].as_i64().unwrap() >= 1, "{early}");
    assert!(mailbox.received().is_empty());
    // The police lead changes in the config before the window opens.
    let (_fixed, config) = config_with_new_police_lead();
    let at = [
        "run",
        "--once",
        "--at",
        "2026-12-22T09:00",
        "--format",
        "json",
    ];
    let run = setup.rrn_with(&config, &at);
    assert!(run.status.success(), "{run:?}");
    // The run planned the letter for the new lead (its key names them) and sent it; the letter
    // queued for the old lead is re-addressed at delivery, finds that already carried, and is
    // withdrawn: the old lead gets nothing, the new one exactly one.
    let to: Vec<Vec<String>> = mailbox.received().into_iter().map(|(to, _)| to).collect();
    let to_new = to
        .iter()
        .filter(|t| t.as_slice() == ["new-lead@police.example"])
        .count();
    assert_eq!(to_new, 1, "{to:?}");
    let old = "safeguarding-lead@police.example";
    assert!(!to.iter().flatten().any(|a| a == old), "{to:?}");
    let shown = setup.rrn(&["case", "show", christmas::CASE]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("rrn delivery  withdrawn")
            && shown.contains("a later email to new-lead@police.example already carried"),
        "{shown}"
    );
    // Nothing more goes to either on the next run.
    let before = mailbox.received().len();
    let later = [
        "run",
        "--once",
        "--at",
        "2026-12-22T09:30",
        "--format",
        "json",
    ];
    let again = setup.rrn_with(&config, &later);
    assert!(again.status.success(), "{again:?}");
    let after: Vec<String> = mailbox
        .received()
        .into_iter()
        .skip(before)
        .flat_map(|(to, _)| to)
        .collect();
    assert!(
        !after
            .iter()
            .any(|a| a == old || a == "new-lead@police.example"),
        "{after:?}"
    );
}

fn a_queued_email_whose_recipient_changed_is_readdressed_and_sent_to_the_new_one_once() {
    let (mailbox, port) = smtp_server();
    let env = smtp_env(port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let setup = Setup::new(&env);
    // Before the sending window opens on day 1, the run queues the agency letters.
    let early = setup.run("2026-12-22T07:00");
    assert!(early["run"]["queued"].as_i64().unwrap() >= 1, "{early}");
    // The police lead changes in the config, and the next thing that happens is a delivery
    // pass with no run before it (the daemon's poll between two runs, after a reload).
    let (_fixed, config) = config_with_new_police_lead();
    let config = rrn::config::Config::load_from(Some(Path::new(&config)), &setup.env).unwrap();
    let url = format!("sqlite://{}", setup.dir.path().join("rrn.db").display());
    let service = rrn::service::Service::load(config, &setup.maildir()).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-22T09:00:00Z")
        .unwrap()
        .to_utc();
    let delivery = common::block_on(async {
        let store = rrn::store::Store::connect(&url).await.unwrap();
        let claimer = rrn::service::delivery::Claimer::this_process(chrono::Duration::minutes(5));
        service
            .deliver(&store, &claimer, at, None, None)
            .await
            .unwrap()
    });
    assert_eq!(delivery.failed, 0, "{delivery:?}");
    // The letter queued for the old lead went to the new one, once; the old one got nothing.
    let to: Vec<Vec<String>> = mailbox.received().into_iter().map(|(to, _)| to).collect();
    let new = "new-lead@police.example";
    let old = "safeguarding-lead@police.example";
    assert_eq!(
        to.iter().filter(|t| t.as_slice() == [new]).count(),
        1,
        "{to:?}"
    );
    assert!(!to.iter().flatten().any(|a| a == old), "{to:?}");
    let shown = setup.rrn(&["case", "show", christmas::CASE]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("rrn delivery  readdressed")
            && shown.contains(&format!("goes to {new} instead of {old}")),
        "{shown}"
    );
    // The re-addressed letter was logged for the new lead: the next run with the new config
    // plans nothing more for them.
    let later = [
        "run",
        "--once",
        "--at",
        "2026-12-22T09:30",
        "--format",
        "json",
    ];
    let before = mailbox.received().len();
    let again = setup.rrn_with(&config_with_new_police_lead().1, &later);
    assert!(again.status.success(), "{again:?}");
    let after: Vec<String> = mailbox
        .received()
        .into_iter()
        .skip(before)
        .flat_map(|(to, _)| to)
        .collect();
    assert!(!after.iter().any(|a| a == old || a == new), "{after:?}");
}

/// The repository's config, copied with the police lead at `new-lead@police.example`: the
/// folder (keep it alive) and the config file's path.
fn config_with_new_police_lead() -> (tempfile::TempDir, String) {
    let fixed = tempfile::tempdir().unwrap();
    copy_folder(Path::new(CONFIG).parent().unwrap(), fixed.path());
    let toml = fixed.path().join("rrn.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = text.replace(
        "safeguarding-lead@police.example",
        "new-lead@police.example",
    );
    std::fs::write(&toml, text).unwrap();
    (fixed, toml.display().to_string())
}

/// A copy of the folder `from` (the config with its timeline, feed and templates) in `to`.
fn copy_folder(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn with_the_smtp_server_down_emails_wait_and_are_delivered_once_it_is_back() {
    // A port nobody listens on: connection refused, a transient failure.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = smtp_env(closed);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut setup = Setup::new(&env);
    let down = setup.run("2026-12-22T09:00");
    assert_eq!(down["delivery"]["retrying"], 6, "{down}");
    assert_eq!(down["delivery"]["sent"], 0, "{down}");

    let (mailbox, port) = smtp_server();
    for (key, value) in &mut setup.env {
        if key == "RRN_SMTP__PORT" {
            *value = port.to_string();
        }
    }
    let back = setup.run("2026-12-22T09:30");
    assert_eq!(back["delivery"]["sent"], 6, "{back}");
    assert_eq!(mailbox.received().len(), 6);
    let again = setup.run("2026-12-22T10:30");
    assert_eq!(again["delivery"]["sent"], 0, "{again}");
    assert_eq!(mailbox.received().len(), 6);
}

fn starttls_and_auth_with_the_password_file_work_and_the_password_is_never_printed() {
    const PASSWORD: &str = "correct horse battery staple";
    let dir = tempfile::tempdir().unwrap();
    let ca = PrivateCa::new(dir.path());
    let (mailbox, port) = SmtpServer::default()
        .with_auth("rrn", PASSWORD)
        .with_starttls(&ca)
        .start();
    let password_file = dir.path().join("smtp-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let env = [
        ("RRN_MAIL__TRANSPORT", "smtp".to_owned()),
        ("RRN_SMTP__HOST", "127.0.0.1".to_owned()),
        ("RRN_SMTP__PORT", port.to_string()),
        ("RRN_SMTP__TLS", "starttls".to_owned()),
        ("RRN_SMTP__CA_FILE", ca.ca.display().to_string()),
        ("RRN_SMTP__USERNAME", "rrn".to_owned()),
        (
            "RRN_SMTP__PASSWORD_FILE",
            password_file.display().to_string(),
        ),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let setup = Setup::new(&env);

    let output = setup.rrn(&["send-test", "it-team@council.example"]);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{printed}");
    assert!(
        printed.starts_with("sent to it-team@council.example: 250"),
        "{printed}"
    );
    assert_eq!(mailbox.authenticated(), ["rrn"]);
    assert_eq!(mailbox.received().len(), 1);

    // A whole run over STARTTLS, then a refused login: the password appears in no output.
    let run = setup.rrn(&["run", "--once", "--at", "2026-12-22", "--format", "json"]);
    assert!(run.status.success(), "{run:?}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["delivery"]["sent"], 6, "{report}");
    std::fs::write(&password_file, "not the password").unwrap();
    let refused = setup.rrn(&["send-test", "it-team@council.example"]);
    assert!(!refused.status.success());
    for output in [&output, &run, &refused] {
        for stream in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.contains(PASSWORD) && !text.contains("not the password"),
                "{text}"
            );
        }
    }

    // Without the private CA the server's certificate is not trusted: no plaintext fallback.
    let mut untrusting = env.clone();
    untrusting.retain(|(k, _)| *k != "RRN_SMTP__CA_FILE");
    let setup = Setup::new(&untrusting);
    let refused = setup.rrn(&["send-test", "it-team@council.example"]);
    assert!(!refused.status.success());
    assert_eq!(mailbox.received().len(), 7, "nothing more was accepted");
}

/// `rrn run --once` killed with SIGKILL at a random moment, again and again, while it delivers
/// hundreds of emails: no email is lost, and the only duplicates are of messages that were in
/// flight at a kill (at most one per kill).
fn killing_a_run_mid_delivery_loses_nothing_and_duplicates_at_most_what_was_in_flight() {
    let kills: usize = std::env::var("RRN_TEST_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let (mailbox, port) = smtp_server();
    let env = smtp_env(port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let setup = Setup::new(&env);
    // 120 more cases opened on day 0: their day-1 letters and digests make hundreds of emails.
    let csv = setup.dir.path().join("cases.csv");
    let mut rows = String::from("reference,aware,day0,agencies\n");
    for n in 0..120 {
        rows.push_str(&format!(
            "RR-KILL-{n:03},2026-12-16,2026-12-21,police;health;education\n"
        ));
    }
    std::fs::write(&csv, rows).unwrap();
    let imported = setup.rrn(&[
        "case",
        "import",
        csv.to_str().unwrap(),
        "--at",
        "2026-12-21",
    ]);
    assert!(imported.status.success(), "{imported:?}");

    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill schedule seed: {seed}");
    let mut random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let command = |at: &str| {
        let mut command = rrn_command();
        command.envs(setup.env.iter().map(|(k, v)| (k, v)));
        command.args([
            "--config",
            CONFIG,
            "run",
            "--once",
            "--rehearse",
            "--at",
            at,
        ]);
        command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    let mut killed = 0;
    for _ in 0..kills {
        let mut child = command("2026-12-22T09:00").spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5 + random(120)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
    }
    // Then a run to the end.
    let finish = command("2026-12-22T09:00").status().unwrap();
    assert!(finish.success());

    let outbox: serde_json::Value =
        serde_json::from_slice(&setup.rrn(&["outbox", "list", "--format", "json"]).stdout).unwrap();
    let rows = outbox.as_array().unwrap();
    assert!(rows.len() >= 360, "{} emails queued", rows.len());
    assert!(
        rows.iter().all(|r| r["status"] == "sent"),
        "every row delivered in the end"
    );
    let received = message_ids(&mailbox.received());
    let mut counts: HashMap<String, usize> = HashMap::new();
    for id in &received {
        *counts.entry(id.clone()).or_default() += 1;
    }
    for row in rows {
        let id = format!("<rrn.outbox.{}@partnership.example>", row["id"]);
        assert!(
            counts.contains_key(&id),
            "outbox row {} was never received",
            row["id"]
        );
    }
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    eprintln!(
        "{} emails, {killed} kills, {} messages received, {duplicates} duplicates",
        rows.len(),
        received.len()
    );
    assert!(
        duplicates <= killed,
        "{duplicates} duplicates from {killed} kills"
    );
}

fn the_demo_runs_a_case_day_by_day_into_a_maildir() {
    let dir = tempfile::tempdir().unwrap();
    let output = rrn_command()
        .args([
            "--config",
            CONFIG,
            "demo",
            "--dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    // Day 1 letters, the late agency's manager told on day 11, the submission on day 16.
    assert!(text.contains("Tue 22 Dec 2026 (working day 1):"), "{text}");
    assert!(
        text.contains("please send your Individual Agency Summary by Thu 7 Jan 2027"),
        "{text}"
    );
    assert!(text.contains("Fri 08 Jan 2027 (working day 11):"), "{text}");
    assert!(
        text.contains("head-of-inclusion@education.example"),
        "{text}"
    );
    assert!(text.contains("national-panel@panel.example"), "{text}");
    assert!(
        !text.contains("Mon 28 Dec"),
        "no emails on a bank holiday: {text}"
    );
    assert!(
        std::fs::read_dir(dir.path().join("maildir").join("new"))
            .unwrap()
            .count()
            > 20
    );
    // The Chair's escalation, and how to open the Maildir in a mail client.
    assert!(
        text.contains(
            "executive-chair@partnership.example>: OFFICIAL-SENSITIVE RR-DEMO-001 escalation"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("mutt -f {}", dir.path().join("maildir").display())),
        "{text}"
    );
}

/// Issue 12: a real Maildir (`tmp/` left empty, `cur/` for the reader's client, each message in
/// `new/` under a name no other has, with neither `/` nor `:`), and every message dated by the
/// run's clock (`--at`), not the machine's.
fn the_maildir_is_one_a_mail_client_opens_and_dates_follow_the_simulated_clock() {
    let setup = Setup::new(&[]);
    let report = setup.run("2026-12-22T09:00");
    assert_eq!(report["delivery"]["sent"], 6, "{report}");
    let folder = setup.maildir();
    let mut subfolders: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    subfolders.sort();
    assert_eq!(subfolders, ["cur", "new", "tmp"]);
    assert_eq!(std::fs::read_dir(folder.join("tmp")).unwrap().count(), 0);
    let names: Vec<String> = std::fs::read_dir(folder.join("new"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 6);
    let unique: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), 6, "{names:?}");
    assert!(
        names.iter().all(|n| !n.contains(':') && !n.contains('/')),
        "{names:?}"
    );
    for email in emails_in(&folder) {
        // 09:00 in London in December is 09:00 UTC; the pass itself takes a few seconds.
        let date = header(&email, "Date").unwrap();
        assert!(date.starts_with("Tue, 22 Dec 2026 09:0"), "{date}");
        assert!(date.ends_with(" +0000"), "{date}");
    }
}

/// Issue 12: one snapshot per kind of email, as its recipient reads it (the text part and the
/// headers that do not vary from run to run), from the demo's Maildir. Reviewed line by line
/// once; a change to the words shows up as a diff to review (`cargo insta review`).
fn each_kind_of_email_in_the_demo_reads_as_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let output = rrn_command()
        .args(["--config", CONFIG, "demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let emails = emails_in(&dir.path().join("maildir"));
    // (snapshot, recipient, what the subject says), the first email that matches each.
    let kinds = [
        (
            "agency_letter",
            "safeguarding-lead@police.example",
            "please send your",
        ),
        (
            "reminder",
            "safeguarding-lead@police.example",
            "due Thu 7 Jan",
        ),
        ("due_today", "safeguarding@education.example", "due today"),
        (
            "overdue_owner",
            "safeguarding@education.example",
            "overdue since",
        ),
        (
            "escalation_manager",
            "head-of-inclusion@education.example",
            "escalation",
        ),
        (
            "escalation_chair",
            "executive-chair@partnership.example",
            "escalation",
        ),
        (
            "chair_notice",
            "executive-chair@partnership.example",
            "Rapid Review started",
        ),
        (
            "national_panel",
            "national-panel@panel.example",
            "(for information)",
        ),
        (
            "digest_of_several",
            "business-team@partnership.example",
            "3 tasks",
        ),
        (
            "daily_summary",
            "business-team@partnership.example",
            "summary Fri 8 Jan",
        ),
    ];
    for (name, to, says) in kinds {
        let email = emails
            .iter()
            .find(|e| {
                header(e, "To").is_some_and(|t| t.contains(&format!("<{to}>")))
                    && header(e, "Subject").is_some_and(|s| s.contains(says))
            })
            .unwrap_or_else(|| panic!("no {name} email to {to} saying {says}"));
        let mut shown = String::new();
        for field in ["From", "Reply-To", "To", "Subject"] {
            shown.push_str(&format!("{field}: {}\n", header(email, field).unwrap()));
        }
        let attachment = email.contains("filename=\"deadlines.ics\"");
        shown.push_str(&format!("Attachment deadlines.ics: {attachment}\n\n"));
        shown.push_str(&crate::story::part(email, "text/plain").unwrap());
        insta::assert_snapshot!(name, shown);
    }
}

/// The dates in `html`'s text (tags left out) that hold a space a line may break at: a weekday
/// and its day, a day and its month, a month and its year.
fn breakable_dates(html: &str) -> Vec<String> {
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                // A tag between two words is no space of a date.
                text.push_str(" | ");
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let bare = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
    let day = |w: &str| (1..=2).contains(&w.len()) && w.chars().all(|c| c.is_ascii_digit());
    let year = |w: &str| w.len() == 4 && w.chars().all(|c| c.is_ascii_digit());
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .filter(|pair| {
            let (left, right) = (pair[0], pair[1]);
            let clean = !left.ends_with([',', ';', ':', '.', ')']);
            let (l, r) = (bare(left), bare(right));
            clean
                && ((DAYS.contains(&l.as_str()) && day(&r))
                    || (day(&l) && MONTHS.contains(&r.as_str()))
                    || (MONTHS.contains(&l.as_str()) && year(&r)))
        })
        .map(|pair| pair.join(" "))
        .collect()
}

/// Issue 12: on a phone the HTML part wraps where the screen ends; a date's spaces are
/// `&nbsp;`, so "Thursday 7 January 2027" never breaks inside (the plain text is wrapped by
/// rrn itself, never inside a date).
fn in_the_html_part_of_every_kind_of_email_no_date_breaks_across_lines() {
    assert_eq!(
        breakable_dates("<p>Due <strong>Thursday 7 January 2027</strong> or 8&nbsp;May</p>"),
        ["Thursday 7", "7 January", "January 2027"]
    );
    let dir = tempfile::tempdir().unwrap();
    let output = rrn_command()
        .args(["--config", CONFIG, "demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let emails = emails_in(&dir.path().join("maildir"));
    assert!(emails.len() > 20, "{} emails", emails.len());
    let mut dated = 0;
    for email in &emails {
        let html = crate::story::part(email, "text/html").expect("every email has an HTML part");
        let subject = header(email, "Subject").unwrap();
        assert_eq!(
            breakable_dates(&html),
            Vec::<String>::new(),
            "{subject}:\n{html}"
        );
        if html.contains("&nbsp;January&nbsp;2027") {
            dated += 1;
        }
    }
    assert!(dated > 20, "only {dated} emails show a date");
}

fn the_daily_summary_goes_to_the_business_team_once_each_working_day_when_turned_on() {
    let setup = Setup::new(&[("RRN_MAIL__HEARTBEAT", "true")]);
    let summaries = |setup: &Setup| -> Vec<String> {
        emails_in(&setup.maildir())
            .into_iter()
            .filter(|e| header(e, "Subject").is_some_and(|s| s.contains("daily summary")))
            .collect()
    };
    // Thursday 7 January 2027, day 10: the three summaries are due today, two earlier
    // milestones are overdue (nothing was recorded after day 0).
    setup.run("2027-01-07T09:00");
    let sent = summaries(&setup);
    assert_eq!(sent.len(), 1);
    let summary = sent[0].replace("=\r\n", "").replace("=\n", "");
    assert_eq!(
        header(&sent[0], "To").as_deref(),
        Some("\"Partnership Business Team\" <business-team@partnership.example>")
    );
    assert!(summary.contains("Open cases: 1"), "{summary}");
    assert!(
        summary.contains("Individual Agency Summary (police), due today"),
        "{summary}"
    );
    assert!(summary.contains("overdue by"), "{summary}");
    // Once a day, and not at the weekend.
    setup.run("2027-01-07T14:00");
    setup.run("2027-01-09T10:00");
    assert_eq!(summaries(&setup).len(), 1);
    setup.run("2027-01-11T09:00");
    assert_eq!(summaries(&setup).len(), 2);
}

/// An SMTP server that takes a message to its final `.` and then never says another word, as
/// a wedged relay does: greeting, EHLO, MAIL, RCPT and DATA are answered; the message, and
/// anything after it (QUIT), never. Counts the messages it swallowed. Every loop is bounded:
/// at most 16 connections, none kept past 60 s, no connection accepted after 120 s.
struct SilentServer {
    port: u16,
    swallowed: Arc<Mutex<usize>>,
}

impl SilentServer {
    fn start() -> Self {
        use std::io::{BufRead, BufReader, Write};
        use std::time::{Duration, Instant};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let swallowed = Arc::new(Mutex::new(0));
        let counter = Arc::clone(&swallowed);
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(120);
            let mut accepted = 0;
            while accepted < 16 && Instant::now() < until {
                let stream = match listener.accept() {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                };
                accepted += 1;
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || {
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(60)))
                        .unwrap();
                    let mut writer = stream.try_clone().unwrap();
                    let mut reader = BufReader::new(stream);
                    let _ = writer.write_all(b"220 silent.test ESMTP\r\n");
                    let mut in_data = false;
                    let mut line = String::new();
                    for _ in 0..10_000 {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return, // closed, or 60 s of silence
                            Ok(_) => {}
                        }
                        if in_data {
                            if line == ".\r\n" {
                                *counter.lock().unwrap() += 1;
                                // From here on, nothing: not the 250, not the 221 to QUIT.
                                loop {
                                    line.clear();
                                    match reader.read_line(&mut line) {
                                        Ok(0) | Err(_) => return,
                                        Ok(_) => {}
                                    }
                                }
                            }
                            continue;
                        }
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-silent.test\r\n250 8BITMIME\r\n",
                            "DATA" => {
                                in_data = true;
                                b"354 go ahead\r\n"
                            }
                            _ => b"250 ok\r\n",
                        };
                        let _ = writer.write_all(reply);
                    }
                });
            }
        });
        Self { port, swallowed }
    }

    fn swallowed(&self) -> usize {
        *self.swallowed.lock().unwrap()
    }
}

/// Runs `command` to its end, or kills it after `limit` and says so: a hang fails the test
/// instead of holding it.
fn finish_within(mut command: std::process::Command, limit: std::time::Duration) -> (Output, f64) {
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}: {output:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let took = started.elapsed().as_secs_f64();
    (child.wait_with_output().unwrap(), took)
}

fn a_server_that_swallows_the_message_and_never_answers_costs_one_timeout_and_loses_nothing() {
    const TIMEOUT: u64 = 2;
    // The timeout, the short wait for an answer to QUIT, and the process's own start-up.
    let limit = std::time::Duration::from_secs(TIMEOUT + 2 + 6);
    let silent = SilentServer::start();
    let mut env = smtp_env(silent.port).to_vec();
    env.push(("RRN_SMTP__TIMEOUT_SECONDS", TIMEOUT.to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut setup = Setup::new(&env);
    let command = |setup: &Setup, args: &[&str]| {
        let mut command = rrn_command();
        command
            .envs(setup.env.iter().map(|(k, v)| (k, v)))
            .args(["--config", CONFIG])
            .args(common::rehearsing(args));
        command
    };

    let (output, took) = finish_within(
        command(&setup, &["send-test", "it-team@council.example"]),
        limit,
    );
    eprintln!("send-test against the silent server: {took:.2} s");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr.contains("did not answer within 2 s"), "{stderr}");
    assert_eq!(silent.swallowed(), 1);

    // A run: the first email costs the timeout; the other five are not sent to a server that
    // stopped answering, and all six wait for a retry (none lost, none left in flight).
    let (output, took) = finish_within(
        command(
            &setup,
            &[
                "run",
                "--once",
                "--at",
                "2026-12-22T09:00",
                "--format",
                "json",
            ],
        ),
        limit,
    );
    eprintln!("run --once against the silent server: {took:.2} s");
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let delivery = &report["delivery"];
    assert_eq!(delivery["sent"], 0, "{report}");
    assert_eq!(delivery["retrying"], 6, "{report}");
    assert!(
        delivery["unavailable"]
            .as_str()
            .is_some_and(|r| r.contains("did not answer within 2 s")),
        "{report}"
    );
    assert_eq!(silent.swallowed(), 2, "one message tried in the run");
    let outbox: serde_json::Value =
        serde_json::from_slice(&setup.rrn(&["outbox", "list", "--format", "json"]).stdout).unwrap();
    let rows = outbox.as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["status"] == "pending"), "{outbox}");

    // The relay comes back: the six are delivered at the next run after their retry time.
    let (mailbox, port) = smtp_server();
    for (key, value) in &mut setup.env {
        if key == "RRN_SMTP__PORT" {
            *value = port.to_string();
        }
    }
    let back = setup.run("2026-12-22T09:30");
    assert_eq!(back["delivery"]["sent"], 6, "{back}");
    assert!(back["delivery"]["unavailable"].is_null(), "{back}");
    assert_eq!(mailbox.received().len(), 6);
}

/// The PostgreSQL test, reported ignored (with the reason) where no server answers:
/// `mail::a_leader_whose_mail_server_never_answers_ends_its_pass_and_keeps_the_lock`.
pub(crate) fn postgres_trials() -> Vec<libtest_mimic::Trial> {
    vec![crate::ignorable_trial(
        crate::test_name(
            module_path!(),
            "a_leader_whose_mail_server_never_answers_ends_its_pass_and_keeps_the_lock",
        ),
        || common::db::with_postgres(a_leader_whose_mail_server_never_answers_ends_its_pass),
    )]
}

/// A leader on PostgreSQL whose mail server swallows a message and never answers is not stuck:
/// its pass (evaluation and delivery, as the daemon's wake-up does them) ends within the SMTP
/// timeout and a little more, saying the server is unavailable (what `/healthz` reports as
/// degraded), and the leader still holds the advisory lock, since it goes on planning (the next
/// pass plans a new case). A standby gets the lock only once the leader lets go of it (or dies:
/// `failover::`).
fn a_leader_whose_mail_server_never_answers_ends_its_pass(
    db: &common::db::TestDb,
) -> libtest_mimic::Completion {
    use rrn::config::Config;
    use rrn::service::Service;
    use rrn::service::delivery::Claimer;
    use rrn::store::Store;
    use std::time::{Duration, Instant};
    const TIMEOUT: u64 = 2;
    let silent = SilentServer::start();
    let mut env: Vec<(String, String)> = smtp_env(silent.port)
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    env.push(("RRN_SMTP__TIMEOUT_SECONDS".to_owned(), TIMEOUT.to_string()));
    env.push(("RRN_DATABASE__URL".to_owned(), db.url.clone()));
    let opened = rrn_command()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["--config", CONFIG])
        .args(common::rehearsing(&christmas::OPEN))
        .output()
        .unwrap();
    assert!(opened.status.success(), "{opened:?}");
    let config = Config::load_from(Some(Path::new(CONFIG)), &env).unwrap();
    let service = Service::load(config, db.dir()).unwrap();
    // A working morning inside the sending window, when the case has letters due.
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-22T09:00:00Z")
        .unwrap()
        .to_utc();
    common::block_on(async {
        let store = Store::open(&db.url).await.unwrap();
        let standby = Store::connect(&db.url).await.unwrap();
        let mut lock = store
            .try_lead()
            .await
            .unwrap()
            .expect("the first asks, leads");
        let claimer = Claimer::this_process(chrono::Duration::seconds(60));
        let started = Instant::now();
        let pass = tokio::time::timeout(
            Duration::from_secs(30),
            service.step(&store, &claimer, now, None),
        )
        .await
        .expect("the pass ends: every wait on the server is bounded")
        .unwrap();
        let took = started.elapsed();
        eprintln!("a leader's pass against the silent server: {took:.2?}");
        assert!(took < Duration::from_secs(TIMEOUT + 6), "{took:?}");
        assert!(pass.run.queued > 0, "{pass:?}");
        assert_eq!(pass.delivery.sent, 0, "{pass:?}");
        assert!(
            pass.delivery
                .unavailable
                .as_deref()
                .is_some_and(|r| r.contains(&format!("did not answer within {TIMEOUT} s"))),
            "{pass:?}"
        );
        // Not stuck, so it keeps leading: the lock is still its own, a standby does not get it.
        assert!(lock.still_held().await);
        assert!(standby.try_lead().await.unwrap().is_none());
        // And it goes on planning: a case opened now is planned at the next pass.
        let mut open = christmas::OPEN;
        open[2] = "RR-2026-015";
        let opened = rrn_command()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(["--config", CONFIG])
            .args(common::rehearsing(&open))
            .output()
            .unwrap();
        assert!(opened.status.success(), "{opened:?}");
        let next = tokio::time::timeout(
            Duration::from_secs(30),
            service.step(&store, &claimer, now + chrono::Duration::minutes(5), None),
        )
        .await
        .expect("the next pass ends too")
        .unwrap();
        assert!(next.run.queued > 0, "{next:?}");
        // Let go of the lock (a stopping leader), and the standby takes over.
        drop(lock);
        let mut taken = None;
        for _ in 0..50 {
            taken = standby.try_lead().await.unwrap();
            if taken.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            taken.is_some(),
            "the standby takes the lock once it is free"
        );
    });
    libtest_mimic::Completion::Completed
}
