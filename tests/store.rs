//! The case store through the `rrn` binary, on SQLite and on a real PostgreSQL server.
//!
//! Every scenario runs on both backends, as `store::sqlite::NAME` and `store::postgres::NAME`
//! (`cargo test --test main -- store::postgres::` runs one half), each on a database of its own
//! (`common::db`). With no PostgreSQL server the PostgreSQL half is reported ignored with the
//! reason, except under `CI=true`, where it fails. The JSON export's scenarios are in
//! `store/export.rs`, with one more from SQLite to PostgreSQL (`store::sqlite_to_postgres::NAME`).

use std::path::PathBuf;
use std::process::{Command, Output};

use libtest_mimic::{Completion, Trial};
use rrn::store::{StatusFilter, Store};

use crate::common::db::{TestDb, with_postgres};
use crate::common::{CONFIG, block_on, christmas, rrn_command};
use export::{
    a_bad_json_file_is_refused_naming_the_field_and_changes_nothing,
    a_json_export_restores_every_fact_into_an_empty_database,
    a_json_import_into_a_database_with_cases_is_refused_and_changes_nothing,
};

mod export;

/// The day the commands act on: after the Christmas 2026 case's dates.
const AT: &str = "2027-01-20";

/// Every scenario on both backends (`store::sqlite::NAME`, `store::postgres::NAME`), then the
/// tests of one backend.
pub(crate) fn trials() -> Vec<Trial> {
    let mut trials = scenarios();
    trials.push(crate::trial(
        crate::test_name(
            module_path!(),
            "processes_starting_together_on_a_new_sqlite_file_all_succeed",
        ),
        processes_starting_together_on_a_new_sqlite_file_all_succeed,
    ));
    trials.push(crate::trial(
        crate::test_name(
            module_path!(),
            "a_lost_sqlite_database_is_not_silently_started_again_empty",
        ),
        a_lost_sqlite_database_is_not_silently_started_again_empty,
    ));
    trials.push(crate::ignorable_trial(
        crate::test_name(
            module_path!(),
            "sqlite_to_postgres::migrate_store_copies_every_fact_from_sqlite_to_postgres",
        ),
        || {
            with_postgres(|postgres| {
                export::migrate_store_copies_every_fact_from_sqlite_to_postgres(
                    &TestDb::sqlite(),
                    postgres,
                );
                Completion::Completed
            })
        },
    ));
    trials.push(on_postgres(
        "a_table_lock_held_by_another_session_times_out_with_a_clear_message",
        a_table_lock_held_by_another_session_times_out_with_a_clear_message,
    ));
    trials
}

/// `scenarios()`: a trial `sqlite::NAME` for each scenario, then a trial `postgres::NAME` for
/// each.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        fn scenarios() -> Vec<Trial> {
            vec![
                $(on_sqlite(stringify!($name), $name),)*
                $(on_postgres(stringify!($name), $name),)*
            ]
        }
    };
}

/// The trial `store::sqlite::NAME`: `scenario` on an SQLite database of its own.
fn on_sqlite(name: &str, scenario: fn(&TestDb)) -> Trial {
    crate::ignorable_trial(
        crate::test_name(module_path!(), &format!("sqlite::{name}")),
        move || {
            scenario(&TestDb::sqlite());
            Ok(Completion::Completed)
        },
    )
}

/// The trial `store::postgres::NAME`: `scenario` on a PostgreSQL database of its own, or
/// ignored with the reason when there is no server (`with_postgres`).
fn on_postgres(name: &str, scenario: fn(&TestDb)) -> Trial {
    crate::ignorable_trial(
        crate::test_name(module_path!(), &format!("postgres::{name}")),
        move || {
            with_postgres(|db| {
                scenario(db);
                Completion::Completed
            })
        },
    )
}

impl TestDb {
    /// Where the maildir transport of this test's runs writes.
    fn maildir(&self) -> PathBuf {
        self.dir().join("maildir")
    }

    fn rrn(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = rrn_command();
        command
            .env("RRN_DATABASE__URL", &self.url)
            .env("RRN_MAIL__MAILDIR", self.maildir())
            .args(["--config", CONFIG])
            .args(args);
        command
    }

