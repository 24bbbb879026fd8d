//! Puts a refusal found after the `RRN_*` overrides were applied where a person can act on it:
//! at the variable that set the value, or at the same value in the file as written. The checks
//! read the overridden document, whose lines are not the file's.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::ConfigError;
use crate::domain::diagnostic::Diagnostic;

/// An override applied: its variable, and the key path it set (lowercase, split on `__`).
pub(super) type Applied = (String, Vec<String>);

/// One step into a TOML document: a key of a table, or an index of an array.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `error` about the overridden document `overridden`, relocated: an error at a value an
/// override set names the variable; one elsewhere points at the file `name` (text `original`).
/// `overrides` are the variables applied, each with its key path (lowercase, split on `__`).
pub(super) fn relocate(
    error: ConfigError,
    overridden: &str,
    name: &str,
    original: &str,
    overrides: &[Applied],
) -> ConfigError {
    let ConfigError::Invalid(diagnostic) = error else {
        return error;
    };
    let offset = offset_of(overridden, diagnostic.line, diagnostic.column);
    let Some(path) = DeTable::parse(overridden)
        .ok()
        .and_then(|table| path_at(table.get_ref(), offset))
    else {
        return ConfigError::Invalid(diagnostic);
    };
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|step| match step {
            Step::Key(key) => Some(key.as_str()),
            Step::Index(_) => None,
        })
        .collect();
    if let Some((var, _)) = overrides
        .iter()
        .find(|(_, set)| keys.starts_with(&set.iter().map(String::as_str).collect::<Vec<_>>()))
    {
        return ConfigError::Override {
            var: var.clone(),
            message: diagnostic.message,
        };
    }
    let span = DeTable::parse(original)
        .ok()
        .and_then(|table| span_of(table.get_ref(), &path));
    match span {
        Some(span) => {
            ConfigError::Invalid(Diagnostic::at(name, original, span, diagnostic.message))
        }
        None => ConfigError::Invalid(diagnostic),
    }
}

/// The byte offset of 1-based `line` and `column` (in characters) in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let rest = &text[line_start.min(text.len())..];
    line_start
        + rest
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// The path to the innermost key or value whose span holds `offset`.
fn path_at(table: &DeTable<'_>, offset: usize) -> Option<Vec<Step>> {
    for (key, value) in table.iter() {
        if key.span().contains(&offset) {
            return Some(vec![Step::Key(key.get_ref().to_string())]);
        }
        if let Some(mut inner) = path_in_value(value, offset) {
            inner.insert(0, Step::Key(key.get_ref().to_string()));
            return Some(inner);
        }
    }
    None
}

fn path_in_value(value: &Spanned<DeValue<'_>>, offset: usize) -> Option<Vec<Step>> {
    match value.get_ref() {
        DeValue::Table(table) => path_at(table, offset),
        DeValue::Array(array) => array.iter().enumerate().find_map(|(i, item)| {
            let mut inner = path_in_value(item, offset).or_else(|| {
                (item.span().contains(&offset) && !matches!(item.get_ref(), DeValue::Table(_)))
                    .then(Vec::new)
            })?;
            inner.insert(0, Step::Index(i));
            Some(inner)
        }),
        _ => value.span().contains(&offset).then(Vec::new),
    }
}

/// Where the value at `path` is written in `table`'s document.
fn span_of(table: &DeTable<'_>, path: &[Step]) -> Option<Range<usize>> {
    let (Step::Key(first), rest) = path.split_first()? else {
        return None;
    };
    let (key, value) = table.iter().find(|(key, _)| key.get_ref() == first)?;
    if rest.is_empty() {
        return Some(if matches!(value.get_ref(), DeValue::Table(_)) {
            key.span()
        } else {
            value.span()
        });
    }
    span_in_value(value, rest)
}

fn span_in_value(value: &Spanned<DeValue<'_>>, path: &[Step]) -> Option<Range<usize>> {
    match (value.get_ref(), path.first()) {
        (_, None) => Some(value.span()),
        (DeValue::Table(table), Some(Step::Key(_))) => span_of(table, path),
        (DeValue::Array(array), Some(Step::Index(i))) => span_in_value(array.get(*i)?, &path[1..]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# the partnership\n[mail]\ntransport = \"maildir\"\n\n[smtp]\nport = 25\n";

    fn diagnostic_at(text: &str, needle: &str) -> ConfigError {
        let start = text.find(needle).expect("in the text");
        ConfigError::Invalid(Diagnostic::at(
            "overridden",
            text,
            start..start + needle.len(),
            "refused",
        ))
    }

    #[test]
    fn a_refusal_at_an_overridden_value_names_the_variable() {
        let overridden = "[mail]\ntransport = \"smtp\"\n\n[smtp]\nport = 25\n";
        let overrides = [(
            "RRN_MAIL__TRANSPORT".to_owned(),
            vec!["mail".to_owned(), "transport".to_owned()],
        )];
        let error = diagnostic_at(overridden, "\"smtp\"");
        match relocate(error, overridden, "rrn.toml", FILE, &overrides) {
            ConfigError::Override { var, message } => {
                assert_eq!(
                    (var.as_str(), message.as_str()),
                    ("RRN_MAIL__TRANSPORT", "refused")
                )
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_refusal_elsewhere_points_at_the_line_of_the_file_as_written() {
        let overridden = "[mail]\ntransport = \"smtp\"\n\n[smtp]\nport = 25\nhost = \"x\"\n";
        let overrides = [(
            "RRN_SMTP__HOST".to_owned(),
            vec!["smtp".to_owned(), "host".to_owned()],
        )];
        let error = diagnostic_at(overridden, "25");
        let relocated = relocate(error, overridden, "rrn.toml", FILE, &overrides).to_string();
        assert!(
            relocated.starts_with("rrn.toml:6:8: refused"),
            "{relocated}"
        );
    }

    #[test]
    fn an_offset_is_found_from_its_line_and_column_in_characters() {
        let text = "a = \"é\"\nb = 1\n";
        assert_eq!(offset_of(text, 2, 5), text.find('1').unwrap());
        assert_eq!(offset_of(text, 1, 7), text.find("\"\n").unwrap());
    }
}
