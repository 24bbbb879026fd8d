//! The daemon's schedule on a simulated clock: a UTC tick every minute across the 2027 clock
//! changes runs at 08:00 and 13:00 London time on weekdays, never doubled or skipped.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Europe::London;
use rrn::config::Schedule;

trials!(
    runs_at_eight_and_one_london_time_across_the_march_clock_change,
    runs_at_eight_and_one_london_time_across_the_october_clock_change,
    a_late_or_coarse_tick_runs_once_for_what_it_spans,
    a_pattern_that_is_not_five_cron_fields_is_refused_with_the_fix,
);

fn default_schedule() -> Schedule {
    Schedule::new(
        &["0 8 * * Mon-Fri".to_owned(), "0 13 * * Mon-Fri".to_owned()],
        London,
    )
    .unwrap()
}

/// Ticks every `step` from `from` to `to` (UTC) and returns the instants a run was due.
fn simulate(
    schedule: &Schedule,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Duration,
) -> Vec<DateTime<Utc>> {
    let mut runs = Vec::new();
    let mut previous = from;
    let mut now = from + step;
    while now <= to {
        if let Some(at) = schedule.latest_between(previous, now) {
            runs.push(at);
        }
        previous = now;
        now += step;
    }
    runs
}

fn week_around(day: (i32, u32, u32)) -> (DateTime<Utc>, DateTime<Utc>) {
    let date = NaiveDate::from_ymd_opt(day.0, day.1, day.2).unwrap();
    let from = Utc.from_utc_datetime(&(date - Duration::days(4)).and_hms_opt(0, 0, 0).unwrap());
    (from, from + Duration::days(9))
}

fn check_week(runs: &[DateTime<Utc>], from: DateTime<Utc>, to: DateTime<Utc>) {
    let mut expected = Vec::new();
    let mut day = from.with_timezone(&London).date_naive();
    while day <= to.with_timezone(&London).date_naive() {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            for hour in [8, 13] {
                let at = London
                    .from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
                    .single()
                    .unwrap()
                    .with_timezone(&Utc);
                if at > from && at <= to {
                    expected.push(at);
                }
            }
        }
        day = day.succ_opt().unwrap();
    }
    assert_eq!(runs, expected);
    for run in runs {
        let local = run.with_timezone(&London);
        assert!(
            [8, 13].contains(&local.hour()) && local.minute() == 0,
            "{local}"
        );
    }
}

fn runs_at_eight_and_one_london_time_across_the_march_clock_change() {
    let schedule = default_schedule();
    let (from, to) = week_around((2027, 3, 28));
    let runs = simulate(&schedule, from, to, Duration::minutes(1));
    check_week(&runs, from, to);
    // Friday before the change at 08:00 GMT, Monday after it at 07:00 UTC (08:00 BST).
    assert!(runs.contains(&Utc.with_ymd_and_hms(2027, 3, 26, 8, 0, 0).unwrap()));
    assert!(runs.contains(&Utc.with_ymd_and_hms(2027, 3, 29, 7, 0, 0).unwrap()));
    assert!(runs.contains(&Utc.with_ymd_and_hms(2027, 3, 29, 12, 0, 0).unwrap()));
    assert_eq!(
        runs.len(),
        14,
        "seven weekdays in the window, two runs each"
    );
}

fn runs_at_eight_and_one_london_time_across_the_october_clock_change() {
    let schedule = default_schedule();
    let (from, to) = week_around((2027, 10, 31));
    let runs = simulate(&schedule, from, to, Duration::minutes(1));
    check_week(&runs, from, to);
    assert!(runs.contains(&Utc.with_ymd_and_hms(2027, 10, 29, 7, 0, 0).unwrap()));
    assert!(runs.contains(&Utc.with_ymd_and_hms(2027, 11, 1, 8, 0, 0).unwrap()));
    assert_eq!(runs.len(), 14);
}

fn a_late_or_coarse_tick_runs_once_for_what_it_spans() {
    let schedule = default_schedule();
    // A tick every 7 minutes lands late but still runs each occurrence once.
    let (from, to) = week_around((2027, 3, 28));
    let runs = simulate(&schedule, from, to, Duration::minutes(7));
    check_week(&runs, from, to);
    // A gap over both of a day's runs (the machine was asleep): one run, for the later one.
    let after = Utc.with_ymd_and_hms(2027, 3, 30, 6, 0, 0).unwrap();
    let upto = Utc.with_ymd_and_hms(2027, 3, 30, 15, 0, 0).unwrap();
    assert_eq!(
        schedule.latest_between(after, upto),
        Some(Utc.with_ymd_and_hms(2027, 3, 30, 12, 0, 0).unwrap())
    );
    assert_eq!(
        schedule.next_after(upto),
        Some(Utc.with_ymd_and_hms(2027, 3, 31, 7, 0, 0).unwrap())
    );
}

fn a_pattern_that_is_not_five_cron_fields_is_refused_with_the_fix() {
    let error = Schedule::new(&["0 0 8 * * Mon-Fri".to_owned()], London).unwrap_err();
    assert!(error.to_string().contains("five fields"), "{error}");
    let error = Schedule::new(&["0 25 * * *".to_owned()], London).unwrap_err();
    assert!(error.to_string().contains("`0 25 * * *`"), "{error}");
}
