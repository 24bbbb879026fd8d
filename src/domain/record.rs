//! The full-fidelity record of a case, as `rrn case export --format json` writes it and `rrn case
//! import FILE.json` reads it back: every fact the store holds about the case (dates, agencies,
//! completions with who recorded them, the audit trail, what the notification log says was
//! sent), in a document with a format name and a version.
//!
//! Parsing is the one place a file becomes records: every value is checked here, and a refusal
//! names its place in the document (`cases[2].completions[0].completed_on`). Whether the records
//! make a whole case (unique references, agencies of the completions) is for `casework`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::agency::AgencyId;
use crate::domain::case::{AuditEntry, CaseRef, CaseState, CompletionRecord};

/// The document's `format`.
pub const FORMAT: &str = "rrn-cases";
/// The document's `version`: what this version of rrn writes and reads.
pub const VERSION: u64 = 1;

/// One case with everything about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseRecord {
    pub reference: CaseRef,
    pub aware: NaiveDate,
    pub day0: Option<NaiveDate>,
    /// `"status": "open"`, or `"status": "closed", "reason": …`.
    #[serde(flatten)]
    pub state: CaseState,
    pub local_review_proposed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub agencies: Vec<AgencyRecord>,
    /// In the order `case show` lists them.
    pub completions: Vec<CompletionRecord>,
    /// The case's audit trail, oldest first.
    pub audit: Vec<AuditEntry>,
    /// The notification log's decisions for the case, oldest first: what was sent (or skipped)
    /// is not proposed again after a restore.
    pub notifications: Vec<LogRecord>,
}

/// An agency involved in a case, and when it was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgencyRecord {
    pub agency: AgencyId,
    pub added_at: DateTime<Utc>,
}

/// One decision of the notification log: its key, `send` or `skip`, why, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    pub key: String,
    pub decision: Decision,
    pub reason: Option<String>,
    pub decided_at: DateTime<Utc>,
}

/// What the log decided for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::EnumString, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Decision {
    Send,
    Skip,
}

/// The document's opening, up to its first case: `{"format":…,"version":…,"cases":[`.
pub fn document_head() -> String {
    format!("{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"cases\":[")
}

/// The document's end, after its last case.
pub const DOCUMENT_TAIL: &str = "\n]}\n";

/// Why a file was refused: where in the document, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RecordError {
    /// `cases[2].aware`, or `(the file)` for the document as a whole.
    pub path: String,
    pub message: String,
}

/// The cases of a document written by [`document_head`], the records and [`DOCUMENT_TAIL`].
/// Unknown fields are refused (a typing mistake must not lose a fact silently), and so is a
/// format or version this rrn does not know.
pub fn parse(text: &str) -> Result<Vec<CaseRecord>, RecordError> {
    let text = text.trim_start_matches('\u{feff}');
    let value: Value = serde_json::from_str(text).map_err(|e| RecordError {
        path: "(the file)".to_owned(),
        message: format!("not valid JSON ({e})"),
    })?;
    let top = Object::new(&value, String::new())?;
    top.only(&["format", "version", "cases"])?;
    let format: String = top.required("format")?;
    if format != FORMAT {
        return Err(top.error(
            "format",
            format!(
                "`{}` is not a file of cases: expected \"{FORMAT}\" (written by `rrn case \
                 export --format json`)",
                crate::domain::diagnostic::excerpt(&format)
            ),
        ));
    }
    let version: u64 = top.required("version")?;
    if version != VERSION {
        return Err(top.error(
            "version",
            format!(
                "version {version} is not one this rrn reads (it reads version {VERSION}): \
                 import it with the rrn that wrote it, or a newer one"
            ),
        ));
    }
    top.array("cases")?
        .into_iter()
        .map(|(path, value)| case(&Object::new(value, path)?))
        .collect()
}

