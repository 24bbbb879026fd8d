//! A case (`/cases/{reference}`): its milestones, agencies, emails and audit trail, and the
//! caseworker's actions on it. Each action is the casework call the CLI makes, so a refusal
//! reads the same and changes nothing.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::form::Form;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::Workspace;
use super::guard::SignedIn;
use super::pages::Page;
use super::pages::v;
use super::tags;
use crate::casework::CaseworkError;
use crate::domain::address::escape_hidden;
use crate::domain::agency::AgencyId;
use crate::domain::case::{CaseRef, CaseState};
use crate::domain::timeline::{evaluate, explain};

/// A reference as a path segment: `/` (allowed in references) percent-encoded.
pub(super) fn path_of(reference: &CaseRef) -> String {
    reference.as_str().replace('/', "%2F")
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct ShowQuery {
    #[serde(default)]
    done: Option<String>,
}

/// What a finished action says at the top of the page (fixed words: the query names one).
fn done_message(done: &str) -> Option<&'static str> {
    Some(match done {
        "opened" => "The case was opened. The day-1 letters go out with the next run.",
        "complete" => "The milestone was recorded as done.",
        "uncomplete" => "The milestone was recorded as not done.",
        "agencies" => "The agencies were updated.",
        "local-review" => "The local review decision was recorded.",
        "close" => "The case was closed: nothing more is sent for it.",
        "reopen" => "The case was reopened.",
        _ => return None,
    })
}

/// What kind of email a row is, in the words of the people it goes to.
pub(super) fn kind_words(kind: crate::store::OutboxKind) -> &'static str {
    use crate::store::OutboxKind;
    match kind {
        OutboxKind::Digest => "Notice or reminder",
        OutboxKind::AgencyLetter => "Letter to an agency",
        OutboxKind::Heartbeat => "Daily summary",
        OutboxKind::DeliveryFailure => "Failed-delivery report",
    }
}

/// What was typed into the page's forms, shown again beside a refusal.
#[derive(Debug, Default, Serialize)]
pub(super) struct Typed {
    milestone: String,
    on: String,
    note: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct MilestoneRow {
    step: u32,
    title: String,
    agency: Option<String>,
    /// `id` or `id|agency`: what the record and undo forms send.
    key: String,
    opens: Option<chrono::NaiveDate>,
    due: Option<chrono::NaiveDate>,
    status: String,
    status_class: &'static str,
    done: bool,
    completed_on: Option<chrono::NaiveDate>,
    derivation: Option<String>,
}

pub(super) async fn show(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Path(reference): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let done = query.done.as_deref().filter(|d| done_message(d).is_some());
    case_page(
        &workspace,
        &signed_in,
        &reference,
        None,
        done,
        StatusCode::OK,
        &Typed::default(),
    )
    .await
}

/// The case page, with a refusal (the field at fault and why) or a confirmation (`done`, the
/// action's key). A reference typed in another case (`/cases/rr-2026-050`) is the same case:
/// shown, the page redirects to the address of the stored spelling, keeping the confirmation.
async fn case_page(
    workspace: &Workspace,
    signed_in: &SignedIn,
    reference: &str,
    error: Option<(&str, String)>,
    done: Option<&str>,
    status: StatusCode,
    typed: &Typed,
) -> Response {
    let session = &signed_in.session;
    let not_found = || {
        Page::refusal(
            workspace,
            Some(session),
            StatusCode::NOT_FOUND,
            &format!(
                "There is no case {}. Check the reference in the list of cases.",
                escape_hidden(reference)
            ),
        )
    };
    let Ok(reference) = CaseRef::parse(reference) else {
        return not_found();
    };
    let (case, audit) = match workspace.store.case_with_audit(&reference).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return Page::failure(workspace, &e.to_string()),
    };
    if case.reference != reference && status == StatusCode::OK {
        let done = done.map(|d| format!("?done={d}")).unwrap_or_default();
        return Redirect::to(&format!("/cases/{}{done}", path_of(&case.reference))).into_response();
    }
    let reference = case.reference.clone();
    let done = done.and_then(done_message);
    let emails = match workspace.store.outbox_of_case(&reference).await {
        Ok(rows) => rows,
        Err(e) => return Page::failure(workspace, &e.to_string()),
    };
    let today = workspace.today(workspace.now());
    let facts = case.facts();
    let mut states = match evaluate(&workspace.timeline, &workspace.calendar, &facts, today) {
        Ok(states) => states,
        Err(e) => return Page::failure(workspace, &format!("case {reference}: {e}")),
    };
    explain(&mut states, &workspace.calendar);
    let milestones: Vec<MilestoneRow> = states
        .iter()
        .map(|s| MilestoneRow {
            step: s.step,
            title: s.title.to_owned(),
            agency: s.agency.map(|a| tags::agency_name(workspace, a.as_str())),
            key: match s.agency {
                Some(a) => format!("{}|{a}", s.id),
                None => s.id.to_owned(),
            },
            opens: s.opens,
            due: s.due,
            status: tags::words(s.status),
            status_class: tags::class(s.status),
            done: s.status.is_done(),
            completed_on: s.completed_on,
            derivation: s.derivation.clone(),
        })
        .collect();
    let per_agency: Vec<&MilestoneRow> = milestones.iter().filter(|m| m.agency.is_some()).collect();
    let returns = (!per_agency.is_empty()).then(|| {
        let received: Vec<&str> = per_agency
            .iter()
            .filter(|m| m.done)
            .filter_map(|m| m.agency.as_deref())
            .collect();
        context! {
            received => received.len(),
            total => per_agency.len(),
        }
    });
    let involved: Vec<_> = case
        .agencies
        .iter()
        .map(|a| context! { id => a.as_str(), name => tags::agency_name(workspace, a.as_str()) })
        .collect();
    let others: Vec<_> = workspace
        .config
        .agencies
        .iter()
        .filter(|a| !case.agencies.contains(&a.id))
        .map(|a| context! { id => a.id.as_str(), name => a.name.as_str() })
        .collect();
    let completions: Vec<_> = case
        .completions
        .iter()
        .map(|c| {
            context! {
                title => tags::milestone_words(workspace, &match &c.agency {
                    Some(a) => format!("{}/{a}", c.milestone),
                    None => c.milestone.clone(),
                }),
                on => v(c.completed_on),
                key => match &c.agency {
                    Some(a) => format!("{}|{a}", c.milestone),
                    None => c.milestone.clone(),
                },
                by => escape_hidden(&c.recorded_by).into_owned(),
                note => c.note.as_deref().map(|n| escape_hidden(n).into_owned()),
            }
        })
        .collect();
    let audit: Vec<_> = audit
        .iter()
        .rev()
        .map(|a| {
            context! {
                at => workspace.local_time(a.at),
                datetime => a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                actor => escape_hidden(&a.actor).into_owned(),
                action => escape_hidden(super::words::audit_action(&a.action)).into_owned(),
                detail => escape_hidden(&super::words::with_names(workspace, &a.detail)).into_owned(),
            }
        })
        .collect();
    let emails: Vec<_> = emails
        .iter()
        .map(|e| {
            context! {
                created => workspace.local_time(e.created_at),
                kind => kind_words(e.kind),
                recipient => e.recipient.clone(),
                status => <&'static str>::from(e.status).replace('_', " "),
                last_error => e.last_error.clone(),
            }
        })
        .collect();
    let (closed, closed_reason) = match &case.state {
        CaseState::Open => (false, None),
        CaseState::Closed(reason) => (true, Some(escape_hidden(reason).into_owned())),
    };
    let (error_field, error) = match error {
        Some((field, message)) => (Some(field.to_owned()), Some(message)),
        None => (None, None),
    };
    Page::render(
        workspace,
        Some(session),
        "case.html",
        status,
        context! {
            nav => "cases",
            reference => reference.as_str(),
            path => path_of(&reference),
            aware => v(case.aware),
            day0 => v(case.day0),
            closed,
            closed_reason,
            local_review => case.local_review_proposed,
            involved,
            others,
            milestones => v(&milestones),
            returns,
            completions,
            emails,
            audit,
            today => v(today),
            done,
            error_field,
            error,
            typed => v(typed),
        },
    )
}

