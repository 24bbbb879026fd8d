//! What a change would move, shown before it takes effect (#16): `rrn check-config --impact
//! --against OLD` and `rrn calendar import FILE --dry-run`, on cases opened for the purpose.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{CONFIG, rrn_command};

trials!(
    a_closure_day_moves_the_due_dates_after_it_and_says_which_become_due_at_once,
    the_same_configuration_moves_nothing_and_says_so,
    a_dry_run_import_shows_what_a_new_holiday_moves_and_installs_nothing,
    without_against_it_compares_with_the_rules_the_last_run_planned_with,
);

/// A folder with the repository's config (`old.toml`), a copy closing the partnership on
/// `closure` (`new.toml`), the timeline and the feed beside them, and a database holding two
/// cases: RR-2026-014 from Monday 21 December 2026 (police, health) and RR-2026-015 from
/// Thursday 10 December 2026 (police).
struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    fn new(closure: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = Path::new(CONFIG).parent().unwrap();
        for file in ["timeline.toml", "bank-holidays.json"] {
            std::fs::copy(repo.join(file), dir.path().join(file)).unwrap();
        }
        let templates = dir.path().join("templates");
        std::fs::create_dir(&templates).unwrap();
        for entry in std::fs::read_dir(repo.join("templates")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), templates.join(entry.file_name())).unwrap();
        }
        let old = std::fs::read_to_string(CONFIG).unwrap();
        assert!(
            old.contains("\nclosure_days = []\n"),
            "the example config changed"
        );
        let new = old.replace(
            "\nclosure_days = []\n",
            &format!("\nclosure_days = [\"{closure}\"]\n"),
        );
        std::fs::write(dir.path().join("old.toml"), &old).unwrap();
        std::fs::write(dir.path().join("new.toml"), &new).unwrap();
        let folder = Self { dir };
        for (at, reference, day0, agencies) in [
            ("2026-12-21", "RR-2026-014", "2026-12-21", "police,health"),
            ("2026-12-10", "RR-2026-015", "2026-12-10", "police"),
        ] {
            let mut args = vec![
                "case",
                "--rehearse",
                "--at",
                at,
                "open",
                reference,
                "--aware",
                day0,
                "--day0",
                day0,
            ];
            for agency in agencies.split(',') {
                args.extend(["--agency", agency]);
            }
            let opened = folder.rrn("old.toml", &args);
            assert!(opened.status.success(), "{opened:?}");
        }
        folder
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn rrn(&self, config: &str, args: &[&str]) -> Output {
        rrn_command()
            .env(
                "RRN_DATABASE__URL",
                format!("sqlite://{}", self.path("rrn.db").display()),
            )
            .arg("--config")
            .arg(self.path(config))
            .args(args)
            .output()
            .unwrap()
    }

    fn json(&self, config: &str, args: &[&str]) -> Value {
        let output = self.rrn(config, args);
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

/// `(case, milestone, agency, before, after, becomes)` of each move, in the report's order.
fn moves(report: &Value) -> Vec<(String, String, String, String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    report["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                text(&m["case"]),
                text(&m["milestone"]),
                text(&m["agency"]),
                text(&m["before"]),
                text(&m["after"]),
                text(&m["becomes"]),
            )
        })
        .collect()
}

