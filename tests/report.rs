//! `rrn report`, the compliance report, through the binary: cases opened and completed with
//! `rrn case … --at DATE` on a database of the test's own, then the report of a fixed period
//! as of a fixed day, every figure checked against numbers worked out by hand below. No test
//! depends on today's date.

use std::path::Path;
use std::process::Output;

use libtest_mimic::{Completion, Trial};
use serde_json::{Value, json};

use crate::common::db::{TestDb, with_postgres};
use crate::common::{CONFIG, rehearsing, rrn_command};

/// Every test on SQLite, and the hand-worked one on PostgreSQL too.
pub(crate) fn trials() -> Vec<Trial> {
    let mut trials = vec![
        crate::trial(
            crate::test_name(
                module_path!(),
                "sqlite::every_figure_of_a_known_period_is_as_worked_out_by_hand",
            ),
            || every_figure_of_a_known_period_is_as_worked_out_by_hand(&TestDb::sqlite()),
        ),
        crate::ignorable_trial(
            crate::test_name(
                module_path!(),
                "postgres::every_figure_of_a_known_period_is_as_worked_out_by_hand",
            ),
            || {
                with_postgres(|db| {
                    every_figure_of_a_known_period_is_as_worked_out_by_hand(db);
                    Completion::Completed
                })
            },
        ),
    ];
    for (name, test) in [
        (
            "an_lcspr_published_within_6_months_of_its_start_is_counted_as_such",
            an_lcspr_published_within_6_months_of_its_start_is_counted_as_such as fn(),
        ),
        (
            "the_default_period_is_the_last_complete_april_to_march_year",
            the_default_period_is_the_last_complete_april_to_march_year,
        ),
        (
            "a_period_that_ends_before_it_starts_is_refused_naming_the_fields",
            a_period_that_ends_before_it_starts_is_refused_naming_the_fields,
        ),
        (
            "the_csv_opens_in_a_spreadsheet_and_carries_the_jsons_figures",
            the_csv_opens_in_a_spreadsheet_and_carries_the_jsons_figures,
        ),
        (
            "the_html_is_one_self_contained_page_with_tables_and_charts",
            the_html_is_one_self_contained_page_with_tables_and_charts,
        ),
    ] {
        trials.push(crate::trial(crate::test_name(module_path!(), name), test));
    }
    trials
}

/// `rrn --config CONFIG --database URL ARGS…` (with `--rehearse` on a dated write).
fn rrn(config: &Path, db: &TestDb, args: &[&str]) -> Output {
    rrn_command()
        .arg("--config")
        .arg(config)
        .args(["--database", &db.url])
        .args(rehearsing(args))
        .output()
        .expect("rrn runs")
}

