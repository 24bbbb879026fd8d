//! The working-day calendar against published facts, the rule generator against the published
//! feed, and the laws of working-day arithmetic.

use chrono::{Datelike, NaiveDate, Weekday};
use proptest::prelude::*;
use rrn::domain::calendar::{Calendar, Division, HolidayFeed, rules};

use crate::common::date;

trials!(
    published_holidays_and_their_neighbours,
    day_ten_fifteen_and_sixteen_match_the_worked_examples,
    a_weekend_or_holiday_start_counts_from_the_next_working_day_and_zero_is_the_start,
    closure_days_do_not_count,
    queries_outside_the_calendars_years_are_refused_not_wrong,
    rule_generator_reproduces_every_published_year_apart_from_one_off_days,
    rule_generated_titles_match_the_feeds_wording,
    years_beyond_the_file_come_from_the_rules,
    index_agrees_with_walking_day_by_day,
    a_nonzero_result_is_a_working_day,
    workday_of_between_returns_the_working_day,
    between_counts_back_what_workday_counted_forward,
    workday_is_strictly_monotonic_in_n,
    between_is_antisymmetric,
);

/// One calendar per division, built once: property tests ask for thousands.
fn calendar(division: Division) -> &'static Calendar {
    static CALENDARS: std::sync::OnceLock<Vec<Calendar>> = std::sync::OnceLock::new();
    let all = CALENDARS.get_or_init(|| {
        let feed = HolidayFeed::builtin();
        Division::ALL
            .iter()
            .map(|&d| Calendar::new(&feed, d, &[]))
            .collect()
    });
    &all[Division::ALL.iter().position(|&d| d == division).unwrap()]
}

/// `(division, date, is a working day)`, each checked against GOV.UK's published list.
fn published_holidays_and_their_neighbours() {
    use Division::*;
    let rows = [
        // The early May holiday moved to Friday 8 May 2020 for VE Day; Monday 4 May was worked.
        (EnglandAndWales, "2020-05-08", false),
        (EnglandAndWales, "2020-05-04", true),
        // Spring holiday moved to Thursday 2 June 2022, Platinum Jubilee on Friday 3 June.
        (EnglandAndWales, "2022-06-02", false),
        (EnglandAndWales, "2022-06-03", false),
        (EnglandAndWales, "2022-05-30", true),
        (EnglandAndWales, "2022-09-19", false), // State Funeral of Queen Elizabeth II
        (EnglandAndWales, "2023-05-08", false), // Coronation of King Charles III
        // Christmas and New Year runs with substitute days.
        (EnglandAndWales, "2020-12-25", false),
        (EnglandAndWales, "2020-12-28", false), // Boxing Day on Saturday
        (EnglandAndWales, "2021-12-27", false), // Christmas on Saturday
        (EnglandAndWales, "2021-12-28", false), // Boxing Day on Sunday
        (EnglandAndWales, "2021-12-29", true),
        (EnglandAndWales, "2022-01-03", false), // New Year's Day on Saturday
        (EnglandAndWales, "2022-12-26", false),
        (EnglandAndWales, "2022-12-27", false), // Christmas on Sunday
        (EnglandAndWales, "2023-01-02", false), // New Year's Day on Sunday
        (EnglandAndWales, "2026-12-25", false),
        (EnglandAndWales, "2026-12-28", false), // Boxing Day 2026 on Saturday
        (EnglandAndWales, "2026-12-29", true),
        (EnglandAndWales, "2027-01-01", false),
        (EnglandAndWales, "2027-12-27", false),
        (EnglandAndWales, "2027-12-28", false),
        (EnglandAndWales, "2028-01-03", false),
        (EnglandAndWales, "2024-01-02", true), // 2 January is Scottish only
        (EnglandAndWales, "2024-04-01", false), // Easter Monday
        // Scotland: 2 January, St Andrew's Day, no Easter Monday, the 2026 World Cup day.
        (Scotland, "2024-01-02", false),
        (Scotland, "2021-01-04", false), // 2 January 2021 on Saturday
        (Scotland, "2022-01-04", false), // 1 and 2 January 2022 on a weekend
        (Scotland, "2023-11-30", false),
        (Scotland, "2024-12-02", false), // St Andrew's Day on Saturday
        (Scotland, "2024-04-01", true),
        (Scotland, "2026-06-15", false),
        (EnglandAndWales, "2026-06-15", true),
        // Northern Ireland: St Patrick's Day and the Battle of the Boyne.
        (NorthernIreland, "2025-03-17", false),
        (NorthernIreland, "2024-03-18", false), // 17 March 2024 on Sunday
        (NorthernIreland, "2027-07-12", false),
        (NorthernIreland, "2026-07-13", false), // 12 July 2026 on Sunday
        (EnglandAndWales, "2027-07-12", true),
        (NorthernIreland, "2025-07-14", false),
    ];
    for (division, day, working) in rows {
        let got = calendar(division).is_working_day(date(day)).unwrap();
        assert_eq!(got, working, "{division} {day}");
    }
}

