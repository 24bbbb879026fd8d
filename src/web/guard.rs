//! The one place that decides who may see and do what: the session from its cookie, the role a
//! route needs, and the CSRF token of every form that changes something (checked before any
//! handler reads the form: a url-encoded form's `csrf_token` field, or an upload's first part,
//! which must be `csrf_token`). Also the headers every response carries.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest as _, Sha256};

use super::Workspace;
use super::pages::Page;
use crate::casework::{CaseworkError, Session, random_token};
use crate::config::WebSection;
use crate::domain::account::Role;

/// The session cookie's name; `__Host-` over TLS, so no other site or path can set it.
const SESSION_COOKIE: &str = "rrn_session";
const SECURE_SESSION_COOKIE: &str = "__Host-rrn_session";
/// The sign-in form's own token (there is no session yet to tie it to).
const SIGN_IN_COOKIE: &str = "rrn_sign_in";
/// The largest form accepted.
pub(super) const MAX_FORM_BYTES: usize = 64 * 1024;
/// The largest file an upload may carry (`/import`), and the whole request around it (the
/// token, the part headers and boundaries).
pub(super) const MAX_UPLOAD_FILE_BYTES: usize = 5 * 1024 * 1024;
pub(super) const MAX_UPLOAD_BYTES: usize = MAX_UPLOAD_FILE_BYTES + 16 * 1024;

/// What the requests of a route group that change something send: url-encoded forms, or
/// `multipart/form-data` uploads (a file, with the token as the first part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Accepts {
    Forms,
    Uploads,
}

/// The signed-in person of a request, put there by [`require`].
#[derive(Clone)]
pub(super) struct SignedIn {
    pub session: Session,
}

/// The client's address as the connection gives it (before any proxy's headers), over plain
/// TCP or TLS alike.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer(pub SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, super::tls::TlsListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, super::tls::TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// How the request reached us: over TLS (directly or through a trusted proxy), and from where.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin {
    pub tls: bool,
    pub client: IpAddr,
}

impl Origin {
    /// Over TLS when the workspace serves HTTPS itself (`[web] tls_cert`); otherwise
    /// `X-Forwarded-*` count, only from the proxies `[web] trusted_proxies` names.
    pub(super) fn of(peer: SocketAddr, headers: &HeaderMap, web: &WebSection) -> Self {
        let peer_ip = peer.ip();
        if web.tls_cert.is_some() {
            return Self {
                tls: true,
                client: peer_ip,
            };
        }
        let trusted: &[IpAddr] = &web.trusted_proxies;
        if !trusted.contains(&peer_ip) {
            return Self {
                tls: false,
                client: peer_ip,
            };
        }
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let client = text("x-forwarded-for")
            .and_then(|list| list.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok())
            .unwrap_or(peer_ip);
        Self {
            tls: text("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https")),
            client,
        }
    }

    fn session_cookie_name(self) -> &'static str {
        if self.tls {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    /// `Set-Cookie` for a cookie that lives as long as the browser session (or is cleared).
    fn cookie(self, name: &str, value: Option<&str>) -> HeaderValue {
        let secure = if self.tls { "; Secure" } else { "" };
        let text = match value {
            Some(value) => format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}"),
            None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
        };
        HeaderValue::from_str(&text).expect("cookie text is ASCII")
    }

    pub(super) fn session_cookie(self, token: Option<&str>) -> HeaderValue {
        self.cookie(self.session_cookie_name(), token)
    }

    pub(super) fn sign_in_cookie(self, token: Option<&str>) -> HeaderValue {
        self.cookie(SIGN_IN_COOKIE, token)
    }
}

/// The value of a cookie the request carries.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Whether two tokens are equal, comparing their hashes so the time taken says nothing.
fn same_token(given: &str, expected: &str) -> bool {
    !expected.is_empty() && Sha256::digest(given) == Sha256::digest(expected)
}

/// The `csrf_token` field of a url-encoded form.
fn form_token(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.into_owned())
}