/// Runs a command that must succeed, and returns its standard output.
fn ok(config: &Path, db: &TestDb, args: &[&str]) -> String {
    let output = rrn(config, db, args);
    assert!(
        output.status.success(),
        "rrn {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The day every change is recorded on, and the report worked out on.
const AT: &str = "2027-02-15";

/// `rrn case open REF --aware A --day0 D --agency …` on [`AT`].
fn open(config: &Path, db: &TestDb, reference: &str, aware: &str, day0: &str, agencies: &[&str]) {
    let mut args = vec![
        "case", "open", reference, "--aware", aware, "--day0", day0, "--at", AT,
    ];
    for agency in agencies {
        args.extend(["--agency", agency]);
    }
    ok(config, db, &args);
}

/// `rrn case complete REF MILESTONE [--agency A] --on DATE` on [`AT`].
fn complete(config: &Path, db: &TestDb, reference: &str, milestone: &str, agency: &str, on: &str) {
    let mut args = vec![
        "case", "complete", reference, milestone, "--on", on, "--at", AT,
    ];
    if !agency.is_empty() {
        args.extend(["--agency", agency]);
    }
    ok(config, db, &args);
}

fn report_json(config: &Path, db: &TestDb, period: &[&str]) -> Value {
    let mut args = vec!["report", "--format", "json", "--at", AT];
    args.extend(period);
    serde_json::from_str(&ok(config, db, &args)).expect("the report is JSON")
}

/// The five cases of the hand-worked test, opened and completed.
///
/// Working days (England and Wales; 25 and 28 December 2026 are bank holidays, so are
/// 1 January 2027 and the weekends), as `rrn calendar workday` counts them:
///
/// - RR-2026-100: aware Mon 2 November 2026, day 0 Wed 4 November, police. Day 16 is Thu
///   26 November: every milestone fell due before the period, so it counts only as a case read.
/// - RR-2026-101: aware Mon 7 December, day 0 Wed 9 December, education and police, an LCSPR
///   proposed. Notification due Mon 14 Dec (aware + 5); copy and letters Thu 10 Dec (day 1);
///   summaries, chair informed, progress meeting Wed 23 Dec (day 10); panel review and summary
///   Tue 29 Dec (day 12: 24, 29 after 23); sign-off, final version, PDG chair Mon 4 Jan (day 15:
///   30, 31, 4 — 1 January is a bank holiday); submission Tue 5 Jan (day 16). Everything on its
///   day or before, the submission on 4 January (day 15: within the statutory limit), except
///   education's summary on Wed 30 December: 3 working days late across the two Christmas bank
///   holidays (24, 29, 30).
/// - RR-2026-102: the Christmas case: aware Wed 16 December, day 0 Mon 21 December, police and
///   health. Notification due 23 Dec; copy and letters 22 Dec; summaries, chair, progress Thu
///   7 Jan; panel and summary Mon 11 Jan; sign-off etc. Thu 14 Jan (day 15); submission Fri
///   15 Jan (day 16). All on time, but health's summary never arrives (open and overdue on
///   15 February), and the submission is on 15 January: by the timeline's day, but after
///   working day 15.
/// - RR-2026-103: aware Mon 4 January 2027, day 0 Wed 6 January, police. Notification due Mon
///   11 Jan; copy and letters Thu 7 Jan; summary, chair, progress Wed 20 Jan (day 10); panel and
///   summary Fri 22 Jan; sign-off etc. Wed 27 Jan (day 15); submission Thu 28 Jan (day 16). The
///   letters go on Fri 8 Jan (1 late), police's summary on Fri 22 Jan (2 late: 21, 22), the
///   summary and outcome on Mon 25 Jan (1 late), the submission on Tue 2 February: 3 late
///   (29 Jan, 1 and 2 Feb), after the period, so it is no submission *of the period* but a
///   milestone of the period done late.
/// - RR-2026-104: aware Mon 18 January, day 0 Wed 20 January, health; notification due Mon
///   25 Jan (done on day 0); copy and letters due Thu 21 Jan, never done: the case is closed
///   on 25 January. Its other milestones fall due in February, after the period.
fn known_cases(config: &Path, db: &TestDb) {
    open(
        config,
        db,
        "RR-2026-100",
        "2026-11-02",
        "2026-11-04",
        &["police"],
    );

    let c = "RR-2026-101";
    open(
        config,
        db,
        c,
        "2026-12-07",
        "2026-12-09",
        &["education", "police"],
    );
    ok(config, db, &["case", "local-review", c, "yes", "--at", AT]);
    for (milestone, agency, on) in [
        ("business_team_copy", "", "2026-12-10"),
        ("agency_letters", "", "2026-12-10"),
        ("executive_chair_informed", "", "2026-12-11"),
        ("progress_meeting", "", "2026-12-22"),
        ("agency_summary", "police", "2026-12-23"),
        ("agency_summary", "education", "2026-12-30"),
        ("panel_review", "", "2026-12-29"),
        ("summary_and_outcome", "", "2026-12-29"),
        ("partner_signoff", "", "2027-01-04"),
        ("final_version", "", "2027-01-04"),
        ("pdg_chair_shared", "", "2027-01-04"),
        ("national_panel_submission", "", "2027-01-04"),
    ] {
        complete(config, db, c, milestone, agency, on);
    }

    let c = "RR-2026-102";
    open(
        config,
        db,
        c,
        "2026-12-16",
        "2026-12-21",
        &["police", "health"],
    );
    for (milestone, agency, on) in [
        ("business_team_copy", "", "2026-12-22"),
        ("agency_letters", "", "2026-12-22"),
        ("executive_chair_informed", "", "2026-12-23"),
        ("progress_meeting", "", "2027-01-05"),
        ("agency_summary", "police", "2027-01-06"),
        ("panel_review", "", "2027-01-11"),
        ("summary_and_outcome", "", "2027-01-11"),
        ("partner_signoff", "", "2027-01-14"),
        ("final_version", "", "2027-01-14"),
        ("pdg_chair_shared", "", "2027-01-14"),
        ("national_panel_submission", "", "2027-01-15"),
    ] {
        complete(config, db, c, milestone, agency, on);
    }

    let c = "RR-2026-103";
    open(config, db, c, "2027-01-04", "2027-01-06", &["police"]);
    for (milestone, agency, on) in [
        ("business_team_copy", "", "2027-01-07"),
        ("agency_letters", "", "2027-01-08"),
        ("executive_chair_informed", "", "2027-01-20"),
        ("progress_meeting", "", "2027-01-20"),
        ("agency_summary", "police", "2027-01-22"),
        ("panel_review", "", "2027-01-22"),
        ("summary_and_outcome", "", "2027-01-25"),
        ("partner_signoff", "", "2027-01-27"),
        ("final_version", "", "2027-01-27"),
        ("pdg_chair_shared", "", "2027-01-27"),
        ("national_panel_submission", "", "2027-02-02"),
    ] {
        complete(config, db, c, milestone, agency, on);
    }

    let c = "RR-2026-104";
    open(config, db, c, "2027-01-18", "2027-01-20", &["health"]);
    ok(
        config,
        db,
        &[
            "case",
            "close",
            c,
            "--reason",
            "not a Rapid Review after all",
            "--at",
            AT,
        ],
    );
}

/// A milestone's figures as the JSON has them: (milestone, due, on time, late, open and
/// overdue, open not yet due, not done on a closed case, median late, longest late, delayed).
type Row = (
    &'static str,
    u64,
    u64,
    u64,
    u64,
    u64,
    u64,
    Option<f64>,
    Option<u64>,
    u64,
);

fn figures(row: &Value) -> (u64, u64, u64, u64, u64, u64, Option<f64>, Option<u64>, u64) {
    let n = |field: &str| {
        row[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} in {row}"))
    };
    (
        n("due"),
        n("on_time"),
        n("late"),
        n("open_overdue"),
        n("open_not_yet_due"),
        n("closed_not_done"),
        row["median_late_working_days"].as_f64(),
        row["max_late_working_days"].as_u64(),
        n("delayed"),
    )
}

fn every_figure_of_a_known_period_is_as_worked_out_by_hand(db: &TestDb) {
    let config = Path::new(CONFIG);
    known_cases(config, db);
    let report = report_json(config, db, &["--from", "2026-12-01", "--to", "2027-01-31"]);

    assert_eq!(
        report["period"],
        json!({"from": "2026-12-01", "to": "2027-01-31"})
    );
    assert_eq!(report["as_of"], AT);
    assert_eq!(
        report["cases"], 5,
        "RR-2026-100 is read, and counts nowhere else"
    );
    assert_eq!(report["statutory_limit_working_days"], 15);
    // Day 0 in the period: 9 and 21 December, 6 and 20 January (not 4 November). Submitted in
    // the period: 4 January (day 15, within the limit and the timeline) and 15 January (day 16:
    // the timeline's day, after the limit); 2 February is after the period.
    assert_eq!(
        report["rapid_reviews"],
        json!({
            "notified": 4,
            "submitted": 2,
            "submitted_within_statutory_limit": 1,
            "submitted_within_timeline": 2,
        })
    );
    // RR-2026-101 proposed one; the shipped timeline has no publication milestone.
    assert_eq!(
        report["lcsprs"],
        json!({
            "proposed": 1,
            "milestone": null,
            "published": null,
            "published_within_6_months": null,
        })
    );

    // Each milestone that fell due from 1 December to 31 January, case by case (101, 102, 103,
    // 104; 100's all fell due in November), as the doc of `known_cases` works them out.
    #[rustfmt::skip]
    let expected: [Row; 12] = [
        // Due 14 Dec, 23 Dec, 11 Jan, 25 Jan; each done on day 0.
        ("ofsted_notification",       4, 4, 0, 0, 0, 0, None, None, 0),
        // 104's, due 21 January, never done on a case now closed.
        ("business_team_copy",        4, 3, 0, 0, 0, 1, None, None, 0),
        // 103's a working day late; 104's as above.
        ("agency_letters",            4, 2, 1, 0, 0, 1, Some(1.0), Some(1), 0),
        // 101 police on time, education 3 late; 102 police on time, health overdue; 103 police
        // 2 late (104's is due 3 February). Median of 2 and 3.
        ("agency_summary",            5, 2, 2, 1, 0, 0, Some(2.5), Some(3), 0),
        ("executive_chair_informed",  3, 3, 0, 0, 0, 0, None, None, 0),
        ("progress_meeting",          3, 3, 0, 0, 0, 0, None, None, 0),
        ("panel_review",              3, 3, 0, 0, 0, 0, None, None, 0),
        // 103's on Monday 25 January, due Friday 22nd.
        ("summary_and_outcome",       3, 2, 1, 0, 0, 0, Some(1.0), Some(1), 0),
        ("partner_signoff",           3, 3, 0, 0, 0, 0, None, None, 0),
        ("final_version",             3, 3, 0, 0, 0, 0, None, None, 0),
        ("pdg_chair_shared",          3, 3, 0, 0, 0, 0, None, None, 0),
        // 103's on 2 February, due 28 January: 3 late.
        ("national_panel_submission", 3, 2, 1, 0, 0, 0, Some(3.0), Some(3), 0),
    ];
    let milestones = report["milestones"].as_array().expect("an array");
    assert_eq!(milestones.len(), expected.len());
    for (row, (id, due, on_time, late, overdue, not_yet, closed, median, max, delayed)) in
        milestones.iter().zip(expected)
    {
        assert_eq!(row["milestone"], id);
        assert!(row.get("agency").is_none(), "{row}");
        assert_eq!(
            figures(row),
            (
                due, on_time, late, overdue, not_yet, closed, median, max, delayed
            ),
            "{id}"
        );
        assert_eq!(
            row["delayed_by_reason"],
            json!({}),
            "{id}: no delays recorded"
        );
    }

    // The agency summaries by agency, in id order.
    let agencies = report["agencies"].as_array().expect("an array");
    let rows: Vec<(&str, &str, _)> = agencies
        .iter()
        .map(|row| {
            (
                row["milestone"].as_str().unwrap(),
                row["agency"].as_str().unwrap(),
                figures(row),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            // 101's, 3 late.
            (
                "agency_summary",
                "education",
                (1, 0, 1, 0, 0, 0, Some(3.0), Some(3), 0)
            ),
            // 102's, overdue (104's falls due in February).
            (
                "agency_summary",
                "health",
                (1, 0, 0, 1, 0, 0, None, None, 0)
            ),
            // 101's and 102's on time, 103's 2 late.
            (
                "agency_summary",
                "police",
                (3, 2, 1, 0, 0, 0, Some(2.0), Some(2), 0)
            ),
        ]
    );
    assert_eq!(report["not_evaluated"], json!([]));

    // The same figures in the table a person reads.
    let table = ok(
        config,
        db,
        &[
            "report",
            "--from",
            "2026-12-01",
            "--to",
            "2027-01-31",
            "--at",
            AT,
        ],
    );
    assert!(
        table.starts_with(
            "Compliance report, 1 December 2026 to 31 January 2027 (as of 15 February 2027, \
             5 cases read)\n"
        ),
        "{table}"
    );
    assert!(
        table.contains("\nagency_summary             5    2        2     1        0        0       2.5     3        0\n"),
        "{table}"
    );
    assert!(
        table.contains("\nagency_summary  police     3    2        1     0        0        0       2       2        0\n"),
        "{table}"
    );
}

/// The shipped config with the timeline's LCSPR publication milestone uncommented.
fn config_with_lcspr_milestone(dir: &Path) -> std::path::PathBuf {
    let shipped = Path::new(CONFIG).parent().unwrap();
    for file in ["rrn.toml", "bank-holidays.json"] {
        std::fs::copy(shipped.join(file), dir.join(file)).unwrap();
    }
    std::fs::create_dir(dir.join("templates")).unwrap();
    for entry in std::fs::read_dir(shipped.join("templates")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join("templates").join(path.file_name().unwrap())).unwrap();
    }
    let timeline = std::fs::read_to_string(shipped.join("timeline.toml")).unwrap();
    let (head, commented) = timeline
        .split_once("# [[milestone]]\n# id = \"lcspr_publication\"")
        .expect("the shipped timeline has the LCSPR milestone commented out");
    let uncommented: String = format!("# [[milestone]]\n# id = \"lcspr_publication\"{commented}")
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("timeline.toml"), format!("{head}{uncommented}")).unwrap();
    dir.join("rrn.toml")
}

/// Two LCSPRs start on their Rapid Reviews' submission (the timeline's anchor): one is
/// published 5 months later, one 7 months later; a third is proposed but not yet published.
fn an_lcspr_published_within_6_months_of_its_start_is_counted_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_lcspr_milestone(dir.path());
    let db = TestDb::sqlite();
    let at = "2028-04-10";
    for (reference, aware, day0, submitted, published) in [
        // Submitted Mon 4 Jan 2027 (day 15); published 4 June: within 6 months (4 July).
        (
            "RR-A",
            "2026-12-07",
            "2026-12-09",
            "2027-01-04",
            Some("2027-06-04"),
        ),
        // Submitted Fri 15 Jan 2027; published 16 August: after 15 July.
        (
            "RR-B",
            "2026-12-16",
            "2026-12-21",
            "2027-01-15",
            Some("2027-08-16"),
        ),
        // Submitted, not yet published.
        ("RR-C", "2027-01-04", "2027-01-06", "2027-01-28", None),
    ] {
        let base = ["--at", at];
        let mut args = vec![
            "case",
            "open",
            reference,
            "--aware",
            aware,
            "--day0",
            day0,
            "--agency",
            "police",
            "--local-review",
        ];
        args.extend(base);
        ok(&config, &db, &args);
        let mut args = vec![
            "case",
            "complete",
            reference,
            "national_panel_submission",
            "--on",
        ];
        args.extend([submitted, "--at", at]);
        ok(&config, &db, &args);
        if let Some(on) = published {
            let mut args = vec![
                "case",
                "complete",
                reference,
                "lcspr_publication",
                "--on",
                on,
            ];
            args.extend(base);
            ok(&config, &db, &args);
        }
    }
    let mut args = vec!["report", "--format", "json", "--at", at];
    args.extend(["--from", "2026-04-01", "--to", "2027-03-31"]);
    let year: Value = serde_json::from_str(&ok(&config, &db, &args)).unwrap();
    // In 2026-27: three notified and proposed, three submitted; no publication yet.
    assert_eq!(year["rapid_reviews"]["submitted"], 3);
    assert_eq!(
        year["lcsprs"],
        json!({
            "proposed": 3,
            "milestone": "lcspr_publication",
            "published": 0,
            "published_within_6_months": 0,
        })
    );
    let mut args = vec!["report", "--format", "json", "--at", at];
    args.extend(["--from", "2027-04-01", "--to", "2028-03-31"]);
    let year: Value = serde_json::from_str(&ok(&config, &db, &args)).unwrap();
    // In 2027-28: the two publications, one within 6 months; nothing notified.
    assert_eq!(
        year["lcsprs"],
        json!({
            "proposed": 0,
            "milestone": "lcspr_publication",
            "published": 2,
            "published_within_6_months": 1,
        })
    );
    // The milestone's own figures: due 4 July 2027, 15 July 2027 and 28 July 2027; one on
    // time, one late, one open and overdue.
    let row = year["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["milestone"] == "lcspr_publication")
        .unwrap()
        .clone();
    assert_eq!(
        (
            &row["due"],
            &row["on_time"],
            &row["late"],
            &row["open_overdue"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!(1)),
        "{row}"
    );
    // Another milestone may be named instead; an unknown one is refused.
    let mut args = vec!["report", "--lcspr-milestone", "lcspr-published", "--at", at];
    args.extend(["--format", "json"]);
    let refused = rrn(&config, &db, &args);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--lcspr-milestone `lcspr-published` is not a milestone of the timeline"),
        "{stderr}"
    );
}

fn the_default_period_is_the_last_complete_april_to_march_year() {
    let db = TestDb::sqlite();
    let config = Path::new(CONFIG);
    for (at, from, to) in [
        ("2026-12-01", "2025-04-01", "2026-03-31"),
        ("2027-03-31", "2025-04-01", "2026-03-31"),
        ("2027-04-01", "2026-04-01", "2027-03-31"),
    ] {
        let json = ok(config, &db, &["report", "--format", "json", "--at", at]);
        let report: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(report["period"], json!({"from": from, "to": to}), "on {at}");
        assert_eq!(report["cases"], 0);
    }
}

fn a_period_that_ends_before_it_starts_is_refused_naming_the_fields() {
    let db = TestDb::sqlite();
    let config = Path::new(CONFIG);
    let refused = rrn(
        config,
        &db,
        &[
            "report",
            "--from",
            "2027-04-01",
            "--to",
            "2027-03-31",
            "--at",
            AT,
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "rrn: error: --from 2027-04-01 is after --to 2027-03-31: give the period's first day, \
         then its last\n"
    );
    assert!(refused.stdout.is_empty());
    // One without the other is refused by the arguments' parser.
    let alone = rrn(config, &db, &["report", "--from", "2027-04-01", "--at", AT]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&alone.stderr).contains("--to"));
}

fn the_csv_opens_in_a_spreadsheet_and_carries_the_jsons_figures() {
    let db = TestDb::sqlite();
    let config = Path::new(CONFIG);
    known_cases(config, &db);
    let period = ["--from", "2026-12-01", "--to", "2027-01-31", "--at", AT];
    let mut args = vec!["report", "--format", "csv"];
    args.extend(period);
    let csv = ok(config, &db, &args);
    let body = csv.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut lines = body.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("section,milestone,agency,reason,figure,value")
    );
    let lines: Vec<&str> = lines.collect();
    for line in [
        "period,,,,from,2026-12-01",
        "period,,,,to,2027-01-31",
        "rapid_reviews,,,,notified,4",
        "rapid_reviews,,,,submitted,2",
        "rapid_reviews,,,,submitted_within_statutory_limit,1",
        "rapid_reviews,,,,submitted_within_timeline,2",
        "lcsprs,,,,proposed,1",
        "lcsprs,,,,published,",
        "milestones,agency_summary,,,due,5",
        "milestones,agency_summary,,,median_late_working_days,2.5",
        "milestones,agency_summary,,,max_late_working_days,3",
        "milestones,business_team_copy,,,closed_not_done,1",
        "agencies,agency_summary,health,,open_overdue,1",
        "agencies,agency_summary,police,,late,1",
        "milestones,national_panel_submission,,,delayed,0",
    ] {
        assert!(lines.contains(&line), "{line} in\n{csv}");
    }
    // One line per figure of the JSON: 9 per milestone and per agency row, 4 + 4 + 3 above.
    let mut args = vec!["report", "--format", "json"];
    args.extend(period);
    let json: Value = serde_json::from_str(&ok(config, &db, &args)).unwrap();
    let rows =
        json["milestones"].as_array().unwrap().len() + json["agencies"].as_array().unwrap().len();
    assert_eq!(
        lines.iter().filter(|l| !l.is_empty()).count(),
        4 + 4 + 3 + 9 * rows
    );
}