/// Working examples from the domain notes: day 0 -> day 10, day 15, day 16.
fn day_ten_fifteen_and_sixteen_match_the_worked_examples() {
    let cal = calendar(Division::EnglandAndWales);
    for (day0, d10, d15, d16) in [
        ("2024-09-09", "2024-09-23", "2024-09-30", "2024-10-01"),
        // The State Funeral Monday is skipped.
        ("2022-09-16", "2022-10-03", "2022-10-10", "2022-10-11"),
        // Christmas, Boxing Day and New Year's Day are skipped.
        ("2024-12-16", "2025-01-02", "2025-01-09", "2025-01-10"),
        // Christmas 2026: 25 December, the Boxing Day substitute 28 December, 1 January.
        ("2026-12-21", "2027-01-07", "2027-01-14", "2027-01-15"),
    ] {
        let d0 = date(day0);
        assert_eq!(
            cal.add_working_days(d0, 10).unwrap(),
            date(d10),
            "{day0} +10"
        );
        assert_eq!(
            cal.add_working_days(d0, 15).unwrap(),
            date(d15),
            "{day0} +15"
        );
        assert_eq!(
            cal.add_working_days(d0, 16).unwrap(),
            date(d16),
            "{day0} +16"
        );
    }
}

fn a_weekend_or_holiday_start_counts_from_the_next_working_day_and_zero_is_the_start() {
    let cal = calendar(Division::EnglandAndWales);
    // Saturday 19 December 2026: day 1 is Monday 21st, day 0 is the Saturday itself.
    assert_eq!(
        cal.add_working_days(date("2026-12-19"), 0).unwrap(),
        date("2026-12-19")
    );
    assert_eq!(
        cal.add_working_days(date("2026-12-19"), 1).unwrap(),
        date("2026-12-21")
    );
    // Christmas Day: day 1 is Tuesday 29th (the 28th is the Boxing Day substitute).
    assert_eq!(
        cal.add_working_days(date("2026-12-25"), 1).unwrap(),
        date("2026-12-29")
    );
    // Backwards from a Monday, and from a Sunday.
    assert_eq!(
        cal.add_working_days(date("2026-12-21"), -1).unwrap(),
        date("2026-12-18")
    );
    assert_eq!(
        cal.add_working_days(date("2026-12-20"), -1).unwrap(),
        date("2026-12-18")
    );
    assert_eq!(
        cal.add_working_days(date("2027-01-04"), -3).unwrap(),
        date("2026-12-29")
    );
    // `between` counts A < d <= B.
    assert_eq!(
        cal.between(date("2026-12-18"), date("2026-12-21")).unwrap(),
        1
    );
    assert_eq!(
        cal.between(date("2026-12-21"), date("2026-12-21")).unwrap(),
        0
    );
    assert_eq!(
        cal.between(date("2026-12-24"), date("2026-12-28")).unwrap(),
        0
    );
    assert_eq!(
        cal.between(date("2027-01-07"), date("2026-12-21")).unwrap(),
        -10
    );
}

fn closure_days_do_not_count() {
    let closures = [date("2026-12-29"), date("2026-12-30"), date("2026-12-31")];
    let cal = Calendar::new(
        &HolidayFeed::builtin(),
        Division::EnglandAndWales,
        &closures,
    );
    // Day 0 Monday 21 December 2026: 22, 23, 24 December, then 4 January onwards.
    assert_eq!(
        cal.add_working_days(date("2026-12-21"), 4).unwrap(),
        date("2027-01-04")
    );
    assert_eq!(
        cal.add_working_days(date("2026-12-21"), 10).unwrap(),
        date("2027-01-12")
    );
}

fn queries_outside_the_calendars_years_are_refused_not_wrong() {
    let cal = calendar(Division::EnglandAndWales);
    assert!(cal.add_working_days(date("1899-12-31"), 1).is_err());
    assert!(cal.between(date("2026-01-01"), date("2201-01-01")).is_err());
    assert!(cal.add_working_days(date("2200-12-30"), 5).is_err());
    assert!(cal.add_working_days(date("1900-01-02"), -5).is_err());
}

/// The dates each division's feed lists that the statutory rules cannot produce, and the rule
/// dates those one-off arrangements replaced.
fn one_off_days(division: Division) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
    let mut added = vec![
        date("2020-05-08"), // early May moved for VE Day
        date("2022-06-02"), // spring holiday moved
        date("2022-06-03"), // Platinum Jubilee
        date("2022-09-19"), // State Funeral
        date("2023-05-08"), // Coronation
    ];
    let removed = vec![date("2020-05-04"), date("2022-05-30")];
    if division == Division::Scotland {
        added.push(date("2026-06-15")); // World Cup bank holiday
    }
    (added, removed)
}

