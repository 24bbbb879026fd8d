//! Working-day arithmetic: which civil dates are working days, and counting in working days.
//!
//! Pure: a [`Calendar`] is built once from the bank holidays and the partnership's closure days
//! and then answers every query in O(1) from a precomputed index. It never reads the clock.
//!
//! The rule (Excel's `WORKDAY`): working day N after date D is the N-th working day strictly
//! after D. D itself may be any day, a weekend or holiday included; N = 0 returns D; a negative N
//! counts backwards. [`Calendar::between`] counts the working days d with A < d <= B, negative
//! when B is before A, so `add_working_days(a, between(a, b)) == b` for every working day b.

mod date;
mod feed;
pub mod rules;

use std::str::FromStr;
use strum::{EnumCount, IntoStaticStr};

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

pub use date::{NotADate, parse_date};
pub use feed::{FeedError, HolidayFeed};

/// The first and last years the calendar answers for.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2200;

/// A UK bank-holiday division, named as in the GOV.UK feed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    IntoStaticStr,
    strum::Display,
    EnumCount,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Division {
    EnglandAndWales,
    Scotland,
    NorthernIreland,
}

// `ALL` lists every division: a new one cannot be forgotten there.
const _: () = assert!(Division::ALL.len() == <Division as EnumCount>::COUNT);

impl Division {
    pub const ALL: [Division; 3] = [
        Division::EnglandAndWales,
        Division::Scotland,
        Division::NorthernIreland,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A division as a person writes it, in rrn.toml, a variable or a flag: without regard to
    /// case or surrounding spaces (`England-and-Wales`, `SCOTLAND`).
    pub fn parse_typed(s: &str) -> Result<Self, UnknownDivision> {
        let typed = s.trim();
        Division::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(typed))
            .ok_or_else(|| UnknownDivision(s.to_owned()))
    }
}

/// As typed ([`Division::parse_typed`]): `division = "Scotland"` in rrn.toml is `scotland`.
impl<'de> Deserialize<'de> for Division {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Division::parse_typed(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown division `{0}`: write england-and-wales, scotland or northern-ireland (in any case)"
)]
pub struct UnknownDivision(String);

impl FromStr for Division {
    type Err = UnknownDivision;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Division::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDivision(s.to_owned()))
    }
}

impl FeedError {
    /// Whether the file was refused (not a feed, too large), rather than unreadable.
    pub fn refused(&self) -> bool {
        !matches!(self, FeedError::Read { .. })
    }
}

/// Where a non-working weekday comes from, so an explanation can say why a day did not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HolidaySource {
    /// Listed in the GOV.UK feed.
    Feed,
    /// Generated from the statutory rules for a year the feed does not cover.
    Rules,
    /// A local closure day from the partnership's config.
    Closure,
}

/// A named non-working day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holiday {
    pub date: NaiveDate,
    pub title: String,
    /// True for a day that replaces a holiday falling on a weekend.
    pub substitute: bool,
    pub source: HolidaySource,
}

/// A query that falls outside the years the calendar answers for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutOfRange {
    #[error(
        "{0} is outside the calendar's range: use a date from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31"
    )]
    Date(NaiveDate),
    #[error(
        "working day {n} after {date} falls outside the calendar's range ({FIRST_YEAR}-01-01 to \
         {LAST_YEAR}-12-31)"
    )]
    Result { date: NaiveDate, n: i32 },
}

/// The working days of one division plus local closures, indexed for O(1) arithmetic.
#[derive(Debug, Clone)]
pub struct Calendar {
    division: Division,
    /// `num_days_from_ce` of the first indexed day (1 January [`FIRST_YEAR`]).
    first_day: i32,
    /// `working_through[i]`: working days in the indexed span up to and including day i.
    working_through: Vec<u32>,
    /// Day offsets of the working days, ascending: the k-th working day is `working_days[k - 1]`.
    working_days: Vec<u32>,
    /// Every weekday that is not a working day, ascending, for listings and explanations.
    closed_weekdays: Vec<Holiday>,
}

