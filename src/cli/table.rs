//! The listings' tables: a header row, columns aligned by display width (so `é` or `–` in a
//! value does not shift the columns after it), long values cut with `…`, and the last column
//! wrapped under itself instead of running past the line. Plurals for the counts around them.
//! Knows nothing of what the rows mean.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The width a table's lines keep to: `$COLUMNS` when the shell exports it, else 100.
pub(super) fn line_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c >= 40)
        .unwrap_or(100)
}

/// One column: its header and the widest its values are shown (longer ones are cut).
#[derive(Debug, Clone, Copy)]
pub(super) struct Column {
    pub header: &'static str,
    pub max: usize,
}

pub(super) const fn column(header: &'static str, max: usize) -> Column {
    Column { header, max }
}

/// A table with columns as wide as their widest value (up to each column's `max`).
#[derive(Debug)]
pub(super) struct Table {
    columns: Vec<Column>,
    /// Each row's cells and the note printed under it, if any.
    rows: Vec<(Vec<String>, Option<String>)>,
}

impl Table {
    pub(super) fn new(columns: &[Column]) -> Self {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; `cells` has one value per column.
    pub(super) fn row(&mut self, cells: Vec<String>) {
        self.row_with_note(cells, None);
    }

    /// Adds a row with a sentence too long for a column (an error, a reason), wrapped on lines
    /// of its own under the row.
    pub(super) fn row_with_note(&mut self, cells: Vec<String>, note: Option<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push((cells, note));
    }

    /// The header and every row, each line indented by `indent`, within `width` columns.
    pub(super) fn render(&self, indent: &str, width: usize) -> String {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                self.rows
                    .iter()
                    .map(|(r, _)| r[i].width())
                    .chain([c.header.width()])
                    .max()
                    .unwrap_or(0)
                    .min(c.max.max(c.header.width()))
            })
            .collect();
        let layout = Layout::new(widths, indent, width);
        let headers: Vec<&str> = self.columns.iter().map(|c| c.header).collect();
        let mut out = layout.line(&headers);
        for (row, note) in &self.rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            out.push_str(&layout.line(&cells));
            if let Some(note) = note {
                out.push_str(&layout.note(note));
            }
        }
        out
    }
}

/// Columns of fixed widths, for a table printed as it is made (`rrn plan` over 100,000 cases
/// holds no rows): each column is `max` wide.
#[derive(Debug)]
pub(super) struct Layout {
    widths: Vec<usize>,
    indent: String,
    /// How wide the last column may be before it wraps.
    last: usize,
    /// How wide a whole line may be.
    width: usize,
}

impl Layout {
    pub(super) fn fixed(columns: &[Column], indent: &str, width: usize) -> Self {
        let widths = columns
            .iter()
            .map(|c| c.max.max(c.header.width()))
            .collect();
        Layout::new(widths, indent, width)
    }

    fn new(widths: Vec<usize>, indent: &str, width: usize) -> Self {
        let before: usize = widths[..widths.len() - 1].iter().map(|w| w + 2).sum();
        let last = width
            .saturating_sub(indent.width() + before)
            .max(widths[widths.len() - 1].min(24));
        Layout {
            widths,
            indent: indent.to_owned(),
            last,
            width,
        }
    }

    /// The header row.
    pub(super) fn header(&self, columns: &[Column]) -> String {
        let headers: Vec<&str> = columns.iter().map(|c| c.header).collect();
        self.line(&headers)
    }