fn rule_generator_reproduces_every_published_year_apart_from_one_off_days() {
    let feed = HolidayFeed::builtin();
    for division in Division::ALL {
        let (added, removed) = one_off_days(division);
        for year in feed.coverage(division) {
            let mut published: Vec<NaiveDate> = feed
                .holidays_in(division, year)
                .iter()
                .map(|h| h.date)
                .filter(|d| !added.contains(d))
                .collect();
            published.extend(removed.iter().filter(|d| d.year() == year));
            published.sort();
            let generated: Vec<NaiveDate> = rules::statutory_holidays(division, year)
                .iter()
                .map(|h| h.date)
                .collect();
            assert_eq!(generated, published, "{division} {year}");
        }
    }
}

fn rule_generated_titles_match_the_feeds_wording() {
    let feed = HolidayFeed::builtin();
    for division in Division::ALL {
        let (added, removed) = one_off_days(division);
        for year in feed.coverage(division) {
            let titles = |h: Vec<rrn::domain::calendar::Holiday>| {
                h.into_iter()
                    .filter(|h| !added.contains(&h.date) && !removed.contains(&h.date))
                    .map(|h| (h.date, h.title, h.substitute))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                titles(rules::statutory_holidays(division, year)),
                titles(feed.holidays_in(division, year)),
                "{division} {year}"
            );
        }
    }
}

fn years_beyond_the_file_come_from_the_rules() {
    let cal = calendar(Division::EnglandAndWales);
    // 2032: Christmas Saturday -> Monday 27th, Boxing Day Sunday -> Tuesday 28th.
    assert!(!cal.is_working_day(date("2032-12-27")).unwrap());
    assert!(!cal.is_working_day(date("2032-12-28")).unwrap());
    assert!(cal.is_working_day(date("2032-12-29")).unwrap());
    // Easter 2030 is 21 April: Good Friday 19th and Easter Monday 22nd.
    assert!(!cal.is_working_day(date("2030-04-19")).unwrap());
    assert!(!cal.is_working_day(date("2030-04-22")).unwrap());
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    let first = date("1950-01-01");
    (0u64..73_000).prop_map(move |d| first + chrono::Days::new(d))
}

fn any_division() -> impl Strategy<Value = Division> {
    prop::sample::select(Division::ALL.to_vec())
}

/// The slow, obviously right answer: walk day by day.
fn walk(cal: &Calendar, from: NaiveDate, n: i32) -> NaiveDate {
    let mut day = from;
    let mut left = n.abs();
    while left > 0 {
        day = if n > 0 {
            day.succ_opt().unwrap()
        } else {
            day.pred_opt().unwrap()
        };
        if cal.is_working_day(day).unwrap() {
            left -= 1;
        }
    }
    day
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    fn index_agrees_with_walking_day_by_day(d in any_date(), n in -400i32..400, div in any_division()) {
        let cal = calendar(div);
        prop_assert_eq!(cal.add_working_days(d, n).unwrap(), walk(cal, d, n));
    }

    fn a_nonzero_result_is_a_working_day(d in any_date(), n in -3000i32..3000) {
        prop_assume!(n != 0);
        let cal = calendar(Division::EnglandAndWales);
        let x = cal.add_working_days(d, n).unwrap();
        prop_assert!(cal.is_working_day(x).unwrap());
        prop_assert!(!matches!(x.weekday(), Weekday::Sat | Weekday::Sun));
    }

    fn workday_of_between_returns_the_working_day(d in any_date(), n in -3000i32..3000) {
        let cal = calendar(Division::EnglandAndWales);
        let x = cal.working_day_on_or_after(d + chrono::Days::new(n.unsigned_abs() as u64 % 400)).unwrap();
        prop_assert_eq!(cal.add_working_days(d, cal.between(d, x).unwrap()).unwrap(), x);
        // Only forward: from a weekend, day -1 and day 0 are both zero working days away.
        let y = cal.add_working_days(d, n).unwrap();
        if n > 0 {
            prop_assert_eq!(cal.add_working_days(d, cal.between(d, y).unwrap()).unwrap(), y);
        }
    }

    fn between_counts_back_what_workday_counted_forward(d in any_date(), n in 0i32..3000) {
        let cal = calendar(Division::EnglandAndWales);
        prop_assert_eq!(cal.between(d, cal.add_working_days(d, n).unwrap()).unwrap(), n);
    }

    fn workday_is_strictly_monotonic_in_n(d in any_date(), n in -3000i32..3000, step in 1i32..50) {
        let cal = calendar(Division::Scotland);
        prop_assert!(cal.add_working_days(d, n).unwrap() < cal.add_working_days(d, n + step).unwrap());
    }

    fn between_is_antisymmetric(a in any_date(), b in any_date(), div in any_division()) {
        let cal = calendar(div);
        prop_assert_eq!(cal.between(a, b).unwrap(), -cal.between(b, a).unwrap());
    }
}
