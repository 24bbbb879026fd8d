//! Importing cases from a CSV file (`/import`): the upload is read whole by the same
//! [`spreadsheet::read_cases`] the CLI uses and given to the same [`Casework::import`], which
//! opens every case or none; a refusal lists every bad row by line and field.
//!
//! [`Casework::import`]: crate::casework::Casework::import

use std::sync::Arc;

use axum::Extension;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::Workspace;
use super::guard::{MAX_UPLOAD_FILE_BYTES, SignedIn};
use super::pages::{Page, v};
use crate::casework::CaseworkError;
use crate::casework::spreadsheet::{self, CSV_COLUMNS};
use crate::domain::address::escape_hidden;

/// One problem of a refused upload: the line and field it names, and what is wrong.
#[derive(Debug, Serialize)]
struct Problem {
    line: Option<String>,
    field: Option<String>,
    message: String,
}

impl Problem {
    /// `line 4, field aware: …` (as [`Casework::import`] words it) split into its parts.
    ///
    /// [`Casework::import`]: crate::casework::Casework::import
    fn of(workspace: &Workspace, text: &str) -> Self {
        let words =
            |t: &str| super::words::for_the_browser(&super::words::with_names(workspace, t));
        let Some((line, rest)) = text.strip_prefix("line ").and_then(|t| t.split_once(", ")) else {
            return Self {
                line: None,
                field: None,
                message: words(text),
            };
        };
        match rest.strip_prefix("field ").and_then(|t| t.split_once(": ")) {
            Some((field, message)) => Self {
                line: Some(line.to_owned()),
                field: Some(field.to_owned()),
                message: words(message),
            },
            None => Self {
                line: Some(line.to_owned()),
                field: None,
                message: words(rest),
            },
        }
    }

    /// The problem in one sentence, for the error summary: "Line 3, aware: `13/25/2026` is not
    /// a date…" (the message's capital dropped after the colon unless it begins a reference).
    fn summary(&self) -> String {
        let mut chars = self.message.chars();
        let message = match (chars.next(), chars.next()) {
            (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => first
                .to_lowercase()
                .chain(self.message.chars().skip(1))
                .collect(),
            _ => self.message.clone(),
        };
        match (&self.line, &self.field) {
            (Some(line), Some(field)) => format!("Line {line}, {field}: {message}"),
            (Some(line), None) => format!("Line {line}: {message}"),
            _ => self.message.clone(),
        }
    }
}

/// What the page shows besides the form: a refusal (its problems), or what was imported.
#[derive(Default)]
struct Outcome {
    error: Option<String>,
    problems: Vec<Problem>,
    done: Option<String>,
    trimmed: Option<String>,
}

fn page(
    workspace: &Workspace,
    signed_in: &SignedIn,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let summaries: Vec<String> = outcome.problems.iter().map(Problem::summary).collect();
    Page::render(
        workspace,
        Some(&signed_in.session),
        "import.html",
        status,
        context! {
            nav => "import",
            columns => CSV_COLUMNS.join(","),
            agencies => workspace.config.agencies.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", "),
            error => outcome.error,
            problems => v(&outcome.problems),
            summaries,
            done => outcome.done,
            trimmed => outcome.trimmed,
        },
    )
}

pub(super) async fn form(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
) -> Response {
    page(&workspace, &signed_in, StatusCode::OK, Outcome::default())
}

/// The file part of the upload (the guard has checked the token part before it): its name
/// and bytes, or the words of what was wrong.
async fn file_of(
    request: Request,
    workspace: &Arc<Workspace>,
) -> Result<(String, Vec<u8>), String> {
    let unreadable = "The upload could not be read, so nothing was imported. Choose the file again and import it.";
    let mut multipart = Multipart::from_request(request, workspace)
        .await
        .map_err(|e| {
            tracing::info!("an upload was refused: {e}");
            unreadable.to_owned()
        })?;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Err("Choose a CSV file to import".to_owned()),
            Err(e) => {
                tracing::info!("an upload was refused: {e}");
                return Err(unreadable.to_owned());
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| {
            tracing::info!("an upload was refused: {e}");
            unreadable.to_owned()
        })?;
        if name.is_empty() && bytes.is_empty() {
            return Err("Choose a CSV file to import".to_owned());
        }
        if bytes.len() > MAX_UPLOAD_FILE_BYTES {
            return Err("The file is larger than 5 MB, the most the workspace accepts: split it into smaller files and import each of them".to_owned());
        }
        if bytes.is_empty() {
            return Err("The file is empty: choose the CSV file of the cases".to_owned());
        }
        return Ok((name, bytes.to_vec()));
    }
}

/// `multipart/form-data`: `csrf_token` first (the guard reads it), then `file`.
pub(super) async fn upload(
    State(workspace): State<Arc<Workspace>>,
    Extension(signed_in): Extension<SignedIn>,
    request: Request,
) -> Response {
    let refused = |message: String, problems: Vec<Problem>| {
        page(
            &workspace,
            &signed_in,
            StatusCode::BAD_REQUEST,
            Outcome {
                error: Some(message),
                problems,
                ..Outcome::default()
            },
        )
    };
    let (name, bytes) = match file_of(request, &workspace).await {
        Ok(file) => file,
        Err(message) => return refused(message, Vec::new()),
    };
    let sheet = match spreadsheet::read_cases(&bytes) {
        Ok(sheet) => sheet,
        Err(message) => {
            return refused(
                format!("The file cannot be imported: {message}"),
                Vec::new(),
            );
        }
    };
    let trimmed = spreadsheet::trimmed_note(&sheet.trimmed).map(|t| {
        let mut chars = t.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or(t)
    });
    let work = workspace.casework(&signed_in.session, workspace.now());
    match work.import(sheet.rows).await {
        Ok(n) => {
            let cases = if n == 1 {
                "1 case was".to_owned()
            } else {
                format!("{n} cases were")
            };
            let from = if name.is_empty() {
                String::new()
            } else {
                format!(" from {}", escape_hidden(&name))
            };
            page(
                &workspace,
                &signed_in,
                StatusCode::OK,
                Outcome {
                    done: Some(format!(
                        "{cases} opened{from}. The day-1 letters go out with the next run."
                    )),
                    trimmed,
                    ..Outcome::default()
                },
            )
        }
        Err(CaseworkError::RefusedRows(rows)) => {
            let problems: Vec<Problem> = rows.iter().map(|r| Problem::of(&workspace, r)).collect();
            let mut lines: Vec<&Option<String>> = problems.iter().map(|p| &p.line).collect();
            lines.dedup();
            let message = format!(
                "{} of the file cannot be imported, so nothing was imported: correct {} and import the whole file again",
                if lines.len() == 1 {
                    "1 row".to_owned()
                } else {
                    format!("{} rows", lines.len())
                },
                if lines.len() == 1 { "it" } else { "them" },
            );
            refused(message, problems)
        }
        Err(CaseworkError::Refused(message)) => refused(
            super::words::for_the_browser(&super::words::with_names(&workspace, &message)),
            Vec::new(),
        ),
        Err(e) => Page::failure(&workspace, &e.to_string()),
    }
}