fn the_html_is_one_self_contained_page_with_tables_and_charts() {
    let db = TestDb::sqlite();
    let config = Path::new(CONFIG);
    known_cases(config, &db);
    let file = db.dir().join("report.html");
    let file_arg = file.to_str().unwrap();
    let said = ok(
        config,
        &db,
        &[
            "report",
            "--format",
            "html",
            "--output",
            file_arg,
            "--from",
            "2026-12-01",
            "--to",
            "2027-01-31",
            "--at",
            AT,
        ],
    );
    assert_eq!(said, format!("wrote the report to {file_arg}\n"));
    let page = std::fs::read_to_string(&file).unwrap();
    // Left for a person to look at (the target folder's scratch space).
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-known-cases.html"),
        &page,
    );
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en-GB\">"));
    assert!(page.contains(
        "<title>Rapid Review compliance report, 1 December 2026 to 31 January 2027</title>"
    ));
    assert!(!page.contains("<script"));
    assert!(!page.contains("<link"));
    let outside = page
        .match_indices("http")
        .filter(|(i, _)| !page[..*i].ends_with("xmlns=\""))
        .count();
    assert_eq!(outside, 0, "nothing is fetched from elsewhere");
    assert_eq!(page.matches("<svg").count(), 2, "two charts");
    assert_eq!(page.matches("role=\"img\"").count(), 2);
    assert!(page.contains("<title id=\"chart-on-time-title\">On-time rate per milestone"));
    assert!(page.contains("<title id=\"chart-lateness-title\">Lateness per agency"));
    assert_eq!(
        page.matches("<caption>").count(),
        3,
        "three tables with captions"
    );
    // The figures are in the tables too: agency_summary's row.
    assert!(page.contains(
        "<span class=\"id\">agency_summary</span></th><td class=\"num\">5</td><td class=\"num\">2</td>\
         <td class=\"num\">2</td><td class=\"num\">1</td>"
    ), "{page}");
    // The chart's words: 2 of the 5 on time (the overdue one counts against).
    assert!(page.contains(">40% (2 of 5)</text>"), "{page}");
}
