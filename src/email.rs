//! `EmailAddress`: an address that parsed once and cannot carry a header injection.
//!
//! Deliberately strict (a plain `local@domain`, no display name, no control characters or
//! spaces): addresses come from the config, and a wrong one must fail `check-config`, not an
//! SMTP transaction at 08:00 on a deadline day.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid email address {0:?}: {1}")]
pub struct InvalidEmailAddress(String, &'static str);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, InvalidEmailAddress> {
        let fail = |why| Err(InvalidEmailAddress(s.to_owned(), why));
        if s.chars().any(|c| c.is_control()) {
            return fail("it contains a control character (CR, LF or similar)");
        }
        if s.chars().any(char::is_whitespace) {
            return fail("it contains a space");
        }
        if s.len() > 254 {
            return fail("it is longer than 254 characters");
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return fail("it has no @domain");
        };
        if local.is_empty() || local.len() > 64 || local.contains(['@', '<', '>', ',', ';', '"']) {
            return fail("the part before @ is empty, too long or has <>,;\" or a second @");
        }
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if domain.is_empty() || !labels_ok {
            return fail("it has no valid domain after @ (letters, digits, hyphens and dots)");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_parse() {
        for good in [
            "lead@police.example",
            "a.b+c@x-y.example.org",
            "admin@localhost",
        ] {
            assert!(EmailAddress::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn header_injection_and_missing_domains_are_refused() {
        for bad in [
            "lead@police.example\r\nBcc: x@evil.example",
            "lead@police.example\n",
            "lead",
            "lead@",
            "@police.example",
            "Lead <lead@police.example>",
            "lead@police..example",
            "lead@-police.example",
            "a@b@c.example",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }
}
