//! The case list (`/`) and opening a case (`/cases/new`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::form::Form;
use chrono::NaiveDate;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::guard::SignedIn;
use super::pages::{Page, v};
use super::{Workspace, tags};
use crate::casework::{CaseworkError, Opening};
use crate::domain::agency::AgencyId;
use crate::domain::case::CaseRef;

/// Cases on one page of the list.
const PAGE_SIZE: usize = 50;

#[derive(Debug, Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    tab: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    agency: Option<String>,
    #[serde(default)]
    find: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// One row of the case list.
#[derive(Debug, Clone, Serialize)]
struct Row {
    reference: String,
    day0: Option<NaiveDate>,
    status: String,
    status_class: &'static str,
    next_milestone: Option<String>,
    next_due: Option<NaiveDate>,
    /// "2 of 3 received", for the per-agency milestones.
    returns: Option<String>,
    closed_reason: Option<String>,
}

/// The filter keys and their labels, most urgent first.
const STATUSES: [(&str, &str); 4] = [
    ("overdue", "Overdue"),
    ("due_today", "Due today"),
    ("open", "Open"),
    ("on_track", "On track"),
];

pub(super) async fn list(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Query(query): Query<ListQuery>,
) -> Response {
    let session = &signed_in.session;
    let closed = query.tab.as_deref() == Some("closed");
    let today = workspace.today(workspace.now());
    let listed = match workspace.listings.rows(&workspace, closed, today).await {
        Ok(rows) => rows,
        Err(e) => return Page::failure(&workspace, &e.to_string()),
    };
    let find = query
        .find
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_lowercase();
    let status = query.status.as_deref().filter(|s| !s.is_empty());
    let agency_bit = query.agency.as_deref().filter(|a| !a.is_empty()).map(|a| {
        workspace
            .config
            .agencies
            .iter()
            .position(|x| x.id.as_str() == a)
            .filter(|i| *i < 64)
            .map_or(0, |i| 1u64 << i)
    });
    let matching = listed.rows.iter().filter(|r| {
        (find.is_empty() || listed.reference(r).to_lowercase().contains(&find))
            && status.is_none_or(|s| s == tags::key_of(r.worst, closed))
            && agency_bit.is_none_or(|bit| r.agencies & bit != 0)
    });
    let total = matching.clone().count();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let milestones = workspace.timeline.milestones();
    let shown: Vec<Row> = matching
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|r| Row {
            reference: listed.reference(r).to_owned(),
            day0: r.day0,
            status: tags::words_of(r.worst, closed),
            status_class: tags::class_of(r.worst, closed),
            next_milestone: r.next.map(|(m, a, _)| {
                let title = milestones
                    .get(usize::from(m))
                    .map_or("", |m| m.title.as_str());
                match a.and_then(|a| workspace.config.agencies.get(usize::from(a))) {
                    Some(agency) => format!("{title}: {}", agency.name),
                    None => title.to_owned(),
                }
            }),
            next_due: r.next.map(|n| n.2),
            returns: r
                .returns
                .map(|(done, of)| format!("{done} of {of} received")),
            closed_reason: r.closed_reason.as_deref().map(str::to_owned),
        })
        .collect();
    let link = |p: usize| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if closed {
            q.append_pair("tab", "closed");
        }
        for (k, v) in [
            ("status", &query.status),
            ("agency", &query.agency),
            ("find", &query.find),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                q.append_pair(k, v);
            }
        }
        q.append_pair("page", &p.to_string());
        format!("/?{}", q.finish())
    };
    let agencies: Vec<_> = workspace
        .config
        .agencies
        .iter()
        .map(|a| context! { id => a.id.as_str(), name => a.name.as_str() })
        .collect();
    let statuses: Vec<_> = STATUSES
        .iter()
        .map(|(k, l)| context! { key => *k, label => *l })
        .collect();
    Page::render(
        &workspace,
        Some(session),
        "cases.html",
        StatusCode::OK,
        context! {
            nav => "cases",
            closed,
            rows => v(&shown),
            total,
            page,
            pages,
            previous => (page > 1).then(|| link(page - 1)),
            next => (page < pages).then(|| link(page + 1)),
            status => query.status.clone().unwrap_or_default(),
            agency => query.agency.clone().unwrap_or_default(),
            find => query.find.clone().unwrap_or_default(),
            agencies,
            statuses,
            returns_title => milestones.iter().find(|m| m.per_agency).map(|m| m.title.clone()),
            today => v(today),
        },
    )
}

