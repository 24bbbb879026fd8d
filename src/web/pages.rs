//! Pages: the templates built into the binary and the frame every page shares.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, UndefinedBehavior, Value, context};

use super::Workspace;
use crate::casework::Session;
use crate::domain::account::Role;

/// The templates, parsed once (`*.html`, so every value is escaped).
pub(super) struct Pages {
    env: Environment<'static>,
}

const TEMPLATES: [(&str, &str); 12] = [
    ("components.html", include_str!("templates/components.html")),
    ("layout.html", include_str!("templates/layout.html")),
    ("message.html", include_str!("templates/message.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("cases.html", include_str!("templates/cases.html")),
    ("case.html", include_str!("templates/case.html")),
    ("new_case.html", include_str!("templates/new_case.html")),
    ("import.html", include_str!("templates/import.html")),
    ("outbox.html", include_str!("templates/outbox.html")),
    ("users.html", include_str!("templates/users.html")),
    ("due.html", include_str!("templates/due.html")),
    ("calendar.html", include_str!("templates/calendar.html")),
];

impl Pages {
    pub(super) fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("built-in template {name}: {e}"));
        }
        env.add_filter("long_date", long_date);
        Self { env }
    }
}

/// "2027-01-15" as "Friday 15 January 2027"; anything else as it is.
fn long_date(value: String) -> String {
    crate::domain::calendar::parse_date(&value)
        .map(|d| d.format("%A %-d %B %Y").to_string())
        .unwrap_or(value)
}

/// Any serialisable value for a template.
pub(super) fn v(value: impl serde::Serialize) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// What the frame shows of the signed-in person.
fn who(session: Option<&Session>) -> Value {
    match session {
        None => Value::from(()),
        Some(s) => context! {
            name => s.account.name.as_str(),
            email => s.account.email.as_str(),
            role => s.account.role.to_string(),
            csrf_token => s.csrf_token.clone(),
            can_change => s.account.role.allows(Role::Caseworker),
            is_admin => s.account.role.allows(Role::Admin),
        },
    }
}

pub(super) struct Page;

impl Page {
    /// Renders `template` inside the frame.
    pub(super) fn render(
        workspace: &Workspace,
        session: Option<&Session>,
        template: &str,
        status: StatusCode,
        page: Value,
    ) -> Response {
        let frame = context! {
            partnership => workspace.config.partnership.name.as_str(),
            marking => workspace.config.mail.marking.clone(),
            session => who(session),
            ..page
        };
        match workspace
            .pages
            .env
            .get_template(template)
            .and_then(|t| t.render(frame))
        {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("rendering {template}: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, this page could not be shown.",
                )
                    .into_response()
            }
        }
    }

    /// A page that says why something was refused.
    pub(super) fn refusal(
        workspace: &Workspace,
        session: Option<&Session>,
        status: StatusCode,
        message: &str,
    ) -> Response {
        let title = match status {
            StatusCode::FORBIDDEN => "You cannot do this",
            StatusCode::NOT_FOUND => "Page not found",
            _ => "Not accepted",
        };
        Self::render(
            workspace,
            session,
            "message.html",
            status,
            context! { title, message, nav => "" },
        )
    }

    /// A failure of ours (the database, say): logged, and told without its details.
    pub(super) fn failure(workspace: &Workspace, detail: &str) -> Response {
        tracing::error!("web request failed: {detail}");
        Self::render(
            workspace,
            None,
            "message.html",
            StatusCode::INTERNAL_SERVER_ERROR,
            context! {
                nav => "",
                title => "Sorry, there is a problem with the service",
                message => "Nothing was changed. Try again later; if it goes on, tell your IT team the time it happened.",
            },
        )
    }
}

/// Any path we do not serve. Says nothing more to anyone not signed in.
pub(super) async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html("<!DOCTYPE html><html lang=\"en\"><head><title>Page not found</title></head><body><p>Page not found. <a href=\"/\">Go to the workspace</a>.</p></body></html>")).into_response()
}
