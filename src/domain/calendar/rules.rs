//! Bank holidays generated from the statutory rules, for years the GOV.UK feed does not cover.
//!
//! The rules are the Banking and Financial Dealings Act 1971 schedule as it stands now, plus the
//! customary substitute days. One-off and moved days (royal events, VE Day) exist only in the feed,
//! which is why the feed wins for every year it covers.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::{Division, Holiday, HolidaySource};

/// The bank holidays of `division` in `year` by rule, sorted by date.
///
/// A fixed-date holiday on a Saturday or Sunday moves to the next weekday that is not already a
/// holiday, with the feed's wording: the same title and the note "Substitute day".
pub fn statutory_holidays(division: Division, year: i32) -> Vec<Holiday> {
    let easter = easter_sunday(year);
    let mut fixed: Vec<(NaiveDate, &str)> = vec![(ymd(year, 1, 1), "New Year’s Day")];
    let mut movable: Vec<(NaiveDate, &str)> = vec![(easter - Days::new(2), "Good Friday")];

    if division != Division::Scotland {
        movable.push((easter + Days::new(1), "Easter Monday"));
    }
    movable.push((first_monday(year, 5), "Early May bank holiday"));
    movable.push((last_monday(year, 5), "Spring bank holiday"));
    match division {
        Division::Scotland => {
            fixed.push((ymd(year, 1, 2), "2nd January"));
            movable.push((first_monday(year, 8), "Summer bank holiday"));
            fixed.push((ymd(year, 11, 30), "St Andrew’s Day"));
        }
        Division::NorthernIreland => {
            fixed.push((ymd(year, 3, 17), "St Patrick’s Day"));
            fixed.push((ymd(year, 7, 12), "Battle of the Boyne (Orangemen’s Day)"));
            movable.push((last_monday(year, 8), "Summer bank holiday"));
        }
        Division::EnglandAndWales => movable.push((last_monday(year, 8), "Summer bank holiday")),
    }
    fixed.push((ymd(year, 12, 25), "Christmas Day"));
    fixed.push((ymd(year, 12, 26), "Boxing Day"));
    fixed.sort();

    let mut holidays: Vec<Holiday> = movable
        .iter()
        .chain(fixed.iter().filter(|(date, _)| !is_weekend(*date)))
        .map(|&(date, title)| holiday(date, title, false))
        .collect();
    for &(date, title) in fixed.iter().filter(|(date, _)| is_weekend(*date)) {
        let mut substitute = date;
        while is_weekend(substitute) || holidays.iter().any(|h| h.date == substitute) {
            substitute = substitute
                .succ_opt()
                .expect("substitute day stays in the same year");
        }
        holidays.push(holiday(substitute, title, true));
    }
    holidays.sort_by_key(|h| h.date);
    if division == Division::Scotland && ymd(year, 1, 1).weekday() == Weekday::Sun {
        // The feed names Scotland's New Year run by order, not by which day moved: with 1 January
        // on a Sunday, Monday 2nd is "New Year's Day" and Tuesday 3rd "2nd January", both
        // substitute days (as in 2023).
        for (holiday, title) in holidays
            .iter_mut()
            .take(2)
            .zip(["New Year’s Day", "2nd January"])
        {
            holiday.title = title.to_owned();
            holiday.substitute = true;
        }
    }
    holidays
}

/// Easter Sunday in the Gregorian calendar (the anonymous algorithm of Meeus, Jones and Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    ymd(year, month as u32, day as u32)
}

fn holiday(date: NaiveDate, title: &str, substitute: bool) -> Holiday {
    Holiday {
        date,
        title: title.to_owned(),
        substitute,
        source: HolidaySource::Rules,
    }
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("rule dates are valid calendar dates")
}

fn first_monday(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 1).expect("every month has one")
}

fn last_monday(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 5)
        .or_else(|| NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 4))
        .expect("every month has four Mondays")
}

pub(super) fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(division: Division, year: i32) -> Vec<String> {
        statutory_holidays(division, year)
            .iter()
            .map(|h| h.date.to_string())
            .collect()
    }

    #[test]
    fn easter_matches_published_dates() {
        for (year, month, day) in [
            (1900, 4, 15),
            (2000, 4, 23),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2038, 4, 25),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(year), ymd(year, month, day), "{year}");
        }
    }

    #[test]
    fn christmas_on_a_saturday_moves_to_monday_and_boxing_day_to_tuesday() {
        let h = dates(Division::EnglandAndWales, 2021);
        assert!(h.contains(&"2021-12-27".to_owned()) && h.contains(&"2021-12-28".to_owned()));
    }

    #[test]
    fn christmas_on_a_sunday_skips_the_boxing_day_monday() {
        let h = dates(Division::EnglandAndWales, 2022);
        assert!(h.contains(&"2022-12-26".to_owned()) && h.contains(&"2022-12-27".to_owned()));
    }

    #[test]
    fn scottish_new_year_on_a_weekend_takes_monday_and_tuesday() {
        let h = dates(Division::Scotland, 2022);
        assert_eq!(&h[..2], ["2022-01-03", "2022-01-04"]);
    }

    #[test]
    fn scottish_new_year_on_a_sunday_is_named_as_the_feed_names_it() {
        let h = statutory_holidays(Division::Scotland, 2034);
        assert_eq!(
            (h[0].date, h[0].title.as_str(), h[0].substitute),
            (ymd(2034, 1, 2), "New Year’s Day", true)
        );
        assert_eq!(
            (h[1].date, h[1].title.as_str(), h[1].substitute),
            (ymd(2034, 1, 3), "2nd January", true)
        );
    }

    #[test]
    fn each_division_has_its_count_of_days() {
        assert_eq!(statutory_holidays(Division::EnglandAndWales, 2031).len(), 8);
        assert_eq!(statutory_holidays(Division::Scotland, 2031).len(), 9);
        assert_eq!(
            statutory_holidays(Division::NorthernIreland, 2031).len(),
            10
        );
    }
}
