//! A form's fields, or a page saying what was wrong with them: axum's own `Form` answers a
//! duplicated field or a wrong content type in plain text, which is no page for a person.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::Workspace;
use super::guard::SignedIn;
use super::pages::Page;

/// `application/x-www-form-urlencoded` fields, as axum's `Form`.
pub(super) struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Workspace>> for Form<T> {
    type Rejection = Response;

    async fn from_request(request: Request, workspace: &Arc<Workspace>) -> Result<Self, Response> {
        let session = request
            .extensions()
            .get::<SignedIn>()
            .map(|s| s.session.clone());
        match axum::Form::<T>::from_request(request, workspace).await {
            Ok(axum::Form(fields)) => Ok(Form(fields)),
            Err(rejection) => {
                tracing::info!("a form was refused: {rejection}");
                Err(Page::refusal(
                    workspace,
                    session.as_ref(),
                    StatusCode::BAD_REQUEST,
                    "The form could not be read, so nothing was changed. Go back, reload the page \
                     and try again.",
                ))
            }
        }
    }
}
