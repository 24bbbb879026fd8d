//! `AgencyId`: the short name of an agency involved in a case (`police`, `health`).
//!
//! Parsed once; an `AgencyId` in hand is always a safe identifier for keys, file names and mail.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// A lowercase identifier: a letter, then letters, digits, `_` or `-`; at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AgencyId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid agency id `{0}`: use 1-32 lowercase letters, digits, `_` or `-`, starting with a letter"
)]
pub struct InvalidAgencyId(pub String);

impl AgencyId {
    pub fn parse(s: &str) -> Result<Self, InvalidAgencyId> {
        let mut chars = s.chars();
        let valid = s.len() <= 32
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidAgencyId(crate::domain::diagnostic::excerpt(s)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AgencyId {
    type Err = InvalidAgencyId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl<'de> Deserialize<'de> for AgencyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_lowercase_names_and_refuses_the_rest() {
        for good in ["police", "health", "nhs_trust-2", "a"] {
            assert!(AgencyId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Police",
            "2police",
            "po lice",
            "police\n",
            &"a".repeat(33),
        ] {
            assert!(AgencyId::parse(bad).is_err(), "{bad:?}");
        }
    }
}
