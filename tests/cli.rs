//! The `rrn` binary driven as a user would drive it: arguments in; stdout, stderr and the exit
//! status out.
//!
//! Every run names its config explicitly (the repository's `config/rrn.toml` or one written to a
//! temporary folder) and inherits no `RRN_*` variable from the machine running the tests, so the
//! results do not depend on where the tests run.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common;
use common::rrn_command;

trials!(
    a_closed_postgresql_port_is_said_at_once_with_where_it_looked,
    migrate_reports_what_it_applied,
    working_day_10_after_monday_21_december_2026_skips_christmas_and_new_year,
    a_negative_count_goes_back_to_earlier_working_days,
    working_day_0_is_the_date_itself_even_on_a_bank_holiday,
    between_counts_the_working_days_after_the_first_date_up_to_the_second,
    the_division_flag_counts_with_that_divisions_bank_holidays,
    holidays_are_listed_one_a_line_as_date_tab_title,
    holidays_of_a_year_beyond_the_feed_come_from_the_statutory_rules,
    a_malformed_date_is_refused_with_status_2,
    an_unknown_division_is_refused_with_status_2,
    a_year_outside_1900_to_2200_is_refused_with_status_2,
    a_date_outside_1900_to_2200_is_refused_with_status_2,
    the_json_timeline_is_an_array_of_objects_with_the_documented_keys,
    a_per_agency_milestone_gets_a_row_for_each_agency_and_the_others_have_a_null_agency,
    the_national_panel_submission_is_due_on_working_day_16_across_christmas,
    a_milestone_past_its_due_day_is_overdue_by_working_days,
    the_timeline_table_fits_an_80_column_terminal,
    the_timeline_table_says_each_status_in_words,
    the_timeline_needs_an_aware_date_or_a_day_0,
    an_unknown_agency_is_refused_and_the_known_ones_are_listed,
    a_day_0_before_the_aware_date_is_refused,
    check_config_warns_that_the_submission_is_a_working_day_after_the_statutory_limit,
    check_config_warns_when_the_bank_holiday_file_runs_out_within_12_months,
    check_config_does_not_warn_about_bank_holidays_with_years_of_data_left,
    check_config_locates_an_unknown_anchor_and_a_duplicate_id_by_line_and_column,
    an_unknown_config_key_is_located_by_line_and_column,
    an_email_address_with_a_line_break_or_no_domain_is_a_config_error_at_its_key,
    smtp_in_clear_text_to_another_host_or_with_a_login_is_refused_at_its_key,
    a_name_with_a_line_break_nul_or_direction_override_is_a_config_error_at_its_key,
    check_config_refuses_roles_the_timeline_sends_to_without_a_contact,
    importing_a_feed_without_events_is_refused_and_leaves_the_feed_file_unchanged,
    importing_a_file_that_is_not_json_is_refused_and_leaves_the_feed_file_unchanged,
    importing_a_feed_with_a_partial_year_is_refused_and_leaves_the_feed_file_unchanged,
    importing_a_feed_with_a_line_break_in_a_title_is_refused_and_leaves_the_feed_file_unchanged,
    a_feed_with_a_byte_order_mark_is_imported_and_read,
    a_huge_feed_is_refused_by_its_size_on_import_and_when_configured,
    importing_a_valid_feed_replaces_the_file_and_its_holidays_are_used,
    #[cfg(unix)]
    importing_keeps_the_feed_files_permissions,
    an_environment_variable_overrides_the_division_in_the_file,
    a_bad_environment_override_is_refused_naming_the_variable,
    rrn_config_naming_a_missing_file_is_refused_naming_the_path,
    the_config_flag_wins_over_rrn_config,
    a_file_that_cannot_be_read_is_reported_once,
    closure_days_do_not_count_as_working_days,
    closure_days_are_listed_among_the_holidays,
    the_database_is_found_from_the_config_folder_and_status_names_it,
    every_config_error_exits_2_at_its_file_line_and_column_whichever_command_loads_it,
);

/// The repository's example config, with its bank-holiday file and timeline beside it.
const REPO_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/rrn.toml");
/// The shipped copy of the GOV.UK bank-holidays feed.
const REPO_FEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/bank-holidays.json");

/// What one run of `rrn` printed and how it ended.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts a zero exit status and returns stdout.
    fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success: {self:#?}");
        &self.stdout
    }

    /// Asserts the run was refused as a usage error (status 2) with nothing on stdout and a
    /// message on stderr that names `bad_value`.
    fn assert_refused_naming(&self, bad_value: &str) {
        assert_eq!(self.code, Some(2), "expected exit status 2: {self:#?}");
        assert_eq!(self.stdout, "", "nothing belongs on stdout: {self:#?}");
        assert!(
            self.stderr.contains(bad_value),
            "stderr should name `{bad_value}`: {self:#?}"
        );
    }

    /// Asserts a non-zero exit status and returns stderr.
    fn failed(&self) -> &str {
        assert!(
            matches!(self.code, Some(code) if code != 0),
            "expected failure: {self:#?}"
        );
        &self.stderr
    }

    /// The lines of stdout that are warnings.
    fn warnings(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("warning:"))
            .collect()
    }
}

