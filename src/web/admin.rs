//! The admin's pages: the emails (`/outbox`, retry a failed one) and the accounts (`/users`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::form::Form;
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;

use super::Workspace;
use super::case::kind_words;
use super::guard::SignedIn;
use super::pages::{Page, v};
use crate::casework::{Accounts, CaseworkError};
use crate::domain::account::Role;
use crate::service::retry::Retried;
use crate::store::OutboxStatus;

#[derive(Debug, Deserialize, Default)]
pub(super) struct OutboxQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// The most rows the page lists (newest first).
const OUTBOX_ROWS: usize = 500;

pub(super) async fn outbox(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Query(query): Query<OutboxQuery>,
) -> Response {
    outbox_page(&workspace, &signed_in, &query, None, StatusCode::OK).await
}

async fn outbox_page(
    workspace: &Workspace,
    signed_in: &SignedIn,
    query: &OutboxQuery,
    message: Option<String>,
    status: StatusCode,
) -> Response {
    let filter = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<OutboxStatus>().ok());
    let rows = match workspace.store.outbox(filter).await {
        Ok(rows) => rows,
        Err(e) => return Page::failure(workspace, &e.to_string()),
    };
    let total = rows.len();
    let shown: Vec<_> = rows
        .iter()
        .take(OUTBOX_ROWS)
        .map(|r| {
            context! {
                id => r.id,
                created => workspace.local_time(r.created_at),
                case => r.case.clone(),
                kind => kind_words(r.kind),
                recipient => r.recipient.clone(),
                status => <&'static str>::from(r.status).replace('_', " "),
                failed => r.status == OutboxStatus::Failed,
                attempts => r.attempts,
                last_error => r.last_error.clone(),
            }
        })
        .collect();
    let done = query
        .done
        .as_deref()
        .map(|id| format!("Email {id} is queued again: the next run sends it."));
    Page::render(
        workspace,
        Some(&signed_in.session),
        "outbox.html",
        status,
        context! {
            nav => "outbox",
            rows => shown,
            total,
            status => query.status.clone().unwrap_or_default(),
            done => message.or(done),
        },
    )
}

