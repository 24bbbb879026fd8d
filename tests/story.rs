//! The Christmas 2026 case as a time-travel story through the `rrn` binary and a real SMTP
//! server on 127.0.0.1: the case opens on the day the local authority became aware (Wednesday
//! 16 December 2026), the Ofsted notification (day 0) goes on Monday 21st, three agencies are
//! involved. Every weekday up to day 20 the business team records what was done that day, then
//! `rrn run --once --at DATE` runs (a bare date is 09:00 London time, inside the sending window).
//! Education's summary arrives four working days late; the panel review is on time (what is
//! recorded is `common::christmas::COMPLETED`). The emails the SMTP server receives each day
//! (recipient, kind, case, milestones) must match the table below, worked out by hand from
//! config/timeline.toml (the same story as the `plan` area's, which checks the planner alone).

use std::collections::{BTreeMap, HashMap};
use std::process::Output;

use chrono::{Datelike, NaiveDate, Weekday};

use crate::common;
use common::christmas::{CASE, COMPLETED};
use common::smtp::{smtp_env, smtp_server};
use common::{CONFIG, date, header, rrn_command};

trials!(the_christmas_case_day_by_day_through_the_binary_and_a_real_smtp_server);

// Who is who in config/rrn.toml.
const EXECUTIVE_CHAIR: &str = "executive-chair@partnership.example";
const CSC_MANAGER: &str = "csc-manager@council.example";
const BUSINESS_TEAM: &str = "business-team@partnership.example";
const PANEL: &str = "csprg@partnership.example";
const PARTNERS: &str = "partners@partnership.example";
const NATIONAL_PANEL: &str = "national-panel@panel.example";
const POLICE_LEAD: &str = "safeguarding-lead@police.example";
const HEALTH_LEAD: &str = "designated-nurse@health.example";
const EDUCATION_LEAD: &str = "safeguarding@education.example";
const EDUCATION_MANAGER: &str = "head-of-inclusion@education.example";

/// The chair notice is about the case, not a milestone: its item carries this title.
const CHAIR_NOTICE: &str = "Rapid Review started";

/// England and Wales bank holidays in the story: not working days, nothing is sent.
const BANK_HOLIDAYS: [&str; 3] = ["2026-12-25", "2026-12-28", "2027-01-01"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Digest,
    AgencyLetter,
}
use Kind::{AgencyLetter, Digest};

impl Kind {
    /// As the outbox names it.
    fn as_str(self) -> &'static str {
        match self {
            Digest => "digest",
            AgencyLetter => "agency_letter",
        }
    }
}

/// One email received: (day, recipient, kind, case, the milestones its items are about).
type Row = (
    &'static str,
    &'static str,
    Kind,
    &'static str,
    &'static [&'static str],
);