    /// A note under a row: indented past the first column, wrapped within the line.
    pub(super) fn note(&self, text: &str) -> String {
        let indent = format!("{}{}", self.indent, " ".repeat(self.widths[0] + 2));
        let mut out = String::new();
        for line in wrap(text, self.width.saturating_sub(indent.width()).max(40)) {
            out.push_str(&indent);
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// One row: every column but the last padded (or cut) to its width, the last wrapped at
    /// word boundaries, its continuation lines starting under it.
    pub(super) fn line(&self, cells: &[&str]) -> String {
        let mut out = self.indent.clone();
        let (last, before) = cells.split_last().expect("a table has a column");
        for (cell, &width) in before.iter().zip(&self.widths) {
            let cell = cut(cell, width);
            out.push_str(&cell);
            out.push_str(&" ".repeat(width - cell.width() + 2));
        }
        let start = out.width();
        let mut lines = wrap(last, self.last).into_iter();
        out.push_str(&lines.next().unwrap_or_default());
        for more in lines {
            out.push('\n');
            out.push_str(&" ".repeat(start));
            out.push_str(&more);
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
        out
    }
}

/// `text` in at most `width` columns: cut with `…` when longer. Line breaks become spaces.
pub(super) fn cut(text: &str, width: usize) -> String {
    let text = text.replace(['\n', '\r', '\t'], " ");
    if text.width() <= width {
        return text;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `text` in lines of at most `width` columns, broken between words; a word longer than a line
/// is cut into pieces.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_owned();
        while word.width() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut piece = String::new();
            let mut rest = String::new();
            for c in word.chars() {
                if rest.is_empty() && piece.width() + c.width().unwrap_or(0) <= width {
                    piece.push(c);
                } else {
                    rest.push(c);
                }
            }
            lines.push(piece);
            word = rest;
        }
        if line.is_empty() {
            line = word;
        } else if line.width() + 1 + word.width() <= width {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `n` and the noun, singular for 1: "1 open case", "2 open cases", thousands separated.
pub(super) fn count(n: usize, singular: &str, plural: &str) -> String {
    format!(
        "{} {}",
        thousands(n),
        if n == 1 { singular } else { plural }
    )
}

/// 16729 as "16,729".
pub(super) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn columns_line_up_by_display_width_whatever_the_characters() {
        let mut table = Table::new(&[column("NAME", 20), column("NOTE", 40)]);
        table.row(vec!["Zoë".into(), "one".into()]);
        table.row(vec!["Bob".into(), "two".into()]);
        table.row(vec!["日本".into(), "three".into()]);
        let out = table.render("", 100);
        let starts: Vec<usize> = out
            .lines()
            .map(|l| {
                let at = l.rfind(' ').unwrap() + 1;
                l[..at].width()
            })
            .collect();
        assert_eq!(starts, [6, 6, 6, 6], "{out}");
    }

    #[test]
    fn a_long_value_is_cut_and_the_last_column_wraps_under_itself() {
        let mut table = Table::new(&[column("ID", 4), column("CASE", 8), column("ERROR", 60)]);
        table.row(vec![
            "1".into(),
            "RR-2026-001, RR-2026-002".into(),
            "550 5.1.1 the mailbox police.lead@example.org does not exist here".into(),
        ]);
        let out = table.render("", 40);
        assert_eq!(
            out,
            "ID  CASE      ERROR\n\
             1   RR-2026…  550 5.1.1 the mailbox\n\
             \x20             police.lead@example.org\n\
             \x20             does not exist here\n"
        );
    }

    #[test]
    fn a_note_goes_under_its_row_wrapped() {
        let mut table = Table::new(&[column("ID", 4), column("TO", 30)]);
        table.row_with_note(
            vec!["12".into(), "police@example.org".into()],
            Some("last error (3 tries): 550 5.1.1 no such mailbox here at all".into()),
        );
        assert_eq!(
            table.render("", 44),
            "ID  TO\n\
             12  police@example.org\n\
             \x20   last error (3 tries): 550 5.1.1 no such\n\
             \x20   mailbox here at all\n"
        );
    }

    #[test]
    fn counts_say_one_in_the_singular_and_separate_thousands() {
        assert_eq!(count(1, "open case", "open cases"), "1 open case");
        assert_eq!(count(0, "open case", "open cases"), "0 open cases");
        assert_eq!(count(16_729, "case", "cases"), "16,729 cases");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }

    proptest! {
        #[test]
        fn a_cut_value_fits_its_width(text in "\\PC{0,40}", width in 1usize..30) {
            prop_assert!(cut(&text, width).width() <= width.max(1));
        }

        #[test]
        fn wrapping_keeps_every_word_and_every_line_fits(
            words in proptest::collection::vec("[a-zé日]{1,6}", 0..20),
            width in 12usize..40,
        ) {
            let text = words.join(" ");
            let lines = wrap(&text, width);
            prop_assert!(lines.iter().all(|l| l.width() <= width));
            prop_assert_eq!(lines.join(" "), text);
        }
    }
}