pub(super) async fn retry(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Path(id): Path<i64>,
) -> Response {
    let actor = signed_in.session.account.email.to_string();
    let now = workspace.now();
    let query = OutboxQuery::default();
    match crate::service::retry::retry(&workspace.store, &workspace.config, id, now, &actor).await {
        Ok(Retried::Queued { .. }) => Redirect::to(&format!("/outbox?done={id}")).into_response(),
        Ok(Retried::Withdrawn { reason }) => {
            let message = format!("Email {id} was not queued again: {reason}");
            outbox_page(
                &workspace,
                &signed_in,
                &query,
                Some(message),
                StatusCode::OK,
            )
            .await
        }
        Ok(Retried::NotFailed) => {
            let message = format!("Email {id} has not failed, so there is nothing to retry.");
            outbox_page(
                &workspace,
                &signed_in,
                &query,
                Some(message),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Page::failure(&workspace, &e.to_string()),
    }
}

#[derive(Debug, Deserialize, Default, serde::Serialize)]
pub(super) struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    action: String,
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct UsersQuery {
    #[serde(default)]
    done: Option<String>,
}

pub(super) async fn users(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Query(query): Query<UsersQuery>,
) -> Response {
    let done = query.done.as_deref().and_then(|d| {
        Some(match d {
            "add" => "The account was added: they can sign in now.",
            "role" => "The role was changed.",
            "disable" => "The account was disabled and its sessions ended.",
            "enable" => {
                "The account was enabled: they can sign in again with the password they had."
            }
            "password" => "The password was set and the account's sessions ended.",
            _ => return None,
        })
    });
    users_page(
        &workspace,
        &signed_in,
        &UserForm::default(),
        None,
        done,
        StatusCode::OK,
    )
    .await
}

async fn users_page(
    workspace: &Workspace,
    signed_in: &SignedIn,
    form: &UserForm,
    error: Option<(&str, String)>,
    done: Option<&str>,
    status: StatusCode,
) -> Response {
    let accounts = match workspace.store.accounts().await {
        Ok(a) => a,
        Err(e) => return Page::failure(workspace, &e.to_string()),
    };
    let rows: Vec<_> = accounts
        .iter()
        .map(|a| {
            context! {
                email => a.email.as_str(),
                name => a.name.as_str(),
                role => a.role.to_string(),
                disabled => a.disabled,
                last => a.last_sign_in_at.map(|t| workspace.local_time(t)),
            }
        })
        .collect();
    let (error_field, error) = match error {
        Some((f, m)) => (Some(f.to_owned()), Some(m)),
        None => (None, None),
    };
    Page::render(
        workspace,
        Some(&signed_in.session),
        "users.html",
        status,
        context! { nav => "users", rows, form => v(form), error_field, error, done },
    )
}

/// One form for every change to accounts: `action` says which.
pub(super) async fn change_user(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Form(form): Form<UserForm>,
) -> Response {
    let accounts = Accounts {
        store: &workspace.store,
        actor: signed_in.session.account.email.to_string(),
        now: workspace.now(),
    };
    let role = || {
        form.role.parse::<Role>().map_err(|_| {
            CaseworkError::Refused("Choose a role: viewer, caseworker or admin".to_owned())
        })
    };
    let password = || SecretString::from(form.password.clone());
    // Whether the admin is changing their own account.
    let own = form
        .email
        .trim()
        .eq_ignore_ascii_case(signed_in.session.account.email.as_str());
    let (result, field, done) = match form.action.as_str() {
        "add" => {
            let result = match role() {
                Ok(role) => {
                    accounts
                        .add(&form.email, &form.name, role, password())
                        .await
                }
                Err(e) => Err(e),
            };
            let field = match &result {
                Err(CaseworkError::Refused(m)) if m.starts_with("password") => "password",
                Err(CaseworkError::Refused(m)) if m.starts_with("name") => "name",
                Err(CaseworkError::Refused(m)) if m.starts_with("Choose a role") => "role",
                _ => "email",
            };
            (result, field, "add")
        }
        "role" if own => (
            Err(CaseworkError::Refused(
                "You cannot change your own role: ask another admin".to_owned(),
            )),
            "accounts",
            "role",
        ),
        "role" => {
            let result = match role() {
                Ok(role) => accounts.set_role(&form.email, role).await,
                Err(e) => Err(e),
            };
            (result, "accounts", "role")
        }
        "disable" if own => (
            Err(CaseworkError::Refused(
                "You cannot disable your own account: ask another admin".to_owned(),
            )),
            "accounts",
            "disable",
        ),
        "disable" => (accounts.disable(&form.email).await, "accounts", "disable"),
        "enable" => (accounts.enable(&form.email).await, "accounts", "enable"),
        // An admin sets everyone's password but their own (another admin, or `rrn user
        // reset-password`, sets that); setting one also enables a disabled account.
        "password" if own => (
            Err(CaseworkError::Refused(
                "Ask another admin to set your password".to_owned(),
            )),
            "accounts",
            "password",
        ),
        "password" => (
            accounts.reset_password(&form.email, password()).await,
            "accounts",
            "password",
        ),
        _ => (
            Err(CaseworkError::Refused("Choose what to change".to_owned())),
            "accounts",
            "",
        ),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/users?done={done}")).into_response(),
        Err(CaseworkError::Refused(message)) => {
            let message = super::words::for_the_browser(&message);
            let mut shown = UserForm {
                password: String::new(),
                ..form
            };
            if done != "add" {
                shown = UserForm::default();
            }
            users_page(
                &workspace,
                &signed_in,
                &shown,
                Some((field, message)),
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Page::failure(&workspace, &e.to_string()),
    }
}
