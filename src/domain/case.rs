//! A Rapid Review case as the store keeps it: its reference, dates, agencies and completions.
//!
//! `CaseRef` is the only link to the partnership's own case system; nothing about the child is
//! stored anywhere.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::agency::AgencyId;
use crate::domain::timeline::{CaseFacts, Completion};

/// A case reference such as `RR-2026-014`: 1-40 characters, letters, digits and `-_/.`,
/// starting with a letter or digit. Never a name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CaseRef(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid case reference `{0}`: use 1-40 letters, digits, `-`, `_`, `/` or `.`, starting with a \
     letter or digit (for example RR-2026-014)"
)]
pub struct InvalidCaseRef(pub String);

impl CaseRef {
    pub fn parse(s: &str) -> Result<Self, InvalidCaseRef> {
        let mut chars = s.chars();
        let valid = (1..=40).contains(&s.len())
            && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c));
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidCaseRef(crate::domain::diagnostic::excerpt(s)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for CaseRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for CaseRef {
    type Err = InvalidCaseRef;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Whether a case is still running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum CaseState {
    Open,
    Closed(String),
}

impl CaseState {
    pub fn is_open(&self) -> bool {
        matches!(self, CaseState::Open)
    }
}

/// A recorded completion, with who recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompletionRecord {
    pub milestone: String,
    pub agency: Option<AgencyId>,
    pub completed_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub note: Option<String>,
}

/// One case with everything the timeline needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    pub reference: CaseRef,
    pub aware: NaiveDate,
    pub day0: Option<NaiveDate>,
    #[serde(flatten)]
    pub state: CaseState,
    pub local_review_proposed: bool,
    pub agencies: Vec<AgencyId>,
    pub completions: Vec<CompletionRecord>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Case {
    /// The facts the pure timeline evaluation needs.
    pub fn facts(&self) -> CaseFacts {
        CaseFacts {
            aware: Some(self.aware),
            day0: self.day0,
            agencies: self.agencies.clone(),
            completions: self
                .completions
                .iter()
                .map(|c| Completion {
                    milestone: c.milestone.clone(),
                    agency: c.agency.clone(),
                    on: c.completed_on,
                })
                .collect(),
            local_review_proposed: self.local_review_proposed,
        }
    }
}

/// A case as listings and planning need it: its facts, without who recorded what. Read in bulk,
/// one row per case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOverview {
    pub reference: CaseRef,
    pub state: CaseState,
    /// The day the case was opened (UTC).
    pub opened_on: NaiveDate,
    /// The revision counter's value at the case's last change.
    pub revision: i64,
    /// Aware date, day 0, agencies (sorted), completions and the local-review flag.
    pub facts: CaseFacts,
}

/// A case a run could not plan, and why: reported by reference (never more) in `rrn status`,
/// `/healthz`, the run's log line and the daily summary, while the other cases go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FailedCase {
    pub reference: CaseRef,
    pub reason: String,
}

impl std::fmt::Display for FailedCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reference, self.reason)
    }
}

/// One entry of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_short_identifiers_without_spaces() {
        for good in ["RR-2026-014", "2026/14", "a", "CSPR.1_b"] {
            assert!(CaseRef::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-RR", "RR 2026", "Jane Doe", "RR\n1", &"x".repeat(41)] {
            assert!(CaseRef::parse(bad).is_err(), "{bad:?}");
        }
    }
}
