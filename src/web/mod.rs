//! The web workspace (`rrn web`): the business team's casework in a browser.
//!
//! An edge like the CLI: every change is the same [`crate::casework`] call, so a refusal reads
//! the same and the audit log names the signed-in person. Who may see and do what, and the
//! CSRF check, are decided in one place, [`guard`]; pages are server-rendered from templates
//! built into the binary, with GOV.UK Frontend's styles; one small script of ours confirms and
//! filters, and every page works without it.

mod admin;
mod assets;
mod calendar;
mod case;
mod cases;
mod form;
mod guard;
mod import;
mod listing;
mod pages;
mod report;
mod sign_in;
mod tags;
pub mod tls;
mod words;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;

use crate::casework::{Casework, Session, Sessions};
use crate::config::Config;
use crate::domain::account::Role;
use crate::domain::calendar::{Calendar, HolidayFeed};
use crate::domain::timeline::Timeline;
use crate::store::Store;

/// Everything a request needs: loaded once when `rrn web` starts.
pub struct Workspace {
    pub store: Store,
    pub config: Config,
    pub timeline: Timeline,
    pub calendar: Calendar,
    /// The bank-holiday feed the calendar was built from, for `/calendar`.
    pub feed: HolidayFeed,
    pages: pages::Pages,
    listings: listing::Listings,
}

impl Workspace {
    pub fn new(
        store: Store,
        config: Config,
        timeline: Timeline,
        calendar: Calendar,
        feed: HolidayFeed,
    ) -> Self {
        Self {
            store,
            config,
            timeline,
            calendar,
            feed,
            pages: pages::Pages::new(),
            listings: listing::Listings::default(),
        }
    }

    fn sessions(&self) -> Sessions<'_> {
        Sessions {
            store: &self.store,
            limits: self.config.web.session_limits(),
        }
    }

    /// The clock read of a request.
    fn now(&self) -> DateTime<Utc> {
        crate::service::moment::now(self.config.partnership.timezone).with_timezone(&Utc)
    }

    /// An instant as the pages show it: "1 December 2026 17:09", in the partnership's zone.
    fn local_time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.config.partnership.timezone)
            .format("%-d %B %Y %H:%M")
            .to_string()
    }

    fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.config.partnership.timezone)
            .date_naive()
    }

    /// The casework of a signed-in person, acting now.
    fn casework<'a>(&'a self, session: &Session, now: DateTime<Utc>) -> Casework<'a> {
        Casework {
            store: &self.store,
            config: &self.config,
            timeline: &self.timeline,
            calendar: &self.calendar,
            actor: session.account.email.to_string(),
            now,
            dated: now,
            today: self.today(now),
        }
    }
}

/// The workspace's routes, each group behind the role it needs.
pub fn router(workspace: Arc<Workspace>) -> Router {
    let viewer = Router::new()
        .route("/", get(cases::list))
        .route("/cases/{reference}", get(case::show))
        .route("/due", get(calendar::due))
        .route("/calendar", get(calendar::calendar))
        .route("/report", get(report::show))
        .route("/sign-out", post(sign_in::sign_out));
    let caseworker = Router::new()
        .route("/cases/new", get(cases::new_form).post(cases::open))
        .route("/cases/{reference}/complete", post(case::complete))
        .route("/cases/{reference}/uncomplete", post(case::uncomplete))
        .route("/cases/{reference}/agencies", post(case::agencies))
        .route("/cases/{reference}/local-review", post(case::local_review))
        .route("/cases/{reference}/close", post(case::close))
        .route("/cases/{reference}/reopen", post(case::reopen));
    let uploads = Router::new().route("/import", get(import::form).post(import::upload));
    let admin = Router::new()
        .route("/outbox", get(admin::outbox))
        .route("/outbox/{id}/retry", post(admin::retry))
        .route("/users", get(admin::users).post(admin::change_user));
    let by_role = |routes: Router<Arc<Workspace>>, role: Role, accepts: guard::Accepts| {
        routes.route_layer(axum::middleware::from_fn_with_state(
            (workspace.clone(), role, accepts),
            guard::require,
        ))
    };
    use guard::Accepts::{Forms, Uploads};
    Router::new()
        .merge(by_role(viewer, Role::Viewer, Forms))
        .merge(by_role(caseworker, Role::Caseworker, Forms))
        .merge(by_role(admin, Role::Admin, Forms))
        .merge(
            // The upload's own bound, for the guard and the handler alike.
            by_role(uploads, Role::Caseworker, Uploads).layer(
                axum::extract::DefaultBodyLimit::max(guard::MAX_UPLOAD_BYTES),
            ),
        )
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/assets/{file}", get(assets::serve))
        .fallback(pages::not_found)
        .layer(axum::middleware::map_response(guard::headers))
        .layer(tower_http_limit())
        .with_state(workspace)
}

/// Bounds what a request may send: forms are small; nothing is read without a limit.
fn tower_http_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(guard::MAX_FORM_BYTES)
}

/// Serves the workspace on `listener` until `stop` is cancelled.
pub async fn serve(
    workspace: Arc<Workspace>,
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = router(workspace).into_make_service_with_connect_info::<guard::Peer>();
    let stopped = async move { stop.cancelled().await };
    match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        }
        Some(acceptor) => {
            axum::serve(tls::TlsListener::new(listener, acceptor)?, app)
                .with_graceful_shutdown(stopped)
                .await
        }
    }
}