fn run(command: &mut Command) -> Run {
    let output = command.output().expect("running rrn");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// `rrn --config CONFIG ARGS…`
fn rrn_with(config: &Path, args: &[&str]) -> Run {
    run(rrn_command().arg("--config").arg(config).args(args))
}

/// `rrn --config config/rrn.toml ARGS…`
fn rrn(args: &[&str]) -> Run {
    rrn_with(Path::new(REPO_CONFIG), args)
}

/// A temporary folder holding `rrn.toml` with `text`; keep the folder alive while using the path.
fn temp_config(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("creating a temporary folder");
    let path = dir.path().join("rrn.toml");
    std::fs::write(&path, text).expect("writing rrn.toml");
    (dir, path)
}

// ---------------------------------------------------------------------------------------------
// Working-day arithmetic

/// Issue 12: a PostgreSQL URL whose port nobody listens on fails within 5 s (not after the
/// pool's 10 s), naming the host, port and database and what to check.
fn a_closed_postgresql_port_is_said_at_once_with_where_it_looked() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://rrn@127.0.0.1:{port}/partnership");
    let started = std::time::Instant::now();
    let listed = rrn(&["--database", &url, "case", "list"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{listed:#?}"
    );
    assert_eq!(listed.code, Some(1), "{listed:#?}");
    let place = format!("cannot connect to PostgreSQL at 127.0.0.1:{port}, database `partnership`");
    for expected in [place.as_str(), "pg_isready", "[database] url"] {
        assert!(
            listed.stderr.contains(expected),
            "want {expected}: {listed:#?}"
        );
    }
}

/// Issue 12: `rrn migrate` says which migrations it applied, and that none were needed after.
fn migrate_reports_what_it_applied() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rrn.db").display());
    let first = rrn(&["--database", &url, "migrate"]);
    let said = first.ok();
    assert!(said.starts_with("applied 0001 cases\n"), "{said}");
    assert!(said.contains("applied 0011 folded references\n"), "{said}");
    assert!(said.ends_with(" migrations applied\n"), "{said}");
    let again = rrn(&["--database", &url, "migrate"]);
    assert_eq!(
        again.ok(),
        "database is up to date (sqlite): 0 migrations applied\n"
    );
}

fn working_day_10_after_monday_21_december_2026_skips_christmas_and_new_year() {
    // 22, 23, 24, 29, 30, 31 December, 4, 5, 6, 7 January: 25 and 28 December and 1 January
    // are bank holidays.
    assert_eq!(
        rrn(&["calendar", "workday", "2026-12-21", "10"]).ok(),
        "2027-01-07\n"
    );
}

fn a_negative_count_goes_back_to_earlier_working_days() {
    assert_eq!(
        rrn(&["calendar", "workday", "2026-12-21", "-1"]).ok(),
        "2026-12-18\n"
    );
}

fn working_day_0_is_the_date_itself_even_on_a_bank_holiday() {
    assert_eq!(
        rrn(&["calendar", "workday", "2026-12-25", "0"]).ok(),
        "2026-12-25\n"
    );
}

fn between_counts_the_working_days_after_the_first_date_up_to_the_second() {
    assert_eq!(
        rrn(&["calendar", "between", "2026-12-21", "2027-01-07"]).ok(),
        "10\n"
    );
    assert_eq!(
        rrn(&["calendar", "between", "2027-01-07", "2026-12-21"]).ok(),
        "-10\n"
    );
}

fn the_division_flag_counts_with_that_divisions_bank_holidays() {
    // 2 January is a bank holiday in Scotland only.
    assert_eq!(
        rrn(&["calendar", "workday", "2024-01-01", "1"]).ok(),
        "2024-01-02\n"
    );
    assert_eq!(
        rrn(&[
            "calendar",
            "workday",
            "2024-01-01",
            "1",
            "--division",
            "scotland"
        ])
        .ok(),
        "2024-01-03\n"
    );
    // Typed as a person would (issue 12): the same division.
    assert_eq!(
        rrn(&[
            "calendar",
            "workday",
            "2024-01-01",
            "1",
            "--division",
            "Scotland"
        ])
        .ok(),
        "2024-01-03\n"
    );
}

fn holidays_are_listed_one_a_line_as_date_tab_title() {
    let run = rrn(&["calendar", "holidays", "2026"]);
    let out = run.ok();
    assert!(out.ends_with('\n'), "{run:#?}");
    for line in out.lines() {
        let (date, title) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("no tab in {line:?}"));
        let parsed = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap_or_else(|_| panic!("not a YYYY-MM-DD date in {line:?}"));
        assert_eq!(parsed.to_string(), date, "{line:?}");
        assert!(date.starts_with("2026-"), "{line:?}");
        assert!(
            !title.trim().is_empty() && !title.contains('\t'),
            "{line:?}"
        );
    }
    assert!(
        out.lines().any(|l| l == "2026-12-28\tBoxing Day"),
        "{run:#?}"
    );
}

