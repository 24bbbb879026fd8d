//! The full-fidelity JSON export (`rrn case export --format json`), its restore (`rrn case
//! import FILE.json`) and `rrn migrate-store`, on each backend and from SQLite to PostgreSQL:
//! every case shows the same after the move, nothing sent is sent again, and a refused file or
//! database changes nothing.

use std::path::PathBuf;

use serde_json::Value;

use super::{AT, json, run_once};
use crate::common::christmas;
use crate::common::db::TestDb;

/// `rrn case ARGS --actor ACTOR --at AT --rehearse`, which must succeed.
fn act(db: &TestDb, actor: &str, at: &str, args: &[&str]) {
    let mut full = vec!["case"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--actor", actor, "--at", at, "--rehearse"]);
    let output = db.rrn(&full);
    assert!(
        output.status.success(),
        "rrn {full:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Three cases with every kind of fact: day 0 given at opening and not, completions with notes
/// by several people, one undone and recorded again, local review yes and no, agencies added
/// and removed, a case closed and reopened and one closed for good, and the notification log
/// of two runs. The references, in the order they were opened.
fn record_every_kind_of_fact(db: &TestDb) -> [&'static str; 3] {
    let (a, b, c) = (christmas::CASE, "RR-2026-030", "RR-2026-031");
    act(db, "jo", "2026-12-21", &christmas::OPEN[1..13]);
    act(
        db,
        "sam",
        "2026-12-14",
        &["open", b, "--aware", "2026-12-10", "--agency", "police"],
    );
    act(
        db,
        "jo",
        "2026-12-18",
        &[
            "open",
            c,
            "--aware",
            "2026-12-18",
            "--day0",
            "2026-12-18",
            "--agency",
            "health",
            "--local-review",
        ],
    );
    run_once(db, "2026-12-22");
    act(
        db,
        "sam",
        "2026-12-22",
        &[
            "complete",
            a,
            "business_team_copy",
            "--on",
            "2026-12-22",
            "--note",
            "copied by hand",
        ],
    );
    act(
        db,
        "jo",
        "2026-12-22",
        &["complete", a, "agency_letters", "--on", "2026-12-22"],
    );
    act(
        db,
        "sam",
        "2026-12-23",
        &["uncomplete", a, "agency_letters"],
    );
    act(
        db,
        "kim",
        "2026-12-23",
        &[
            "complete",
            a,
            "agency_letters",
            "--on",
            "2026-12-23",
            "--note",
            "sent again",
        ],
    );
    act(db, "jo", "2026-12-23", &["local-review", a, "yes"]);
    act(db, "jo", "2026-12-23", &["local-review", c, "no"]);
    act(
        db,
        "sam",
        "2026-12-23",
        &["agencies", b, "--add", "probation", "--add", "health"],
    );
    act(
        db,
        "sam",
        "2026-12-24",
        &["agencies", b, "--remove", "police"],
    );
    act(
        db,
        "sam",
        "2027-01-06",
        &[
            "complete",
            a,
            "agency_summary",
            "--agency",
            "police",
            "--on",
            "2027-01-06",
            "--note",
            "received by secure email",
        ],
    );
    act(
        db,
        "jo",
        "2027-01-07",
        &["close", b, "--reason", "threshold not met"],
    );
    act(db, "jo", "2027-01-08", &["reopen", b]);
    act(
        db,
        "jo",
        "2027-01-08",
        &["close", c, "--reason", "opened in error"],
    );
    run_once(db, AT);
    [a, b, c]
}

/// `rrn case show REF --format json` on the tests' day.
fn shown(db: &TestDb, reference: &str) -> Value {
    json(&db.case(&["show", reference, "--format", "json"]))
}

/// `rrn case export --format json`, written to a file in the test's folder.
fn export(db: &TestDb) -> PathBuf {
    let output = db.rrn(&["case", "export", "--format", "json"]);
    assert!(output.status.success(), "{output:?}");
    let file = db.dir().join("cases.json");
    std::fs::write(&file, &output.stdout).unwrap();
    file
}

/// Every case of `restored` shows what it showed in `original`, its audit trail followed by
/// one entry of the import by `importer`; `normal` is applied to both sides first.
fn assert_same_cases(
    original: &TestDb,
    restored: &TestDb,
    references: &[&str],
    importer: &str,
    normal: fn(Value) -> Value,
) {
    for reference in references {
        let (mut before, mut after) = (
            normal(shown(original, reference)),
            normal(shown(restored, reference)),
        );
        let trail = before["audit"].take();
        let mut restored_trail = after["audit"].take();
        let import = restored_trail.as_array_mut().unwrap().pop().unwrap();
        assert_eq!(after, before, "{reference}");
        assert_eq!(restored_trail, trail, "{reference}");
        assert!(!trail.as_array().unwrap().is_empty(), "{trail}");
        assert_eq!(import["actor"], importer, "{import}");
        assert_eq!(import["action"], "import", "{import}");
    }
    // The facts the test recorded are there, not merely equal on both sides.
    let a = shown(restored, references[0]);
    let notes: Vec<&Value> = a["completions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["note"])
        .collect();
    assert!(notes.contains(&&Value::from("sent again")), "{a}");
    assert_eq!(a["local_review_proposed"], true);
    let by: Vec<&str> = a["completions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["recorded_by"].as_str().unwrap())
        .collect();
    assert!(by.contains(&"kim") && by.contains(&"sam"), "{by:?}");
    let b = shown(restored, references[1]);
    assert_eq!(b["status"], "open");
    assert_eq!(b["agencies"], serde_json::json!(["health", "probation"]));
    let c = shown(restored, references[2]);
    assert_eq!(c["status"], "closed");
    assert_eq!(c["reason"], "opened in error");
    assert_eq!(c["local_review_proposed"], false);
}

/// After the move, the next run sends what the original's would, and nothing already sent.
fn assert_next_run_sends_the_same(original: &TestDb, restored: &TestDb) {
    let next = "2027-01-21";
    let (before, after) = (run_once(original, next), run_once(restored, next));
    assert_eq!(after["queued"], before["queued"], "{before}\n{after}");
    assert_eq!(after["skipped"], before["skipped"], "{before}\n{after}");
}

/// A database with every kind of fact, exported to JSON and imported into an empty database
/// of the same backend, shows every case the same, and its next run sends the same.
pub(super) fn a_json_export_restores_every_fact_into_an_empty_database(db: &TestDb) {
    let references = record_every_kind_of_fact(db);
    let file = export(db);
    // What the runs sent is in the file: without it the restored database would send it again.
    let document = json(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(document["format"], "rrn-cases");
    assert_eq!(document["version"], 1);
    assert!(
        !document["cases"][0]["notifications"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{document}"
    );
    let restored = db.another();
    let output = restored.rrn(&[
        "case",
        "import",
        file.to_str().unwrap(),
        "--actor",
        "importer",
    ]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("restored 3 cases from {}\n", file.display())
    );
    assert_same_cases(db, &restored, &references, "importer", |v| v);
    // Exported again, the restored database gives the same document, but for the import entry.
    let again = std::fs::read_to_string(export(&restored)).unwrap();
    let first = std::fs::read_to_string(&file).unwrap();
    let without_imports = |text: &str| {
        let mut value = json(text);
        for case in value["cases"].as_array_mut().unwrap() {
            case["audit"]
                .as_array_mut()
                .unwrap()
                .retain(|e| e["action"] != "import");
        }
        value
    };
    assert_eq!(without_imports(&again), without_imports(&first));
    assert_next_run_sends_the_same(db, &restored);
}

/// Instants cut to microseconds, which is what PostgreSQL keeps (SQLite keeps what the clock
/// gave, nanoseconds; sqlx cuts them, as the restore does).
fn microseconds(value: Value) -> Value {
    match value {
        Value::String(text) => match chrono::DateTime::parse_from_rfc3339(&text) {
            Ok(at) => Value::String({
                use chrono::SubsecRound as _;
                at.with_timezone(&chrono::Utc)
                    .trunc_subsecs(6)
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            }),
            Err(_) => Value::String(text),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(microseconds).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, microseconds(v))).collect())
        }
        other => other,
    }
}

/// `rrn migrate-store --to postgres://…` copies an SQLite database with every kind of fact:
/// each case shows the same on PostgreSQL (instants to the microsecond), and the next run there
/// sends what the SQLite one would.
pub(super) fn migrate_store_copies_every_fact_from_sqlite_to_postgres(
    sqlite: &TestDb,
    postgres: &TestDb,
) {
    let references = record_every_kind_of_fact(sqlite);
    let output = sqlite.rrn(&["migrate-store", "--to", &postgres.url, "--actor", "mover"]);
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        said.starts_with("copied 3 cases (")
            && said.contains("from the sqlite database to the postgres one"),
        "{said}"
    );
    assert_same_cases(sqlite, postgres, &references, "mover", microseconds);
    assert_next_run_sends_the_same(sqlite, postgres);

    // Again, now that the target holds the cases: refused, and nothing changes.
    let before = postgres.dump();
    let output = sqlite.rrn(&["migrate-store", "--to", &postgres.url, "--actor", "mover"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("cases[0].reference: case RR-2026-014 already exists"),
        "{said}"
    );
    assert_eq!(postgres.dump(), before);
}

/// A JSON import into a database that holds cases is refused, naming the field and the fix, and
/// leaves it byte for byte as it was.
pub(super) fn a_json_import_into_a_database_with_cases_is_refused_and_changes_nothing(db: &TestDb) {
    act(db, "jo", "2026-12-21", &christmas::OPEN[1..13]);
    let file = export(db);
    let before = db.dump();
    let output = db.case_output(&["import", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("cases[0].reference: case RR-2026-014 already exists in this database")
            && said.contains("--database URL"),
        "{said}"
    );
    assert_eq!(db.dump(), before);

    // Another database that holds a different case: refused all the same.
    let other = db.another();
    act(
        &other,
        "jo",
        "2026-12-14",
        &[
            "open",
            "RR-2026-099",
            "--aware",
            "2026-12-10",
            "--agency",
            "police",
        ],
    );
    let before = other.dump();
    let output = other.case_output(&["import", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("this database already holds 1 case"),
        "{said}"
    );
    assert_eq!(other.dump(), before);
}

/// A bad file is refused with the place in the document of what is wrong, exits 2, and writes
/// nothing, whether the fault is a value, a case that does not hold together, or the JSON.
pub(super) fn a_bad_json_file_is_refused_naming_the_field_and_changes_nothing(db: &TestDb) {
    let source = db.another();
    record_every_kind_of_fact(&source);
    let good = json(&std::fs::read_to_string(export(&source)).unwrap());
    assert!(db.rrn(&["migrate"]).status.success());
    let before = db.dump();
    let refused = |document: String, expected: &[&str]| {
        let file = db.dir().join("bad.json");
        std::fs::write(&file, document).unwrap();
        let output = db.case_output(&["import", file.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let said = String::from_utf8_lossy(&output.stderr);
        for expected in expected {
            assert!(said.contains(expected), "want `{expected}` in:\n{said}");
        }
        assert!(said.contains("nothing"), "{said}");
        assert_eq!(db.dump(), before);
    };

    let mut bad = good.clone();
    bad["cases"][1]["aware"] = "2026-12-1".into();
    refused(bad.to_string(), &["bad.json: cases[1].aware:"]);

    let mut bad = good.clone();
    bad["cases"][0]["completions"][1]["recorded_by"] = Value::Null;
    refused(
        bad.to_string(),
        &["cases[0].completions[1].recorded_by: missing"],
    );

    let mut bad = good.clone();
    bad["version"] = 7.into();
    refused(
        bad.to_string(),
        &["version: version 7 is not one this rrn reads"],
    );

    // Several faults that only the whole case shows: every one is reported.
    let mut bad = good.clone();
    bad["cases"][0]["agencies"].as_array_mut().unwrap().clear();
    bad["cases"][2]["reference"] = good["cases"][0]["reference"].clone();
    bad["cases"][1]["audit"][0]["actor"] = "jo\u{1b}[2J".into();
    refused(
        bad.to_string(),
        &[
            "problems, nothing imported",
            "cases[0].completions[",
            "].agency: police is not among the case's agencies",
            "cases[2].reference: RR-2026-014 is also cases[0]",
            "cases[1].audit[0].actor contains a control character",
        ],
    );

    let text = good.to_string();
    refused(
        text[..text.len() / 2].to_owned(),
        &["(the file): not valid JSON"],
    );
}