/// Worked out from config/timeline.toml. Working days: day 0 Monday 21 December, 1 Tue 22,
/// 2 Wed 23, 3 Thu 24 (25 and 28 December are bank holidays), 4 Tue 29, 5 Wed 30, 6 Thu 31
/// (1 January is one), 7 Mon 4 January, 8 Tue 5, 9 Wed 6, 10 Thu 7, 11 Fri 8, 12 Mon 11,
/// 13 Tue 12, 14 Wed 13, 15 Thu 14, 16 Fri 15, 17 Mon 18, 18 Tue 19, 19 Wed 20, 20 Thu 21.
/// Due: notification 23 December (5 working days after aware); copy and letters 22 December
/// (day 1); summaries, chair informed, progress meeting 7 January (day 10); panel review and
/// summary 11 January (12); sign-off, final version, PDG chair 14 January (15); submission
/// 15 January (16). The policy: the owner is reminded 3 and 1 working days before and on the
/// due day, unless done by then; day-1 letters to each agency's lead; the Executive Chair told
/// on day 0; overdue, the owner on the first working day, the manager from 1 working day and the
/// Executive Chair from 3, each every 2 working days. One digest per recipient a day; each letter on its own.
#[rustfmt::skip]
const EXPECTED: &[Row] = &[
    // Fri 18th: the notification is due in 3 working days (Wed 23rd).
    ("2026-12-18", CSC_MANAGER,       Digest,       CASE, &["ofsted_notification"]),
    // Mon 21st, day 0 (recorded this morning): the copy and the letters are due tomorrow. Their
    // 3-days-before reminders fell before day 0 was known and are not proposed. The notification
    // itself is done, so its 1-day-before reminder (22nd) never comes.
    // The Rapid Review has started: the Executive Chair is told, with its day 0 and key dates
    // (not on the 16th, when the case opened: there was no day 0 and no date to give yet).
    ("2026-12-21", BUSINESS_TEAM,     Digest,       CASE, &["agency_letters"]),
    ("2026-12-21", CSC_MANAGER,       Digest,       CASE, &["business_team_copy"]),
    ("2026-12-21", EXECUTIVE_CHAIR,   Digest,       CASE, &[CHAIR_NOTICE]),
    // Tue 22nd, day 1: a letter to each agency's lead. Copy and letters were done today: no
    // due-today reminder.
    ("2026-12-22", EDUCATION_LEAD,    AgencyLetter, CASE, &["agency_summary/education"]),
    ("2026-12-22", HEALTH_LEAD,       AgencyLetter, CASE, &["agency_summary/health"]),
    ("2026-12-22", POLICE_LEAD,       AgencyLetter, CASE, &["agency_summary/police"]),
    // Nothing from 23 December to 31st (the chair was informed early, on the 23rd).
    // Mon 4 January, day 7: 3 working days before day 10, for what is still open.
    ("2027-01-04", EDUCATION_LEAD,    Digest,       CASE, &["agency_summary/education"]),
    ("2027-01-04", HEALTH_LEAD,       Digest,       CASE, &["agency_summary/health"]),
    ("2027-01-04", POLICE_LEAD,       Digest,       CASE, &["agency_summary/police"]),
    ("2027-01-04", BUSINESS_TEAM,     Digest,       CASE, &["progress_meeting"]),
    // Wed 6th, day 9: 1 day before day 10 (police sent theirs today: nothing for them; the
    // progress meeting was held yesterday) and 3 days before day 12.
    ("2027-01-06", EDUCATION_LEAD,    Digest,       CASE, &["agency_summary/education"]),
    ("2027-01-06", HEALTH_LEAD,       Digest,       CASE, &["agency_summary/health"]),
    ("2027-01-06", BUSINESS_TEAM,     Digest,       CASE, &["summary_and_outcome"]),
    ("2027-01-06", PANEL,             Digest,       CASE, &["panel_review"]),
    // Thu 7th, day 10: due today; health sent theirs this morning, education's is missing.
    ("2027-01-07", EDUCATION_LEAD,    Digest,       CASE, &["agency_summary/education"]),
    // Fri 8th, day 11: education 1 working day overdue: its lead is told it is overdue, its
    // manager is asked to chase it (rung 1); 1 day before day 12.
    ("2027-01-08", EDUCATION_LEAD,    Digest,       CASE, &["agency_summary/education"]),
    ("2027-01-08", EDUCATION_MANAGER, Digest,       CASE, &["agency_summary/education"]),
    ("2027-01-08", BUSINESS_TEAM,     Digest,       CASE, &["summary_and_outcome"]),
    ("2027-01-08", PANEL,             Digest,       CASE, &["panel_review"]),
    // Mon 11th, day 12: panel review and summary done on their due day (no due-today
    // reminder); 3 days before day 15, the business team's two in one digest. Education is 2
    // working days overdue: no rung falls today.
    ("2027-01-11", BUSINESS_TEAM,     Digest,       CASE, &["final_version", "pdg_chair_shared"]),
    ("2027-01-11", PARTNERS,          Digest,       CASE, &["partner_signoff"]),
    // Tue 12th, day 13: education 3 working days overdue, the manager again (repeat 1) and the
    // Executive Chair (rung 2); 3 days before the submission (day 16).
    ("2027-01-12", EDUCATION_MANAGER, Digest,       CASE, &["agency_summary/education"]),
    ("2027-01-12", EXECUTIVE_CHAIR,   Digest,       CASE, &["agency_summary/education"]),
    ("2027-01-12", BUSINESS_TEAM,     Digest,       CASE, &["national_panel_submission"]),
    // Wed 13th, day 14: education's summary arrived, so nothing on the 14th, when the ladder's
    // next repeats (5 working days overdue) would fall; 1 day before day 15.
    ("2027-01-13", BUSINESS_TEAM,     Digest,       CASE, &["final_version", "pdg_chair_shared"]),
    ("2027-01-13", PARTNERS,          Digest,       CASE, &["partner_signoff"]),
    // Thu 14th, day 15: all three done on their due day; 1 day before the submission.
    ("2027-01-14", BUSINESS_TEAM,     Digest,       CASE, &["national_panel_submission"]),
    // Fri 15th, day 16: the submission is recorded; the national panel hears of it.
    ("2027-01-15", NATIONAL_PANEL,    Digest,       CASE, &["national_panel_submission"]),
    // Nothing more up to day 20 (Thursday 21 January).
];

