//! `/report`: the compliance report for every signed-in role, the same page `rrn report
//! --format html` writes (its stylesheet served as `/assets/report.css`, since the workspace's
//! Content-Security-Policy allows no style inside a page). `?from=YYYY-MM-DD&to=YYYY-MM-DD`
//! chooses the period; without them, the last complete April-to-March year.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::Workspace;
use super::guard::SignedIn;
use super::pages::Page;
use crate::domain::calendar::parse_date;
use crate::domain::report::{Period, html, lcspr_publication_milestone};

#[derive(serde::Deserialize)]
pub(super) struct Chosen {
    from: Option<String>,
    to: Option<String>,
}

pub(super) async fn show(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Query(chosen): Query<Chosen>,
) -> Response {
    let today = workspace.today(workspace.now());
    let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let refuse = |message: String| {
        Page::refusal(
            &workspace,
            Some(&signed_in.session),
            StatusCode::BAD_REQUEST,
            &message,
        )
    };
    let period = match (given(chosen.from), given(chosen.to)) {
        (None, None) => Period::last_complete_year(today),
        (Some(from), Some(to)) => {
            let (from, to) = match (parse_date(from.trim()), parse_date(to.trim())) {
                (Ok(from), Ok(to)) => (from, to),
                (Err(e), _) | (_, Err(e)) => return refuse(format!("The period: {e}.")),
            };
            match Period::new(from, to) {
                Ok(period) => period,
                Err(_) => {
                    return refuse(format!(
                        "The period starts on {from}, after it ends on {to}: give its first day, \
                         then its last."
                    ));
                }
            }
        }
        _ => return refuse("Give both the first and the last day of the period.".to_owned()),
    };
    let publication = lcspr_publication_milestone(&workspace.timeline);
    match crate::service::report::compile(
        &workspace.store,
        &workspace.timeline,
        &workspace.calendar,
        period,
        today,
        publication,
    )
    .await
    {
        Ok(report) => Html(html::page_linking(&report, "/assets/report.css")).into_response(),
        Err(e) => Page::failure(&workspace, &e.to_string()),
    }
}
