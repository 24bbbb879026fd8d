//! `EmailAddress` and `DisplayName`: an address and a person's or team's name, each parsed once,
//! that cannot carry a header injection.
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

/// Characters that must never reach a header, a terminal or the audit log: control characters
/// (CR, LF, NUL, ESC…) and the invisible formatting characters of Unicode category Cf
/// (direction overrides and isolates, zero-width spaces and joiners, the BOM…), which make text
/// read differently from what it holds.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// The first hidden character of `text` (see [`is_hidden`]), as `U+XXXX`, for messages that
/// must not print it raw.
pub fn first_hidden(text: &str) -> Option<String> {
    text.chars()
        .find(|c| is_hidden(*c))
        .map(|c| format!("U+{:04X}", c as u32))
}

/// `text` with every hidden character written as an escape (`\u{1b}`), for printing text that
/// an older version stored unchecked.
pub fn escape_hidden(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A name shown in an email header or a listing (a contact, an agency, the partnership): no
/// control or invisible formatting characters, so it can neither add a header (a line break
/// would), nor make lettre panic, nor read differently from what it holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDisplayName {
    #[error(
        "invalid name: it contains {0}, a control or invisible formatting character (a line \
         break, tab, NUL, escape or direction override): use plain text"
    )]
    Hidden(String),
    #[error("invalid name: it is longer than {MAX_NAME} characters")]
    TooLong,
}

/// Longer than any real name; keeps a header within what servers accept.
const MAX_NAME: usize = 200;

impl DisplayName {
    pub fn parse(s: &str) -> Result<Self, InvalidDisplayName> {
        if let Some(hidden) = first_hidden(s) {
            return Err(InvalidDisplayName::Hidden(hidden));
        }
        if s.chars().count() > MAX_NAME {
            return Err(InvalidDisplayName::TooLong);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl<'de> Deserialize<'de> for DisplayName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_line_breaks_nul_or_direction_overrides_are_refused() {
        assert!(DisplayName::parse("Police Lead").is_ok());
        assert!(DisplayName::parse("Swyddog Diogelu’r Heddlu").is_ok());
        for bad in [
            "Police Lead\nBcc: x@evil.example",
            "Lead\r",
            "Le\0ad",
            "Lead\u{1b}[2J",
            "Lead \u{202E}evil",
            "Le\u{200B}ad",
            "Lead\u{2066}",
        ] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(escape_hidden("a\nb\u{202E}"), "a\\u{a}b\\u{202e}");
    }

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
