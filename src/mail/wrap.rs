//! Plain text wrapped for a phone and for `format=flowed`-less mail clients: lines of at most
//! 72 characters, broken only between words, never inside a date ("Thursday 7 January 2027"
//! stays on one line). A continuation keeps its line's indent (under the text of a list item).
//! The HTML part, which the reader's screen wraps, gets `&nbsp;` inside its dates instead.

/// The width of the plain-text part.
pub const WIDTH: usize = 72;

const DAYS: [&str; 14] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Mon",
    "Tue",
    "Wed",
    "Thu",
    "Fri",
    "Sat",
    "Sun",
];
const MONTHS: [&str; 24] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Sept",
    "Oct",
    "Nov",
    "Dec",
];

fn bare(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphanumeric())
}

fn is_day_number(word: &str) -> bool {
    let w = word.trim_start_matches('(');
    (1..=2).contains(&w.len()) && w.chars().all(|c| c.is_ascii_digit())
}

fn is_year(word: &str) -> bool {
    let w = bare(word);
    w.len() == 4 && w.chars().all(|c| c.is_ascii_digit())
}

/// Whether the space between `left` and `right` is inside a date: a weekday and its day, a day
/// and its month, a month and its year.
fn glued(left: &str, right: &str) -> bool {
    let (l, r) = (bare(left), bare(right));
    let left_ends_clean = !left.ends_with([',', ';', ':', '.', ')']);
    left_ends_clean
        && ((DAYS.contains(&l) && is_day_number(right))
            || (is_day_number(left) && MONTHS.contains(&r))
            || (MONTHS.contains(&l) && is_year(right)))
}

/// The words of a line as unbreakable runs: a date is one run.
fn runs(text: &str) -> Vec<String> {
    let mut runs: Vec<String> = Vec::new();
    let mut last: Option<&str> = None;
    for word in text.split_whitespace() {
        match (runs.last_mut(), last) {
            (Some(run), Some(prev)) if glued(prev, word) => {
                run.push(' ');
                run.push_str(word);
            }
            _ => runs.push(word.to_owned()),
        }
        last = Some(word);
    }
    runs
}

/// The indent of a line's continuations: its own, plus a list marker's width ("1. ", "- ").
fn hanging_indent(line: &str) -> usize {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    let marker = if let Some(after) = rest.strip_prefix("- ") {
        rest.len() - after.len()
    } else {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && rest[digits..].starts_with(". ") {
            digits + 2
        } else {
            0
        }
    };
    indent + marker
}

/// `text` with every line longer than `width` broken between words (never inside a date);
/// a run longer than `width` on its own (a long address) stays whole on its own line.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        if line.chars().count() <= width {
            out.push_str(line);
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let hang = " ".repeat(hanging_indent(line));
        let mut current = line[..indent].to_owned();
        let mut used = current.chars().count();
        let mut empty = true;
        for run in runs(line) {
            let len = run.chars().count();
            if !empty && used + 1 + len > width {
                out.push_str(&current);
                out.push('\n');
                current = hang.clone();
                used = current.chars().count();
                empty = true;
            }
            if !empty {
                current.push(' ');
                used += 1;
            }
            current.push_str(&run);
            used += len;
            empty = false;
        }
        out.push_str(&current);
    }
    out
}

/// `html` with the spaces inside each date of its text (not its tags) made `&nbsp;`, so that a
/// phone's narrow screen never breaks "Thursday 7 January 2027" across lines.
pub(super) fn dates_unbroken_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    let mut rest = html;
    while !rest.is_empty() {
        // A tag goes out as it is; the text up to the next one has its dates glued.
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        let end = rest.find('<').unwrap_or(rest.len());
        glue_dates(&rest[..end], &mut out);
        rest = &rest[end..];
    }
    out
}