    /// `rrn case ARGS --actor tester --at AT`, which must succeed.
    fn case(&self, args: &[&str]) -> String {
        let output = self.case_output(args);
        assert!(
            output.status.success(),
            "rrn case {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Dated `AT` unless `args` give their own `--at`; `--rehearse`, since these dates may be
    /// ahead of the real clock (the database is a throwaway).
    fn case_output(&self, args: &[&str]) -> Output {
        let mut full = vec!["case"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--actor", "tester", "--rehearse"]);
        if !args.contains(&"--at") {
            full.extend_from_slice(&["--at", AT]);
        }
        self.rrn(&full)
    }

    /// `rrn ARGS --format json` with its own `--at`, which must succeed.
    fn rrn_json(&self, args: &[&str]) -> String {
        let mut full = args.to_vec();
        full.extend_from_slice(&["--format", "json"]);
        let output = self.rrn(&full);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    }

    fn dump(&self) -> String {
        block_on(async {
            Store::connect(&self.url)
                .await
                .unwrap()
                .dump()
                .await
                .unwrap()
        })
    }
}

/// A lock another session holds (an operator's `LOCK TABLE`) makes a command wait for the lock
/// timeout, then say what happened, instead of waiting without limit.
fn a_table_lock_held_by_another_session_times_out_with_a_clear_message(db: &TestDb) {
    open_christmas_case(db);
    let before = db.dump();
    block_on(async {
        use sqlx::Connection as _;
        let mut holder = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql("BEGIN; LOCK TABLE cases IN ACCESS EXCLUSIVE MODE")
            .execute(&mut holder)
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let output = db.case_output(&["close", "RR-2026-014", "--reason", "test"]);
        let waited = started.elapsed();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("stayed locked by another session for 30 s"),
            "{stderr}"
        );
        // Which command waited, so the person knows what did not happen (#11).
        assert!(
            stderr.contains("`rrn case close` could not finish"),
            "{stderr}"
        );
        assert!(waited < std::time::Duration::from_secs(60), "{waited:?}");
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut holder)
            .await
            .unwrap();
    });
    assert_eq!(db.dump(), before);
}

on_both_backends!(
    a_backup_holds_every_case_and_never_overwrites,
    a_case_is_opened_completed_and_shown,
    every_refused_input_leaves_the_database_exactly_as_it_was,
    a_csv_import_is_all_or_nothing_and_reports_every_bad_row,
    a_csv_import_writes_what_opening_each_case_writes,
    a_csv_from_a_uk_spreadsheet_imports_and_every_bad_field_is_reported,
    export_writes_the_import_columns_first_and_reimports,
    a_closed_case_leaves_the_list_and_refuses_changes_until_reopened,
    agencies_can_be_added_and_removed_but_not_with_recorded_work,
    racing_completions_on_one_case_never_corrupt_it,
    the_audit_log_is_append_only,
    migrating_twice_is_harmless,
    a_milestone_others_count_from_cannot_be_undone_under_them,
    time_travel_before_day0_shows_day0_as_not_yet_happened,
    a_failed_migration_leaves_the_database_as_it_was,
    plan_previews_a_case_day_by_day_and_writes_nothing,
    listings_are_aligned_tables_with_counts_in_words_and_no_machine_keys,
    identifiers_a_person_types_are_the_same_in_any_case,
    a_database_holding_two_references_that_differ_only_in_case_migrates_and_keeps_both,
    a_run_queues_each_notification_once_and_records_what_it_skips,
    a_change_between_runs_brings_back_the_cases_history,
    a_log_written_before_the_0004_layout_still_dedups,
    a_run_that_died_half_way_sends_nothing_twice,
    a_run_for_an_earlier_day_does_not_hide_a_later_runs_log,
    runs_dated_before_the_case_was_opened_never_stop_later_runs,
    a_key_already_logged_when_a_page_is_written_is_left_out_not_fatal,
    a_run_ahead_of_the_clock_is_refused_and_changes_nothing,
    a_case_that_cannot_be_planned_is_reported_and_the_others_go_on,
    implausible_dates_and_spans_are_refused_and_change_nothing,
    the_case_rows_lines_follow_every_change,
    an_outbox_row_no_message_can_be_made_of_fails_alone_and_can_be_cancelled,
    names_from_the_environment_are_checked_and_case_show_escapes_stored_control_characters,
    a_json_export_restores_every_fact_into_an_empty_database,
    a_json_import_into_a_database_with_cases_is_refused_and_changes_nothing,
    a_bad_json_file_is_refused_naming_the_field_and_changes_nothing,
    accounts_and_sessions_live_in_the_database_and_end_when_disabled,
);

/// Six processes opening cases on a new SQLite file at once: the first migrates, the others
/// wait for it (sqlx has no migration lock for SQLite).
/// A database deleted (or emptied by deleting its write-ahead log) where one was opened
/// before is refused, naming what to do, instead of being created again, empty.
fn a_lost_sqlite_database_is_not_silently_started_again_empty() {
    let db = TestDb::sqlite();
    open_christmas_case(&db);
    let file = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let lost = |removed: &[&str]| {
        for suffix in removed {
            let _ = std::fs::remove_file(format!("{file}{suffix}"));
        }
        let listed = db.rrn(&["case", "list", "--at", AT]);
        assert_eq!(listed.status.code(), Some(1), "{listed:?}");
        let said = String::from_utf8_lossy(&listed.stderr);
        assert!(
            said.contains("is missing or empty") && said.contains("rrn backup"),
            "{said}"
        );
    };
    // The file itself gone: nothing is created in its place.
    lost(&["", "-wal", "-shm"]);
    assert!(!std::path::Path::new(&file).exists());
    // An empty file where it was (what a lost write-ahead log leaves): refused too.
    std::fs::write(&file, b"").unwrap();
    lost(&[]);
    // Deleting the marker, as the message says, starts afresh on purpose.
    std::fs::remove_file(&file).unwrap();
    std::fs::remove_file(format!("{file}.migrate-lock")).unwrap();
    let listed = db.rrn(&["case", "list", "--at", AT]);
    assert!(listed.status.success(), "{listed:?}");
}

fn processes_starting_together_on_a_new_sqlite_file_all_succeed() {
    let db = TestDb::sqlite();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let reference = format!("RR-RACE-{i}");
            db.command(&[
                "case",
                "open",
                &reference,
                "--aware",
                "2026-11-02",
                "--agency",
                "police",
                "--actor",
                "racer",
                "--at",
                "2026-11-02",
                "--rehearse",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    let listed = json(&db.case(&["list", "--format", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 6);
}

/// Opened on its day 0, Monday 21 December 2026.
fn a_backup_holds_every_case_and_never_overwrites(db: &TestDb) {
    open_christmas_case(db);
    let file = db.dir().join("backup.db");
    let file_arg = file.display().to_string();
    let backup = db.rrn(&["backup", &file_arg]);
    if db.is_postgres() {
        // PostgreSQL has its own tool, and the command says which.
        assert_eq!(backup.status.code(), Some(2), "{backup:?}");
        assert!(
            String::from_utf8_lossy(&backup.stderr).contains("pg_dump"),
            "{backup:?}"
        );
        return;
    }
    assert!(backup.status.success(), "{backup:?}");
    let show = |url: &str| {
        let output = rrn_command()
            .args(["--config", CONFIG, "--database", url])
            .args([
                "case",
                "show",
                christmas::CASE,
                "--format",
                "json",
                "--at",
                AT,
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        output.stdout
    };
    assert_eq!(show(&format!("sqlite://{file_arg}")), show(&db.url));
    // A second backup to the same file is refused and leaves it as it was.
    let before = std::fs::read(&file).unwrap();
    let again = db.rrn(&["backup", &file_arg]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists"),
        "{again:?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // A folder that does not exist is said in words, not as SQLite's code 14 (#11).
    let nowhere = db.dir().join("no-such-folder/backup.db");
    let refused = db.rrn(&["backup", &nowhere.display().to_string()]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(said.contains("no-such-folder does not exist"), "{said}");
    // A mistyped database path is not created empty and "backed up" (#11).
    let typo = db.dir().join("rnn.db");
    let refused = rrn_command()
        .args(["--config", CONFIG, "--database"])
        .arg(format!("sqlite://{}", typo.display()))
        .arg("backup")
        .arg(db.dir().join("backup2.db"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        said.contains("there is no database at") && said.contains("rnn.db"),
        "{said}"
    );
    assert!(!typo.exists() && !db.dir().join("backup2.db").exists());
}

fn open_christmas_case(db: &TestDb) {
    db.case(&christmas::OPEN[1..]);
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn a_case_is_opened_completed_and_shown(db: &TestDb) {
    open_christmas_case(db);
    db.case(&[
        "complete",
        "RR-2026-014",
        "agency_letters",
        "--on",
        "2026-12-22",
    ]);
    db.case(&[
        "complete",
        "RR-2026-014",
        "agency_summary",
        "--agency",
        "police",
        "--on",
        "2027-01-06",
        "--note",
        "by secure email",
    ]);

    let shown = json(&db.case(&["show", "RR-2026-014", "--format", "json"]));
    assert_eq!(shown["reference"], "RR-2026-014");
    assert_eq!(shown["aware"], "2026-12-16");
    assert_eq!(shown["day0"], "2026-12-21");
    assert_eq!(shown["status"], "open");
    assert_eq!(
        shown["agencies"],
        serde_json::json!(["education", "health", "police"])
    );
    let milestones = shown["milestones"].as_array().unwrap();
    let row = |id: &str, agency: Option<&str>| {
        milestones
            .iter()
            .find(|m| m["id"] == id && m["agency"].as_str() == agency)
            .unwrap_or_else(|| panic!("no {id} {agency:?}"))
            .clone()
    };
    assert_eq!(row("ofsted_notification", None)["status"], "done_on_time");
    assert_eq!(row("agency_letters", None)["status"], "done_on_time");
    assert_eq!(
        row("agency_summary", Some("police"))["status"],
        "done_on_time"
    );
    // On 20 January 2027 the other summaries (due Thursday 7 January) are 9 working days late.
    let health = row("agency_summary", Some("health"));
    assert_eq!(health["due"], "2027-01-07");
    assert_eq!(health["status"], "overdue");
    assert_eq!(health["working_days_late"], 9);
    assert!(
        health["derivation"]
            .as_str()
            .unwrap()
            .contains("not counting 25 and 28 December")
    );
    let audit = shown["audit"].as_array().unwrap();
    assert_eq!(audit.len(), 3);
    assert!(audit.iter().all(|a| a["actor"] == "tester"));

    let listed = json(&db.case(&["list", "--format", "json"]));
    assert_eq!(listed[0]["reference"], "RR-2026-014");
    assert_eq!(listed[0]["worst_status"], "overdue");
    // The business team's copy, due on day 1 (22 December), is the most overdue.
    assert_eq!(listed[0]["worst_working_days_late"], 18);
    assert_eq!(listed[0]["next_due"], "2026-12-22");
    let table = db.case(&["list"]);
    assert!(
        table.lines().nth(1).unwrap().starts_with("RR-2026-014"),
        "{table}"
    );
    // In words a business officer reads, on the case's one line.
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("overdue by 18 working days"),
        "{table}"
    );
}

/// Each command must be refused with status 2, a message naming the problem, and no change.
fn every_refused_input_leaves_the_database_exactly_as_it_was(db: &TestDb) {
    open_christmas_case(db);
    db.case(&[
        "open",
        "RR-2026-015",
        "--aware",
        "2026-12-01",
        "--agency",
        "police",
    ]);
    db.case(&["close", "RR-2026-015", "--reason", "not a serious incident"]);
    let dir = tempfile::tempdir().unwrap();
    let missing_column = dir.path().join("missing.csv");
    std::fs::write(
        &missing_column,
        "reference,aware,agencies\nRR-1,2026-12-01,police\n",
    )
    .unwrap();
    let bad_row = dir.path().join("bad.csv");
    std::fs::write(
        &bad_row,
        "reference,aware,day0,agencies\nRR-1,2026-12-01,,police\nRR-2,2026-13-01,,police\n",
    )
    .unwrap();
    let (missing_column, bad_row) = (
        missing_column.to_str().unwrap().to_owned(),
        bad_row.to_str().unwrap().to_owned(),
    );

    let refused: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["open", "RR-9", "--aware", "2026-12-01", "--agency", "fire"],
            "unknown agency `fire`",
        ),
        (
            vec!["complete", "RR-2026-014", "panel_meeting"],
            "unknown milestone `panel_meeting`",
        ),
        (
            vec![
                "complete",
                "RR-2026-014",
                "agency_letters",
                "--on",
                "2026-12-18",
            ],
            "before agency_letters counts from",
        ),
        (
            vec![
                "complete",
                "RR-2026-014",
                "agency_letters",
                "--on",
                "2027-02-01",
            ],
            "in the future",
        ),
        (
            vec![
                "open",
                "RR-9",
                "--aware",
                "2026-12-10",
                "--day0",
                "2026-12-09",
                "--agency",
                "police",
            ],
            "--day0 2026-12-09 is before --aware 2026-12-10",
        ),
        (
            vec![
                "open",
                "RR-2026-014",
                "--aware",
                "2026-12-16",
                "--agency",
                "police",
            ],
            "case RR-2026-014 already exists",
        ),
        (
            vec!["complete", "RR-404", "agency_letters"],
            "no case RR-404",
        ),
        (vec!["close", "RR-404", "--reason", "x"], "no case RR-404"),
        (
            vec!["complete", "RR-2026-014", "agency_summary"],
            "add --agency ID",
        ),
        (
            vec![
                "complete",
                "RR-2026-014",
                "agency_summary",
                "--agency",
                "probation",
            ],
            "agency probation is not involved in RR-2026-014",
        ),
        (
            vec![
                "complete",
                "RR-2026-014",
                "agency_letters",
                "--agency",
                "police",
            ],
            "drop --agency",
        ),
        (
            vec![
                "complete",
                "RR-2026-014",
                "agency_letters",
                "--on",
                "22/12/2026",
            ],
            "22/12/2026",
        ),
        (
            vec![
                "open",
                "RR-9",
                "--aware",
                "2026-12-32",
                "--agency",
                "police",
            ],
            "2026-12-32",
        ),
        (
            vec!["import", &missing_column],
            "the header must start with reference,aware,day0,agencies",
        ),
        (
            vec!["import", &bad_row],
            "line 3, field aware: `2026-13-01` is not a date",
        ),
        (
            vec!["complete", "RR-2026-015", "agency_letters"],
            "case RR-2026-015 is closed",
        ),
        (
            vec!["uncomplete", "RR-2026-014", "agency_letters"],
            "not recorded as done",
        ),
        (vec!["reopen", "RR-2026-014"], "already open"),
        (
            vec!["open", "RR-9", "--aware=0099-01-05", "--agency", "police"],
            "outside the calendar's range",
        ),
        (
            vec![
                "complete",
                "RR-2026-014",
                "agency_letters",
                "--note",
                "line one\nline two",
            ],
            "--note contains a control character",
        ),
    ];
    for (args, message) in refused {
        let before = db.dump();
        let output = db.case_output(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?}: want `{message}` in: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{args:?} printed {:?}",
            output.stdout
        );
        assert_eq!(db.dump(), before, "{args:?} changed the database");
    }
}

fn a_csv_import_is_all_or_nothing_and_reports_every_bad_row(db: &TestDb) {
    open_christmas_case(db);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.csv");
    std::fs::write(
        &file,
        "reference,aware,day0,agencies\n\
         RR-2026-020,2026-12-01,2026-12-03,police;health\n\
         RR-2026-021,2026-12-01,,nobody\n\
         RR-2026-022,2026-12-05,2026-12-04,police\n\
         RR-2026-014,2026-12-01,,police\n\
         RR-2026-020,2026-12-01,,police\n\
         bad ref,2026-12-01,,police\n",
    )
    .unwrap();
    let before = db.dump();
    let output = db.case_output(&["import", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for expected in [
        "5 rows refused, nothing imported",
        "line 3, field agencies: unknown agency `nobody`",
        "line 4, field day0: day0 2026-12-04 is before aware 2026-12-05",
        "line 3, field agencies",
        "line 5, field reference: case RR-2026-014 already exists",
        "line 6, field reference: RR-2026-020 is also on line 2",
        "line 7, field reference: invalid case reference `bad ref`",
    ] {
        assert!(stderr.contains(expected), "want `{expected}` in:\n{stderr}");
    }
    assert_eq!(db.dump(), before);

    // Windows line ends and blank lines, as spreadsheets write them: lines still count right.
    std::fs::write(
        &file,
        "reference,aware,day0,agencies\r\nRR-2026-040,2026-12-01,,police\r\n\r\n\r\n\
         RR-2026-041,2026-12-01,,nobody\r\nRR-2026-042\r\n",
    )
    .unwrap();
    let output = db.case_output(&["import", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 5, field agencies"), "{stderr}");
    assert!(stderr.contains("line 6, field aware: missing"), "{stderr}");
    assert_eq!(db.dump(), before);

    std::fs::write(
        &file,
        "reference,aware,day0,agencies\n\
         RR-2026-020,2026-12-01,2026-12-03,police;health\n\
         RR-2026-021,2026-12-07,,education\n",
    )
    .unwrap();
    assert_eq!(
        db.case(&["import", file.to_str().unwrap()]),
        format!("imported 2 cases from {}\n", file.display())
    );
    let listed = json(&db.case(&["list", "--format", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 3);
    let shown = json(&db.case(&["show", "RR-2026-020", "--format", "json"]));
    assert_eq!(shown["day0"], "2026-12-03");
    assert_eq!(shown["agencies"], serde_json::json!(["health", "police"]));
}

/// Issue 12: what a business officer's Excel writes imports: UK dates, a quoted agencies cell
/// with commas and capitals, rows of nothing but commas; and a bad file names every bad field
/// of every row, with what was read.
fn a_csv_from_a_uk_spreadsheet_imports_and_every_bad_field_is_reported(db: &TestDb) {
    assert!(db.rrn(&["migrate"]).status.success());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("excel.csv");
    std::fs::write(
        &file,
        "\u{feff}Reference,Aware,Day0,Agencies\r\n\
         RR-2026-060,13/25/2026,12/25/2026,\"Police, Nobody\"\r\n\
         bad ref,1/2/26,31/11/2026,police\r\n\
         ,,,\r\n",
    )
    .unwrap();
    let before = db.dump();
    let output = db.case_output(&["import", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for expected in [
        "line 2, field aware: `13/25/2026` is not a date: day 13, month 25",
        "line 2, field day0: `12/25/2026` is not a date: day 12, month 25",
        "line 2, field agencies: unknown agency `nobody`",
        "line 3, field reference: invalid case reference `bad ref`",
        "line 3, field aware: `1/2/26` is not a date: give the year in four digits",
        "line 3, field day0: `31/11/2026` is not a date: day 31, month 11",
    ] {
        assert!(stderr.contains(expected), "want `{expected}` in:\n{stderr}");
    }
    assert!(
        !stderr.contains("line 4"),
        "a row of commas is no case: {stderr}"
    );
    assert!(
        stderr.contains("2 rows refused (6 problems), nothing imported"),
        "{stderr}"
    );
    assert_eq!(db.dump(), before);

    std::fs::write(
        &file,
        "\u{feff}reference,aware,day0,agencies\r\n\
         RR-2026-060,1/12/2026,02/12/2026,\"Police, HEALTH\"\r\n\
         RR-2026-061,2026-12-07,,\" education ; police \"\r\n\
         ,,,\r\n,,,\r\n",
    )
    .unwrap();
    // The spaces around a cell are removed, and said so (#14).
    assert_eq!(
        db.case(&["import", file.to_str().unwrap()]),
        format!(
            "imported 2 cases from {}\nspaces around 1 value was removed: line 3 agencies\n",
            file.display()
        )
    );
    let shown = json(&db.case(&["show", "RR-2026-060", "--format", "json"]));
    assert_eq!(shown["aware"], "2026-12-01");
    assert_eq!(shown["day0"], "2026-12-02");
    assert_eq!(shown["agencies"], serde_json::json!(["health", "police"]));

    // What the export writes, the import reads back: the same cases in another database.
    let exported = db.case(&["export"]);
    let other = TestDb::sqlite();
    let again = dir.path().join("exported.csv");
    std::fs::write(&again, &exported).unwrap();
    other.case(&["import", again.to_str().unwrap()]);
    assert_eq!(other.case(&["export"]), exported);
}

/// `dump` with the real-time stamps (agencies added, completions recorded, audit entries)
/// blanked: two databases written at different moments compare equal on everything else.
fn dump_without_real_times(db: &TestDb) -> String {
    let mut table = String::new();
    db.dump()
        .lines()
        .map(|line| {
            if line.starts_with('[') {
                table = line.to_owned();
                return line.to_owned();
            }
            let real_time = match table.as_str() {
                "[case_agencies]" | "[audit_log]" => Some(2),
                "[completions]" => Some(5),
                _ => None,
            };
            let mut fields: Vec<&str> = line.split('|').collect();
            if let Some(field) = real_time {
                fields[field] = "*";
            }
            fields.join("|") + "\n"
        })
        .collect()
}

/// The bulk import writes exactly what opening the cases one by one with `rrn case open`
/// writes (cases, agencies, day-0 completions, audit ids and details, case lines), and every
/// imported case is newer than the revision counter before it, so the next run sees it changed.
fn a_csv_import_writes_what_opening_each_case_writes(db: &TestDb) {
    let rows = [
        (
            "RR-2026-050",
            "2026-12-01",
            Some("2026-12-03"),
            "police;health",
        ),
        ("RR-2026-051", "2026-12-07", None, "education"),
        (
            "RR-2026-052",
            "2026-12-02",
            Some("2026-12-02"),
            "probation;police;police",
        ),
        ("RR-2026-053", "2026-12-09", None, "health;education;police"),
    ];
    let one_by_one = db.another();
    for target in [db, &one_by_one] {
        open_christmas_case(target);
    }
    let revision_before = block_on(async {
        Store::connect(&db.url)
            .await
            .unwrap()
            .revision()
            .await
            .unwrap()
    });

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.csv");
    let mut csv = "reference,aware,day0,agencies\n".to_owned();
    for (reference, aware, day0, agencies) in rows {
        csv += &format!("{reference},{aware},{},{agencies}\n", day0.unwrap_or(""));
    }
    std::fs::write(&file, csv).unwrap();
    assert_eq!(
        db.case(&["import", file.to_str().unwrap()]),
        format!("imported 4 cases from {}\n", file.display())
    );

    for (reference, aware, day0, agencies) in rows {
        let mut args = vec!["open", reference, "--aware", aware];
        if let Some(day0) = day0 {
            args.extend(["--day0", day0]);
        }
        for agency in agencies.split(';') {
            args.extend(["--agency", agency]);
        }
        one_by_one.case(&args);
    }
    let imported = dump_without_real_times(db);
    assert!(
        imported.contains("day 0 given when the case was opened"),
        "{imported}"
    );
    assert!(
        imported.contains("aware 2026-12-02; day 0 2026-12-02; agencies police, probation"),
        "{imported}"
    );
    assert_eq!(imported, dump_without_real_times(&one_by_one));
    // The import's case lines were written with its rows while the insert triggers stood
    // aside: after it, they keep the lines again (the same changes, the same lines).
    for target in [db, &one_by_one] {
        target.case(&["agencies", "RR-2026-051", "--add", "police"]);
        target.case(&[
            "complete",
            "RR-2026-051",
            "ofsted_notification",
            "--on",
            "2026-12-07",
        ]);
    }

    let overviews = |db: &TestDb| {
        block_on(async {
            let mut listed = Vec::new();
            Store::connect(&db.url)
                .await
                .unwrap()
                .scan_cases(StatusFilter::All, |case| listed.push(case))
                .await
                .unwrap();
            listed.sort_by(|a, b| a.reference.as_str().cmp(b.reference.as_str()));
            listed
        })
    };
    let (bulk, single) = (overviews(db), overviews(&one_by_one));
    assert_eq!(bulk.len(), 5);
    for (bulk, single) in bulk.iter().zip(&single) {
        assert_eq!(bulk.reference, single.reference);
        // The case lines the scan reads, kept by migration 0006's triggers.
        assert_eq!(bulk.facts, single.facts);
        if bulk.reference.as_str() != "RR-2026-014" {
            assert!(bulk.revision > revision_before, "{bulk:?}");
        }
    }
}

fn export_writes_the_import_columns_first_and_reimports(db: &TestDb) {
    open_christmas_case(db);
    db.case(&[
        "open",
        "RR-2026-030",
        "--aware",
        "2026-12-10",
        "--agency",
        "probation",
    ]);
    // What Excel opens without its wizard (issue 12): UTF-8 with a byte-order mark, dates as
    // DD/MM/YYYY by default.
    let exported = db.case(&["export"]);
    let mut lines = exported.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("\u{feff}reference,aware,day0,agencies,status")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().any(
            |r| r.starts_with("RR-2026-014,16/12/2026,21/12/2026,education;health;police,open")
        ),
        "{exported}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("RR-2026-030,10/12/2026,,probation,open"))
    );
    // `[csv] date_format = "ISO"` writes ISO dates instead.
    let iso = db
        .command(&["case", "export", "--at", AT])
        .env("RRN_CSV__DATE_FORMAT", "ISO")
        .output()
        .unwrap();
    let iso = String::from_utf8(iso.stdout).unwrap();
    assert!(
        iso.contains("\nRR-2026-030,2026-12-10,,probation,open"),
        "{iso}"
    );

    let other = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.csv");
    std::fs::write(&file, &exported).unwrap();
    other.case(&["import", file.to_str().unwrap()]);
    let reexported = other.case(&["export"]);
    let strip = |csv: &str| -> Vec<String> {
        csv.lines()
            .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(strip(&reexported), strip(&exported));
}

fn a_closed_case_leaves_the_list_and_refuses_changes_until_reopened(db: &TestDb) {
    open_christmas_case(db);
    db.case(&["close", "RR-2026-014", "--reason", "threshold not met"]);
    assert_eq!(
        json(&db.case(&["list", "--format", "json"])),
        serde_json::json!([])
    );
    let all = json(&db.case(&["list", "--status", "all", "--format", "json"]));
    assert_eq!(all[0]["status"], "closed");
    assert_eq!(all[0]["reason"], "threshold not met");
    assert_eq!(
        db.case_output(&["close", "RR-2026-014", "--reason", "again"])
            .status
            .code(),
        Some(2)
    );
    db.case(&["reopen", "RR-2026-014"]);
    db.case(&[
        "complete",
        "RR-2026-014",
        "agency_letters",
        "--on",
        "2026-12-22",
    ]);
    assert_eq!(
        json(&db.case(&["list", "--format", "json"]))[0]["status"],
        "open"
    );
}

fn agencies_can_be_added_and_removed_but_not_with_recorded_work(db: &TestDb) {
    open_christmas_case(db);
    db.case(&["agencies", "RR-2026-014", "--add", "probation"]);
    db.case(&[
        "complete",
        "RR-2026-014",
        "agency_summary",
        "--agency",
        "police",
        "--on",
        "2027-01-05",
    ]);
    let output = db.case_output(&["agencies", "RR-2026-014", "--remove", "police"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("uncomplete them first"));
    db.case(&["agencies", "RR-2026-014", "--remove", "education"]);
    let shown = json(&db.case(&["show", "RR-2026-014", "--format", "json"]));
    assert_eq!(
        shown["agencies"],
        serde_json::json!(["health", "police", "probation"])
    );
    let summaries: Vec<_> = shown["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["id"] == "agency_summary")
        .map(|m| m["agency"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(summaries, ["health", "police", "probation"]);
}

/// Two `rrn case complete` processes at once: both succeed, or one fails cleanly; the case is
/// whole either way.
fn racing_completions_on_one_case_never_corrupt_it(db: &TestDb) {
    open_christmas_case(db);
    for round in 0..5 {
        // The same milestone twice: exactly one must win.
        let milestone = [
            "agency_letters",
            "business_team_copy",
            "executive_chair_informed",
            "progress_meeting",
            "panel_review",
        ][round];
        let spawn = |milestone: &'static str, agency: Option<&'static str>| {
            let mut args = vec![
                "case",
                "complete",
                "RR-2026-014",
                milestone,
                "--on",
                "2027-01-12",
            ];
            if let Some(agency) = agency {
                args.extend(["--agency", agency]);
            }
            args.extend(["--actor", "racer", "--rehearse", "--at", AT]);
            db.command(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(milestone, None), spawn(milestone, None));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let wins = [&a, &b].iter().filter(|o| o.status.success()).count();
        assert_eq!(wins, 1, "round {round}: {a:?} {b:?}");
        let loser = if a.status.success() { &b } else { &a };
        assert_eq!(loser.status.code(), Some(2), "{loser:?}");
        let message = String::from_utf8_lossy(&loser.stderr);
        assert!(
            message.contains("already recorded") || message.contains("at the same moment"),
            "{message}"
        );

        // Different agencies of one milestone: both must win.
        let (police, health) = (
            spawn("agency_summary", Some("police")),
            spawn("agency_summary", Some("health")),
        );
        let (police, health) = (
            police.wait_with_output().unwrap(),
            health.wait_with_output().unwrap(),
        );
        if round == 0 {
            assert!(
                police.status.success() && health.status.success(),
                "{police:?} {health:?}"
            );
        }
    }
    let shown = json(&db.case(&["show", "RR-2026-014", "--format", "json"]));
    let completions = shown["completions"].as_array().unwrap();
    // The day-0 milestone, five case-level milestones, and two agency summaries.
    assert_eq!(completions.len(), 8, "{completions:#?}");
    assert_eq!(shown["audit"].as_array().unwrap().len(), 1 + 5 + 2);
}

fn a_milestone_others_count_from_cannot_be_undone_under_them(db: &TestDb) {
    db.case(&[
        "open",
        "RR-2026-050",
        "--aware",
        "2026-03-02",
        "--day0",
        "2026-03-03",
        "--agency",
        "police",
    ]);
    db.case(&[
        "complete",
        "RR-2026-050",
        "business_team_copy",
        "--on",
        "2026-03-04",
    ]);
    let before = db.dump();
    let output = db.case_output(&["uncomplete", "RR-2026-050", "ofsted_notification"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("business_team_copy"), "{stderr}");
    assert_eq!(db.dump(), before);
    // Undone in order, both can be recorded again with a later day 0.
    db.case(&["uncomplete", "RR-2026-050", "business_team_copy"]);
    db.case(&["uncomplete", "RR-2026-050", "ofsted_notification"]);
    db.case(&[
        "complete",
        "RR-2026-050",
        "ofsted_notification",
        "--on",
        "2026-03-05",
    ]);
    let shown = json(&db.case(&["show", "RR-2026-050", "--format", "json"]));
    assert_eq!(shown["day0"], "2026-03-05");
    // What was undone stays on the record, note included.
    let undone: Vec<&str> = shown["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "uncomplete")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert!(
        undone.iter().any(|d| d.contains(
            "ofsted_notification no longer done (was recorded \
             as done on 2026-03-03 by tester; note: day 0 given when the case was opened)"
        )),
        "{undone:?}"
    );
    // Adding and removing one agency in one command is no change: refused, nothing written.
    let before = db.dump();
    let output = db.case_output(&[
        "agencies",
        "RR-2026-050",
        "--add",
        "health",
        "--remove",
        "health",
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("no change"));
    assert_eq!(db.dump(), before);
}

fn time_travel_before_day0_shows_day0_as_not_yet_happened(db: &TestDb) {
    open_christmas_case(db);
    let shown = json(&db.rrn_json(&["case", "show", "RR-2026-014", "--at", "2026-12-18"]));
    let status = |id: &str| {
        shown["milestones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("ofsted_notification"), "open");
    assert_eq!(status("business_team_copy"), "awaiting_anchor");
}

fn plan_previews_a_case_day_by_day_and_writes_nothing(db: &TestDb) {
    open_christmas_case(db);
    let before = db.dump();
    let preview = db.rrn(&[
        "plan",
        "--from",
        "2026-12-21",
        "--to",
        "2026-12-23",
        "--case",
        "RR-2026-014",
        "--format",
        "json",
    ]);
    assert!(preview.status.success(), "{preview:?}");
    let days = json(&String::from_utf8(preview.stdout).unwrap());
    let dates: Vec<&str> = days
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-12-21", "2026-12-22", "2026-12-23"]);
    // Day 1 (22 December): one letter to each agency's lead.
    let letters: Vec<&str> = days[1]["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "agency_letter")
        .map(|e| e["recipient"]["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        letters,
        [
            "agency_lead:education",
            "agency_lead:health",
            "agency_lead:police"
        ]
    );
    let now = db.rrn(&["plan", "--at", "2026-12-22"]);
    assert!(now.status.success(), "{now:?}");
    assert!(String::from_utf8_lossy(&now.stdout).contains("police lead"));
    assert_eq!(db.dump(), before, "planning writes nothing");
}

/// Issue 12: `rrn plan`, `outbox list`, `status` and `case list` are tables a person scans:
/// a header, aligned columns, counts in words, every case an email covers, no machine keys.
fn listings_are_aligned_tables_with_counts_in_words_and_no_machine_keys(db: &TestDb) {
    open_christmas_case(db);
    // One case: the singular, everywhere.
    let status = db.rrn(&["status", "--at", "2026-12-21"]);
    let status = String::from_utf8(status.stdout).unwrap();
    assert!(
        status.contains("cases:      1 open case, 0 milestones overdue"),
        "{status}"
    );
    let listed = db.case(&["list", "--at", "2026-12-21"]);
    assert!(listed.starts_with("REFERENCE    DAY 0 "), "{listed}");
    assert!(listed.ends_with("\n1 case\n"), "{listed}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.csv");
    std::fs::write(
        &file,
        "reference,aware,day0,agencies\nRR-2026-015,2026-12-16,2026-12-21,police\n",
    )
    .unwrap();
    assert_eq!(
        db.case(&["import", file.to_str().unwrap()]),
        format!("imported 1 case from {}\n", file.display())
    );

    // The plan: a header, words for whom and what; keys and rule names only in JSON.
    let plan = String::from_utf8(db.rrn(&["plan", "--at", "2026-12-22"]).stdout).unwrap();
    let mut lines = plan.lines();
    assert_eq!(
        lines.next().unwrap(),
        "DO    CASE          MILESTONE                     TO                        WHAT"
    );
    assert!(
        plan.contains(
            "send  RR-2026-014   agency_summary (police)       police lead               letter"
        ),
        "{plan}"
    );
    assert!(
        !plan
            .split_whitespace()
            .any(|w| w == "agency_letter" || w.starts_with("agency_lead:")),
        "{plan}"
    );
    let keys = json(&db.rrn_json(&["plan", "--at", "2026-12-22"]));
    assert!(keys[0]["key"].is_string(), "{keys}");

    // The outbox names both cases of a digest that covers both, and the header lines up.
    run_once(db, "2026-12-22");
    let outbox = String::from_utf8(db.rrn(&["outbox", "list"]).stdout).unwrap();
    let header = outbox.lines().next().unwrap();
    assert!(
        header.starts_with("ID  QUEUED            STATUS  KIND "),
        "{outbox}"
    );
    let cases_at = header.find("CASES").unwrap();
    let digest = outbox
        .lines()
        .find(|l| l.contains("csc-manager@"))
        .unwrap_or_else(|| panic!("{outbox}"));
    assert_eq!(&digest[cases_at..], "RR-2026-014, RR-2026-015", "{outbox}");
    assert!(outbox.contains("agency letter") && !outbox.contains("agency_letter"));
    assert!(outbox.trim_end().ends_with(" emails"), "{outbox}");
    let rows = json(&db.rrn_json(&["outbox", "list"]));
    let chair = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recipient"].as_str().unwrap().starts_with("csc-manager@"))
        .unwrap();
    assert_eq!(
        chair["cases"],
        serde_json::json!(["RR-2026-014", "RR-2026-015"])
    );

    // A month on, more than 10 milestones are overdue: the 10 longest overdue, then a count.
    let status = String::from_utf8(db.rrn(&["status", "--at", "2027-01-25"]).stdout).unwrap();
    assert!(status.contains("cases:      2 open cases, "), "{status}");
    let listed: Vec<&str> = status
        .lines()
        .skip_while(|l| *l != "most overdue:")
        .skip(2)
        .take_while(|l| !l.starts_with("  and "))
        .collect();
    assert_eq!(listed.len(), 10, "{status}");
    let overdue = json(&db.rrn_json(&["status", "--at", "2027-01-25"]))["overdue"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        status.contains(&format!("  and {} more: `rrn case list`\n", overdue - 10)),
        "{status}"
    );
    assert!(listed[0].contains("working days"), "{status}");
}

/// Issue 12: `rr-2026-050` is `RR-2026-050` (stored as first spelled), `Police` is `police`,
/// `Agency_Summary` is `agency_summary`, `YES` is `yes`; a second case that differs only in
/// case is refused and changes nothing.
fn identifiers_a_person_types_are_the_same_in_any_case(db: &TestDb) {
    db.case(&[
        "open",
        "RR-2026-050",
        "--aware",
        "2026-12-16",
        "--day0",
        "2026-12-21",
        "--agency",
        "Police",
        "--agency",
        "HEALTH",
    ]);
    let shown = json(&db.case(&["show", "rr-2026-050", "--format", "json"]));
    assert_eq!(shown["reference"], "RR-2026-050");
    assert_eq!(shown["agencies"], serde_json::json!(["health", "police"]));

    let before = db.dump();
    let again = db.case_output(&[
        "open",
        "rr-2026-050",
        "--aware",
        "2026-12-16",
        "--agency",
        "police",
    ]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("case rr-2026-050 (as `RR-2026-050`: references are the same whatever their case) already exists"),
        "{said}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("again.csv");
    std::fs::write(
        &file,
        "reference,aware,day0,agencies\nrr-2026-050,2026-12-16,,police\n\
         RR-2026-051,2026-12-16,,police\nrr-2026-051,2026-12-16,,police\n",
    )
    .unwrap();
    let import = db.case_output(&["import", file.to_str().unwrap()]);
    assert_eq!(import.status.code(), Some(2), "{import:?}");
    let said = String::from_utf8_lossy(&import.stderr);
    assert!(
        said.contains("line 2, field reference: case rr-2026-050 (as `RR-2026-050`"),
        "{said}"
    );
    assert!(
        said.contains("line 4, field reference: rr-2026-051 is also on line 3 (as `RR-2026-051`"),
        "{said}"
    );
    assert_eq!(db.dump(), before, "refusals change nothing");

    db.case(&[
        "complete",
        "rr-2026-050",
        "Agency_Summary",
        "--agency",
        "POLICE",
        "--on",
        "2026-12-22",
    ]);
    db.case(&["local-review", "Rr-2026-050", "YES"]);
    let shown = json(&db.case(&["show", "RR-2026-050", "--format", "json"]));
    assert_eq!(shown["local_review_proposed"], true, "{shown}");
    let police = shown["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "agency_summary" && m["agency"] == "police")
        .unwrap();
    assert_eq!(police["status"], "done_on_time", "{police}");
    db.case(&[
        "uncomplete",
        "RR-2026-050",
        "AGENCY_SUMMARY",
        "--agency",
        "Police",
    ]);
    let preview = db.rrn(&[
        "plan",
        "--from",
        "2026-12-21",
        "--to",
        "2026-12-22",
        "--case",
        "rr-2026-050",
    ]);
    assert!(preview.status.success(), "{preview:?}");
    assert!(String::from_utf8_lossy(&preview.stdout).contains("RR-2026-050"));
}

/// Migration 0011 adds the case-folded unique index. A database that already holds `RR-1` and
/// `rr-1` (allowed before it) migrates all the same and keeps both: each spelling still finds
/// its own case, and no third spelling can be opened.
fn a_database_holding_two_references_that_differ_only_in_case_migrates_and_keeps_both(db: &TestDb) {
    let backend = if db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let old = tempfile::tempdir().unwrap();
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < "0011" {
            std::fs::copy(&path, old.path().join(name)).unwrap();
        }
    }
    let statements = [
        "INSERT INTO cases (reference, aware_on, created_at, updated_at) VALUES \
         ('RR-1', '2026-12-16', '2026-12-16T09:00:00+00:00', '2026-12-16T09:00:00+00:00'), \
         ('rr-1', '2026-12-17', '2026-12-17T09:00:00+00:00', '2026-12-17T09:00:00+00:00')",
        "INSERT INTO case_agencies (case_id, agency_id, added_at) \
         SELECT id, 'police', '2026-12-16T09:00:00+00:00' FROM cases",
    ];
    block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
        match &store {
            Store::Sqlite(pool) => {
                migrator.run(pool).await.unwrap();
                for sql in statements {
                    sqlx::query(sql).execute(pool).await.unwrap();
                }
            }
            Store::Postgres(pool) => {
                migrator.run(pool).await.unwrap();
                for sql in statements {
                    sqlx::query(sql).execute(pool).await.unwrap();
                }
            }
        }
    });
    let migrated = db.rrn(&["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let aware = |reference: &str| {
        json(&db.case(&["show", reference, "--format", "json"]))["aware"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(aware("RR-1"), "2026-12-16");
    assert_eq!(aware("rr-1"), "2026-12-17");
    assert_eq!(
        aware("Rr-1"),
        "2026-12-16",
        "another spelling finds the first"
    );
    let third = db.case_output(&[
        "open",
        "rR-1",
        "--aware",
        "2026-12-16",
        "--agency",
        "police",
    ]);
    assert_eq!(third.status.code(), Some(2), "{third:?}");
    let listed = json(&db.case(&["list", "--format", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
}

/// `rrn run --once --at DAY`: the run's report (the delivery report is under `delivery`).
fn run_once(db: &TestDb, day: &str) -> serde_json::Value {
    let mut report = json(&db.rrn_json(&["run", "--once", "--rehearse", "--at", day]));
    let delivery = report["delivery"].take();
    let mut run = report["run"].take();
    run["delivery"] = delivery;
    run
}

fn a_run_queues_each_notification_once_and_records_what_it_skips(db: &TestDb) {
    open_christmas_case(db);
    // A case the calendar cannot evaluate (its deadlines fall after 2200) must not stop the run.
    // Such a case is refused at open, so it is made as a damaged row would be.
    let far = db.rrn(&[
        "case",
        "open",
        "RR-FAR",
        "--aware",
        "2200-12-29",
        "--agency",
        "police",
        "--at",
        "2200-12-29",
        "--rehearse",
    ]);
    assert_eq!(far.status.code(), Some(2), "{far:?}");
    assert!(
        String::from_utf8_lossy(&far.stderr).contains("the timeline cannot be worked out"),
        "{far:?}"
    );
    db.case(&[
        "open",
        "--at",
        "2026-12-21",
        "RR-FAR",
        "--aware",
        "2026-12-16",
        "--agency",
        "police",
    ]);
    execute(
        db,
        "UPDATE cases SET aware_on = '2200-12-29' WHERE reference = 'RR-FAR'",
    )
    .unwrap();

    // Day 1: three agency letters, and digests to the Executive Chair (case opened), the CSC
    // manager and the business team (the copy and the letters are due today).
    let first = run_once(db, "2026-12-22");
    assert_eq!(first["queued"], 6, "{first}");
    assert_eq!(
        first["failed_cases"].as_array().unwrap().len(),
        1,
        "{first}"
    );
    assert_eq!(first["failed_cases"][0]["reference"], "RR-FAR", "{first}");
    assert!(
        first["failed_cases"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("2200"),
        "{first}"
    );
    // Delivered through the default transport, the maildir: one file per email.
    assert_eq!(first["delivery"]["sent"], 6, "{first}");
    let outbox = json(&db.rrn_json(&["outbox", "list"]));
    let rows = outbox.as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(
        rows.iter().filter(|r| r["kind"] == "agency_letter").count(),
        3
    );
    assert!(rows.iter().all(|r| r["status"] == "sent"), "{outbox}");
    assert_eq!(
        std::fs::read_dir(db.maildir().join("new")).unwrap().count(),
        6
    );

    // The same day again: nothing new.
    let again = run_once(db, "2026-12-22");
    assert_eq!(
        (again["queued"].as_i64(), again["skipped"].as_i64()),
        (Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(
        json(&db.rrn_json(&["outbox", "list"]))
            .as_array()
            .unwrap()
            .len(),
        6
    );

    // Down until Tuesday 29 December: the copy and letters are 3 working days overdue. The
    // manager's first escalation went stale (superseded by the repeat due today); it is recorded.
    let later = run_once(db, "2026-12-29");
    assert!(later["queued"].as_i64().unwrap() > 0, "{later}");
    assert!(later["skipped"].as_i64().unwrap() > 0, "{later}");
    let shown = json(&db.case(&["show", "RR-2026-014", "--format", "json"]));
    let skips: Vec<&serde_json::Value> = shown["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "skip")
        .collect();
    // Every skip of every run is in the audit log (on day 1, the reminders of day 0 came late).
    assert_eq!(
        skips.len() as i64,
        first["skipped"].as_i64().unwrap() + later["skipped"].as_i64().unwrap()
    );
    assert!(skips.iter().all(|a| a["actor"] == "rrn run"));
    assert!(
        skips[0]["detail"].as_str().unwrap().contains("superseded"),
        "{skips:?}"
    );
    // Every logged send names the email that carries it, addressed to the key's recipient.
    let sends = "SELECT count(*) FROM notification_log WHERE decision = 'send'";
    assert!(scalar(db, sends) >= 6);
    let misfiled = "SELECT count(*) FROM notification_log l LEFT JOIN outbox o \
         ON o.id = l.outbox_id WHERE l.decision = 'send' \
         AND (o.id IS NULL OR l.key NOT LIKE '%/' || o.recipient)";
    assert_eq!(scalar(db, misfiled), 0);
    // And what a run would send now is nothing: all of it is in the log.
    let plan = db.rrn(&["plan", "--at", "2026-12-29"]);
    assert_eq!(String::from_utf8_lossy(&plan.stdout), "nothing to send\n");
}

/// Unchanged cases only propose what is new since the last run; a case changed since then is
/// looked at whole, so an agency added late still gets its day-1 letter.
fn a_change_between_runs_brings_back_the_cases_history(db: &TestDb) {
    open_christmas_case(db);
    run_once(db, "2026-12-22");
    run_once(db, "2026-12-29");
    let letters = |db: &TestDb| {
        json(&db.rrn_json(&["outbox", "list"]))
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "agency_letter")
            .map(|r| r["recipient"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(letters(db).len(), 3);
    db.case(&["agencies", "RR-2026-014", "--add", "probation"]);
    let after = run_once(db, "2026-12-30");
    assert!(after["queued"].as_i64().unwrap() >= 1, "{after}");
    assert!(
        letters(db).contains(&"safeguarding@probation.example".to_owned()),
        "{:?}",
        letters(db)
    );
    // And an unchanged case is quiet on a day with nothing new.
    let quiet = run_once(db, "2026-12-30T14:00");
    assert_eq!(quiet["queued"], 0, "{quiet}");
}

/// Listings and runs read each case's agencies and completions from two lines the database keeps
/// in the case row (migration 0006): after every kind of change they say what the tables say.
fn the_case_rows_lines_follow_every_change(db: &TestDb) {
    open_christmas_case(db);
    db.case(&["agencies", "RR-2026-014", "--add", "probation"]);
    for (agency, on) in [("police", "2027-01-05"), ("health", "2027-01-06")] {
        db.case(&[
            "complete",
            "RR-2026-014",
            "agency_summary",
            "--agency",
            agency,
            "--on",
            on,
        ]);
    }
    db.case(&[
        "complete",
        "RR-2026-014",
        "agency_letters",
        "--on",
        "2026-12-22",
    ]);
    db.case(&[
        "uncomplete",
        "RR-2026-014",
        "agency_summary",
        "--agency",
        "health",
    ]);
    db.case(&["agencies", "RR-2026-014", "--remove", "education"]);
    db.case(&[
        "open",
        "RR-2026-015",
        "--aware",
        "2026-12-17",
        "--agency",
        "police",
    ]);
    block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        let mut listed = Vec::new();
        store
            .scan_cases(StatusFilter::All, |case| listed.push(case))
            .await
            .unwrap();
        assert_eq!(listed.len(), 2);
        let in_order = |mut facts: rrn::domain::timeline::CaseFacts| {
            facts
                .completions
                .sort_by_key(|c| (c.milestone.clone(), c.agency.clone(), c.on));
            facts
        };
        for overview in listed {
            let (case, _) = store
                .case_with_audit(&overview.reference)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(in_order(overview.facts), in_order(case.facts()));
        }
    });
    let shown = json(&db.case(&["show", "RR-2026-014", "--format", "json"]));
    assert_eq!(
        shown["agencies"],
        serde_json::json!(["health", "police", "probation"])
    );
}

fn outbox_rows(db: &TestDb) -> usize {
    json(&db.rrn_json(&["outbox", "list"]))
        .as_array()
        .unwrap()
        .len()
}

/// A run that dies after writing some pages, before recording itself, leaves log entries the
/// last recorded run does not account for: the next run looks those cases' keys up again
/// instead of trusting that nothing is logged after the last run's day.
fn a_run_that_died_half_way_sends_nothing_twice(db: &TestDb) {
    open_christmas_case(db);
    run_once(db, "2026-12-22");
    let second = run_once(db, "2026-12-29");
    assert!(second["queued"].as_i64().unwrap() > 0, "{second}");
    let queued = outbox_rows(db);
    // As if the second run had died after writing its pages.
    execute(db, "DELETE FROM runs WHERE today_on = '2026-12-29'").unwrap();
    let again = run_once(db, "2026-12-29");
    assert_eq!(again["queued"], 0, "{again}");
    assert_eq!(outbox_rows(db), queued);
}

/// A run for an earlier day after a later one (time travel with `--at`) must not make the next
/// run forget what the later one logged.
fn a_run_for_an_earlier_day_does_not_hide_a_later_runs_log(db: &TestDb) {
    open_christmas_case(db);
    run_once(db, "2026-12-22");
    run_once(db, "2026-12-29");
    let queued = outbox_rows(db);
    let earlier = run_once(db, "2026-12-23");
    assert_eq!(earlier["queued"], 0, "{earlier}");
    let again = run_once(db, "2026-12-29");
    assert_eq!(again["queued"], 0, "{again}");
    assert_eq!(outbox_rows(db), queued);
}

/// The Executive Chair's notice is dated the day the case was opened: runs replaying days
/// before it (time travel, or a host whose clock is behind) propose nothing for it, and do not
/// make it look new to every run after them.
fn runs_dated_before_the_case_was_opened_never_stop_later_runs(db: &TestDb) {
    // Opened on AT (20 January 2027) for an incident a year before.
    db.case(&[
        "open",
        "RR-1",
        "--aware",
        "2025-12-10",
        "--day0",
        "2025-12-15",
        "--agency",
        "police",
        "--agency",
        "health",
    ]);
    let chair_notices = |db: &TestDb| {
        scalar(
            db,
            "SELECT count(*) FROM notification_log WHERE key LIKE '%/chair_notice/%'",
        )
    };
    for day in ["2025-12-15", "2025-12-16", "2025-12-17"] {
        let run = run_once(db, day);
        assert_eq!(run["failed_cases"], serde_json::json!([]), "{run}");
    }
    assert_eq!(
        chair_notices(db),
        0,
        "the case was not open yet on those days"
    );
    let opened = run_once(db, AT);
    assert!(opened["queued"].as_i64().unwrap() > 0, "{opened}");
    assert_eq!(chair_notices(db), 1);
    // The days after, and another replay of the past, add nothing for the Chair.
    run_once(db, "2027-01-21");
    run_once(db, "2025-12-18");
    run_once(db, "2027-01-22");
    assert_eq!(chair_notices(db), 1);
    assert_eq!(
        scalar(
            db,
            "SELECT count(*) FROM audit_log WHERE action = 'already-logged'"
        ),
        0,
        "nothing came back as new"
    );
}

/// A key the log already holds when a page is written (here: a mark that promises nothing was
/// logged after the last run, when something was) is left out of its email, the audit log says
/// why, and the run goes on.
fn a_key_already_logged_when_a_page_is_written_is_left_out_not_fatal(db: &TestDb) {
    open_christmas_case(db);
    run_once(db, "2026-12-22");
    let second = run_once(db, "2026-12-29");
    assert!(second["queued"].as_i64().unwrap() > 0, "{second}");
    let queued = outbox_rows(db);
    // Forget the second run, and make the first one's mark claim that nothing was logged
    // after it: the next run trusts it and does not look the keys up.
    execute(db, "DELETE FROM runs WHERE today_on = '2026-12-29'").unwrap();
    execute(db, "UPDATE runs SET log_mark = 1000000000").unwrap();
    let again = run_once(db, "2026-12-29");
    assert_eq!(again["queued"], 0, "{again}");
    assert_eq!(again["failed_cases"], serde_json::json!([]), "{again}");
    assert_eq!(outbox_rows(db), queued, "nothing was sent twice");
    let left_out = scalar(
        db,
        "SELECT count(*) FROM audit_log WHERE action = 'already-logged' \
         AND detail LIKE '%already in the notification log%'",
    );
    assert!(left_out > 0, "the audit log says what was left out");
}

/// A run dated ahead of the clock would use up the days in between: refused, unless the
/// database is a throwaway and the caller says so.
fn a_run_ahead_of_the_clock_is_refused_and_changes_nothing(db: &TestDb) {
    open_christmas_case(db);
    let before = db.dump();
    let output = db.rrn(&["run", "--once", "--at", "2199-06-03T10:00"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--at 2199-06-03 is after today"),
        "{stderr}"
    );
    assert!(stderr.contains("--rehearse"), "{stderr}");
    let write = db.rrn(&[
        "case",
        "close",
        "RR-2026-014",
        "--reason",
        "test",
        "--at",
        "2199-01-01",
    ]);
    assert_eq!(write.status.code(), Some(2), "{write:?}");
    assert_eq!(db.dump(), before);
    // Reading ahead is fine: it writes nothing.
    let shown = db.rrn(&["case", "show", "RR-2026-014", "--at", "2199-01-01"]);
    assert!(shown.status.success(), "{shown:?}");
}

/// A case with an agency the config no longer names fails alone: the run names it (JSON,
/// `rrn status`), the other case's letters go out, and what was held for it goes out once the
/// config names the agency again.
fn a_case_that_cannot_be_planned_is_reported_and_the_others_go_on(db: &TestDb) {
    db.case(&[
        "open",
        "--at",
        "2026-12-21",
        "RR-A",
        "--aware",
        "2026-12-16",
        "--day0",
        "2026-12-21",
        "--agency",
        "police",
    ]);
    db.case(&[
        "open",
        "--at",
        "2026-12-21",
        "RR-B",
        "--aware",
        "2026-12-16",
        "--day0",
        "2026-12-21",
        "--agency",
        "police",
        "--agency",
        "probation",
    ]);
    // The same config without the probation service.
    let dir = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(CONFIG).parent().unwrap();
    for file in ["timeline.toml", "bank-holidays.json"] {
        std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
    }
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    for entry in std::fs::read_dir(source.join("templates")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path().join("templates").join(entry.file_name()),
        )
        .unwrap();
    }
    let config = std::fs::read_to_string(CONFIG).unwrap();
    let start = config.find("[[agency]]\nid = \"probation\"").unwrap();
    let end = start + config[start..].find("\n\n").unwrap();
    let reduced = dir.path().join("rrn.toml");
    std::fs::write(&reduced, format!("{}{}", &config[..start], &config[end..])).unwrap();
    let with_reduced = |args: &[&str]| {
        let output = rrn_command()
            .env("RRN_DATABASE__URL", &db.url)
            .env("RRN_MAIL__MAILDIR", db.maildir())
            .args(["--config", reduced.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };

    let run = json(&with_reduced(&[
        "run",
        "--once",
        "--rehearse",
        "--at",
        "2026-12-22",
        "--format",
        "json",
    ]));
    let failed = run["run"]["failed_cases"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{run}");
    assert_eq!(failed[0]["reference"], "RR-B");
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("probation") && reason.contains("held"),
        "{reason}"
    );
    let letters = |db: &TestDb| {
        scalar(
            db,
            "SELECT count(*) FROM notification_log WHERE key LIKE '%/agency_letter/%'",
        )
    };
    // RR-A's letter and RR-B's police letter went out; nothing was logged for probation.
    assert_eq!(letters(db), 2);
    assert_eq!(
        scalar(
            db,
            "SELECT count(*) FROM notification_log WHERE key LIKE '%/probation/%'"
        ),
        0
    );
    let status = with_reduced(&["status", "--at", "2026-12-22"]);
    assert!(status.contains("RR-B: agency probation"), "{status}");
    let status = json(&with_reduced(&[
        "status",
        "--at",
        "2026-12-22",
        "--format",
        "json",
    ]));
    assert_eq!(status["failed_cases"][0]["reference"], "RR-B", "{status}");
    // The next run, with nothing new for probation in its days, still reports the case: it is
    // still missing an agency, and what falls due for it later is held too.
    let next = json(&with_reduced(&[
        "run",
        "--once",
        "--rehearse",
        "--at",
        "2026-12-22T14:00",
        "--format",
        "json",
    ]));
    assert_eq!(
        next["run"]["failed_cases"][0]["reference"], "RR-B",
        "{next}"
    );

    // With probation back in the config, its letter goes out (late) and no case fails.
    let run = run_once(db, "2026-12-23");
    assert_eq!(run["failed_cases"], serde_json::json!([]), "{run}");
    assert_eq!(letters(db), 3);
}

/// An aware date centuries ago (a typing mistake) is refused at open instead of failing every
/// run; a preview over centuries is refused instead of filling memory.
fn implausible_dates_and_spans_are_refused_and_change_nothing(db: &TestDb) {
    open_christmas_case(db);
    let before = db.dump();
    for aware in ["1900-01-01", "2020-01-01"] {
        let output = db.case_output(&["open", "RR-OLD", "--aware", aware, "--agency", "police"]);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("check the year"), "{stderr}");
    }
    assert_eq!(db.dump(), before);
    let preview = db.rrn(&[
        "plan",
        "--case",
        "RR-2026-014",
        "--from",
        "1900-01-01",
        "--to",
        "2200-12-31",
    ]);
    assert_eq!(preview.status.code(), Some(2), "{preview:?}");
    assert!(String::from_utf8_lossy(&preview.stderr).contains("a year at most"));
}

/// Runs one statement outside the store, as an operator (or another program) might.
fn execute(db: &TestDb, sql: &'static str) -> Result<(), sqlx::Error> {
    block_on(async {
        match Store::connect(&db.url).await.unwrap() {
            Store::Sqlite(pool) => sqlx::raw_sql(sql).execute(&pool).await.map(|_| ()),
            Store::Postgres(pool) => sqlx::raw_sql(sql).execute(&pool).await.map(|_| ()),
        }
    })
}

/// One number from the database, read outside the store.
fn scalar(db: &TestDb, sql: &'static str) -> i64 {
    block_on(async {
        match Store::connect(&db.url).await.unwrap() {
            Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap(),
            Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap(),
        }
    })
}

fn a_failed_migration_leaves_the_database_as_it_was(db: &TestDb) {
    // A table in the way of the first migration's last step.
    execute(db, "CREATE TABLE audit_log (unrelated INTEGER)").unwrap();
    let output = db.rrn(&["migrate"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("migrations failed"), "{stderr}");
    // Nothing of the failed migration stayed: its earlier tables were rolled back with it.
    assert!(execute(db, "SELECT count(*) FROM cases").is_err());
    execute(db, "DROP TABLE audit_log").unwrap();
    assert!(db.rrn(&["migrate"]).status.success());
    open_christmas_case(db);
}

fn the_audit_log_is_append_only(db: &TestDb) {
    open_christmas_case(db);
    block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        let result = match &store {
            Store::Sqlite(pool) => sqlx::query("UPDATE audit_log SET actor = 'someone else'")
                .execute(pool)
                .await
                .map(|_| ()),
            Store::Postgres(pool) => sqlx::query("DELETE FROM audit_log")
                .execute(pool)
                .await
                .map(|_| ()),
        };
        let error = result
            .expect_err("the audit log must refuse changes")
            .to_string();
        assert!(error.contains("append-only"), "{error}");
    });
}

fn migrating_twice_is_harmless(db: &TestDb) {
    for _ in 0..2 {
        let output = db.rrn(&["migrate"]);
        assert!(output.status.success(), "{output:?}");
    }
    let path: Option<PathBuf> = db.url.strip_prefix("sqlite://").map(PathBuf::from);
    if let Some(path) = path {
        assert!(
            path.exists(),
            "the SQLite file and its folder are created on first use"
        );
    }
}

/// A database left at migration 0003 by an older rrn, with the chair's notice in its log: after
/// upgrading, the key is found (SQLite hashes the copied rows at start, PostgreSQL in the
/// migration, and both must agree with rrn's hash), so the chair is not told twice.
fn a_log_written_before_the_0004_layout_still_dedups(db: &TestDb) {
    let backend = if db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let old = tempfile::tempdir().unwrap();
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < "0004" {
            std::fs::copy(&path, old.path().join(name)).unwrap();
        }
    }
    const CHAIR_KEY: &str = "RR-2026-014/-/-/chair_notice/0/0/executive-chair@partnership.example";
    block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
        let statements = [
            "INSERT INTO cases (reference, aware_on, day0_on, created_at, updated_at) \
             VALUES ('RR-2026-014', '2026-12-16', '2026-12-21', \
             '2026-12-16T09:00:00+00:00', '2026-12-16T09:00:00+00:00')",
            "INSERT INTO case_agencies (case_id, agency_id, added_at) \
             SELECT id, 'police', '2026-12-16T09:00:00+00:00' FROM cases",
            "INSERT INTO notification_log (key, case_id, decision, decided_at) \
             SELECT 'RR-2026-014/-/-/chair_notice/0/0/executive-chair@partnership.example', \
             id, 'send', '2026-12-16T19:00:00+00:00' FROM cases",
        ];
        match &store {
            Store::Sqlite(pool) => {
                migrator.run(pool).await.unwrap();
                for sql in statements {
                    sqlx::query(sql).execute(pool).await.unwrap();
                }
            }
            Store::Postgres(pool) => {
                migrator.run(pool).await.unwrap();
                for sql in statements {
                    sqlx::query(sql).execute(pool).await.unwrap();
                }
            }
        }
    });

    let run = run_once(db, "2026-12-22");
    assert_eq!(run["failed_cases"].as_array().unwrap().len(), 0, "{run}");
    let outbox = json(&db.rrn_json(&["outbox", "list"]));
    let recipients: Vec<&str> = outbox
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["recipient"].as_str().unwrap())
        .collect();
    // The police letter, the CSC manager's and the business team's digests; not the chair's.
    assert!(
        recipients.contains(&"safeguarding-lead@police.example"),
        "{recipients:?}"
    );
    assert!(
        !recipients.contains(&"executive-chair@partnership.example"),
        "the chair's notice was logged before the upgrade: {recipients:?}"
    );
    // Every row has its hash, and the old entry is still there, once.
    let (rows, hashed, chair): (i64, i64, i64) = block_on(async {
        let sql = format!(
            "SELECT count(*), count(key_hash), \
             count(CASE WHEN key = '{CHAIR_KEY}' THEN 1 END) FROM notification_log"
        );
        match Store::connect(&db.url).await.unwrap() {
            Store::Sqlite(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(&pool)
                .await
                .unwrap(),
            Store::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(&pool)
                .await
                .unwrap(),
        }
    });
    assert!(rows > 1);
    assert_eq!((hashed, chair), (rows, 1));
}

/// Runs one statement on the test database with text and integer arguments (`$1`, `$2`…): for
/// writing what an older version (or a person with database access) could have left there.
fn execute_with(db: &TestDb, query: &'static str, text: &[&str], number: i64) {
    block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        match &store {
            Store::Sqlite(pool) => {
                let mut q = sqlx::query(query);
                for t in text {
                    q = q.bind(*t);
                }
                q.bind(number).execute(pool).await.unwrap();
            }
            Store::Postgres(pool) => {
                let mut q = sqlx::query(query);
                for t in text {
                    q = q.bind(*t);
                }
                q.bind(number).execute(pool).await.unwrap();
            }
        }
    })
}

fn outbox_email(db: &TestDb, id: i64) -> serde_json::Value {
    block_on(async {
        let store = Store::connect(&db.url).await.unwrap();
        let query = "SELECT email FROM outbox WHERE id = $1";
        let text: String = match &store {
            Store::Sqlite(pool) => sqlx::query_scalar(query).bind(id).fetch_one(pool).await,
            Store::Postgres(pool) => sqlx::query_scalar(query).bind(id).fetch_one(pool).await,
        }
        .unwrap();
        json(&text)
    })
}

fn outbox_list(db: &TestDb) -> Vec<serde_json::Value> {
    let rows = json(&db.rrn_json(&["outbox", "list"]));
    rows.as_array().unwrap().clone()
}

fn the_row_to<'a>(rows: &'a [serde_json::Value], recipient: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["recipient"] == recipient)
        .unwrap_or_else(|| panic!("no row to {recipient}: {rows:?}"))
}

/// A name with a line break stored in a queued row (as versions that did not check names did)
/// used to panic inside lettre, crash the run and leave every row in flight: a crash loop. Now
/// that row fails with the reason, the others go out, and a person can cancel a row for good.
fn an_outbox_row_no_message_can_be_made_of_fails_alone_and_can_be_cancelled(db: &TestDb) {
    open_christmas_case(db);
    // The evening before: queued, outside the sending window.
    let evening = run_once(db, "2026-12-22T19:30");
    assert_eq!(evening["queued"], 6, "{evening}");
    assert_eq!(evening["delivery"]["waiting_for_window"], true, "{evening}");
    let rows = outbox_list(db);
    let police = the_row_to(&rows, "safeguarding-lead@police.example")["id"]
        .as_i64()
        .unwrap();
    let health = the_row_to(&rows, "designated-nurse@health.example")["id"]
        .as_i64()
        .unwrap();

    let mut email = outbox_email(db, police);
    email["recipient"]["name"] = "Police Lead\nBcc: x@evil.example".into();
    execute_with(
        db,
        "UPDATE outbox SET email = $1 WHERE id = $2",
        &[&email.to_string()],
        police,
    );
    // One the business team decides not to send.
    let cancelled = db.rrn(&["outbox", "cancel", &health.to_string(), "--actor", "tester"]);
    assert!(cancelled.status.success(), "{cancelled:?}");
    assert!(
        String::from_utf8_lossy(&cancelled.stdout).contains("will not be sent"),
        "{cancelled:?}"
    );

    // Exit status 3: the run finished, with an email failed for good.
    let output = db.rrn(&[
        "run",
        "--once",
        "--rehearse",
        "--at",
        "2026-12-23T08:00",
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let mut morning = json(&String::from_utf8(output.stdout).unwrap());
    let delivery = morning["delivery"].take();
    let mut morning = morning["run"].take();
    morning["delivery"] = delivery;
    assert_eq!(morning["delivery"]["failed"], 1, "{morning}");
    let rows = outbox_list(db);
    let failed = rows.iter().find(|r| r["id"] == police).unwrap();
    assert_eq!(failed["status"], "failed", "{failed}");
    let reason = failed["last_error"].as_str().unwrap();
    assert!(
        reason.contains("recipient's name") && reason.contains("U+000A"),
        "{reason}"
    );
    assert_eq!(
        rows.iter().find(|r| r["id"] == health).unwrap()["status"],
        "cancelled"
    );
    // Everything else went out, the admin's report of the failure included.
    for row in &rows {
        if row["id"] != police && row["id"] != health {
            assert_eq!(row["status"], "sent", "{row}");
        }
    }
    assert!(
        rows.iter()
            .any(|r| r["kind"] == "delivery_failure" && r["status"] == "sent"),
        "{rows:?}"
    );
    // A Maildir message's name starts with its outbox row.
    let names: Vec<String> = std::fs::read_dir(db.maildir().join("new"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let of_row = |id: i64| format!("{id:08}.");
    assert!(
        !names.iter().any(|n| n.starts_with(&of_row(police))),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with(&of_row(health))),
        "{names:?}"
    );
    for name in &names {
        let message = std::fs::read_to_string(db.maildir().join("new").join(name)).unwrap();
        assert!(!message.contains("evil.example"), "{message}");
    }

    // The failed row can be cleared for good, once; retrying a cancelled row is refused.
    let cancel = |id: i64| db.rrn(&["outbox", "cancel", &id.to_string(), "--actor", "tester"]);
    assert!(cancel(police).status.success());
    let again = cancel(police);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("cancelled already"));
    assert_eq!(cancel(999_999).status.code(), Some(2));
    assert_eq!(
        db.rrn(&["outbox", "retry", &police.to_string()])
            .status
            .code(),
        Some(2)
    );
    let listed = db.rrn(&["outbox", "list", "--status", "cancelled"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(listed.matches("cancelled").count(), 2, "{listed}");
    let later = run_once(db, "2026-12-23T09:00");
    assert_eq!(later["delivery"]["failed"], 0, "{later}");
    assert!(
        !std::fs::read_dir(db.maildir().join("new"))
            .unwrap()
            .any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(&of_row(health)))
    );

    // Each cancel is in the case's audit trail with who did it.
    let shown = json(&db.case(&["show", "RR-2026-014", "--format", "json"]));
    let cancels: Vec<&serde_json::Value> = shown["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "cancel-email")
        .collect();
    assert_eq!(cancels.len(), 2, "{shown}");
    assert!(
        cancels.iter().all(|a| a["actor"] == "tester"),
        "{cancels:?}"
    );
}

/// `$USER` goes into the append-only audit log when no `--actor` is given: a line break or an
/// escape in it would fake an entry. Text already stored with such characters is printed
/// escaped.
fn names_from_the_environment_are_checked_and_case_show_escapes_stored_control_characters(
    db: &TestDb,
) {
    open_christmas_case(db);
    let before = db.dump();
    let with_user = |user: &str, args: &[&str]| {
        db.command(args)
            .env_remove("SUDO_USER")
            .env("USER", user)
            .output()
            .unwrap()
    };
    let close = [
        "case",
        "close",
        "RR-2026-014",
        "--reason",
        "review complete",
        "--at",
        AT,
        "--rehearse",
    ];
    let faked = with_user("mallory\n2027-01-20 09:00:00Z  root  close  fake", &close);
    assert_eq!(faked.status.code(), Some(2), "{faked:?}");
    let stderr = String::from_utf8_lossy(&faked.stderr);
    assert!(
        stderr.contains("$USER") && stderr.contains("--actor"),
        "{stderr}"
    );
    let hidden = with_user("mal\u{202E}lory", &close);
    assert_eq!(hidden.status.code(), Some(2), "{hidden:?}");
    let note = db.case_output(&[
        "complete",
        "RR-2026-014",
        "executive_chair_informed",
        "--on",
        "2026-12-21",
        "--note",
        "done\u{200B}",
    ]);
    assert_eq!(note.status.code(), Some(2), "{note:?}");
    assert!(
        String::from_utf8_lossy(&note.stderr).contains("invisible formatting"),
        "{note:?}"
    );
    assert_eq!(db.dump(), before, "a refused command wrote something");
    assert!(with_user("alice", &close).status.success());

    // As an older version could have stored it.
    execute_with(
        db,
        "INSERT INTO audit_log (case_id, at, actor, action, detail) \
         SELECT case_id, at, $1, 'note', $2 FROM audit_log WHERE id = (SELECT min(id) FROM \
         audit_log WHERE case_id IS NOT NULL AND id > $3)",
        &[
            "eve\u{1b}[2J",
            "x\n2027-01-20 09:00:00Z  root  reopen  \u{202E}fake",
        ],
        0,
    );
    let shown = db.rrn(&["case", "show", "RR-2026-014", "--at", AT]);
    assert!(shown.status.success(), "{shown:?}");
    let text = String::from_utf8(shown.stdout).unwrap();
    assert!(!text.contains(['\u{1b}', '\u{202E}']), "{text:?}");
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("2027-01-20 09:00:00Z  root")),
        "{text}"
    );
    assert!(text.contains("eve\\u{1b}[2J"), "{text}");
    assert!(text.contains("\\u{a}2027-01-20"), "{text}");
}

/// The workspace's accounts through the library on each backend: any instance of `rrn web`
/// serves any session, since sessions live in the database.
fn accounts_and_sessions_live_in_the_database_and_end_when_disabled(db: &TestDb) {
    use rrn::casework::{Accounts, Sessions, SignInRefusal};
    use rrn::domain::account::{Role, SessionLimits};
    use secrecy::SecretString;
    let now = chrono::DateTime::parse_from_rfc3339("2027-01-20T09:00:00Z")
        .unwrap()
        .to_utc();
    let later = |minutes: i64| now + chrono::Duration::minutes(minutes);
    block_on(async {
        let store = Store::open(&db.url).await.unwrap();
        let accounts = Accounts {
            store: &store,
            actor: "test".to_owned(),
            now,
        };
        let password = || SecretString::from("correct horse battery staple".to_owned());
        accounts
            .add(
                "Casey@Partnership.example",
                "Casey Worker",
                Role::Caseworker,
                password(),
            )
            .await
            .unwrap();
        let taken = accounts
            .add(
                "casey@partnership.example",
                "Again",
                Role::Viewer,
                password(),
            )
            .await;
        assert!(taken.unwrap_err().to_string().contains("exists already"));
        let weak = accounts
            .add(
                "x@partnership.example",
                "X",
                Role::Viewer,
                SecretString::from("1qaz2wsx3edc".to_owned()),
            )
            .await;
        assert!(weak.unwrap_err().to_string().contains("commonest"));
        let limits = SessionLimits {
            idle: std::time::Duration::from_secs(30 * 60),
            absolute: std::time::Duration::from_secs(12 * 3600),
        };
        let sessions = Sessions {
            store: &store,
            limits,
        };
        // Matched without regard to case; a wrong password says no more than an unknown email.
        let (token, session) = sessions
            .sign_in("CASEY@partnership.example", password(), "127.0.0.1", now)
            .await
            .unwrap()
            .expect("signed in");
        assert_eq!(session.account.role, Role::Caseworker);
        let wrong = sessions
            .sign_in(
                "casey@partnership.example",
                SecretString::from("wrong".to_owned()),
                "127.0.0.1",
                now,
            )
            .await
            .unwrap();
        let unknown = sessions
            .sign_in("nobody@partnership.example", password(), "127.0.0.1", now)
            .await
            .unwrap();
        assert_eq!(wrong.unwrap_err(), SignInRefusal::NoMatch);
        assert_eq!(unknown.unwrap_err(), SignInRefusal::NoMatch);
        // Another store on the same database (another instance) finds the session.
        let other = Store::open(&db.url).await.unwrap();
        let elsewhere = Sessions {
            store: &other,
            limits,
        };
        assert!(
            elsewhere
                .session(&token, later(10))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            elsewhere
                .session(&token, later(39))
                .await
                .unwrap()
                .is_some(),
            "used at 10 minutes, so idle only 29"
        );
        assert!(
            elsewhere
                .session("not a token", later(10))
                .await
                .unwrap()
                .is_none()
        );
        // Disabling ends it at once.
        Accounts {
            store: &store,
            actor: "admin".to_owned(),
            now: later(40),
        }
        .disable("casey@partnership.example")
        .await
        .unwrap();
        assert!(
            elsewhere
                .session(&token, later(41))
                .await
                .unwrap()
                .is_none()
        );
        let refused = sessions
            .sign_in(
                "casey@partnership.example",
                password(),
                "127.0.0.1",
                later(42),
            )
            .await
            .unwrap();
        assert_eq!(refused.unwrap_err(), SignInRefusal::NoMatch);
        // The audit log has each step; no password or token in it.
        let audit = store.dump().await.unwrap();
        for action in [
            "account-add",
            "sign-in",
            "sign-in-failed",
            "account-disable",
        ] {
            assert!(audit.contains(action), "{action} in the audit log");
        }
        assert!(!audit.contains("correct horse") && !audit.contains(&token));
    });
}