/// The `csrf_token` of an upload: its first part, which must have that name; nothing after it
/// is read here.
async fn upload_token(parts: &axum::http::request::Parts, bytes: &Bytes) -> Option<String> {
    use axum::extract::FromRequest as _;
    let mut probe = Request::new(Body::from(bytes.clone()));
    *probe.headers_mut() = parts.headers.clone();
    probe.extensions_mut().extend(parts.extensions.clone());
    let mut multipart = axum::extract::Multipart::from_request(probe, &())
        .await
        .ok()?;
    let first = multipart.next_field().await.ok()??;
    if first.name() != Some("csrf_token") {
        return None;
    }
    first.text().await.ok()
}

/// Lets a request through only with a live session whose role allows `role`; and, unless it
/// only reads, only with the session's CSRF token in its form. Nothing else decides this.
pub(super) async fn require(
    State((workspace, role, accepts)): State<(Arc<Workspace>, Role, Accepts)>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    request: Request,
    next: Next,
) -> Response {
    let origin = Origin::of(peer, request.headers(), &workspace.config.web);
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    let token = cookie(request.headers(), origin.session_cookie_name()).map(str::to_owned);
    let now = workspace.now();
    let session = match token.as_deref() {
        None => None,
        Some(token) => match workspace.sessions().session(token, now).await {
            Ok(session) => session,
            Err(e) => return Page::failure(&workspace, &e.to_string()),
        },
    };
    let Some(session) = session else {
        if reads {
            return Redirect::to("/sign-in").into_response();
        }
        return Page::refusal(
            &workspace,
            None,
            StatusCode::FORBIDDEN,
            "Your session has ended: sign in again, then repeat what you were doing.",
        );
    };
    if !session.account.role.allows(role) {
        let message = format!(
            "Your account ({}) cannot do this: it needs the {role} role. Ask an admin of the \
             workspace if you need it.",
            session.account.role
        );
        return Page::refusal(&workspace, Some(&session), StatusCode::FORBIDDEN, &message);
    }
    let (mut parts, body) = request.into_parts();
    let body = if reads {
        body
    } else {
        let (limit, too_large) = match accepts {
            Accepts::Forms => (MAX_FORM_BYTES, "The form was too large to accept."),
            Accepts::Uploads => (
                MAX_UPLOAD_BYTES,
                "The file is larger than 5 MB, the most the workspace accepts, so nothing was \
                 imported. Split it into smaller files and import each of them.",
            ),
        };
        // A request that says it is larger is refused before any of it is read.
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let read = match declared {
            Some(n) if n > limit as u64 => Err(()),
            _ => axum::body::to_bytes(body, limit).await.map_err(|_| ()),
        };
        let bytes: Bytes = match read {
            Ok(bytes) => bytes,
            Err(()) => {
                return Page::refusal(
                    &workspace,
                    Some(&session),
                    StatusCode::PAYLOAD_TOO_LARGE,
                    too_large,
                );
            }
        };
        let given = match accepts {
            Accepts::Forms => form_token(&bytes),
            Accepts::Uploads => upload_token(&parts, &bytes).await,
        }
        .unwrap_or_default();
        if !same_token(&given, &session.csrf_token) {
            return Page::refusal(
                &workspace,
                Some(&session),
                StatusCode::FORBIDDEN,
                "The form had expired or did not come from this workspace, so nothing was changed. Go back, reload the page and try again.",
            );
        }
        Body::from(bytes)
    };
    parts.extensions.insert(SignedIn { session });
    parts.extensions.insert(origin);
    next.run(Request::from_parts(parts, body)).await
}

/// The sign-in form's token: the one its cookie holds, or a new one (`true`).
pub(super) fn sign_in_token(headers: &HeaderMap) -> Result<(String, bool), CaseworkError> {
    match cookie(headers, SIGN_IN_COOKIE) {
        Some(token) if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok((token.to_owned(), false))
        }
        _ => Ok((random_token()?, true)),
    }
}

/// Whether the sign-in form came with the token its cookie holds.
pub(super) fn sign_in_token_matches(headers: &HeaderMap, given: &str) -> bool {
    cookie(headers, SIGN_IN_COOKIE).is_some_and(|expected| same_token(given, expected))
}

/// The headers of every response: a strict Content-Security-Policy (script only from the
/// workspace's own files, never inline or `eval`), no
/// framing, no sniffing, no referrer beyond this site, and nothing with case data cached.
pub(super) async fn headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    response
}