#[derive(Debug, Deserialize, Default, Clone, Serialize)]
pub(super) struct OpenForm {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    aware: String,
    #[serde(default)]
    day0: String,
    #[serde(default)]
    agencies: Vec<String>,
}

pub(super) async fn new_form(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
) -> Response {
    new_case_page(
        &workspace,
        &signed_in,
        &OpenForm::default(),
        None,
        StatusCode::OK,
    )
}

fn new_case_page(
    workspace: &Workspace,
    signed_in: &SignedIn,
    form: &OpenForm,
    error: Option<(&str, String)>,
    status: StatusCode,
) -> Response {
    let agencies: Vec<_> = workspace
        .config
        .agencies
        .iter()
        .map(|a| {
            context! {
                id => a.id.as_str(),
                name => a.name.as_str(),
                checked => form.agencies.iter().any(|x| x == a.id.as_str()),
            }
        })
        .collect();
    let (error_field, error) = match error {
        Some((field, message)) => (Some(field.to_owned()), Some(message)),
        None => (None, None),
    };
    Page::render(
        workspace,
        Some(&signed_in.session),
        "new_case.html",
        status,
        context! { nav => "new", form => v(form), agencies, error_field, error },
    )
}

/// `application/x-www-form-urlencoded` with repeated `agencies` keys.
pub(super) async fn open(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let mut form = OpenForm::default();
    for (k, v) in pairs {
        match k.as_str() {
            "reference" => form.reference = v,
            "aware" => form.aware = v,
            "day0" => form.day0 = v,
            "agencies" => form.agencies.push(v),
            _ => {}
        }
    }
    let refused = |field: &'static str, message: String| {
        new_case_page(
            &workspace,
            &signed_in,
            &form,
            Some((field, message)),
            StatusCode::BAD_REQUEST,
        )
    };
    let reference = match CaseRef::parse(form.reference.trim()) {
        Ok(r) => r,
        Err(e) => return refused("reference", format!("Case reference: {e}")),
    };
    let date = |field: &'static str, label: &str, text: &str| {
        crate::domain::calendar::parse_date(text.trim())
            .map_err(|e| (field, format!("{label}: {e}")))
    };
    let aware = match date("aware", "The date you became aware", &form.aware) {
        Ok(d) => d,
        Err((f, m)) => return refused(f, m),
    };
    let day0 = match form.day0.trim() {
        "" => None,
        text => match date("day0", "Day 0", text) {
            Ok(d) => Some(d),
            Err((f, m)) => return refused(f, m),
        },
    };
    let mut agencies = Vec::new();
    for a in &form.agencies {
        match AgencyId::parse(a) {
            Ok(id) => agencies.push(id),
            Err(e) => return refused("agencies", format!("Agencies: {e}")),
        }
    }
    let now = workspace.now();
    let work = workspace.casework(&signed_in.session, now);
    let opening = Opening {
        reference: reference.clone(),
        aware,
        day0,
        agencies,
        local_review_proposed: false,
    };
    match work.open_from_form(opening).await {
        Ok(()) => Redirect::to(&format!(
            "/cases/{}?done=opened",
            super::case::path_of(&reference)
        ))
        .into_response(),
        Err((field, CaseworkError::Refused(message))) => refused(
            field,
            super::words::for_the_browser(&super::words::with_names(&workspace, &message)),
        ),
        Err((_, e)) => Page::failure(&workspace, &e.to_string()),
    }
}