/// After an action: back to the case with its confirmation, or the page again with the
/// refusal beside `field`.
async fn finish(
    workspace: &Workspace,
    signed_in: &SignedIn,
    reference: &str,
    field: &'static str,
    action: &'static str,
    result: Result<(), CaseworkError>,
    typed: Typed,
) -> Response {
    // A refusal about the date, the note or the reason belongs beside that field.
    let beside = |message: &str| match message {
        m if m.starts_with("The date") => "on",
        m if m.starts_with("The note") => "note",
        m if m.starts_with("The reason") => "reason",
        _ => field,
    };
    match result {
        Ok(()) => match CaseRef::parse(reference) {
            Ok(r) => Redirect::to(&format!("/cases/{}?done={action}", path_of(&r))).into_response(),
            Err(_) => Redirect::to("/").into_response(),
        },
        Err(CaseworkError::Refused(message)) => {
            let message =
                super::words::for_the_browser(&super::words::with_names(workspace, &message));
            case_page(
                workspace,
                signed_in,
                reference,
                Some((beside(&message), message)),
                None,
                StatusCode::BAD_REQUEST,
                &typed,
            )
            .await
        }
        Err(CaseworkError::RefusedRows(rows)) => {
            case_page(
                workspace,
                signed_in,
                reference,
                Some((
                    field,
                    super::words::for_the_browser(&super::words::with_names(
                        workspace,
                        &rows.join("; "),
                    )),
                )),
                None,
                StatusCode::BAD_REQUEST,
                &typed,
            )
            .await
        }
        Err(e) => Page::failure(workspace, &e.to_string()),
    }
}

fn parse_reference(reference: &str) -> Result<CaseRef, CaseworkError> {
    CaseRef::parse(reference).map_err(|e| CaseworkError::Refused(e.to_string()))
}