fn holidays_of_a_year_beyond_the_feed_come_from_the_statutory_rules() {
    // The feed runs to 2028. In 2035 Easter Sunday is 25 March, 1 May is a Tuesday and
    // Christmas Day a Tuesday.
    let run = rrn(&["calendar", "holidays", "2035"]);
    let dates: Vec<&str> = run
        .ok()
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(
        dates,
        [
            "2035-01-01",
            "2035-03-23",
            "2035-03-26",
            "2035-05-07",
            "2035-05-28",
            "2035-08-27",
            "2035-12-25",
            "2035-12-26",
        ],
        "{run:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Refused input: status 2, a message naming the value, nothing on stdout

fn a_malformed_date_is_refused_with_status_2() {
    // Typing slips a lenient parser would take for a date are refused too.
    for bad in [
        "2026-13-01",
        "21/12/2026",
        "2026-1-1",
        "+2026-01-01",
        " 2026-11-20",
    ] {
        rrn(&["calendar", "workday", bad, "1"]).assert_refused_naming(bad);
        rrn(&["calendar", "between", "2026-12-21", bad]).assert_refused_naming(bad);
    }
}

fn an_unknown_division_is_refused_with_status_2() {
    rrn(&[
        "calendar",
        "workday",
        "2026-12-21",
        "1",
        "--division",
        "wales",
    ])
    .assert_refused_naming("wales");
    rrn(&["calendar", "holidays", "2026", "--division", "wales"]).assert_refused_naming("wales");
}

fn a_year_outside_1900_to_2200_is_refused_with_status_2() {
    for bad in ["1899", "2201"] {
        rrn(&["calendar", "holidays", bad]).assert_refused_naming(bad);
    }
}

fn a_date_outside_1900_to_2200_is_refused_with_status_2() {
    rrn(&["calendar", "workday", "1899-12-31", "1"]).assert_refused_naming("1899-12-31");
    rrn(&["calendar", "workday", "2201-01-01", "0"]).assert_refused_naming("2201-01-01");
    rrn(&["calendar", "between", "1899-12-31", "2000-01-01"]).assert_refused_naming("1899-12-31");
}

// ---------------------------------------------------------------------------------------------
// `rrn timeline`

/// The hypothetical case of the issue, evaluated on Tuesday 5 January 2027.
const EXAMPLE_CASE: [&str; 11] = [
    "timeline",
    "--day0",
    "2026-12-21",
    "--aware",
    "2026-12-16",
    "--agency",
    "police",
    "--agency",
    "health",
    "--at",
    "2027-01-05",
];

fn example_case_json() -> Vec<Value> {
    let mut args = EXAMPLE_CASE.to_vec();
    args.extend(["--format", "json"]);
    let run = rrn(&args);
    let json: Value = serde_json::from_str(run.ok())
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {run:#?}"));
    match json {
        Value::Array(rows) => rows,
        other => panic!("expected a JSON array, got {other}"),
    }
}

fn row<'a>(rows: &'a [Value], id: &str) -> &'a Value {
    let mut matching = rows.iter().filter(|r| r["id"] == id);
    let row = matching.next().unwrap_or_else(|| panic!("no row `{id}`"));
    assert!(matching.next().is_none(), "more than one row `{id}`");
    row
}

fn the_json_timeline_is_an_array_of_objects_with_the_documented_keys() {
    let rows = example_case_json();
    assert!(!rows.is_empty());
    for row in &rows {
        let object = row
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {row}"));
        for key in ["id", "step", "agency", "opens", "due", "status"] {
            assert!(object.contains_key(key), "no `{key}` in {row}");
        }
        assert!(row["id"].is_string(), "{row}");
        assert!(row["step"].is_u64(), "{row}");
        assert!(row["status"].is_string(), "{row}");
        for key in ["opens", "due"] {
            let value = &row[key];
            assert!(
                value.is_null()
                    || value
                        .as_str()
                        .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
                "`{key}` should be a date or null in {row}"
            );
        }
    }
}

fn a_per_agency_milestone_gets_a_row_for_each_agency_and_the_others_have_a_null_agency() {
    let rows = example_case_json();
    let summary_agencies: Vec<&Value> = rows
        .iter()
        .filter(|r| r["id"] == "agency_summary")
        .map(|r| &r["agency"])
        .collect();
    // Agencies are listed in a stable order (sorted), as for stored cases.
    assert_eq!(summary_agencies, ["health", "police"]);
    for row in rows.iter().filter(|r| r["id"] != "agency_summary") {
        assert!(row["agency"].is_null(), "{row}");
    }
}

fn the_national_panel_submission_is_due_on_working_day_16_across_christmas() {
    let rows = example_case_json();
    assert_eq!(row(&rows, "national_panel_submission")["due"], "2027-01-15");
}

fn a_milestone_past_its_due_day_is_overdue_by_working_days() {
    // Due Tuesday 22 December; by 5 January the working days 23, 24, 29, 30, 31 December and
    // 4, 5 January have passed.
    let rows = example_case_json();
    let copy = row(&rows, "business_team_copy");
    assert_eq!(copy["due"], "2026-12-22", "{copy}");
    assert_eq!(copy["status"], "overdue", "{copy}");
    assert_eq!(copy["working_days_late"], 7, "{copy}");
}

fn the_timeline_table_fits_an_80_column_terminal() {
    let run = rrn(&EXAMPLE_CASE);
    let out = run.ok();
    assert!(out.lines().count() > 12, "{run:#?}");
    for line in out.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} characters: {line:?}",
            line.chars().count()
        );
    }
}

/// Issue 12: no jargon a business officer has to decode ("awaiting anchor", "overdue 7 wd").
fn the_timeline_table_says_each_status_in_words() {
    let before_day0 = rrn(&[
        "timeline",
        "--aware",
        "2026-12-16",
        "--agency",
        "police",
        "--at",
        "2026-12-17",
    ]);
    let out = before_day0.ok();
    let copy = out
        .lines()
        .find(|l| l.contains("business_team_copy"))
        .unwrap();
    assert!(copy.ends_with(" waiting for an earlier step"), "{out}");
    let late = rrn(&EXAMPLE_CASE);
    let out = late.ok();
    assert!(out.contains("overdue by 7 working days"), "{out}");
    assert!(!out.contains(" wd") && !out.contains("anchor"), "{out}");
}

fn the_timeline_needs_an_aware_date_or_a_day_0() {
    let run = rrn(&["timeline", "--at", "2027-01-05"]);
    run.assert_refused_naming("--aware");
    assert!(run.stderr.contains("--day0"), "{run:#?}");
}

fn an_unknown_agency_is_refused_and_the_known_ones_are_listed() {
    let run = rrn(&[
        "timeline",
        "--day0",
        "2026-12-21",
        "--agency",
        "nosuch",
        "--at",
        "2027-01-05",
    ]);
    run.assert_refused_naming("nosuch");
    assert!(run.stderr.contains("police"), "{run:#?}");
}

fn a_day_0_before_the_aware_date_is_refused() {
    let run = rrn(&[
        "timeline",
        "--aware",
        "2026-12-16",
        "--day0",
        "2026-12-10",
        "--at",
        "2027-01-05",
    ]);
    run.assert_refused_naming("2026-12-10");
}

// ---------------------------------------------------------------------------------------------
// `rrn check-config`