/// `text` onto `out`, each single space between two words of a date written `&nbsp;`.
fn glue_dates(text: &str, out: &mut String) {
    let pieces: Vec<&str> = text.split(' ').collect();
    for (index, piece) in pieces.iter().enumerate() {
        if index > 0 {
            // The words on either side of this space, when they touch it.
            let left = pieces[index - 1].rsplit(char::is_whitespace).next();
            let right = piece.split(char::is_whitespace).next();
            let inside_a_date = match (left, right) {
                (Some(left), Some(right)) if !left.is_empty() && !right.is_empty() => {
                    glued(left, right)
                }
                _ => false,
            };
            out.push_str(if inside_a_date { "&nbsp;" } else { " " });
        }
        out.push_str(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_html_the_spaces_of_a_date_are_non_breaking_and_tags_are_left_alone() {
        assert_eq!(
            dates_unbroken_html(
                "<p style=\"margin:0 0 16px\">Due <strong>Thursday 7 January 2027</strong>, \
                 not counting 25 and 28 December (bank holidays).</p>"
            ),
            "<p style=\"margin:0 0 16px\">Due <strong>Thursday&nbsp;7&nbsp;January&nbsp;2027\
             </strong>, not counting 25 and 28&nbsp;December (bank holidays).</p>"
        );
        assert_eq!(
            dates_unbroken_html("on Friday 15 January 2027. Working day 10"),
            "on Friday&nbsp;15&nbsp;January&nbsp;2027. Working day 10"
        );
    }
    use proptest::prelude::*;

    #[test]
    fn a_long_line_breaks_between_words_and_keeps_dates_whole() {
        let text = "   Due Thursday 7 January 2027: working day 10 after day 0 (Monday 21 December \
                    2026), not counting 25 and 28 December and 1 January (bank holidays).";
        let wrapped = wrap(text, WIDTH);
        for line in wrapped.lines() {
            assert!(line.chars().count() <= WIDTH, "{line:?}");
            assert!(line.starts_with("   "), "{line:?}");
        }
        assert!(wrapped.contains("Thursday 7 January 2027"), "{wrapped}");
        assert!(wrapped.contains("Monday 21 December 2026"), "{wrapped}");
    }

    #[test]
    fn a_list_item_continues_under_its_text() {
        let wrapped = wrap(&format!("1. {}", "word ".repeat(30).trim_end()), 20);
        for line in wrapped.lines().skip(1) {
            assert!(line.starts_with("   w"), "{wrapped}");
        }
    }

    fn date_text() -> impl Strategy<Value = String> {
        (0usize..7, 1u32..=28, 0usize..12, 2000u32..2100)
            .prop_map(|(d, n, m, y)| format!("{} {n} {} {y}", DAYS[d], MONTHS[m]))
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[a-z]{1,12}[,.:]?",
            1 => "[a-z<>@.]{20,80}",
            1 => date_text(),
        ]
    }

    proptest! {
        /// No line over the width unless one word alone is longer; no date split; every word
        /// kept, in order.
        #[test]
        fn wrapping_keeps_words_and_dates_and_the_width(
            pieces in proptest::collection::vec(piece(), 1..40),
            indent in 0usize..6,
            width in 20usize..90,
        ) {
            let text = format!("{}{}", " ".repeat(indent), pieces.join(" "));
            let wrapped = wrap(&text, width);
            prop_assert_eq!(
                text.split_whitespace().collect::<Vec<_>>(),
                wrapped.split_whitespace().collect::<Vec<_>>()
            );
            for line in wrapped.lines() {
                let long = line.chars().count() > width;
                let runs = runs(line);
                prop_assert!(!long || runs.len() == 1, "{:?} in {:?}", line, wrapped);
            }
            for piece in pieces.iter().filter(|p| p.split(' ').count() == 4) {
                prop_assert!(
                    wrapped.lines().any(|l| l.contains(piece.as_str())),
                    "{:?} split in {:?}", piece, wrapped
                );
            }
        }
    }
}
