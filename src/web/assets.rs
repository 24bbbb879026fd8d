//! The workspace's styles and its one small script, built into the binary
//! (scripts/build-web-assets): nothing is fetched from elsewhere, so it works on a closed
//! council network.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: [(&str, &str, &str); 7] = [
    (
        "govuk-frontend.min.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/web/govuk-frontend.min.css"),
    ),
    (
        "moj-timeline.min.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/web/moj-timeline.min.css"),
    ),
    (
        "rrn.css",
        "text/css; charset=utf-8",
        include_str!("rrn.css"),
    ),
    (
        "report.css",
        "text/css; charset=utf-8",
        crate::domain::report::html::STYLE,
    ),
    (
        "rrn.js",
        "text/javascript; charset=utf-8",
        include_str!("rrn.js"),
    ),
    (
        "GOVUK-FRONTEND-LICENCE.txt",
        "text/plain; charset=utf-8",
        include_str!("../../assets/web/GOVUK-FRONTEND-LICENCE.txt"),
    ),
    (
        "MOJ-FRONTEND-LICENCE.txt",
        "text/plain; charset=utf-8",
        include_str!("../../assets/web/MOJ-FRONTEND-LICENCE.txt"),
    ),
];

pub(super) async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