fn check_config_warns_that_the_submission_is_a_working_day_after_the_statutory_limit() {
    let run = rrn(&["check-config", "--at", "2026-11-27"]);
    assert!(run.ok().ends_with("ok\n"), "{run:#?}");
    assert!(
        run.warnings()
            .iter()
            .any(|w| w.contains("national_panel_submission")
                && w.contains("working day 16")
                && w.contains("15 working days")),
        "{run:#?}"
    );
}

fn check_config_warns_when_the_bank_holiday_file_runs_out_within_12_months() {
    let run = rrn(&["check-config", "--at", "2028-03-01"]);
    run.ok();
    assert!(
        run.warnings()
            .iter()
            .any(|w| w.contains("2028") && w.contains("rrn calendar import")),
        "{run:#?}"
    );
}

fn check_config_does_not_warn_about_bank_holidays_with_years_of_data_left() {
    let run = rrn(&["check-config", "--at", "2026-01-05"]);
    run.ok();
    let warnings = run.warnings();
    assert!(
        !warnings
            .iter()
            .any(|w| w.contains("bank-holiday") || w.contains("rrn calendar import")),
        "{run:#?}"
    );
    assert_eq!(warnings.len(), 1, "only the submission warning: {run:#?}");
}

/// A timeline with an unknown anchor (line 15, column 10) and a duplicate id (line 20, column 6).
const BROKEN_TIMELINE: &str = r#"day0_milestone = "notify"

[[milestone]]
id = "notify"
step = 2
title = "Notification sent to Ofsted"
anchor = "aware"
due = 5
owner = "csc_manager"

[[milestone]]
id = "copy"
step = 3
title = "Copy sent to the business team"
anchor = "nowhere"
due = 1
owner = "csc_manager"

[[milestone]]
id = "copy"
step = 3
title = "Copy sent again"
anchor = "day0"
due = 2
owner = "business_team"
"#;

