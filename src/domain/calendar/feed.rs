//! The GOV.UK bank-holidays feed (gov.uk/bank-holidays.json): parsing and shape validation.
//!
//! A feed is parsed once into [`HolidayFeed`]; a file that is not in the feed's shape is refused
//! whole, so a bad download can never half-replace the calendar.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::{Division, FIRST_YEAR, Holiday, HolidaySource, LAST_YEAR, rules};

/// The copy shipped in `config/bank-holidays.json`, used when no config file names another.
const BUILTIN_FEED: &str = include_str!("../../../config/bank-holidays.json");

/// The largest feed file read: the real one is about 20 KB, and a file many times that would
/// only cost memory and time to parse before being refused.
pub(super) const MAX_FEED_BYTES: u64 = 5_000_000;

/// Why a file is not a usable bank-holidays feed.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("cannot read bank-holidays file {path}: {reason}")]
    Read {
        path: String,
        reason: std::io::Error,
    },
    #[error(
        "{path} is larger than {} MB: the GOV.UK bank-holidays feed is a few tens of kilobytes, \
         so this is not one",
        MAX_FEED_BYTES / 1_000_000
    )]
    TooLarge { path: String },
    #[error(
        "{origin} is not in the GOV.UK bank-holidays feed shape: {message} (expected an object keyed \
         by division, each with `division` and `events` of `title`, `date`, `notes`, `bunting`)"
    )]
    Shape { origin: String, message: String },
    /// In the feed's shape, but holding something no feed may (a title with a line break, an
    /// event outside the calendar's years): the shape's reminder would not help.
    #[error("{origin} cannot be used: {message}")]
    Content { origin: String, message: String },
}

#[derive(Deserialize)]
struct RawDivision {
    division: String,
    events: Vec<RawEvent>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // `bunting` is part of the shape we check, not something we use.
struct RawEvent {
    title: String,
    date: NaiveDate,
    notes: String,
    bunting: bool,
}

/// A validated feed: every division's events, sorted by date, and the years each one covers.
#[derive(Debug, Clone)]
pub struct HolidayFeed {
    events: BTreeMap<Division, Vec<Holiday>>,
}

impl HolidayFeed {
    /// The text of the feed compiled into the binary.
    pub const BUILTIN_TEXT: &'static str = BUILTIN_FEED;

    /// The feed compiled into the binary (a copy of `config/bank-holidays.json`).
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_FEED, "the built-in bank-holidays feed")
            .expect("the shipped bank-holidays feed is valid")
    }

    /// The text of a feed file, refused by its size before it is read whole (at most
    /// [`MAX_FEED_BYTES`], however the file grows while it is read).
    pub fn read(path: &Path) -> Result<String, FeedError> {
        use std::io::Read as _;
        let fail = |reason| FeedError::Read {
            path: path.display().to_string(),
            reason,
        };
        let too_large = || FeedError::TooLarge {
            path: path.display().to_string(),
        };
        let file = std::fs::File::open(path).map_err(fail)?;
        if file.metadata().map_err(fail)?.len() > MAX_FEED_BYTES {
            return Err(too_large());
        }
        let mut text = String::new();
        file.take(MAX_FEED_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(fail)?;
        if text.len() as u64 > MAX_FEED_BYTES {
            return Err(too_large());
        }
        Ok(text)
    }

    /// Parses and validates feed text; `origin` names the source in error messages. A UTF-8
    /// byte order mark (which some editors save) is allowed before the JSON.
    pub fn parse(text: &str, origin: &str) -> Result<Self, FeedError> {
        let shape = |message: String| FeedError::Shape {
            origin: origin.to_owned(),
            message,
        };
        let content = |message: String| FeedError::Content {
            origin: origin.to_owned(),
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let raw: BTreeMap<String, RawDivision> =
            serde_json::from_str(text).map_err(|e| shape(e.to_string()))?;
        let mut events = BTreeMap::new();
        for (key, raw_division) in raw {
            let division: Division = key.parse().map_err(|e| shape(format!("{e}")))?;
            if raw_division.division != key {
                return Err(content(format!(
                    "division `{key}` says its name is `{}`",
                    raw_division.division
                )));
            }
            if raw_division.events.is_empty() {
                return Err(content(format!("division `{key}` has no events")));
            }
            let mut holidays: Vec<Holiday> = Vec::with_capacity(raw_division.events.len());
            for event in raw_division.events {
                if !(FIRST_YEAR..=LAST_YEAR).contains(&event.date.year()) {
                    return Err(content(format!(
                        "division `{key}` has an event on {} outside {FIRST_YEAR}-{LAST_YEAR}",
                        event.date
                    )));
                }
                if event.title.trim().is_empty() {
                    return Err(content(format!(
                        "division `{key}` has an event on {} with no title",
                        event.date
                    )));
                }
                // Titles are printed one a line (`rrn calendar holidays`) and into emails: a
                // line break would split the listing, an escape rewrite the terminal.
                if let Some(hidden) = crate::domain::address::first_hidden(&event.title) {
                    return Err(content(format!(
                        "division `{key}` has an event on {} whose title holds {hidden}, a \
                         control or invisible formatting character (a line break, tab or \
                         escape): titles are plain text",
                        event.date
                    )));
                }
                holidays.push(Holiday {
                    date: event.date,
                    title: event.title,
                    substitute: event.notes.eq_ignore_ascii_case("substitute day"),
                    source: HolidaySource::Feed,
                });
            }
            holidays.sort_by_key(|h| h.date);
            // A year the file covers replaces the rules for that year, so a partial year would
            // silently turn holidays into working days.
            let (first, last) = (
                holidays[0].date.year(),
                holidays[holidays.len() - 1].date.year(),
            );
            for year in first..=last {
                let listed = holidays.iter().filter(|h| h.date.year() == year).count();
                let statutory = rules::statutory_holidays(division, year).len();
                if listed < statutory {
                    return Err(content(format!(
                        "division `{key}` lists {listed} events in {year}, fewer than the \
                         {statutory} bank holidays of a full year: use the complete feed"
                    )));
                }
            }
            if let Some(pair) = holidays.windows(2).find(|w| w[0].date == w[1].date) {
                return Err(content(format!(
                    "division `{key}` lists {} twice",
                    pair[0].date
                )));
            }
            events.insert(division, holidays);
        }
        for division in Division::ALL {
            if !events.contains_key(&division) {
                return Err(shape(format!("division `{division}` is missing")));
            }
        }
        Ok(Self { events })
    }

    /// The years the feed lists for `division`: the file wins for these, the rules for the rest.
    pub fn coverage(&self, division: Division) -> RangeInclusive<i32> {
        let events = &self.events[&division];
        events[0].date.year()..=events[events.len() - 1].date.year()
    }

    /// The bank holidays of `division` in `year`: the feed's where it covers the year, else the
    /// statutory rules'.
    pub fn holidays_in(&self, division: Division, year: i32) -> Vec<Holiday> {
        if self.coverage(division).contains(&year) {
            self.events[&division]
                .iter()
                .filter(|h| h.date.year() == year)
                .cloned()
                .collect()
        } else {
            rules::statutory_holidays(division, year)
        }
    }

    /// Every event the feed lists for `division`.
    pub fn events(&self, division: Division) -> &[Holiday] {
        &self.events[&division]
    }
}