fn case(object: &Object<'_>) -> Result<CaseRecord, RecordError> {
    object.only(&[
        "reference",
        "aware",
        "day0",
        "status",
        "reason",
        "local_review_proposed",
        "created_at",
        "updated_at",
        "agencies",
        "completions",
        "audit",
        "notifications",
    ])?;
    let status: String = object.required("status")?;
    let reason: Option<String> = object.optional("reason")?;
    let state = match (status.as_str(), reason) {
        ("open", None) => CaseState::Open,
        ("open", Some(_)) => {
            return Err(object.error("reason", "an open case has no reason: remove it".into()));
        }
        ("closed", Some(reason)) => CaseState::Closed(reason),
        ("closed", None) => {
            return Err(object.error(
                "reason",
                "missing: a closed case says why it was closed".into(),
            ));
        }
        (other, _) => {
            return Err(object.error(
                "status",
                format!(
                    "`{}`: expected \"open\" or \"closed\"",
                    crate::domain::diagnostic::excerpt(other)
                ),
            ));
        }
    };
    Ok(CaseRecord {
        reference: object.required("reference")?,
        aware: object
            .date("aware")?
            .ok_or_else(|| object.missing("aware"))?,
        day0: object.date("day0")?,
        state,
        local_review_proposed: object.required("local_review_proposed")?,
        created_at: object.time("created_at")?,
        updated_at: object.time("updated_at")?,
        agencies: object
            .objects("agencies")?
            .iter()
            .map(|agency| {
                agency.only(&["agency", "added_at"])?;
                Ok(AgencyRecord {
                    agency: agency.required("agency")?,
                    added_at: agency.time("added_at")?,
                })
            })
            .collect::<Result<_, RecordError>>()?,
        completions: object
            .objects("completions")?
            .iter()
            .map(|c| {
                c.only(&[
                    "milestone",
                    "agency",
                    "completed_on",
                    "recorded_by",
                    "recorded_at",
                    "note",
                ])?;
                Ok(CompletionRecord {
                    milestone: c.required("milestone")?,
                    agency: c.optional("agency")?,
                    completed_on: c
                        .date("completed_on")?
                        .ok_or_else(|| c.missing("completed_on"))?,
                    recorded_by: c.required("recorded_by")?,
                    recorded_at: c.time("recorded_at")?,
                    note: c.optional("note")?,
                })
            })
            .collect::<Result<_, RecordError>>()?,
        audit: object
            .objects("audit")?
            .iter()
            .map(|entry| {
                entry.only(&["at", "actor", "action", "detail"])?;
                Ok(AuditEntry {
                    at: entry.time("at")?,
                    actor: entry.required("actor")?,
                    action: entry.required("action")?,
                    detail: entry.required("detail")?,
                })
            })
            .collect::<Result<_, RecordError>>()?,
        notifications: object
            .objects("notifications")?
            .iter()
            .map(|entry| {
                entry.only(&["key", "decision", "reason", "decided_at"])?;
                let decision: String = entry.required("decision")?;
                Ok(LogRecord {
                    key: entry.required("key")?,
                    decision: decision.parse().map_err(|_| {
                        entry.error(
                            "decision",
                            format!(
                                "`{}`: expected \"send\" or \"skip\"",
                                crate::domain::diagnostic::excerpt(&decision)
                            ),
                        )
                    })?,
                    reason: entry.optional("reason")?,
                    decided_at: entry.time("decided_at")?,
                })
            })
            .collect::<Result<_, RecordError>>()?,
    })
}