/// `id` or `id|agency`, as the forms send a milestone.
fn parse_key(key: &str) -> Result<(String, Option<AgencyId>), CaseworkError> {
    match key.split_once('|') {
        None if key.is_empty() => Err(CaseworkError::Refused("Choose a milestone".to_owned())),
        None => Ok((key.to_owned(), None)),
        Some((m, a)) => {
            let agency = AgencyId::parse(a).map_err(|e| CaseworkError::Refused(e.to_string()))?;
            Ok((m.to_owned(), Some(agency)))
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CompleteForm {
    #[serde(default)]
    milestone: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn complete(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Path(reference): Path<String>,
    Form(form): Form<CompleteForm>,
) -> Response {
    let now = workspace.now();
    let work = workspace.casework(&signed_in.session, now);
    let mut field = "milestone";
    let result = async {
        let case = parse_reference(&reference)?;
        let (milestone, agency) = parse_key(&form.milestone)?;
        field = "on";
        let on = match form.on.trim() {
            "" => work.today,
            text => crate::domain::calendar::parse_date(text)
                .map_err(|e| CaseworkError::Refused(format!("The date it was done: {e}")))?,
        };
        let note = Some(form.note.trim()).filter(|n| !n.is_empty());
        field = "milestone";
        work.complete(&case, &milestone, agency.as_ref(), on, note)
            .await
    }
    .await;
    let typed = Typed {
        milestone: form.milestone.clone(),
        on: form.on.clone(),
        note: form.note.clone(),
        ..Typed::default()
    };
    finish(
        &workspace, &signed_in, &reference, field, "complete", result, typed,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct MilestoneForm {
    #[serde(default)]
    milestone: String,
}

pub(super) async fn uncomplete(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Path(reference): Path<String>,
    Form(form): Form<MilestoneForm>,
) -> Response {
    let work = workspace.casework(&signed_in.session, workspace.now());
    let result = async {
        let case = parse_reference(&reference)?;
        let (milestone, agency) = parse_key(&form.milestone)?;
        work.uncomplete(&case, &milestone, agency.as_ref()).await
    }
    .await;
    finish(
        &workspace,
        &signed_in,
        &reference,
        "undo",
        "uncomplete",
        result,
        Typed::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct AgenciesForm {
    #[serde(default)]
    add: String,
    #[serde(default)]
    remove: String,
}

pub(super) async fn agencies(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Path(reference): Path<String>,
    Form(form): Form<AgenciesForm>,
) -> Response {
    let work = workspace.casework(&signed_in.session, workspace.now());
    let result = async {
        let case = parse_reference(&reference)?;
        let ids = |text: &str| -> Result<Vec<AgencyId>, CaseworkError> {
            Some(text.trim())
                .filter(|t| !t.is_empty())
                .map(|t| AgencyId::parse(t).map_err(|e| CaseworkError::Refused(e.to_string())))
                .into_iter()
                .collect()
        };
        let (add, remove) = (ids(&form.add)?, ids(&form.remove)?);
        if add.is_empty() && remove.is_empty() {
            return Err(CaseworkError::Refused(
                "Choose an agency to add or to remove".to_owned(),
            ));
        }
        work.change_agencies(&case, &add, &remove).await
    }
    .await;
    let field = if form.add.trim().is_empty() {
        "remove"
    } else {
        "add"
    };
    finish(
        &workspace,
        &signed_in,
        &reference,
        field,
        "agencies",
        result,
        Typed::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct LocalReviewForm {
    #[serde(default)]
    proposed: String,
}

pub(super) async fn local_review(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Path(reference): Path<String>,
    Form(form): Form<LocalReviewForm>,
) -> Response {
    let work = workspace.casework(&signed_in.session, workspace.now());
    let result = async {
        let case = parse_reference(&reference)?;
        let proposed = match form.proposed.to_ascii_lowercase().as_str() {
            "yes" => true,
            "no" => false,
            _ => return Err(CaseworkError::Refused("Choose yes or no".to_owned())),
        };
        work.set_local_review(&case, proposed).await
    }
    .await;
    finish(
        &workspace,
        &signed_in,
        &reference,
        "proposed",
        "local-review",
        result,
        Typed::default(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct CloseForm {
    #[serde(default)]
    reason: String,
}

pub(super) async fn close(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Path(reference): Path<String>,
    Form(form): Form<CloseForm>,
) -> Response {
    let work = workspace.casework(&signed_in.session, workspace.now());
    let result = async {
        let case = parse_reference(&reference)?;
        work.close(&case, form.reason.trim()).await
    }
    .await;
    let typed = Typed {
        reason: form.reason.clone(),
        ..Typed::default()
    };
    finish(
        &workspace, &signed_in, &reference, "reason", "close", result, typed,
    )
    .await
}

pub(super) async fn reopen(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Path(reference): Path<String>,
) -> Response {
    let work = workspace.casework(&signed_in.session, workspace.now());
    let result = async {
        let case = parse_reference(&reference)?;
        work.reopen(&case).await
    }
    .await;
    finish(
        &workspace,
        &signed_in,
        &reference,
        "reopen",
        "reopen",
        result,
        Typed::default(),
    )
    .await
}