/// A database of its own, and the SMTP server as the transport.
struct Story {
    _dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Story {
    fn new(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![(
            "RRN_DATABASE__URL".to_owned(),
            format!("sqlite://{}", dir.path().join("rrn.db").display()),
        )];
        env.extend(smtp_env(port).map(|(k, v)| (k.to_owned(), v)));
        Self { _dir: dir, env }
    }

    fn rrn(&self, args: &[&str]) -> Output {
        let output = rrn_command()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["--config", CONFIG])
            .args(common::rehearsing(args))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "rrn {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_slice(&self.rrn(args).stdout).unwrap()
    }
}

/// The address in `"Name" <address>`.
fn address(mailbox: &str) -> String {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(start), Some(end)) if start < end => mailbox[start + 1..end].to_owned(),
        _ => mailbox.trim().to_owned(),
    }
}

/// What every email must be: a subject of at most 77 characters after the marking with no word
/// twice in a row; plain text in lines of at most 72 characters (unless one word is longer),
/// with dates capitalised ("Friday 15 January 2027", never "friday 15 january").
fn check_lines_and_subject(subject: &str, text: &str) {
    let after_marking = subject
        .strip_prefix("OFFICIAL-SENSITIVE ")
        .unwrap_or(subject);
    assert!(
        after_marking.chars().count() <= 77,
        "{} characters: {subject}",
        after_marking.chars().count()
    );
    let words: Vec<String> = subject
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    assert!(
        words.windows(2).all(|w| w[0] != w[1]),
        "a doubled word in {subject}"
    );
    for line in text.lines() {
        assert!(
            line.chars().count() <= 72 || line.split_whitespace().count() == 1,
            "a line of {} characters: {line:?}",
            line.chars().count()
        );
    }
    for name in [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "january",
        "december",
    ] {
        assert!(
            !text.split_whitespace().any(|w| w == name),
            "{name} in lower case in\n{text}"
        );
    }
}

/// A part of a message by its content type, decoded, with LF line ends.
pub(crate) fn part(message: &str, content_type: &str) -> Option<String> {
    let start = message.find(&format!("Content-Type: {content_type}"))?;
    let part = &message[start..];
    let (headers, rest) = part
        .split_once("\r\n\r\n")
        .or_else(|| part.split_once("\n\n"))
        .unwrap();
    let body = match rest.find("\n--") {
        Some(end) => &rest[..end],
        None => rest,
    };
    let encoding = headers
        .lines()
        .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    let text = match encoding.as_str() {
        "quoted-printable" => quoted_printable(body),
        "7bit" | "8bit" => body.to_owned(),
        other => panic!("unexpected transfer encoding {other} in\n{message}"),
    };
    Some(text.replace("\r\n", "\n"))
}

/// The deadlines of the calendar attachment, from its UIDs
/// (`rrn.CASE.MILESTONE.AGENCY@domain`): (case, "milestone" or "milestone/agency").
fn deadlines(message: &str) -> Vec<(String, String)> {
    let Some(ics) = part(message, "text/calendar") else {
        return Vec::new();
    };
    // Unfold (a line continues on the next that starts with a space).
    let ics = ics.replace("\n ", "");
    ics.lines()
        .filter_map(|l| l.strip_prefix("UID:"))
        .map(|uid| {
            let uid = uid.trim().strip_prefix("rrn.").unwrap();
            let uid = uid.split('@').next().unwrap();
            let mut fields = uid.rsplitn(3, '.');
            let (agency, milestone, case) = (
                fields.next().unwrap(),
                fields.next().unwrap(),
                fields.next().unwrap(),
            );
            let label = match agency {
                "-" => milestone.to_owned(),
                agency => format!("{milestone}/{agency}"),
            };
            (case.to_owned(), label)
        })
        .collect()
}

fn quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 text")
}

/// One received message, read as a recipient would: (recipient, kind, case, milestones).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Email {
    to: String,
    kind: Kind,
    case: String,
    /// "milestone" or, per agency, "milestone/agency"; an item about no milestone by its title.
    milestones: Vec<String>,
}

