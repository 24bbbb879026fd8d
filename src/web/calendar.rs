//! What is due soon across cases (`/due`), and the working-day calendar (`/calendar`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike as _, NaiveDate};
use minijinja::context;

use super::guard::SignedIn;
use super::pages::{Page, v};
use super::{Workspace, tags};
use crate::domain::calendar::HolidaySource;
use crate::domain::timeline::evaluate;
use crate::store::StatusFilter;

/// How far ahead `/due` looks, in working days.
const DUE_WITHIN: i32 = 10;

pub(super) async fn due(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
) -> Response {
    let today = workspace.today(workspace.now());
    let Ok(until) = workspace.calendar.add_working_days(today, DUE_WITHIN) else {
        return Page::failure(
            &workspace,
            "the calendar does not reach 10 working days ahead",
        );
    };
    let mut by_day: BTreeMap<NaiveDate, Vec<minijinja::Value>> = BTreeMap::new();
    let scanned = workspace
        .store
        .scan_cases(StatusFilter::Open, |case| {
            let Ok(states) = evaluate(&workspace.timeline, &workspace.calendar, &case.facts, today)
            else {
                return;
            };
            for s in states.iter().filter(|s| !s.status.is_done()) {
                if let Some(due) = s.due.filter(|d| *d >= today && *d <= until) {
                    let title = match s.agency {
                        Some(a) => {
                            format!("{}: {}", s.title, tags::agency_name(&workspace, a.as_str()))
                        }
                        None => s.title.to_owned(),
                    };
                    by_day.entry(due).or_default().push(context! {
                        reference => case.reference.as_str(),
                        title,
                        status => tags::words(s.status),
                        status_class => tags::class(s.status),
                    });
                }
            }
        })
        .await;
    if let Err(e) = scanned {
        return Page::failure(&workspace, &e.to_string());
    }
    let closed: Vec<_> = workspace
        .calendar
        .closed_weekdays_between(today.pred_opt().unwrap_or(today), until)
        .iter()
        .map(|h| (h.date, h.title.clone()))
        .collect();
    let mut days = Vec::new();
    let mut day = today;
    while day <= until {
        let holiday = closed
            .iter()
            .find(|(d, _)| *d == day)
            .map(|(_, t)| t.clone());
        let weekend = day.weekday().number_from_monday() > 5;
        let items = by_day.remove(&day).unwrap_or_default();
        if !weekend || !items.is_empty() {
            days.push(context! { date => v(day), holiday, items });
        }
        day = day.succ_opt().unwrap_or(until);
        if day == until && days.len() > 40 {
            break;
        }
    }
    Page::render(
        &workspace,
        Some(&signed_in.session),
        "due.html",
        StatusCode::OK,
        context! { nav => "due", days, within => DUE_WITHIN, today => v(today) },
    )
}

pub(super) async fn calendar(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
) -> Response {
    let today = workspace.today(workspace.now());
    let year = today.year();
    let division = workspace.calendar.division();
    let coverage = workspace.feed.coverage(division);
    let years: Vec<_> = [year, year + 1]
        .into_iter()
        .map(|y| {
            let days: Vec<_> = workspace
                .calendar
                .holidays(&workspace.feed, y)
                .into_iter()
                .map(|h| {
                    context! {
                        date => v(h.date),
                        title => h.title,
                        closure => h.source == HolidaySource::Closure,
                        weekend => h.date.weekday().number_from_monday() > 5,
                    }
                })
                .collect();
            context! { year => y, days }
        })
        .collect();
    Page::render(
        &workspace,
        Some(&signed_in.session),
        "calendar.html",
        StatusCode::OK,
        context! {
            nav => "calendar",
            division => division.as_str(),
            years,
            first => *coverage.start(),
            last => *coverage.end(),
            short => *coverage.end() <= year,
        },
    )
}
