//! `cargo bench --bench calendar`: working-day queries must cost the same whatever N or the span,
//! well under 50 ns a call (the index makes each one a few array reads).

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rrn::domain::calendar::{Calendar, Division, HolidayFeed};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn calendar_queries(c: &mut Criterion) {
    let calendar = Calendar::new(&HolidayFeed::builtin(), Division::EnglandAndWales, &[]);
    let day0 = date("2026-12-21");

    let mut add = c.benchmark_group("add_working_days");
    for n in [1, 10, 130, 2_500] {
        add.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| calendar.add_working_days(black_box(day0), black_box(n)))
        });
    }
    add.finish();

    let mut between = c.benchmark_group("between");
    for (name, to) in [("1 week", "2026-12-28"), ("10 years", "2036-12-21")] {
        let to = date(to);
        between.bench_with_input(BenchmarkId::from_parameter(name), &to, |b, &to| {
            b.iter(|| calendar.between(black_box(day0), black_box(to)))
        });
    }
    between.finish();

    c.bench_function("build calendar 1900-2200", |b| {
        let feed = HolidayFeed::builtin();
        b.iter(|| Calendar::new(black_box(&feed), Division::EnglandAndWales, &[]))
    });
}

criterion_group!(benches, calendar_queries);
criterion_main!(benches);