impl Calendar {
    /// Builds the index for `division`, treating `closure_days` as extra non-working days.
    pub fn new(feed: &HolidayFeed, division: Division, closure_days: &[NaiveDate]) -> Self {
        let first = NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1).expect("valid");
        let last = NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31).expect("valid");
        let first_day = first.num_days_from_ce();
        let len = (last.num_days_from_ce() - first_day + 1) as usize;

        let mut closed: Vec<Holiday> = (FIRST_YEAR..=LAST_YEAR)
            .flat_map(|year| feed.holidays_in(division, year))
            .filter(|h| !rules::is_weekend(h.date))
            .collect();
        for &date in closure_days {
            let in_range = (FIRST_YEAR..=LAST_YEAR).contains(&date.year());
            if in_range && !rules::is_weekend(date) && !closed.iter().any(|h| h.date == date) {
                closed.push(Holiday {
                    date,
                    title: "Local closure day".to_owned(),
                    substitute: false,
                    source: HolidaySource::Closure,
                });
            }
        }
        closed.sort_by_key(|h| h.date);

        let mut is_working = vec![true; len];
        for (offset, working) in is_working.iter_mut().enumerate() {
            *working = !rules::is_weekend(first + Days::new(offset as u64));
        }
        for holiday in &closed {
            is_working[(holiday.date.num_days_from_ce() - first_day) as usize] = false;
        }
        let mut working_through = Vec::with_capacity(len);
        let mut working_days = Vec::with_capacity(len * 5 / 7);
        let mut count = 0u32;
        for (offset, &working) in is_working.iter().enumerate() {
            if working {
                count += 1;
                working_days.push(offset as u32);
            }
            working_through.push(count);
        }
        Self {
            division,
            first_day,
            working_through,
            working_days,
            closed_weekdays: closed,
        }
    }

    pub fn division(&self) -> Division {
        self.division
    }

    fn offset(&self, date: NaiveDate) -> Result<usize, OutOfRange> {
        let offset = date.num_days_from_ce() - self.first_day;
        if offset < 0 || offset as usize >= self.working_through.len() {
            return Err(OutOfRange::Date(date));
        }
        Ok(offset as usize)
    }

    fn date_at(&self, offset: u32) -> NaiveDate {
        NaiveDate::from_num_days_from_ce_opt(self.first_day + offset as i32)
            .expect("indexed offsets are valid dates")
    }

    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, OutOfRange> {
        let offset = self.offset(date)?;
        let before = if offset == 0 {
            0
        } else {
            self.working_through[offset - 1]
        };
        Ok(self.working_through[offset] > before)
    }

    /// Working day `n` after `date`: the n-th working day strictly after it (n = 0 is `date`;
    /// a negative n counts back from `date`).
    pub fn add_working_days(&self, date: NaiveDate, n: i32) -> Result<NaiveDate, OutOfRange> {
        let offset = self.offset(date)?;
        if n == 0 {
            return Ok(date);
        }
        let through = i64::from(self.working_through[offset]);
        // Working days strictly before `date`: the count through it, less one if it is working.
        let before = if n < 0 && self.is_working_day(date)? {
            through - 1
        } else {
            through
        };
        // Index into `working_days` of the answer: the (through + n)-th working day going
        // forward, or the (before + n + 1)-th going back.
        let index = if n > 0 {
            through + i64::from(n) - 1
        } else {
            before + i64::from(n)
        };
        usize::try_from(index)
            .ok()
            .and_then(|i| self.working_days.get(i))
            .map(|&o| self.date_at(o))
            .ok_or(OutOfRange::Result { date, n })
    }

    /// The working days d with `from` < d <= `to`; negative when `to` is before `from`.
    pub fn between(&self, from: NaiveDate, to: NaiveDate) -> Result<i32, OutOfRange> {
        let from = self.working_through[self.offset(from)?];
        let to = self.working_through[self.offset(to)?];
        Ok(to as i32 - from as i32)
    }

    /// `date` if it is a working day, else the next working day after it.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> Result<NaiveDate, OutOfRange> {
        if self.is_working_day(date)? {
            Ok(date)
        } else {
            self.add_working_days(date, 1)
        }
    }

    /// The weekdays with `from` < d <= `to` that do not count (bank holidays and closures).
    pub fn closed_weekdays_between(&self, from: NaiveDate, to: NaiveDate) -> &[Holiday] {
        let start = self.closed_weekdays.partition_point(|h| h.date <= from);
        let end = self.closed_weekdays.partition_point(|h| h.date <= to);
        &self.closed_weekdays[start..end.max(start)]
    }

    /// The bank holidays of `year` (weekend-day ones included, as the feed lists them) and the
    /// local closure days that fall on weekdays, sorted by date.
    pub fn holidays(&self, feed: &HolidayFeed, year: i32) -> Vec<Holiday> {
        let mut days = feed.holidays_in(self.division, year);
        days.extend(
            self.closed_weekdays
                .iter()
                .filter(|h| h.source == HolidaySource::Closure && h.date.year() == year)
                .cloned(),
        );
        days.sort_by_key(|h| h.date);
        days
    }
}
