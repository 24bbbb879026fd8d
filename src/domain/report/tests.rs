use chrono::{Days, NaiveDate};
use proptest::prelude::*;

use super::*;
use crate::domain::calendar::{Calendar, Division, HolidayFeed};
use crate::domain::timeline::CaseFacts;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn calendar() -> Calendar {
    Calendar::new(&HolidayFeed::builtin(), Division::EnglandAndWales, &[])
}

fn agency(id: &str) -> AgencyId {
    AgencyId::parse(id).unwrap()
}

fn case(reference: &str, facts: CaseFacts, closed: bool) -> CaseOverview {
    CaseOverview {
        reference: CaseRef::parse(reference).unwrap(),
        state: if closed {
            CaseState::Closed("withdrawn".to_owned())
        } else {
            CaseState::Open
        },
        opened_on: facts.aware.unwrap(),
        revision: 1,
        facts,
    }
}

fn done(milestone: &str, agency_id: Option<&str>, on: NaiveDate) -> Completion {
    Completion {
        milestone: milestone.to_owned(),
        agency: agency_id.map(agency),
        on,
    }
}

use crate::domain::timeline::Completion;

#[test]
fn the_default_period_is_the_last_complete_april_to_march_year() {
    let year = |today| {
        let p = Period::last_complete_year(date(today));
        (p.from.to_string(), p.to.to_string())
    };
    let y = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(year("2026-12-01"), y("2025-04-01", "2026-03-31"));
    assert_eq!(year("2026-04-01"), y("2025-04-01", "2026-03-31"));
    assert_eq!(year("2026-03-31"), y("2024-04-01", "2025-03-31"));
    assert_eq!(year("2026-01-15"), y("2024-04-01", "2025-03-31"));
    assert!(Period::new(date("2026-04-01"), date("2026-03-31")).is_err());
    assert!(Period::new(date("2026-04-01"), date("2026-04-01")).is_ok());
}

#[test]
fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
    let mut counts = Counts::default();
    for (days, n) in [(1, 1), (3, 2), (10, 1)] {
        counts.lateness.insert(days, n);
        counts.late += n;
    }
    assert_eq!(counts.median(), Some(3.0));
    counts.lateness.insert(10, 2);
    counts.late += 1;
    // 1, 3, 3, 10, 10: the third.
    assert_eq!(counts.median(), Some(3.0));
    counts.lateness.insert(12, 1);
    counts.late += 1;
    // 1, 3, 3, 10, 10, 12.
    assert_eq!(counts.median(), Some(6.5));
    assert_eq!(Counts::default().median(), None);
}

#[test]
fn a_delay_is_counted_against_its_milestone_and_agency_by_reason() {
    let (timeline, calendar) = (Timeline::builtin(), calendar());
    let period = Period::new(date("2027-01-01"), date("2027-01-31")).unwrap();
    let mut tally = Tally::new(&timeline, &calendar, period, date("2027-03-01"), None);
    let facts = CaseFacts {
        aware: Some(date("2026-12-16")),
        day0: Some(date("2026-12-21")),
        agencies: vec![agency("health"), agency("police")],
        completions: vec![],
        local_review_proposed: false,
    };
    let delay = |agency_id: &str, reason: &str| Delay {
        milestone: "agency_summary".to_owned(),
        agency: Some(agency(agency_id)),
        reason: reason.to_owned(),
    };
    tally.add(
        &case("RR-1", facts, false),
        &[
            delay("police", "awaiting records"),
            delay("police", "awaiting records"),
            delay("health", "staff absence"),
        ],
    );
    let report = tally.finish();
    let summary = &report.milestones[3];
    assert_eq!(summary.milestone, "agency_summary");
    assert_eq!((summary.due, summary.delayed), (2, 2));
    assert_eq!(
        summary.delayed_by_reason,
        BTreeMap::from([
            ("awaiting records".to_owned(), 1),
            ("staff absence".to_owned(), 1)
        ])
    );
    let police = report
        .agencies
        .iter()
        .find(|a| a.agency == Some(agency("police")))
        .unwrap();
    assert_eq!(police.delayed, 1);
    assert!(report.milestones[4].delayed == 0);
}

