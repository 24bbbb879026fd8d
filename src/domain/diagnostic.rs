//! Problems located in a source file: `file:line:column: message`, with the line and a caret.
//!
//! Owns only the formatting of positions; it knows nothing about what the file means.

use std::fmt;
use std::ops::Range;

/// `value` as a message may quote it: the first 40 characters, with what was cut counted, and
/// control characters escaped, so a 10 MB field or a line break in one cannot flood or split
/// the message that names it.
pub fn excerpt(value: &str) -> String {
    const SHOWN: usize = 40;
    let mut out: String = value
        .chars()
        .take(SHOWN)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    let total = value.chars().count();
    if total > SHOWN {
        out.push_str(&format!("… ({total} characters in all)"));
    }
    out
}

/// One problem at a place in a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    source_line: String,
}

impl Diagnostic {
    /// Locates `span` (byte offsets into `text`) as a 1-based line and column.
    pub fn at(file: &str, text: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        Self {
            file: file.to_owned(),
            line: text[..start].matches('\n').count() + 1,
            column: text[line_start..start].chars().count() + 1,
            message: message.into(),
            source_line: text[line_start..line_end].trim_end().to_owned(),
        }
    }

    /// A TOML syntax or type error, located by its span where it has one.
    pub fn from_toml(file: &str, text: &str, error: &toml::de::Error) -> Self {
        let span = error.span().unwrap_or(0..0);
        Self::at(file, text, span, error.message().trim_end())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.source_line.is_empty() {
            let gutter = self.line.to_string().len();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {:>col$}",
                "",
                self.line,
                self.source_line,
                "",
                "^",
                col = self.column
            )?;
        }
        Ok(())
    }
}

/// Several diagnostics shown one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}
