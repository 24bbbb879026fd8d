//! Signing in (`/sign-in`) and out (`/sign-out`).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::form::Form;
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;

use super::Workspace;
use super::guard::{Origin, Peer, SignedIn, sign_in_token, sign_in_token_matches};
use super::pages::Page;

fn form_page(
    workspace: &Workspace,
    origin: Origin,
    headers: &HeaderMap,
    email: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (token, new) = match sign_in_token(headers) {
        Ok(token) => token,
        Err(e) => return Page::failure(workspace, &e.to_string()),
    };
    let mut response = Page::render(
        workspace,
        None,
        "sign_in.html",
        status,
        context! { email, error, sign_in_token => token.clone() },
    );
    if new {
        response
            .headers_mut()
            .append(header::SET_COOKIE, origin.sign_in_cookie(Some(&token)));
    }
    response
}

pub(super) async fn form(
    State(workspace): State<Arc<Workspace>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
) -> Response {
    let origin = Origin::of(peer, &headers, &workspace.config.web);
    form_page(&workspace, origin, &headers, "", None, StatusCode::OK)
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub(super) async fn submit(
    State(workspace): State<Arc<Workspace>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let origin = Origin::of(peer, &headers, &workspace.config.web);
    if !sign_in_token_matches(&headers, &form.csrf_token) {
        return form_page(
            &workspace,
            origin,
            &headers,
            &form.email,
            Some(
                "The sign-in form had expired: enter your email address and password again"
                    .to_owned(),
            ),
            StatusCode::FORBIDDEN,
        );
    }
    let now = workspace.now();
    let password = SecretString::from(form.password);
    let client = origin.client.to_string();
    match workspace
        .sessions()
        .sign_in(&form.email, password, &client, now)
        .await
    {
        Ok(Ok((token, _session))) => {
            let mut response = Redirect::to("/").into_response();
            let h = response.headers_mut();
            h.append(header::SET_COOKIE, origin.session_cookie(Some(&token)));
            h.append(header::SET_COOKIE, origin.sign_in_cookie(None));
            response
        }
        Ok(Err(refusal)) => form_page(
            &workspace,
            origin,
            &headers,
            &form.email,
            Some(refusal.to_string()),
            StatusCode::UNAUTHORIZED,
        ),
        Err(e) => Page::failure(&workspace, &e.to_string()),
    }
}

pub(super) async fn sign_out(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    Extension(origin): Extension<Origin>,
) -> Response {
    if let Err(e) = workspace
        .sessions()
        .sign_out(&signed_in.session, workspace.now())
        .await
    {
        return Page::failure(&workspace, &e.to_string());
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, origin.session_cookie(None));
    response
}