/// Closing on Tuesday 29 December 2026 puts every due date counted across it one working day
/// later: RR-2026-014's summaries from Thursday 7 to Friday 8 January 2027, its submission from
/// Friday 15 to Monday 18 January. Compared the other way round (the closure taken out), on
/// Thursday 7 January RR-2026-015's submission comes back from that day to Wednesday 6: overdue
/// at once, so the next run would chase it.
fn a_closure_day_moves_the_due_dates_after_it_and_says_which_become_due_at_once() {
    let folder = Folder::new("2026-12-29");
    let against = folder.path("old.toml").display().to_string();
    let report = folder.json(
        "new.toml",
        &[
            "check-config",
            "--impact",
            "--against",
            &against,
            "--at",
            "2027-01-06",
            "--format",
            "json",
        ],
    );
    assert_eq!(report["open_cases"], 2, "{report}");
    let moved = moves(&report);
    let find = |case: &str, milestone: &str, agency: &str| {
        moved
            .iter()
            .find(|m| m.0 == case && m.1 == milestone && m.2 == agency)
            .map(|m| (m.3.as_str(), m.4.as_str(), m.5.as_str()))
    };
    assert_eq!(
        find("RR-2026-014", "agency_summary", "police"),
        Some(("2027-01-07", "2027-01-08", "-"))
    );
    assert_eq!(
        find("RR-2026-014", "national_panel_submission", "-"),
        Some(("2027-01-15", "2027-01-18", "-"))
    );
    // Done or due before the closure: not moved, not listed (day 0 was recorded at opening).
    assert_eq!(find("RR-2026-014", "ofsted_notification", "-"), None);
    assert_eq!(
        find("RR-2026-015", "national_panel_submission", "-"),
        Some(("2027-01-06", "2027-01-07", "-"))
    );
    // 10 milestones of RR-2026-014 (two of them per agency) and 6 of RR-2026-015.
    assert_eq!(moved.len(), 16, "{moved:#?}");

    let back = folder.path("new.toml").display().to_string();
    let report = folder.json(
        "old.toml",
        &[
            "check-config",
            "--impact",
            "--against",
            &back,
            "--at",
            "2027-01-07",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        moves(&report)
            .into_iter()
            .find(|m| m.0 == "RR-2026-015" && m.1 == "national_panel_submission"),
        Some((
            "RR-2026-015".to_owned(),
            "national_panel_submission".to_owned(),
            "-".to_owned(),
            "2027-01-07".to_owned(),
            "2027-01-06".to_owned(),
            "overdue".to_owned(),
        ))
    );
    // The table says it in words.
    let table = folder.rrn(
        "old.toml",
        &[
            "check-config",
            "--impact",
            "--against",
            &back,
            "--at",
            "2027-01-07",
        ],
    );
    let said = String::from_utf8_lossy(&table.stdout);
    assert!(
        said.contains("Wed 6 Jan 2027") && said.contains("now overdue"),
        "{said}"
    );
    assert!(
        said.contains("it moves 16 due dates in 2 cases of the 2 open cases"),
        "{said}"
    );
}

fn the_same_configuration_moves_nothing_and_says_so() {
    let folder = Folder::new("2026-12-29");
    let against = folder.path("old.toml").display().to_string();
    let output = folder.rrn(
        "old.toml",
        &[
            "check-config",
            "--impact",
            "--against",
            &against,
            "--at",
            "2027-01-06",
        ],
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        said.contains("it moves no due date of the 2 open cases"),
        "{said}"
    );
    // --impact without a configuration to compare with is refused by the argument parser.
    let alone = folder.rrn("old.toml", &["check-config", "--impact"]);
    assert_eq!(alone.status.code(), Some(2), "{alone:?}");
}

/// A new bank holiday on Tuesday 5 January 2027 moves RR-2026-015's submission from Wednesday 6
/// to Thursday 7 January; the installed feed stays byte for byte as it was.
fn a_dry_run_import_shows_what_a_new_holiday_moves_and_installs_nothing() {
    let folder = Folder::new("2026-12-29");
    let installed = folder.path("bank-holidays.json");
    let before = std::fs::read(&installed).unwrap();
    let mut feed: Value = serde_json::from_slice(&before).unwrap();
    for division in feed.as_object_mut().unwrap().values_mut() {
        division["events"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "title": "Test Holiday", "date": "2027-01-05", "notes": "", "bunting": true,
            }));
    }
    let download = folder.path("download.json");
    std::fs::write(&download, feed.to_string()).unwrap();
    let file = download.display().to_string();
    let report = folder.json(
        "old.toml",
        &[
            "calendar",
            "import",
            &file,
            "--dry-run",
            "--at",
            "2027-01-04",
            "--format",
            "json",
        ],
    );
    let moved = moves(&report);
    assert!(
        moved.contains(&(
            "RR-2026-015".to_owned(),
            "national_panel_submission".to_owned(),
            "-".to_owned(),
            "2027-01-06".to_owned(),
            "2027-01-07".to_owned(),
            "-".to_owned(),
        )),
        "{moved:#?}"
    );
    assert_eq!(std::fs::read(&installed).unwrap(), before);
}

/// The daemon plans with what it read at its start; the file on disk may have changed since.
/// Without --against the comparison is with the rules the last run recorded: before any run
/// there are none, and it says what to do instead.
fn without_against_it_compares_with_the_rules_the_last_run_planned_with() {
    let folder = Folder::new("2026-12-29");
    let before_any_run = folder.rrn(
        "new.toml",
        &["check-config", "--impact", "--at", "2027-01-06"],
    );
    let said = String::from_utf8_lossy(&before_any_run.stderr);
    assert_eq!(before_any_run.status.code(), Some(2), "{before_any_run:?}");
    assert!(
        said.contains("no run on this database has recorded the rules")
            && said.contains("--against"),
        "{said}"
    );
    // A run under the old config (no closure), outside the sending window: it plans and
    // records its rules, and sends nothing.
    let run = folder.rrn(
        "old.toml",
        &["run", "--once", "--rehearse", "--at", "2026-12-22T19:30"],
    );
    assert!(run.status.success(), "{run:?}");
    let report = folder.json(
        "new.toml",
        &[
            "check-config",
            "--impact",
            "--at",
            "2027-01-06",
            "--format",
            "json",
        ],
    );
    assert_eq!(report["compared"], "the rules the last run planned with");
    assert_eq!(moves(&report).len(), 16, "{report}");
    // The config the run used, compared with itself, moves nothing.
    let same = folder.json(
        "old.toml",
        &[
            "check-config",
            "--impact",
            "--at",
            "2027-01-06",
            "--format",
            "json",
        ],
    );
    assert_eq!(moves(&same), [], "{same}");
}