fn check_config_locates_an_unknown_anchor_and_a_duplicate_id_by_line_and_column() {
    let lines: Vec<&str> = BROKEN_TIMELINE.lines().collect();
    assert_eq!(lines[15 - 1], r#"anchor = "nowhere""#);
    assert_eq!(lines[20 - 1], r#"id = "copy""#);

    let (dir, config) = temp_config("[timeline]\nfile = \"timeline.toml\"\n");
    std::fs::write(dir.path().join("timeline.toml"), BROKEN_TIMELINE).unwrap();
    let run = rrn_with(&config, &["check-config", "--at", "2026-01-05"]);
    let stderr = run.failed();
    assert!(stderr.contains("timeline.toml:15:10"), "{run:#?}");
    assert!(stderr.contains("nowhere"), "{run:#?}");
    assert!(stderr.contains("timeline.toml:20:6"), "{run:#?}");
    assert!(stderr.contains("duplicate"), "{run:#?}");
}

fn an_unknown_config_key_is_located_by_line_and_column() {
    let (_dir, config) =
        temp_config("[partnership]\nname = \"Test Partnership\"\ndivison = \"scotland\"\n");
    let run = rrn_with(&config, &["check-config", "--at", "2026-01-05"]);
    let stderr = run.failed();
    assert!(stderr.contains("rrn.toml:3:1"), "{run:#?}");
    assert!(stderr.contains("divison"), "{run:#?}");
}

fn an_email_address_with_a_line_break_or_no_domain_is_a_config_error_at_its_key() {
    let (_dir, config) = temp_config(
        "[contacts]\nadmin = { name = \"Desk\", email = \"desk@council.example\\r\\nBcc: x@evil.example\" }\n",
    );
    let run = rrn_with(&config, &["check-config"]);
    let stderr = run.failed();
    assert!(stderr.contains("rrn.toml:2:"), "{stderr}");
    assert!(stderr.contains("control character"), "{stderr}");

    let (_dir, config) = temp_config(
        "[[agency]]\nid = \"police\"\nname = \"P\"\nlead = { name = \"L\", email = \"lead\" }\n\
         manager = { name = \"M\", email = \"m@police.example\" }\n",
    );
    let run = rrn_with(&config, &["check-config"]);
    let stderr = run.failed();
    assert!(stderr.contains("rrn.toml:4:"), "{stderr}");
    assert!(stderr.contains("no @domain"), "{stderr}");
}

fn smtp_in_clear_text_to_another_host_or_with_a_login_is_refused_at_its_key() {
    let (_dir, config) = temp_config(
        "[mail]\ntransport = \"smtp\"\n\n[smtp]\nhost = \"smtp.partnership.example\"\ntls = \"none\"\n",
    );
    for args in [
        &["check-config"][..],
        &["send-test", "it-team@council.example"],
    ] {
        let run = rrn_with(&config, args);
        run.assert_refused_naming("rrn.toml:6:7");
        assert!(run.stderr.contains("tls = \"starttls\""), "{run:#?}");
    }
    let (_dir, config) =
        temp_config("[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"rrn\"\n");
    let run = rrn_with(&config, &["check-config"]);
    run.assert_refused_naming("rrn.toml:4:12");
    assert!(
        run.stderr.contains("allow_plaintext_auth = true"),
        "{run:#?}"
    );
}

fn a_name_with_a_line_break_nul_or_direction_override_is_a_config_error_at_its_key() {
    for (text, at) in [
        (
            "[[agency]]\nid = \"police\"\nname = \"Police\"\n\
             lead = { name = \"Police Lead\\nBcc: x@evil.example\", email = \"l@police.example\" }\n\
             manager = { name = \"M\", email = \"m@police.example\" }\n",
            "rrn.toml:4:",
        ),
        (
            "[contacts]\nbusiness_team = { name = \"Team\\u202E\", email = \"t@p.example\" }\n",
            "rrn.toml:2:",
        ),
        (
            "[contacts]\nadmin = { name = \"Desk\\u0000\", email = \"d@p.example\" }\n",
            "rrn.toml:2:",
        ),
        (
            "[partnership]\nname = \"Partnership\\u200B\"\n",
            "rrn.toml:2:",
        ),
        (
            "[[agency]]\nid = \"police\"\nname = \"Police\\r\"\n\
             lead = { name = \"L\", email = \"l@police.example\" }\n\
             manager = { name = \"M\", email = \"m@police.example\" }\n",
            "rrn.toml:3:",
        ),
    ] {
        let (_dir, config) = temp_config(text);
        let run = rrn_with(&config, &["check-config"]);
        let stderr = run.failed();
        assert!(stderr.contains(at), "{text}: {stderr}");
        assert!(
            stderr.contains("invisible formatting character"),
            "{stderr}"
        );
    }
}

fn check_config_refuses_roles_the_timeline_sends_to_without_a_contact() {
    // At run time every email to them would be held: refused here, at the table they belong in.
    let (_dir, config) = temp_config("[partnership]\nname = \"Test\"\n\n[contacts]\n");
    let run = rrn_with(&config, &["check-config", "--at", "2026-01-05"]);
    run.assert_refused_naming("rrn.toml:4:1: [contacts] has no executive_chair");
    for role in ["business_team", "csc_manager", "panel", "national_panel"] {
        assert!(run.stderr.contains(&format!("has no {role}")), "{run:#?}");
    }
    assert!(
        run.stderr.contains("it owns `ofsted_notification`"),
        "{run:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// `rrn calendar import`

/// A temporary folder with a copy of the shipped feed and a config that names it.
fn temp_feed_config() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, config) = temp_config("[calendar]\nbank_holidays = \"bank-holidays.json\"\n");
    let feed = dir.path().join("bank-holidays.json");
    std::fs::copy(REPO_FEED, &feed).expect("copying the feed");
    (dir, config, feed)
}

fn assert_import_refused_and_feed_unchanged(candidate: &str) {
    let (dir, config, feed) = temp_feed_config();
    let before = std::fs::read(&feed).unwrap();
    let file = dir.path().join("download.json");
    std::fs::write(&file, candidate).unwrap();

    let run = rrn_with(&config, &["calendar", "import", file.to_str().unwrap()]);
    run.assert_refused_naming("download.json");
    assert!(
        std::fs::read(&feed).unwrap() == before,
        "the feed file changed"
    );
}

fn importing_a_feed_without_events_is_refused_and_leaves_the_feed_file_unchanged() {
    assert_import_refused_and_feed_unchanged(
        r#"{"england-and-wales": {"division": "england-and-wales"}}"#,
    );
}

fn importing_a_file_that_is_not_json_is_refused_and_leaves_the_feed_file_unchanged() {
    assert_import_refused_and_feed_unchanged("<html>Service unavailable</html>\n");
}

/// The shipped feed extended by a full year 2029 (the statutory days) plus a made-up holiday on
/// Friday 15 June 2029, in every division: what a newer GOV.UK download looks like.
fn feed_with_an_extra_2029_holiday() -> String {
    let mut feed: Value = serde_json::from_str(&std::fs::read_to_string(REPO_FEED).unwrap())
        .expect("the shipped feed is JSON");
    let divisions = feed.as_object_mut().expect("the feed is an object");
    assert_eq!(divisions.len(), 3);
    for (name, division) in divisions.iter_mut() {
        let events = division["events"]
            .as_array_mut()
            .expect("events is an array");
        let statutory =
            rrn::domain::calendar::rules::statutory_holidays(name.parse().unwrap(), 2029);
        for holiday in statutory {
            events.push(serde_json::json!({
                "title": holiday.title,
                "date": holiday.date.to_string(),
                "notes": if holiday.substitute { "Substitute day" } else { "" },
                "bunting": true,
            }));
        }
        events.push(serde_json::json!({
            "title": "Test Jubilee",
            "date": "2029-06-15",
            "notes": "",
            "bunting": true,
        }));
    }
    serde_json::to_string_pretty(&feed).unwrap()
}

fn importing_a_feed_with_a_partial_year_is_refused_and_leaves_the_feed_file_unchanged() {
    let mut feed: Value = serde_json::from_str(&std::fs::read_to_string(REPO_FEED).unwrap())
        .expect("the shipped feed is JSON");
    for division in feed.as_object_mut().unwrap().values_mut() {
        division["events"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "title": "New Year’s Day", "date": "2029-01-01", "notes": "", "bunting": true,
            }));
    }
    assert_import_refused_and_feed_unchanged(&feed.to_string());
}

fn importing_a_feed_with_a_line_break_in_a_title_is_refused_and_leaves_the_feed_file_unchanged() {
    let feed = feed_with_an_extra_2029_holiday().replace(
        "Test Jubilee",
        "Test Jubilee\\r\\n2029-06-18\\tFake Holiday",
    );
    assert_import_refused_and_feed_unchanged(&feed);
    let (dir, config, _) = temp_feed_config();
    let file = dir.path().join("download.json");
    std::fs::write(&file, &feed).unwrap();
    let run = rrn_with(&config, &["calendar", "import", file.to_str().unwrap()]);
    assert!(
        run.stderr.contains("2029-06-15") && run.stderr.contains("control"),
        "{run:#?}"
    );
    // The file is in the feed's shape: no reminder of the shape after the reason (#11).
    assert!(!run.stderr.contains("expected an object"), "{run:#?}");
}