/// Any case: a day 0 somewhere around the period, some milestones done some working days
/// before or after their due day, closed or not.
fn any_case() -> impl Strategy<Value = (i64, u32, Vec<Option<i32>>, bool, bool, usize)> {
    (
        0i64..500,
        0u32..6,
        proptest::collection::vec(proptest::option::of(-12i32..25), 16),
        any::<bool>(),
        any::<bool>(),
        1usize..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_milestone_that_fell_due_is_counted_once(
        cases in proptest::collection::vec(any_case(), 0..12),
        from_offset in 0i64..300,
        length in 0i64..400,
        today_offset in 0i64..700,
    ) {
        let (timeline, calendar) = (Timeline::builtin(), calendar());
        let base = date("2025-01-01");
        let from = base + Days::new(from_offset as u64);
        let period = Period::new(from, from + Days::new(length as u64)).unwrap();
        let today = base + Days::new(today_offset as u64);
        let mut tally = Tally::new(&timeline, &calendar, period, today, None);
        let agencies = ["education", "health", "police"];
        for (n, (aware, to_day0, offsets, closed, local, involved)) in cases.iter().enumerate() {
            let aware = base + Days::new(*aware as u64);
            let day0 = calendar.add_working_days(aware, *to_day0 as i32).unwrap();
            let mut facts = CaseFacts {
                aware: Some(aware),
                day0: Some(day0),
                agencies: agencies[..*involved].iter().map(|a| agency(a)).collect(),
                completions: vec![],
                local_review_proposed: *local,
            };
            // Completions relative to each milestone's due day as evaluated with none.
            let states = evaluate(&timeline, &calendar, &facts, date("2100-01-01")).unwrap();
            let completions: Vec<Completion> = states
                .iter()
                .zip(offsets.iter().cycle())
                .filter_map(|(s, offset)| {
                    let (due, offset) = (s.due?, (*offset)?);
                    Some(done(s.id, s.agency.map(AgencyId::as_str), calendar.add_working_days(due, offset).ok()?))
                })
                .collect();
            facts.completions = completions;
            tally.add(&case(&format!("RR-{n}"), facts, *closed), &[]);
        }
        let report = tally.finish();
        prop_assert_eq!(report.cases, cases.len() as u64);
        prop_assert!(report.not_evaluated.is_empty());
        for m in report.milestones.iter().chain(&report.agencies) {
            prop_assert_eq!(
                m.on_time + m.late + m.open_overdue + m.open_not_yet_due + m.closed_not_done,
                m.due,
                "{:?}", m
            );
            prop_assert_eq!(m.max_late_working_days.is_some(), m.late > 0);
            if let (Some(median), Some(max)) = (m.median_late_working_days, m.max_late_working_days) {
                prop_assert!(median >= 1.0 && median <= f64::from(max));
            }
        }
        // The per-agency rows add up to their milestone's.
        for m in report.milestones.iter().filter(|m| m.milestone == "agency_summary") {
            let rows = report.agencies.iter().filter(|a| a.milestone == m.milestone);
            let (due, late): (u64, u64) = rows.fold((0, 0), |(d, l), a| (d + a.due, l + a.late));
            prop_assert_eq!((due, late), (m.due, m.late));
        }
        let reviews = &report.rapid_reviews;
        let submitted = reviews.submitted.unwrap();
        prop_assert!(reviews.submitted_within_statutory_limit.unwrap() <= submitted);
        prop_assert!(reviews.submitted_within_timeline.unwrap() <= submitted);
        prop_assert!(report.lcsprs.proposed <= reviews.notified);
        prop_assert_eq!(report.lcsprs.published, None);
    }
}

#[test]
fn the_page_is_self_contained_and_labels_its_tables_and_charts() {
    let (timeline, calendar) = (Timeline::builtin(), calendar());
    let period = Period::new(date("2027-01-01"), date("2027-01-31")).unwrap();
    let mut tally = Tally::new(&timeline, &calendar, period, date("2027-03-01"), None);
    let facts = CaseFacts {
        aware: Some(date("2026-12-16")),
        day0: Some(date("2026-12-21")),
        agencies: vec![agency("police")],
        completions: vec![done("agency_summary", Some("police"), date("2027-01-12"))],
        local_review_proposed: false,
    };
    tally.add(&case("RR-1", facts, false), &[]);
    let page = html::page(&tally.finish());
    assert!(page.starts_with("<!DOCTYPE html>"));
    for absent in ["<script", "http://", "https://", "@import", "url("] {
        let found = page
            .match_indices(absent)
            .any(|(i, _)| !page[..i].ends_with("xmlns=\""));
        assert!(!found, "{absent} in the page");
    }
    assert_eq!(page.matches("<svg").count(), 2);
    assert_eq!(page.matches("role=\"img\"").count(), 2);
    assert_eq!(page.matches("<caption>").count(), 3);
    assert!(page.contains("<th scope=\"col\""));
    assert!(page.contains("<th scope=\"row\""));
}

#[test]
fn a_case_beyond_the_calendar_is_named_and_counted_nowhere() {
    let (timeline, calendar) = (Timeline::builtin(), calendar());
    let period = Period::new(date("2200-01-01"), date("2200-12-31")).unwrap();
    let today = date("2200-12-31");
    let mut tally = Tally::new(&timeline, &calendar, period, today, None);
    // Day 0 on 2200's last working day: working day 15 after it is past the calendar's end.
    let facts = CaseFacts {
        aware: Some(date("2200-12-29")),
        day0: Some(date("2200-12-31")),
        agencies: vec![agency("police")],
        completions: vec![],
        local_review_proposed: true,
    };
    tally.add(&case("RR-2200-1", facts, false), &[]);
    let report = tally.finish();
    assert_eq!(report.cases, 1);
    assert_eq!(report.not_evaluated, [CaseRef::parse("RR-2200-1").unwrap()]);
    assert_eq!(report.rapid_reviews.notified, 0);
    assert_eq!(report.lcsprs.proposed, 0);
    assert!(report.milestones.iter().all(|m| m.due == 0));
}