/// A JSON object of the document and its path in it, for messages.
struct Object<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Object<'a> {
    fn new(value: &'a Value, path: String) -> Result<Self, RecordError> {
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(RecordError {
                path: if path.is_empty() {
                    "(the file)".to_owned()
                } else {
                    path
                },
                message: format!("expected an object, found {}", kind(other)),
            }),
        }
    }

    fn field_path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn error(&self, name: &str, message: String) -> RecordError {
        RecordError {
            path: self.field_path(name),
            message,
        }
    }

    fn missing(&self, name: &str) -> RecordError {
        self.error(name, "missing".to_owned())
    }

    /// Refuses a field not in `known`.
    fn only(&self, known: &[&str]) -> Result<(), RecordError> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(self.error(
                unknown,
                format!("unknown field: expected one of {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// A field that may be absent or null.
    fn optional<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, RecordError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::deserialize(value)
                .map(Some)
                .map_err(|e| self.error(name, e.to_string())),
        }
    }

    fn required<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, RecordError> {
        self.optional(name)?.ok_or_else(|| self.missing(name))
    }

    /// A civil date, `YYYY-MM-DD` and nothing else (or absent or null).
    fn date(&self, name: &str) -> Result<Option<NaiveDate>, RecordError> {
        self.optional::<String>(name)?
            .map(|text| {
                crate::domain::calendar::parse_date(&text)
                    .map_err(|e| self.error(name, e.to_string()))
            })
            .transpose()
    }

    /// An instant, RFC 3339 (as the export writes it), required.
    fn time(&self, name: &str) -> Result<DateTime<Utc>, RecordError> {
        let text: String = self.required(name)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                self.error(
                    name,
                    format!(
                        "`{}` is not a date and time ({e}): expected RFC 3339, such as \
                         2026-12-21T09:00:00Z",
                        crate::domain::diagnostic::excerpt(&text)
                    ),
                )
            })
    }

    /// The elements of an array field, each with its path; absent is refused.
    fn array(&self, name: &str) -> Result<Vec<(String, &'a Value)>, RecordError> {
        match self.map.get(name) {
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{}[{i}]", self.field_path(name)), item))
                .collect()),
            Some(other) => {
                Err(self.error(name, format!("expected an array, found {}", kind(other))))
            }
            None => Err(self.missing(name)),
        }
    }

    /// An array field of objects.
    fn objects(&self, name: &str) -> Result<Vec<Object<'a>>, RecordError> {
        self.array(name)?
            .into_iter()
            .map(|(path, value)| Object::new(value, path))
            .collect()
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CaseRecord {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        CaseRecord {
            reference: CaseRef::parse("RR-2026-014").unwrap(),
            aware: date("2026-12-16"),
            day0: Some(date("2026-12-21")),
            state: CaseState::Closed("review complete".into()),
            local_review_proposed: true,
            created_at: at("2026-12-21T09:00:00Z"),
            updated_at: at("2027-01-20T09:00:00.123456789Z"),
            agencies: vec![AgencyRecord {
                agency: AgencyId::parse("police").unwrap(),
                added_at: at("2026-12-21T10:00:00Z"),
            }],
            completions: vec![CompletionRecord {
                milestone: "agency_summary".into(),
                agency: Some(AgencyId::parse("police").unwrap()),
                completed_on: date("2027-01-06"),
                recorded_by: "jo".into(),
                recorded_at: at("2027-01-06T11:00:00Z"),
                note: Some("received by secure email".into()),
            }],
            audit: vec![AuditEntry {
                at: at("2026-12-21T10:00:00Z"),
                actor: "jo".into(),
                action: "open".into(),
                detail: "aware 2026-12-16".into(),
            }],
            notifications: vec![LogRecord {
                key: "RR-2026-014|chair".into(),
                decision: Decision::Send,
                reason: None,
                decided_at: at("2026-12-21T18:00:00Z"),
            }],
        }
    }

    fn document(cases: &[Value]) -> String {
        let body: Vec<String> = cases.iter().map(Value::to_string).collect();
        format!("{}\n{}{DOCUMENT_TAIL}", document_head(), body.join(",\n"))
    }

    #[test]
    fn a_written_record_reads_back_the_same() {
        let text = document(&[serde_json::to_value(record()).unwrap()]);
        assert_eq!(parse(&text).unwrap(), vec![record()]);
    }

    #[test]
    fn a_refusal_names_the_place_in_the_document() {
        let mut bad = serde_json::to_value(record()).unwrap();
        bad["completions"][0]["completed_on"] = "2027-1-6".into();
        let second = serde_json::to_value(record()).unwrap();
        let error = parse(&document(&[second, bad])).unwrap_err();
        assert_eq!(error.path, "cases[1].completions[0].completed_on");

        let mut bad = serde_json::to_value(record()).unwrap();
        bad["agencies"][0]["agency"] = "Police".into();
        assert_eq!(
            parse(&document(&[bad])).unwrap_err().path,
            "cases[0].agencies[0].agency"
        );

        let mut bad = serde_json::to_value(record()).unwrap();
        bad["colour"] = "red".into();
        let error = parse(&document(&[bad])).unwrap_err();
        assert_eq!(error.path, "cases[0].colour");
        assert!(error.message.contains("unknown field"), "{error}");

        let mut bad = serde_json::to_value(record()).unwrap();
        bad.as_object_mut().unwrap().remove("reason");
        assert_eq!(
            parse(&document(&[bad])).unwrap_err().path,
            "cases[0].reason"
        );
    }

    #[test]
    fn another_format_or_version_is_refused() {
        let error = parse(r#"{"format":"rrn-cases","version":2,"cases":[]}"#).unwrap_err();
        assert_eq!(error.path, "version");
        let error = parse(r#"{"format":"csv","version":1,"cases":[]}"#).unwrap_err();
        assert_eq!(error.path, "format");
        let error = parse("reference,aware\n").unwrap_err();
        assert_eq!(error.path, "(the file)");
    }
}