fn a_feed_with_a_byte_order_mark_is_imported_and_read() {
    let (dir, config, _) = temp_feed_config();
    let file = dir.path().join("download.json");
    std::fs::write(
        &file,
        format!("\u{feff}{}", feed_with_an_extra_2029_holiday()),
    )
    .unwrap();
    rrn_with(&config, &["calendar", "import", file.to_str().unwrap()]).ok();
    let run = rrn_with(&config, &["calendar", "holidays", "2029"]);
    assert!(
        run.ok().lines().any(|l| l == "2029-06-15\tTest Jubilee"),
        "{run:#?}"
    );
}

fn a_huge_feed_is_refused_by_its_size_on_import_and_when_configured() {
    let (dir, config, feed) = temp_feed_config();
    let before = std::fs::read(&feed).unwrap();
    // Valid JSON with the shipped events, padded past 5 MB.
    let huge = format!(
        "{}{}",
        std::fs::read_to_string(REPO_FEED).unwrap(),
        " ".repeat(6_000_000)
    );
    let file = dir.path().join("download.json");
    std::fs::write(&file, &huge).unwrap();
    let run = rrn_with(&config, &["calendar", "import", file.to_str().unwrap()]);
    run.assert_refused_naming("download.json");
    assert!(run.stderr.contains("larger than 5 MB"), "{run:#?}");
    assert!(
        std::fs::read(&feed).unwrap() == before,
        "the feed file changed"
    );

    std::fs::write(&feed, &huge).unwrap();
    let run = rrn_with(&config, &["calendar", "holidays", "2027"]);
    assert!(run.failed().contains("larger than 5 MB"), "{run:#?}");
}

fn importing_a_valid_feed_replaces_the_file_and_its_holidays_are_used() {
    let (dir, config, feed) = temp_feed_config();
    let download = feed_with_an_extra_2029_holiday();
    let file = dir.path().join("download.json");
    std::fs::write(&file, &download).unwrap();

    rrn_with(&config, &["calendar", "import", file.to_str().unwrap()]).ok();
    assert!(
        std::fs::read_to_string(&feed).unwrap() == download,
        "the feed file should now be the imported one"
    );

    let run = rrn_with(&config, &["calendar", "holidays", "2029"]);
    assert!(
        run.ok().lines().any(|l| l == "2029-06-15\tTest Jubilee"),
        "{run:#?}"
    );
    assert_eq!(
        rrn_with(&config, &["calendar", "workday", "2029-06-14", "1"]).ok(),
        "2029-06-18\n"
    );
}