/// Reads a received message: the recipient from `To:`; the kind, case and items from the text
/// part (item titles mapped back to milestone ids); which agency a per-agency item is about
/// from the calendar attachment, whose entries must be the items that have a deadline.
fn read_email(envelope: &[String], message: &str, ids: &HashMap<String, String>) -> Email {
    let to = address(&header(message, "To").expect("a To header"));
    let envelope: Vec<String> = envelope.iter().map(|t| address(t)).collect();
    assert_eq!(
        envelope,
        std::slice::from_ref(&to),
        "envelope and To differ:\n{message}"
    );
    let subject = header(message, "Subject").expect("a Subject");
    assert!(subject.starts_with("OFFICIAL-SENSITIVE "), "{subject}");
    let text = part(message, "text/plain").unwrap_or_else(|| panic!("no text in\n{message}"));
    assert!(text.starts_with("OFFICIAL-SENSITIVE\n"), "{text}");
    // A title, or a title with the agency after it in brackets, as a milestone id.
    let id_of = |title: &str| {
        ids.get(title)
            .or_else(|| title.rsplit_once(" (").and_then(|(t, _)| ids.get(t)))
            .cloned()
    };

    check_lines_and_subject(&subject, &text);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let (kind, cases, titles) = if flat.contains("has started a Rapid Review, case ") {
        // The day-1 letter: "Please send the <title> for REF by <date>." first, then "… has
        // started a Rapid Review, case REF, in which your agency is involved."
        let case = flat
            .split("has started a Rapid Review, case ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .unwrap_or_else(|| panic!("a letter about no case:\n{text}"));
        let title = flat
            .split("Please send the ")
            .nth(1)
            .and_then(|r| r.split(&format!(" for {case} by ")).next())
            .unwrap_or_else(|| panic!("a letter asks for nothing:\n{text}"));
        (AgencyLetter, vec![case.to_owned()], vec![title.to_owned()])
    } else {
        // A digest: "1. Case RR-2026-014: <title>", one per item (wrapped: read unwrapped),
        // the title one the timeline knows, with its agency in brackets after it.
        let mut known: Vec<&str> = ids.keys().map(String::as_str).collect();
        known.push(CHAIR_NOTICE);
        let words: Vec<&str> = flat.split(' ').collect();
        let mut cases = Vec::new();
        let mut titles = Vec::new();
        for at in 0..words.len().saturating_sub(3) {
            let number = words[at].strip_suffix('.').unwrap_or("");
            if number.is_empty()
                || !number.chars().all(|c| c.is_ascii_digit())
                || words[at + 1] != "Case"
            {
                continue;
            }
            let Some(case) = words[at + 2].strip_suffix(':') else {
                continue;
            };
            let rest = words[at + 3..].join(" ");
            let title = known
                .iter()
                .filter(|t| rest.starts_with(**t))
                .max_by_key(|t| t.len())
                .unwrap_or_else(|| panic!("an item with no known title: {rest}"));
            let after = &rest[title.len()..];
            let title = match after.strip_prefix(" (").and_then(|a| a.split_once(')')) {
                Some((agency, _)) => format!("{title} ({agency})"),
                None => title.to_string(),
            };
            cases.push(case.to_owned());
            titles.push(title);
        }
        // "Please see to these 3 Rapid Review tasks …" or "… these 2 overdue Rapid Review
        // tasks"; one item's email opens with its request.
        let stated = flat
            .split("these ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        assert_eq!(titles.len(), stated, "items read from\n{text}");
        (Digest, cases, titles)
    };
    let mut cases = cases;
    cases.sort();
    cases.dedup();
    assert_eq!(cases.len(), 1, "one case per email here:\n{text}");
    let case = cases.remove(0);
    if titles == [CHAIR_NOTICE] {
        assert_eq!(
            subject,
            format!("OFFICIAL-SENSITIVE {case}: Rapid Review started, day 0 Mon 21 Dec 2026")
        );
        for key_date in [
            "Day 0, the day the notification went to Ofsted: Monday 21 December 2026",
            "Individual Agency Summary: Thursday 7 January 2027",
            "review group panel: Monday 11 January 2027",
            "Review Panel: Friday 15 January 2027",
        ] {
            assert!(flat.contains(key_date), "{key_date} not in\n{text}");
        }
    }
    if subject.contains(" escalation: ") {
        assert!(
            flat.starts_with("OFFICIAL-SENSITIVE Escalation: please "),
            "{text}"
        );
        assert!(flat.contains("Whose task: "), "{text}");
        assert!(flat.contains("since Friday 8 January 2027"), "{text}");
    }

    // Items about a milestone have a deadline in the calendar attachment, which also says the
    // agency; others (the chair notice) keep their title.
    let deadlines = deadlines(message);
    // The national panel's note that the submission arrived is a courtesy: no deadline is
    // left to put in a calendar, and it asks nothing of its reader.
    if subject.ends_with("(for information)") {
        assert!(
            deadlines.is_empty(),
            "a calendar for a deadline met:\n{message}"
        );
        assert!(!flat.contains("needs your attention"), "{text}");
        assert!(flat.contains("Nothing is needed from you"), "{text}");
        let mut milestones: Vec<String> = titles.iter().filter_map(|t| id_of(t)).collect();
        milestones.sort();
        return Email {
            to,
            kind,
            case,
            milestones,
        };
    }
    let mut from_titles: Vec<String> = titles.iter().filter_map(|t| id_of(t)).collect();
    let mut from_calendar: Vec<String> = deadlines
        .iter()
        .map(|(c, label)| {
            assert_eq!(*c, case, "{message}");
            label.split('/').next().unwrap().to_owned()
        })
        .collect();
    from_titles.sort();
    from_calendar.sort();
    assert_eq!(
        from_titles, from_calendar,
        "the items and the calendar entries differ:\n{message}"
    );
    let mut milestones: Vec<String> = deadlines.into_iter().map(|(_, label)| label).collect();
    milestones.extend(titles.into_iter().filter(|t| id_of(t).is_none()));
    milestones.sort();
    Email {
        to,
        kind,
        case,
        milestones,
    }
}

fn expected_on(day: &str) -> Vec<Email> {
    let mut emails: Vec<Email> = EXPECTED
        .iter()
        .filter(|row| row.0 == day)
        .map(|&(_, to, kind, case, milestones)| Email {
            to: to.to_owned(),
            kind,
            case: case.to_owned(),
            milestones: {
                let mut m: Vec<String> = milestones.iter().map(|m| m.to_string()).collect();
                m.sort();
                m
            },
        })
        .collect();
    emails.sort();
    emails
}

fn describe(email: &Email) -> String {
    format!(
        "{:<38} {:<13} {} {:?}",
        email.to,
        email.kind.as_str(),
        email.case,
        email.milestones
    )
}

/// Every weekday from the aware date to day 20, bank holidays included (a timer fires on them
/// too; nothing must go out).
fn weekdays() -> Vec<NaiveDate> {
    date("2026-12-16")
        .iter_days()
        .take_while(|d| *d <= date("2027-01-21"))
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .collect()
}

fn the_christmas_case_day_by_day_through_the_binary_and_a_real_smtp_server() {
    let config = rrn::config::Config::load_from(Some(CONFIG.as_ref()), &[]).unwrap();
    let timeline = config.load_timeline().unwrap();
    let ids: HashMap<String, String> = timeline
        .milestones()
        .iter()
        .map(|m| (m.title.clone(), m.id.clone()))
        .collect();
    for (day, milestone, _) in COMPLETED {
        assert!(
            timeline.milestone(milestone).is_some(),
            "{day}: {milestone}"
        );
    }
    // The table's premises hold for the configured calendar: day 20 is Thursday 21 January, and
    // the three bank holidays are not working days.
    let calendar = config.calendar(&config.holiday_feed().unwrap(), None);
    let day0 = date("2026-12-21");
    assert_eq!(
        calendar.add_working_days(day0, 20).unwrap(),
        date("2027-01-21")
    );
    assert_eq!(
        calendar.add_working_days(day0, 10).unwrap(),
        date("2027-01-07")
    );
    for holiday in BANK_HOLIDAYS {
        assert!(
            !calendar.is_working_day(date(holiday)).unwrap(),
            "{holiday}"
        );
    }
    // The table names only weekdays of the story, none of them a bank holiday.
    let days = weekdays();
    for row in EXPECTED {
        assert!(days.contains(&date(row.0)), "{row:?}");
        assert!(!BANK_HOLIDAYS.contains(&row.0), "{row:?}");
    }

    let (mailbox, port) = smtp_server();
    let story = Story::new(port);
    story.rrn(&[
        "case",
        "open",
        CASE,
        "--aware",
        "2026-12-16",
        "--agency",
        "police",
        "--agency",
        "health",
        "--agency",
        "education",
        "--at",
        "2026-12-16T08:30",
    ]);

    let mut received_by_day: BTreeMap<NaiveDate, Vec<Email>> = BTreeMap::new();
    // Message-ID -> (day received, what it was read as)
    let mut by_message_id: HashMap<String, (NaiveDate, Email)> = HashMap::new();
    let mut problems = Vec::new();
    for day in &days {
        let day_text = day.to_string();
        // The morning's record of what was done today, then the day's run.
        for (_, milestone, agency) in COMPLETED.iter().filter(|r| r.0 == day_text) {
            let at = format!("{day_text}T08:30");
            let mut args = vec!["case", "complete", CASE, milestone, "--on", &day_text];
            if let Some(agency) = agency {
                args.extend(["--agency", agency]);
            }
            args.extend(["--at", &at, "--actor", "business team"]);
            story.rrn(&args);
        }
        let before = mailbox.received().len();
        let report = story.json(&["run", "--once", "--at", &day_text, "--format", "json"]);
        let new: Vec<_> = mailbox.received().split_off(before);

        let mut emails = Vec::new();
        for (envelope, message) in &new {
            let email = read_email(envelope, message, &ids);
            let id = header(message, "Message-ID").expect("a Message-ID");
            assert!(
                by_message_id
                    .insert(id.clone(), (*day, email.clone()))
                    .is_none(),
                "{id} received twice"
            );
            assert_eq!(
                header(message, "In-Reply-To").as_deref(),
                Some(format!("<rrn.case.{CASE}@partnership.example>").as_str()),
                "{message}"
            );
            emails.push(email);
        }
        emails.sort();

        // What the run says it did agrees with what arrived; a run every day skips nothing.
        let (queued, sent, skipped) = (
            &report["run"]["queued"],
            &report["delivery"]["sent"],
            &report["run"]["skipped"],
        );
        if *queued != new.len() || *sent != new.len() || *skipped != 0 {
            problems.push(format!(
                "{day}: {} received, but the run queued {queued}, sent {sent}, skipped \
                 {skipped}: {report}",
                new.len()
            ));
        }
        let expected = expected_on(&day_text);
        if emails != expected {
            let missing: Vec<String> = expected
                .iter()
                .filter(|e| !emails.contains(e))
                .map(describe)
                .collect();
            let unexpected: Vec<String> = emails
                .iter()
                .filter(|e| !expected.contains(e))
                .map(describe)
                .collect();
            let list = |rows: Vec<String>| match rows.is_empty() {
                true => "(none)".to_owned(),
                false => rows.join("\n    "),
            };
            problems.push(format!(
                "{day} {}:\n  expected but not received:\n    {}\n  received but not \
                 expected:\n    {}",
                day.weekday(),
                list(missing),
                list(unexpected)
            ));
        }
        received_by_day.insert(*day, emails);
    }

    // Cross-check with the outbox: every row was sent once, on the day of the run that queued
    // it, and is the kind, case and recipient the message was read as.
    let outbox = story.json(&["outbox", "list", "--format", "json"]);
    let rows = outbox.as_array().unwrap();
    for row in rows {
        let id = format!("<rrn.outbox.{}@partnership.example>", row["id"]);
        let Some((day, email)) = by_message_id.get(&id) else {
            problems.push(format!("outbox row never received: {row}"));
            continue;
        };
        let created = row["created_at"].as_str().unwrap();
        if row["status"] != "sent"
            || row["attempts"] != 1
            || row["kind"] != email.kind.as_str()
            || row["case"] != email.case.as_str()
            || row["recipient"] != email.to.as_str()
            || !created.starts_with(&format!("{day}T09:00:00"))
        {
            problems.push(format!(
                "outbox row {row} does not match the message received on {day}: {email:?}"
            ));
        }
    }
    if rows.len() != by_message_id.len() {
        problems.push(format!(
            "{} outbox rows, {} messages received",
            rows.len(),
            by_message_id.len()
        ));
    }

    if !problems.is_empty() {
        let mut actual = String::new();
        for (day, emails) in &received_by_day {
            for email in emails {
                actual.push_str(&format!("  {day} {}\n", describe(email)));
            }
        }
        panic!(
            "the story went differently:\n\n{}\n\nEverything received:\n{actual}",
            problems.join("\n\n")
        );
    }
    assert_eq!(by_message_id.len(), EXPECTED.len());
    // Each bank holiday had its run, and nothing went out.
    for holiday in BANK_HOLIDAYS {
        assert_eq!(received_by_day.get(&date(holiday)), Some(&Vec::new()));
    }
}