#[cfg(unix)]
fn importing_keeps_the_feed_files_permissions() {
    use std::os::unix::fs::PermissionsExt as _;

    let (dir, config, feed) = temp_feed_config();
    std::fs::set_permissions(&feed, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = dir.path().join("download.json");
    std::fs::write(&file, feed_with_an_extra_2029_holiday()).unwrap();

    rrn_with(&config, &["calendar", "import", file.to_str().unwrap()]).ok();
    let mode = std::fs::metadata(&feed).unwrap().permissions().mode() & 0o777;
    assert_eq!(format!("{mode:o}"), "644");
}

// ---------------------------------------------------------------------------------------------
// The environment

fn an_environment_variable_overrides_the_division_in_the_file() {
    let run = run(rrn_command()
        .env("RRN_PARTNERSHIP__DIVISION", "scotland")
        .args([
            "--config",
            REPO_CONFIG,
            "calendar",
            "workday",
            "2024-01-01",
            "1",
        ]));
    assert_eq!(run.ok(), "2024-01-03\n");
}

fn a_bad_environment_override_is_refused_naming_the_variable() {
    let run = run(rrn_command()
        .env("RRN_PARTNERSHIP__DIVISION", "wales")
        .args([
            "--config",
            REPO_CONFIG,
            "calendar",
            "workday",
            "2024-01-01",
            "1",
        ]));
    let stderr = run.failed();
    assert!(stderr.contains("RRN_PARTNERSHIP__DIVISION"), "{run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
}

fn rrn_config_naming_a_missing_file_is_refused_naming_the_path() {
    let cwd = tempfile::tempdir().unwrap();
    let run = run(rrn_command()
        .current_dir(cwd.path())
        .env("RRN_CONFIG", "/nonexistent")
        .args(["calendar", "workday", "2024-01-01", "1"]));
    let stderr = run.failed();
    assert!(stderr.contains("/nonexistent"), "{run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
}

fn the_config_flag_wins_over_rrn_config() {
    let run = run(rrn_command().env("RRN_CONFIG", "/nonexistent").args([
        "--config",
        REPO_CONFIG,
        "calendar",
        "workday",
        "2024-01-01",
        "1",
    ]));
    assert_eq!(run.ok(), "2024-01-02\n");
}

fn a_file_that_cannot_be_read_is_reported_once() {
    let (_dir, config) = temp_config("[calendar]\nbank_holidays = \"missing.json\"\n");
    let run = rrn_with(&config, &["calendar", "workday", "2026-12-21", "1"]);
    let stderr = run.failed();
    assert!(stderr.contains("missing.json"), "{run:#?}");
    assert_eq!(stderr.matches("(os error 2)").count(), 1, "{run:#?}");
}

// ---------------------------------------------------------------------------------------------
// Local closure days

const CHRISTMAS_SHUTDOWN: &str = "[partnership]\nclosure_days = [\"2026-12-29..2026-12-31\"]\n";

fn closure_days_do_not_count_as_working_days() {
    let (_dir, config) = temp_config(CHRISTMAS_SHUTDOWN);
    // 22, 23, 24 December, then 4 January: 25 and 28 December and 1 January are bank holidays
    // and 29 to 31 December the partnership is closed.
    assert_eq!(
        rrn_with(&config, &["calendar", "workday", "2026-12-21", "4"]).ok(),
        "2027-01-04\n"
    );
}

fn closure_days_are_listed_among_the_holidays() {
    let (_dir, config) = temp_config(CHRISTMAS_SHUTDOWN);
    let run = rrn_with(&config, &["calendar", "holidays", "2026"]);
    let dates: Vec<&str> = run
        .ok()
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    for closed in ["2026-12-29", "2026-12-30", "2026-12-31"] {
        assert!(dates.contains(&closed), "{closed} missing: {run:#?}");
    }
    assert!(dates.contains(&"2026-12-28"), "{run:#?}");
}

/// A relative SQLite path in the config is relative to the config's folder, whatever folder the
/// command runs in; `rrn status` says which config and database it uses; `--database` wins.
fn the_database_is_found_from_the_config_folder_and_status_names_it() {
    let (dir, config) = temp_config("[database]\nurl = \"sqlite://state/rrn.db\"\n");
    let elsewhere = tempfile::tempdir().unwrap();
    let status = run(rrn_command().current_dir(elsewhere.path()).args([
        "--config",
        config.to_str().unwrap(),
        "status",
        "--at",
        "2026-01-05",
    ]));
    let stdout = status.ok();
    let expected = dir.path().join("state/rrn.db");
    assert!(
        stdout.contains(&format!(
            "database:   sqlite://{} (sqlite)",
            expected.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("config:     {}", config.display())),
        "{stdout}"
    );
    assert!(
        expected.exists(),
        "the database was created beside the config"
    );
    assert!(!elsewhere.path().join("state").exists());

    let other = elsewhere.path().join("other.db");
    let url = format!("sqlite://{}", other.display());
    let status = run(rrn_command().args([
        "--config",
        config.to_str().unwrap(),
        "--database",
        &url,
        "status",
        "--format",
        "json",
    ]));
    let shown: serde_json::Value = serde_json::from_str(status.ok()).unwrap();
    assert_eq!(shown["database"], url.as_str());
    assert!(other.exists());
}

/// The test that needs root, reported ignored (with the reason) where the tests run as another
/// user: `cli::root_is_refused_the_service_users_database_and_does_not_create_its_folder`.
pub(crate) fn root_trials() -> Vec<libtest_mimic::Trial> {
    vec![crate::ignorable_trial(
        crate::test_name(
            module_path!(),
            "root_is_refused_the_service_users_database_and_does_not_create_its_folder",
        ),
        || {
            let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self")?);
            if uid != 0 {
                return Ok(libtest_mimic::Completion::ignored_with(
                    "runs only as root (it checks what root is refused)",
                ));
            }
            root_is_refused_the_service_users_database_and_does_not_create_its_folder();
            Ok(libtest_mimic::Completion::Completed)
        },
    )]
}

/// As root, a database another user owns (the service's) is refused, naming that user and the
/// `sudo -u` form, and nothing is created beside it; `--allow-root` or `RRN_ALLOW_ROOT=1` let
/// root go on on purpose. With no `HOME` (nor `STATE_DIRECTORY`, `XDG_STATE_HOME`), the default
/// database is in the service's state folder, which root does not create.
fn root_is_refused_the_service_users_database_and_does_not_create_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("state");
    let url = format!("sqlite://{}", folder.join("rrn.db").display());
    rrn(&["--database", &url, "migrate"]).ok();
    for entry in std::fs::read_dir(&folder).unwrap() {
        std::os::unix::fs::chown(entry.unwrap().path(), Some(65534), Some(65534)).unwrap();
    }
    std::os::unix::fs::chown(&folder, Some(65534), Some(65534)).unwrap();
    let files = || {
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = files();
    for args in [
        vec!["case", "list"],
        vec!["run", "--once"],
        vec![
            "case",
            "open",
            "RR-2026-900",
            "--aware",
            "2026-01-05",
            "--agency",
            "police",
        ],
    ] {
        let mut full = vec!["--database", url.as_str()];
        full.extend(args);
        let refused = rrn(&full);
        assert_eq!(refused.code, Some(1), "{refused:#?}");
        assert!(
            refused.stderr.contains("belongs to the user")
                && refused.stderr.contains("running as root")
                && refused.stderr.contains("`sudo -u ")
                && refused.stderr.contains("RRN_ALLOW_ROOT=1"),
            "{}",
            refused.stderr
        );
        assert_eq!(files(), before, "nothing created beside the database");
    }
    rrn(&["--database", &url, "--allow-root", "case", "list"]).ok();
    run(rrn_command().env("RRN_ALLOW_ROOT", "1").args([
        "--config",
        REPO_CONFIG,
        "--database",
        &url,
        "case",
        "list",
    ]))
    .ok();

    // No HOME: the default database is the service's, in a folder root must not create.
    if !std::path::Path::new("/var/lib/rapid-review-notifier").exists() {
        let refused = run(rrn_command()
            .env_remove("HOME")
            .env_remove("XDG_STATE_HOME")
            .env_remove("STATE_DIRECTORY")
            .args(["--config", REPO_CONFIG, "case", "list"]));
        assert_eq!(refused.code, Some(1), "{refused:#?}");
        assert!(
            refused
                .stderr
                .contains("sudo -u rapid-review-notifier env STATE_DIRECTORY="),
            "{}",
            refused.stderr
        );
        assert!(!std::path::Path::new("/var/lib/rapid-review-notifier").exists());
    }
}

// ---------------------------------------------------------------------------------------------
// Every config error

/// What is wrong, rrn.toml, a file beside it (its name and text), what the message says
/// (the place first), and the commands that must refuse it.
type BrokenConfig<'a> = (
    &'a str,
    &'a str,
    Option<(&'a str, String)>,
    Vec<String>,
    Vec<&'a [&'a str]>,
);

/// The repository's templates folder.
const REPO_TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/templates");
/// The repository's timeline.
const REPO_TIMELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config/timeline.toml");

/// Issue 12: whatever is wrong with the config (rrn.toml, the timeline it names, a template of
/// its folder), every command that loads it refuses with exit status 2 and the place of the
/// mistake, `file:line:column` (a template's line), in words.
fn every_config_error_exits_2_at_its_file_line_and_column_whichever_command_loads_it() {
    let timeline = std::fs::read_to_string(REPO_TIMELINE).unwrap();
    let sends = timeline
        .lines()
        .position(|l| l == "escalation_max_sends = 3")
        .expect("the shipped timeline sets escalation_max_sends")
        + 1;
    let digest = std::fs::read_to_string(format!("{REPO_TEMPLATES}/digest.txt")).unwrap();
    let title = digest
        .lines()
        .position(|l| l.contains("{{ item.title }}"))
        .expect("digest.txt shows each item's title")
        + 1;
    let (check, plan, run_once) = (
        &["check-config"][..],
        &["plan", "--at", "2027-01-05"][..],
        &["run", "--once", "--at", "2027-01-05", "--rehearse"][..],
    );
    let send_test = &["send-test", "it-team@council.example"][..];
    let place = |file: &str, line: usize, column: usize| format!("{file}:{line}:{column}: ");
    let cases: Vec<BrokenConfig> = vec![
        (
            "TOML that does not parse",
            "[partnership\nname = \"P\"\n",
            None,
            vec![place("rrn.toml", 1, 13), "expected `]`".into()],
            vec![check, plan, run_once, send_test],
        ),
        (
            "an unknown key",
            "[mail]\nwindow_strat = \"08:00\"\n",
            None,
            vec![place("rrn.toml", 2, 1), "window_strat".into()],
            vec![check, plan, run_once, send_test],
        ),
        (
            "a value of the wrong type",
            "[schedule]\npoll_seconds = \"10\"\n",
            None,
            vec![place("rrn.toml", 2, 16), "a number of seconds".into()],
            vec![check, plan, run_once, send_test],
        ),
        (
            "a cron pattern out of range",
            "[schedule]\nruns = [\"0 8 * * Mon-Fri\", \"61 12 * * *\"]\n",
            None,
            vec![
                place("rrn.toml", 2, 28),
                "it has minute 61, and a minute is 0 to 59".into(),
            ],
            vec![check, plan, run_once, send_test],
        ),
        (
            "a window time that is not a time",
            "[mail]\nwindow_start = \"8am\"\n",
            None,
            vec![place("rrn.toml", 2, 16), "`8am` is not a time".into()],
            vec![check, plan, run_once, send_test],
        ),
        (
            "a window that ends before it starts",
            "[mail]\nwindow_start = \"18:00\"\nwindow_end = \"08:00\"\n",
            None,
            vec![place("rrn.toml", 3, 14), "is not after window_start".into()],
            vec![check, plan, run_once, send_test],
        ),
        (
            "an address with no domain",
            "[contacts]\nadmin = { name = \"Desk\", email = \"desk\" }\n",
            None,
            vec![place("rrn.toml", 2, 34), "no @domain".into()],
            vec![check, plan, run_once, send_test],
        ),
        (
            "a sender that is not an address",
            "[mail]\nfrom = \"Rapid Review Notifier <rrn-at-partnership>\"\n",
            None,
            vec![
                place("rrn.toml", 2, 8),
                "is not a sender: invalid email address \"rrn-at-partnership\"".into(),
            ],
            vec![check, plan, run_once, send_test],
        ),
        (
            "a division that is not one",
            "[partnership]\ndivision = \"Wales\"\n",
            None,
            vec![
                place("rrn.toml", 2, 12),
                "england-and-wales, scotland or northern-ireland".into(),
            ],
            vec![check, plan, run_once, send_test],
        ),
        (
            "a number of seconds of 0",
            "[service]\nlease_seconds = 0\n",
            None,
            vec![place("rrn.toml", 2, 17), "lease_seconds is 0".into()],
            vec![check, plan, run_once, send_test],
        ),
        (
            "a policy number out of range",
            "[timeline]\nfile = \"timeline.toml\"\n",
            Some((
                "timeline.toml",
                timeline.replace("escalation_max_sends = 3", "escalation_max_sends = 500"),
            )),
            vec![
                place("timeline.toml", sends, 24),
                "500 sends is out of range".into(),
            ],
            vec![check, plan, run_once],
        ),
        (
            "a template that names a variable it is not given",
            "[mail]\ntemplates = \"templates\"\n",
            Some((
                "templates/digest.txt",
                digest.replace("{{ item.title }}", "{{ item.titel }}"),
            )),
            vec![
                format!("templates/digest.txt:{title}: "),
                "`item.titel` is not defined: `item` has no `titel`".into(),
            ],
            vec![check, run_once, send_test],
        ),
    ];
    for (wrong, text, beside, says, commands) in cases {
        // The database goes after `text`, whose line numbers the places above are.
        let (dir, config) =
            temp_config(&format!("{text}\n[database]\nurl = \"sqlite://rrn.db\"\n"));
        if let Some((name, content)) = &beside {
            if name.starts_with("templates/") {
                copy_folder_into(Path::new(REPO_TEMPLATES), &dir.path().join("templates"));
            }
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        for args in commands {
            let run = run(rrn_command()
                .arg("--config")
                .arg(&config)
                .args(args)
                .env("STATE_DIRECTORY", dir.path().join("state")));
            assert_eq!(run.code, Some(2), "{wrong}, rrn {args:?}: {run:#?}");
            assert_eq!(run.stdout, "", "{wrong}, rrn {args:?}: {run:#?}");
            for said in &says {
                assert!(
                    run.stderr.contains(said.as_str()),
                    "{wrong}, rrn {args:?}: stderr should say {said:?}: {run:#?}"
                );
            }
            assert!(
                !dir.path().join("rrn.db").exists(),
                "{wrong}, rrn {args:?}: refused before opening the database"
            );
        }
    }
}

/// The files of `from` (one level) copied into `to`.
fn copy_folder_into(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
