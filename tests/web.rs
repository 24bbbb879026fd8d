//! The web workspace as its users meet it: `rrn web` started on 127.0.0.1 with a database of
//! its own, driven by Debian's chromium through chromium-driver (WebDriver), and at the HTTP
//! level where a browser cannot go (a POST without its CSRF token, a viewer's POST).
//!
//! Without chromium and chromium-driver the browser tests are reported ignored, with the
//! reason; under `CI=true` they fail instead. axe-core (npm) is looked for under
//! `target/web-test/node_modules` (`.ci/run` installs it there) or at `$RRN_AXE_JS`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use libtest_mimic::{Completion, Failed, Trial};

use crate::common::{CONFIG, block_on, rrn_command};

pub(crate) fn trials() -> Vec<Trial> {
    let mut trials = vec![
        crate::trial(
            "web::a_form_without_its_csrf_token_changes_nothing".into(),
            a_form_without_its_csrf_token_changes_nothing,
        ),
        crate::trial(
            "web::a_viewer_sees_everything_and_can_change_nothing".into(),
            a_viewer_sees_everything_and_can_change_nothing,
        ),
        crate::trial(
            "web::every_role_reads_the_compliance_report_and_no_one_else".into(),
            every_role_reads_the_compliance_report_and_no_one_else,
        ),
        crate::trial(
            "web::five_wrong_passwords_lock_the_account_for_a_minute".into(),
            five_wrong_passwords_lock_the_account_for_a_minute,
        ),
        crate::trial(
            "web::a_session_idle_past_its_timeout_goes_back_to_sign_in".into(),
            a_session_idle_past_its_timeout_goes_back_to_sign_in,
        ),
        crate::trial(
            "web::nothing_is_shown_to_anyone_not_signed_in".into(),
            nothing_is_shown_to_anyone_not_signed_in,
        ),
    ];
    trials.push(crate::trial(
        "web::an_admin_sets_a_new_password_and_the_old_one_stops_working".into(),
        an_admin_sets_a_new_password_and_the_old_one_stops_working,
    ));
    trials.push(crate::trial(
        "web::with_a_certificate_it_serves_https_with_secure_cookies_and_a_silent_client_holds_up_no_one".into(),
        with_a_certificate_it_serves_https_with_secure_cookies_and_a_silent_client_holds_up_no_one,
    ));
    trials.push(crate::trial(
        "web::the_last_admin_cannot_be_taken_away".into(),
        the_last_admin_cannot_be_taken_away,
    ));
    for (name, test) in [
        (
            "web::an_upload_with_bad_rows_lists_each_row_and_field_and_opens_no_case",
            an_upload_with_bad_rows_lists_each_row_and_field_and_opens_no_case as fn(),
        ),
        (
            "web::a_good_upload_opens_every_case_and_says_which_spaces_it_removed",
            a_good_upload_opens_every_case_and_says_which_spaces_it_removed,
        ),
        (
            "web::an_upload_without_its_token_or_by_a_viewer_is_refused_and_changes_nothing",
            an_upload_without_its_token_or_by_a_viewer_is_refused_and_changes_nothing,
        ),
        (
            "web::an_admin_enables_a_disabled_account_and_it_signs_in_with_its_old_password",
            an_admin_enables_a_disabled_account_and_it_signs_in_with_its_old_password,
        ),
    ] {
        trials.push(crate::trial(name.into(), test));
    }
    trials.push(browser_trial(
        "web::a_caseworker_runs_a_case_from_the_browser",
        a_caseworker_runs_a_case_from_the_browser,
    ));
    trials.push(browser_trial(
        "web::the_script_confirms_and_filters_and_the_case_page_shows_a_timeline",
        the_script_confirms_and_filters_and_the_case_page_shows_a_timeline,
    ));
    trials.push(browser_trial(
        "web::the_main_steps_work_with_the_keyboard_alone",
        the_main_steps_work_with_the_keyboard_alone,
    ));
    trials.push(browser_trial(
        "web::every_kind_of_email_reads_in_a_browser_at_375_and_1000_px_with_or_without_css",
        every_kind_of_email_reads_in_a_browser_at_375_and_1000_px_with_or_without_css,
    ));
    trials
}

const CASEWORKER: (&str, &str) = (
    "casey.worker@partnership.example",
    "correct horse battery staple",
);
const VIEWER: (&str, &str) = ("val.viewer@partnership.example", "a viewer sees everything");
const ADMIN: (&str, &str) = ("ada.admin@partnership.example", "admins keep the keys safe");

/// A trial that needs the browser: ignored, with the reason, where it is missing (failed under
/// `CI=true`).
fn browser_trial(name: &str, test: fn(&Browser)) -> Trial {
    crate::ignorable_trial(name.to_owned(), move || {
        let missing: Vec<&str> = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if !missing.is_empty() {
            let reason = format!(
                "{} missing: apt-get install chromium chromium-driver",
                missing.join(" and ")
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                return Err(Failed::from(format!(
                    "under CI=true the browser must be there: {reason}"
                )));
            }
            eprintln!("web: ignored: {reason}");
            return Ok(Completion::ignored_with(reason));
        }
        let browser = Browser::start();
        test(&browser);
        Ok(Completion::Completed)
    })
}

/// `rrn web` on a database of its own, with a caseworker and a viewer.
struct Workspace {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    child: Child,
    address: SocketAddr,
}

impl Workspace {
    fn start() -> Self {
        Self::start_with(tempfile::tempdir().unwrap(), &[])
    }

    /// `rrn web` on a new database in `dir`, with `extra` variables for it alone.
    fn start_with(dir: tempfile::TempDir, extra: &[(String, String)]) -> Self {
        let env = vec![
            (
                "RRN_DATABASE__URL".to_owned(),
                format!("sqlite://{}", dir.path().join("rrn.db").display()),
            ),
            ("RRN_MAIL__TRANSPORT".to_owned(), "maildir".to_owned()),
            (
                "RRN_MAIL__MAILDIR".to_owned(),
                dir.path().join("maildir").display().to_string(),
            ),
        ];
        let mut workspace_env = env.clone();
        workspace_env.push(("RRN_WEB__IDLE_TIMEOUT_MINUTES".to_owned(), "30".to_owned()));
        workspace_env.extend(extra.iter().cloned());
        let add = |(email, password): (&str, &str), name: &str, role: &str| {
            let file = dir.path().join(format!("{role}.password"));
            std::fs::write(&file, password).unwrap();
            let output = rrn_command()
                .envs(env.iter().map(|(k, v)| (k, v)))
                .args([
                    "--config", CONFIG, "user", "add", email, "--name", name, "--role", role,
                    "--actor", "test",
                ])
                .arg("--password-file")
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "user add: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        add(CASEWORKER, "Casey Worker", "caseworker");
        add(VIEWER, "Val Viewer", "viewer");
        add(ADMIN, "Ada Admin", "admin");
        let mut child = rrn_command()
            .envs(workspace_env.iter().map(|(k, v)| (k, v)))
            .args(["--config", CONFIG, "web", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let address = first
            .split("://")
            .nth(1)
            .and_then(|rest| rest.trim().trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("rrn web said: {first:?}"));
        Self {
            dir,
            env,
            child,
            address,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Runs `rrn ARGS` against the workspace's database.
    fn rrn(&self, args: &[&str]) -> String {
        let output = rrn_command()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["--config", CONFIG])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "rrn {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Every row of every case table, to compare before and after a refused change.
    fn dump(&self) -> String {
        // On a thread of its own: the browser story calls it from inside its runtime.
        let url = self.env[0].1.clone();
        std::thread::spawn(move || {
            block_on(async {
                rrn::store::Store::open(&url)
                    .await
                    .unwrap()
                    .dump()
                    .await
                    .unwrap()
            })
        })
        .join()
        .unwrap()
    }

    /// Runs one SQL statement on the database (to age a session).
    fn sql(&self, statement: &'static str) {
        let url = self.env[0].1.clone();
        block_on(async move {
            use sqlx::Connection as _;
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        });
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

/// One HTTP/1.1 request on loopback, with a bound on every wait: (status, headers, body).
fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    cookie: &str,
    form: &str,
) -> (u16, String, String) {
    http_body(
        address,
        method,
        path,
        cookie,
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    )
}

/// [`http`] with a body of any content type (an upload's `multipart/form-data`).
fn http_body(
    address: SocketAddr,
    method: &str,
    path: &str,
    cookie: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // A server that answers before the whole body is sent (a refusal) may close the socket.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// One HTTPS request on loopback, trusting only `ca`, with a bound on every wait.
fn https(
    address: SocketAddr,
    ca: &std::path::Path,
    method: &str,
    path: &str,
    cookie: &str,
    form: &str,
) -> (u16, String, String) {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(address.ip().into());
    let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect_timeout(&address, Duration::from_secs(5)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    // The server closes without a TLS close_notify at times: what arrived is the response.
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

fn with_a_certificate_it_serves_https_with_secure_cookies_and_a_silent_client_holds_up_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let ca = crate::common::PrivateCa::new(dir.path());
    let extra = [
        (
            "RRN_WEB__TLS_CERT".to_owned(),
            ca.cert.display().to_string(),
        ),
        ("RRN_WEB__TLS_KEY".to_owned(), ca.key.display().to_string()),
    ];
    let workspace = Workspace::start_with(dir, &extra);
    // A client that connects and never starts its handshake.
    let _silent = TcpStream::connect_timeout(&workspace.address, Duration::from_secs(5)).unwrap();

    let (status, head, page) = https(workspace.address, &ca.ca, "GET", "/sign-in", "", "");
    assert_eq!(status, 200, "{head}");
    let form_cookie = set_cookie(&head, "rrn_sign_in").expect("the sign-in form's cookie");
    assert!(
        head.lines()
            .any(|l| l.starts_with("set-cookie: rrn_sign_in=") && l.ends_with("; Secure")),
        "{head}"
    );
    let form = form_encode(&[
        ("csrf_token", &csrf_token(&page)),
        ("email", CASEWORKER.0),
        ("password", CASEWORKER.1),
    ]);
    let (status, head, _) = https(
        workspace.address,
        &ca.ca,
        "POST",
        "/sign-in",
        &form_cookie,
        &form,
    );
    assert_eq!(status, 303, "{head}");
    // Over TLS the session cookie is `__Host-` and `Secure`: no other site or path can set it.
    let line = head
        .lines()
        .find(|l| l.starts_with("set-cookie: __Host-rrn_session="))
        .unwrap_or_else(|| panic!("{head}"));
    assert!(
        line.contains("Secure") && line.contains("HttpOnly") && line.contains("SameSite=Strict"),
        "{line}"
    );
    let session = set_cookie(&head, "__Host-rrn_session").unwrap();
    let (status, _, page) = https(workspace.address, &ca.ca, "GET", "/", &session, "");
    assert_eq!(status, 200);
    assert!(page.contains("Casey Worker"), "{page}");

    // Plain HTTP to the HTTPS port gets no page.
    let mut plain = TcpStream::connect_timeout(&workspace.address, Duration::from_secs(5)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    plain
        .write_all(b"GET /sign-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("Sign in"),
        "a page went out in clear text"
    );
}

/// The value of `name="csrf_token"` in a page.
fn csrf_token(page: &str) -> String {
    let at = page
        .find("name=\"csrf_token\" value=\"")
        .expect("a CSRF token in the page");
    page[at + 25..].split('"').next().unwrap().to_owned()
}

/// A cookie's `name=value` from the `Set-Cookie` headers of a response.
fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Signs in over HTTP: the session cookie, or the refusal's status and page.
fn sign_in(
    workspace: &Workspace,
    (email, password): (&str, &str),
) -> Result<String, (u16, String)> {
    let (_, head, page) = http(workspace.address, "GET", "/sign-in", "", "");
    let form_cookie = set_cookie(&head, "rrn_sign_in").expect("the sign-in form sets its cookie");
    let form = form_encode(&[
        ("csrf_token", &csrf_token(&page)),
        ("email", email),
        ("password", password),
    ]);
    let (status, head, page) = http(workspace.address, "POST", "/sign-in", &form_cookie, &form);
    match set_cookie(&head, "rrn_session") {
        Some(cookie) if status == 303 => {
            let line = head
                .lines()
                .find(|l| l.starts_with("set-cookie: rrn_session="))
                .unwrap();
            assert!(
                line.contains("HttpOnly") && line.contains("SameSite=Strict"),
                "{line}"
            );
            Ok(cookie)
        }
        _ => Err((status, page)),
    }
}

fn open_case(workspace: &Workspace, reference: &str) {
    let today = chrono::Utc::now().date_naive().to_string();
    workspace.rrn(&[
        "case",
        "open",
        reference,
        "--aware",
        &today,
        "--day0",
        &today,
        "--agency",
        "police",
        "--agency",
        "health",
        "--agency",
        "education",
        "--actor",
        "test",
    ]);
}

fn a_form_without_its_csrf_token_changes_nothing() {
    let workspace = Workspace::start();
    open_case(&workspace, "RR-CSRF-1");
    let cookie = sign_in(&workspace, CASEWORKER).unwrap();
    let before = workspace.dump();
    let (status, _, page) = http(
        workspace.address,
        "POST",
        "/cases/RR-CSRF-1/close",
        &cookie,
        "reason=forged",
    );
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("nothing was changed"), "{page}");
    let (status, _, _) = http(
        workspace.address,
        "POST",
        "/cases/RR-CSRF-1/close",
        &cookie,
        "reason=forged&csrf_token=0000",
    );
    assert_eq!(status, 403);
    assert_eq!(workspace.dump(), before);
    // With it, the same form is accepted.
    let (_, _, page) = http(workspace.address, "GET", "/cases/RR-CSRF-1", &cookie, "");
    let form = form_encode(&[
        ("csrf_token", &csrf_token(&page)),
        ("reason", "opened in error"),
    ]);
    let (status, head, _) = http(
        workspace.address,
        "POST",
        "/cases/RR-CSRF-1/close",
        &cookie,
        &form,
    );
    assert_eq!(status, 303, "{head}");
    assert_ne!(workspace.dump(), before);
}

fn a_viewer_sees_everything_and_can_change_nothing() {
    let workspace = Workspace::start();
    open_case(&workspace, "RR-VIEW-1");
    let cookie = sign_in(&workspace, VIEWER).unwrap();
    let (status, _, list) = http(workspace.address, "GET", "/", &cookie, "");
    assert_eq!(status, 200);
    assert!(
        list.contains("RR-VIEW-1") && !list.contains("Open a case"),
        "{list}"
    );
    let (status, head, page) = http(workspace.address, "GET", "/cases/RR-VIEW-1", &cookie, "");
    assert_eq!(status, 200);
    // Script only from the workspace's own file: none inline, none from elsewhere.
    assert!(head.contains("script-src 'self';"), "{head}");
    assert_eq!(
        page.matches("<script").count(),
        page.matches("<script src=\"/assets/rrn.js\" defer></script>")
            .count(),
        "{page}"
    );
    // A reference typed in another case is the same case, at its stored spelling's address.
    let (status, head, _) = http(workspace.address, "GET", "/cases/rr-view-1", &cookie, "");
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /cases/RR-VIEW-1\r\n"), "{head}");
    let (status, _, _) = http(workspace.address, "GET", "/cases/rr-view-2", &cookie, "");
    assert_eq!(status, 404);
    let forms: Vec<&str> = page
        .match_indices("<form method=\"post\" action=\"")
        .map(|(i, _)| &page[i + 28..i + 60])
        .collect();
    assert!(
        forms.iter().all(|f| f.starts_with("/sign-out")),
        "a viewer sees only sign-out: {forms:?}"
    );
    let before = workspace.dump();
    let form = form_encode(&[
        ("csrf_token", &csrf_token(&page)),
        ("reason", "a viewer tried"),
    ]);
    let (status, _, refusal) = http(
        workspace.address,
        "POST",
        "/cases/RR-VIEW-1/close",
        &cookie,
        &form,
    );
    assert_eq!(status, 403, "{refusal}");
    assert!(refusal.contains("needs the caseworker role"), "{refusal}");
    let (status, _, _) = http(workspace.address, "GET", "/cases/new", &cookie, "");
    assert_eq!(status, 403);
    assert_eq!(workspace.dump(), before);
}

/// `/report` is the page `rrn report --format html` writes, for every signed-in role and no one
/// else, with its stylesheet as a file of the workspace (its CSP allows no style in a page).
/// The figures themselves are worked out by hand in `report::`.
fn every_role_reads_the_compliance_report_and_no_one_else() {
    let workspace = Workspace::start();
    open_case(&workspace, "RR-REPORT-1");
    let (status, head, _) = http(workspace.address, "GET", "/report", "", "");
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /sign-in"), "{head}");
    let cookie = sign_in(&workspace, VIEWER).unwrap();
    let (status, head, page) = http(
        workspace.address,
        "GET",
        "/report?from=2026-04-01&to=2027-03-31",
        &cookie,
        "",
    );
    assert_eq!(status, 200, "{page}");
    assert!(head.contains("style-src 'self';"), "{head}");
    assert!(
        page.contains("<h1>1 April 2026 to 31 March 2027</h1>")
            && page.contains("<link rel=\"stylesheet\" href=\"/assets/report.css\">")
            && !page.contains("<style>")
            && !page.contains("<script"),
        "{page}"
    );
    let (status, head, css) = http(workspace.address, "GET", "/assets/report.css", "", "");
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/css"), "{head}");
    assert!(css.contains("font-family"), "{css}");
    // The default is the last complete April-to-March year; a period that runs backwards is
    // refused in words.
    let (status, _, page) = http(workspace.address, "GET", "/report", &cookie, "");
    assert_eq!(status, 200);
    assert!(page.contains("Rapid Review compliance report"), "{page}");
    let (status, _, page) = http(
        workspace.address,
        "GET",
        "/report?from=2027-01-01&to=2026-01-01",
        &cookie,
        "",
    );
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("after it ends on 2026-01-01"), "{page}");
}

fn five_wrong_passwords_lock_the_account_for_a_minute() {
    let workspace = Workspace::start();
    for attempt in 1..=5 {
        let (status, page) =
            sign_in(&workspace, (CASEWORKER.0, "not the password at all")).unwrap_err();
        assert_eq!(status, 401, "attempt {attempt}");
        let expected = if attempt < 5 {
            "The email address or the password is not right"
        } else {
            "wait a minute"
        };
        assert!(page.contains(expected), "attempt {attempt}: {page}");
    }
    let (status, page) = sign_in(&workspace, CASEWORKER).unwrap_err();
    assert_eq!(status, 401);
    assert!(page.contains("Too many failed attempts"), "{page}");
    // An email with no account reads the same as a wrong password.
    let (_, unknown) = sign_in(
        &workspace,
        ("nobody@partnership.example", "not the password at all"),
    )
    .unwrap_err();
    assert!(
        unknown.contains("The email address or the password is not right"),
        "{unknown}"
    );
    // A minute later the right password works.
    workspace.sql("UPDATE sign_in_throttle SET locked_until = '2000-01-01T00:00:00Z'");
    sign_in(&workspace, CASEWORKER).expect("signed in after the lockout");
    let audit = workspace.dump();
    let _ = audit;
}

fn a_session_idle_past_its_timeout_goes_back_to_sign_in() {
    let workspace = Workspace::start();
    let cookie = sign_in(&workspace, CASEWORKER).unwrap();
    let (status, _, _) = http(workspace.address, "GET", "/", &cookie, "");
    assert_eq!(status, 200);
    workspace.sql("UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00Z'");
    let (status, head, _) = http(workspace.address, "GET", "/", &cookie, "");
    assert_eq!(status, 303);
    assert!(head.contains("location: /sign-in"), "{head}");
    // Signing out ends the session at once.
    let cookie = sign_in(&workspace, CASEWORKER).unwrap();
    let (_, _, page) = http(workspace.address, "GET", "/", &cookie, "");
    let (status, _, _) = http(
        workspace.address,
        "POST",
        "/sign-out",
        &cookie,
        &form_encode(&[("csrf_token", &csrf_token(&page))]),
    );
    assert_eq!(status, 303);
    let (status, _, _) = http(workspace.address, "GET", "/", &cookie, "");
    assert_eq!(status, 303);
}

fn nothing_is_shown_to_anyone_not_signed_in() {
    let workspace = Workspace::start();
    open_case(&workspace, "RR-SECRET-1");
    for path in ["/", "/cases/RR-SECRET-1", "/cases/new"] {
        let (status, head, body) = http(workspace.address, "GET", path, "", "");
        assert_eq!(status, 303, "{path}");
        assert!(!body.contains("RR-SECRET-1"), "{path}: {body}");
        for header in [
            "content-security-policy: default-src 'none'",
            "x-content-type-options: nosniff",
            "referrer-policy: same-origin",
            "cache-control: no-store",
        ] {
            assert!(head.contains(header), "{path}: {header} in {head}");
        }
        assert!(!head.contains("unsafe-inline") && !head.contains("unsafe-eval"));
    }
    let (status, _, body) = http(
        workspace.address,
        "POST",
        "/cases/RR-SECRET-1/close",
        "",
        "reason=x",
    );
    assert_eq!(status, 403);
    assert!(!body.contains("RR-SECRET-1"));
    let (status, _, body) = http(workspace.address, "GET", "/healthz", "", "");
    assert_eq!((status, body.trim()), (200, "ok"));
    // The styles and the one script come from the binary, to anyone.
    for (file, kind) in [
        ("rrn.js", "text/javascript"),
        ("moj-timeline.min.css", "text/css"),
        ("MOJ-FRONTEND-LICENCE.txt", "text/plain"),
    ] {
        let (status, head, _) = http(workspace.address, "GET", &format!("/assets/{file}"), "", "");
        assert_eq!(status, 200, "{file}");
        assert!(
            head.contains(&format!("content-type: {kind}")),
            "{file}: {head}"
        );
    }
}

/// chromedriver and a headless chromium session.
struct Browser {
    driver: Child,
    port: u16,
}

impl Browser {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            // Under faketime the test process carries libfaketime: the browser need not.
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { driver, port }
    }

    async fn client(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]
            }),
        );
        tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{}", self.port)),
        )
        .await
        .expect("a browser session within 60 s")
        .expect("a browser session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// axe-core's script, where `.ci/run` puts it (or `$RRN_AXE_JS`).
fn axe_source() -> Option<String> {
    let path = std::env::var_os("RRN_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/web-test/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(path).ok()
}

/// axe-core's WCAG 2.2 A and AA violations on the page the browser shows.
async fn accessibility_violations(client: &Client, axe: &str) -> Vec<String> {
    let script = format!(
        "{axe}\nconst done = arguments[arguments.length - 1];\n\
         axe.run(document, {{ runOnly: {{ type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'] }} }})\n\
           .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))\n\
           .catch(e => done(['axe failed: ' + e]));"
    );
    let result = client
        .execute_async(&script, vec![])
        .await
        .expect("axe runs");
    serde_json::from_value(result).expect("a list of violations")
}

/// Writes a screenshot of the page at `width` under target/screenshots/.
async fn screenshot(client: &Client, name: &str, width: u32) {
    client.set_window_size(width, 2400).await.unwrap();
    let png = client.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
    client.set_window_size(1280, 1000).await.unwrap();
}

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Clicks a form's button and waits (at most 20 s) for the page it leads to.
async fn submit(client: &Client, css: &str) {
    let old = client.find(Locator::Css("html")).await.unwrap();
    click(client, css).await;
    wait_for_new_page(client, &old, &format!("clicking {css}")).await;
}

async fn select(client: &Client, id: &str, value: &str) {
    let css = format!("#{id} option[value='{value}']");
    click(client, &css).await;
}

/// The business team's story, as the issue tells it.
fn a_caseworker_runs_a_case_from_the_browser(browser: &Browser) {
    let workspace = Workspace::start();
    let axe = axe_source();
    if axe.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "under CI=true axe-core must be installed (npm install --prefix target/web-test axe-core)"
        );
    }
    let today = chrono::Utc::now().date_naive();
    // Day 0 the working day before today, so a run on working day 1 sends the letters.
    let config = rrn::config::Config::load_from(Some(Path::new(CONFIG)), &[]).unwrap();
    let calendar = config.calendar(&config.holiday_feed().unwrap(), None);
    let day0 = calendar.add_working_days(today, -1).unwrap();
    let day1 = calendar.add_working_days(day0, 1).unwrap();
    let mut violations = Vec::new();
    block_on(async {
        let client = browser.client().await;
        let mut check = async |client: &Client, page: &str| {
            if let Some(axe) = &axe {
                for v in accessibility_violations(client, axe).await {
                    violations.push(format!("{page}: {v}"));
                }
            }
        };
        client.goto(&workspace.url("/")).await.unwrap();
        assert!(client.current_url().await.unwrap().path() == "/sign-in");
        check(&client, "sign-in").await;
        screenshot(&client, "sign-in", 1280).await;
        screenshot(&client, "sign-in", 375).await;
        fill(&client, "email", CASEWORKER.0).await;
        fill(&client, "password", CASEWORKER.1).await;
        submit(&client, "form[action='/sign-in'] button").await;
        assert_eq!(client.current_url().await.unwrap().path(), "/");

        // Open a case with three agencies.
        client.goto(&workspace.url("/cases/new")).await.unwrap();
        check(&client, "open a case").await;
        fill(&client, "reference", "RR-2026-050").await;
        fill(&client, "aware", &day0.to_string()).await;
        fill(&client, "day0", &day0.to_string()).await;
        for agency in ["police", "health", "education"] {
            click(&client, &format!("#agency-{agency}")).await;
        }
        submit(&client, "form[action='/cases/new'] button").await;
        let source = client.source().await.unwrap();
        assert!(source.contains("The case was opened"), "{source}");

        // The day-1 letters are queued by the next run.
        let at = day1.to_string();
        if day1 > today {
            // Today is not a working day: the run is dated the next one, on this throwaway copy.
            workspace.rrn(&["run", "--once", "--at", &at, "--rehearse"]);
        } else {
            workspace.rrn(&["run", "--once"]);
        }
        client.refresh().await.unwrap();
        let emails = client
            .find(Locator::Id("emails"))
            .await
            .expect("the case's emails")
            .text()
            .await
            .unwrap();
        for lead in [
            "safeguarding-lead@police.example",
            "designated-nurse@health.example",
            "safeguarding@education.example",
        ] {
            assert!(emails.contains(lead), "a day-1 letter to {lead}:\n{emails}");
        }

        // Two agency summaries received.
        for agency in ["police", "health"] {
            select(&client, "milestone", &format!("agency_summary|{agency}")).await;
            fill(&client, "note", "received by secure email").await;
            submit(&client, "form[action$='/complete'] button").await;
            let source = client.source().await.unwrap();
            assert!(source.contains("recorded as done"), "{source}");
        }
        let returns = client
            .find(Locator::Id("returns"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(returns, "2 of 3 received");
        check(&client, "case").await;
        screenshot(&client, "case", 1280).await;
        screenshot(&client, "case", 375).await;

        // A completion dated before day 0 is refused, and nothing changes.
        let before = workspace.dump();
        select(&client, "milestone", "agency_summary|education").await;
        fill(&client, "on", &(today - chrono::Days::new(30)).to_string()).await;
        submit(&client, "form[action$='/complete'] button").await;
        let summary = client
            .find(Locator::Css(".govuk-error-summary"))
            .await
            .expect("the error summary")
            .text()
            .await
            .unwrap();
        assert!(
            summary.contains("There is a problem")
                && summary.contains("The date")
                && summary.contains("before")
                && !summary.contains("--on"),
            "{summary}"
        );
        let kept = client
            .find(Locator::Id("on"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(
            kept.as_deref(),
            Some((today - chrono::Days::new(30)).to_string().as_str()),
            "what was typed is kept"
        );
        let chosen = client
            .find(Locator::Css("#milestone option:checked"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap();
        assert_eq!(chosen.as_deref(), Some("agency_summary|education"));
        let undo = client
            .find(Locator::Id("undo"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            undo.contains("received by secure email") && undo.contains(CASEWORKER.0),
            "{undo}"
        );
        assert!(
            client.find(Locator::Id("on-error")).await.is_ok(),
            "the refusal beside the date"
        );
        check(&client, "case with an error").await;
        assert_eq!(
            workspace.dump(),
            before,
            "a refused completion changes nothing"
        );

        // The case list shows it.
        client.goto(&workspace.url("/")).await.unwrap();
        let list = client
            .find(Locator::Css("table"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            list.contains("RR-2026-050") && list.contains("2 of 3 received"),
            "{list}"
        );
        check(&client, "cases").await;
        screenshot(&client, "cases", 1280).await;
        screenshot(&client, "cases", 375).await;

        // Close it.
        submit(&client, "a[href='/cases/RR-2026-050']").await;
        fill(&client, "reason", "submitted to the national panel").await;
        // It asks first (the one script), and yes closes it.
        confirm(&client, "form[action$='/close'] button", true).await;
        let source = client.source().await.unwrap();
        assert!(source.contains("The case was closed"), "{source}");
        client.goto(&workspace.url("/?tab=closed")).await.unwrap();
        let closed = client
            .find(Locator::Css("table"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            closed.contains("RR-2026-050") && closed.contains("submitted to the national panel"),
            "{closed}"
        );
        // The report first: it is the standalone page (no menu, no sign-out), the calendar
        // the page the story goes on from.
        for (path, page) in [
            ("/report", "report"),
            ("/due", "due soon"),
            ("/calendar", "calendar"),
        ] {
            client.goto(&workspace.url(path)).await.unwrap();
            check(&client, page).await;
        }
        screenshot(&client, "calendar", 375).await;

        // An admin's pages.
        submit(&client, "form[action='/sign-out'] button").await;
        assert_eq!(client.current_url().await.unwrap().path(), "/sign-in");
        fill(&client, "email", ADMIN.0).await;
        fill(&client, "password", ADMIN.1).await;
        submit(&client, "form[action='/sign-in'] button").await;
        client.goto(&workspace.url("/outbox")).await.unwrap();
        let emails = client
            .find(Locator::Id("emails"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(emails.contains("RR-2026-050"), "{emails}");
        check(&client, "emails").await;
        client.goto(&workspace.url("/users")).await.unwrap();
        let accounts = client
            .find(Locator::Id("accounts"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            accounts.contains(CASEWORKER.0) && accounts.contains("Never"),
            "{accounts}"
        );
        check(&client, "users").await;
        screenshot(&client, "users", 1280).await;
        client.close().await.unwrap();
    });
    assert!(
        violations.is_empty(),
        "accessibility (axe-core, WCAG 2.2 A and AA):\n{}",
        violations.join("\n")
    );
    let audit = workspace.rrn(&["case", "show", "RR-2026-050"]);
    assert!(
        audit.contains(CASEWORKER.0),
        "the audit log names the signed-in person:\n{audit}"
    );
}

/// Presses Tab (at most 80 times) until the focus is on `css`.
async fn tab_to(client: &Client, css: &str) {
    let tab = char::from(fantoccini::key::Key::Tab).to_string();
    for _ in 0..80 {
        let on = client
            .execute(
                "return document.activeElement && document.activeElement.matches(arguments[0])",
                vec![serde_json::json!(css)],
            )
            .await
            .unwrap();
        if on == serde_json::json!(true) {
            return;
        }
        client
            .active_element()
            .await
            .unwrap()
            .send_keys(&tab)
            .await
            .unwrap();
    }
    panic!("Tab never reached {css}");
}

/// Types into whatever has the focus.
async fn type_keys(client: &Client, keys: &str) {
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

/// Signs in, opens a case and records a summary with the keyboard alone: Tab, typing, space and
/// Enter.
fn the_main_steps_work_with_the_keyboard_alone(browser: &Browser) {
    let workspace = Workspace::start();
    let today = chrono::Utc::now().date_naive().to_string();
    let enter = char::from(fantoccini::key::Key::Enter).to_string();
    block_on(async {
        let client = browser.client().await;
        client.goto(&workspace.url("/sign-in")).await.unwrap();
        tab_to(&client, "#email").await;
        type_keys(&client, CASEWORKER.0).await;
        tab_to(&client, "#password").await;
        type_keys(&client, &format!("{}{enter}", CASEWORKER.1)).await;
        wait_for_path(&client, "/").await;

        tab_to(&client, "a[href='/cases/new']").await;
        type_keys(&client, &enter).await;
        wait_for_path(&client, "/cases/new").await;
        for (field, text) in [
            ("#reference", "RR-KEYS-1"),
            ("#aware", today.as_str()),
            ("#day0", today.as_str()),
        ] {
            tab_to(&client, field).await;
            type_keys(&client, text).await;
        }
        for agency in ["police", "health"] {
            tab_to(&client, &format!("#agency-{agency}")).await;
            type_keys(&client, " ").await;
        }
        tab_to(&client, "form[action='/cases/new'] button").await;
        type_keys(&client, &enter).await;
        wait_for_path(&client, "/cases/RR-KEYS-1").await;

        tab_to(&client, "#milestone").await;
        // The select opens on the keyboard: type the start of the option's text.
        let option = client
            .find(Locator::Css(
                "#milestone option[value='agency_summary|police']",
            ))
            .await
            .unwrap();
        let label = option.text().await.unwrap();
        type_keys(&client, &label).await;
        tab_to(&client, "form[action$='/complete'] button").await;
        type_keys(&client, &enter).await;
        wait_until(
            Duration::from_secs(20),
            "the completion recorded",
            async || {
                let source = client.source().await.ok()?;
                source.contains("recorded as done").then_some(())
            },
        )
        .await;
        let returns = client
            .find(Locator::Id("returns"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(returns, "1 of 2 received");
        client.close().await.unwrap();
    });
}

/// Waits (at most 20 s) until the browser is at `path`.
async fn wait_for_path(client: &Client, path: &str) {
    wait_until(
        Duration::from_secs(20),
        &format!("the browser at {path}"),
        async || {
            let url = client.current_url().await.ok()?;
            (url.path() == path).then_some(())
        },
    )
    .await;
}

fn the_last_admin_cannot_be_taken_away() {
    let workspace = Workspace::start();
    let cookie = sign_in(&workspace, ADMIN).unwrap();
    let (_, _, page) = http(workspace.address, "GET", "/users", &cookie, "");
    let token = csrf_token(&page);
    for action in ["role", "disable"] {
        let form = form_encode(&[
            ("csrf_token", &token),
            ("action", action),
            ("email", ADMIN.0),
            ("role", "viewer"),
        ]);
        let (status, _, page) = http(workspace.address, "POST", "/users", &cookie, &form);
        assert_eq!(status, 400, "{action}: {page}");
        assert!(page.contains("your own"), "{action}: {page}");
    }
    // From the command line too: the only admin stays an admin.
    let output = rrn_command()
        .envs(workspace.env.iter().map(|(k, v)| (k, v)))
        .args([
            "--config", CONFIG, "user", "role", ADMIN.0, "viewer", "--actor", "test",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the only admin"), "{stderr}");
    // With a second admin, the first can be made a viewer (by the second).
    let form = form_encode(&[
        ("csrf_token", &token),
        ("action", "role"),
        ("email", CASEWORKER.0),
        ("role", "admin"),
    ]);
    let (status, _, _) = http(workspace.address, "POST", "/users", &cookie, &form);
    assert_eq!(status, 303);
    workspace.rrn(&["user", "role", ADMIN.0, "viewer", "--actor", "test"]);
    assert!(workspace.rrn(&["user", "list"]).contains("viewer"));
}

fn an_admin_sets_a_new_password_and_the_old_one_stops_working() {
    let workspace = Workspace::start();
    let viewer_cookie = sign_in(&workspace, VIEWER).unwrap();
    let cookie = sign_in(&workspace, ADMIN).unwrap();
    let (_, _, page) = http(workspace.address, "GET", "/users", &cookie, "");
    let token = csrf_token(&page);
    let set = |password: &str| {
        let form = form_encode(&[
            ("csrf_token", &token),
            ("action", "password"),
            ("email", VIEWER.0),
            ("password", password),
        ]);
        http(workspace.address, "POST", "/users", &cookie, &form)
    };
    let (status, _, page) = set("short");
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("at least 12"), "{page}");
    let (status, head, _) = set("a brand new viewer passphrase");
    assert_eq!(status, 303, "{head}");
    // The viewer's session has ended, the old password no longer works, the new one does.
    let (status, _, _) = http(workspace.address, "GET", "/", &viewer_cookie, "");
    assert_eq!(status, 303);
    assert!(sign_in(&workspace, VIEWER).is_err());
    sign_in(&workspace, (VIEWER.0, "a brand new viewer passphrase")).expect("the new password");
}

/// Issue 12: the HTML part of every kind of email the demo sends, as a mail client would show
/// it: inline styles only (no `<style>`, `<link>` or class), no images or anything fetched from
/// elsewhere, no sideways scrolling on a 375 px phone, and the same words with every style
/// taken away. Screenshots at 375 and 1000 px go to `target/screenshots/email-*.png`.
fn every_kind_of_email_reads_in_a_browser_at_375_and_1000_px_with_or_without_css(
    browser: &Browser,
) {
    let dir = tempfile::tempdir().unwrap();
    let demo = rrn_command()
        .args(["--config", CONFIG, "demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(demo.status.success(), "{demo:?}");
    let new = dir.path().join("maildir/new");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let messages: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    // (name, recipient, what its subject says): the first that matches.
    let kinds = [
        (
            "agency-letter",
            "safeguarding-lead@police.example",
            "please send your",
        ),
        (
            "reminder",
            "safeguarding-lead@police.example",
            "due Thu 7 Jan",
        ),
        (
            "overdue-owner",
            "safeguarding@education.example",
            "overdue since",
        ),
        (
            "escalation-chair",
            "executive-chair@partnership.example",
            "escalation",
        ),
        (
            "chair-notice",
            "executive-chair@partnership.example",
            "Rapid Review started",
        ),
        (
            "national-panel",
            "national-panel@panel.example",
            "(for information)",
        ),
        ("digest", "business-team@partnership.example", "3 tasks"),
        (
            "daily-summary",
            "business-team@partnership.example",
            "summary Fri 8 Jan",
        ),
    ];
    block_on(async {
        let client = browser.client().await;
        for (name, to, says) in kinds {
            let message = messages
                .iter()
                .find(|m| {
                    crate::common::header(m, "To").is_some_and(|t| t.contains(to))
                        && crate::common::header(m, "Subject").is_some_and(|s| s.contains(says))
                })
                .unwrap_or_else(|| panic!("no {name} email"));
            let html = crate::story::part(message, "text/html").unwrap();
            for banned in [
                "<style", "<link", "class=", "<img", "url(", "src=", "<script",
            ] {
                assert!(
                    !html.contains(banned),
                    "{banned} in the {name} email:\n{html}"
                );
            }
            let file = dir.path().join(format!("{name}.html"));
            std::fs::write(&file, &html).unwrap();
            client
                .goto(&format!("file://{}", file.display()))
                .await
                .unwrap();
            for width in [375, 1000] {
                screenshot(&client, &format!("email-{name}"), width).await;
            }
            client.set_window_size(375, 1000).await.unwrap();
            let wide: i64 = client
                .execute("return document.documentElement.scrollWidth;", vec![])
                .await
                .unwrap()
                .as_i64()
                .unwrap();
            assert!(
                wide <= 375,
                "the {name} email scrolls sideways on a phone: {wide} px"
            );
            let styled: String = client
                .execute("return document.body.innerText;", vec![])
                .await
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned();
            let bare: String = client
                .execute(
                    "document.querySelectorAll('[style]').forEach(e => e.removeAttribute('style'));\
                     return document.body.innerText;",
                    vec![],
                )
                .await
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned();
            let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(words(&styled), words(&bare), "{name}");
            assert!(
                bare.contains("RR-DEMO-001") || name == "daily-summary",
                "{bare}"
            );
            assert!(bare.starts_with("OFFICIAL-SENSITIVE"), "{name}: {bare}");
            client.set_window_size(1280, 1000).await.unwrap();
        }
        client.close().await.unwrap();
    });
}

/// A `multipart/form-data` body of `parts` (name, file name, content), in that order.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "rrn-test-7f3a9c";
    let mut body = Vec::new();
    for (name, file, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            Some(file) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                     Content-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// Uploads `csv` to `/import` as the form does: the token first, then the file.
fn upload(workspace: &Workspace, cookie: &str, token: &str, csv: &str) -> (u16, String, String) {
    let (content_type, body) = multipart(&[
        ("csrf_token", None, token.as_bytes()),
        ("file", Some("cases.csv"), csv.as_bytes()),
    ]);
    http_body(
        workspace.address,
        "POST",
        "/import",
        cookie,
        &content_type,
        &body,
    )
}

/// Today as the workspace's clock has it, day-first as a UK spreadsheet writes it, and ISO.
fn today_both_ways() -> (String, String) {
    let today = chrono::Utc::now().date_naive();
    (today.format("%d/%m/%Y").to_string(), today.to_string())
}

fn an_upload_with_bad_rows_lists_each_row_and_field_and_opens_no_case() {
    let workspace = Workspace::start();
    open_case(&workspace, "RR-2026-050");
    let cookie = sign_in(&workspace, CASEWORKER).unwrap();
    let (status, _, page) = http(workspace.address, "GET", "/import", &cookie, "");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
    let token = csrf_token(&page);
    let (uk, iso) = today_both_ways();
    let csv = format!(
        "reference,aware,day0,agencies\n\
         RR-IMP-1,{uk},,police;health\n\
         RR-IMP-2,13/25/2026,,police\n\
         RR-IMP-3,{iso},,police;fire brigade\n\
         rr-2026-050,{iso},,police\n\
         RR-IMP-1,{iso},,health\n"
    );
    let before = workspace.dump();
    let (status, _, page) = upload(&workspace, &cookie, &token, &csv);
    assert_eq!(status, 400, "{page}");
    let page = page.replace("&#x2f;", "/");
    for expected in [
        "4 rows of the file cannot be imported, so nothing was imported",
        "Line 3, aware: `13/25/2026` is not a date",
        "Line 4, agencies:",
        "Line 5, reference: case rr-2026-050 (as `RR-2026-050`",
        "Line 6, reference: RR-IMP-1 is also on line 2",
        "govuk-error-summary",
        "id=\"refused-rows\"",
    ] {
        assert!(page.contains(expected), "{expected:?} in {page}");
    }
    assert_eq!(workspace.dump(), before, "a refused import writes nothing");
    // A file without the columns is refused whole, and so is one that is not there.
    let (status, _, page) = upload(&workspace, &cookie, &token, "ref;date\nRR-1;x\n");
    assert_eq!(status, 400);
    assert!(page.contains("the header must start with"), "{page}");
    let (status, _, page) = upload(&workspace, &cookie, &token, "");
    assert_eq!(status, 400);
    assert!(page.contains("The file is empty"), "{page}");
    // No file chosen: the browser sends the part with no name and nothing in it.
    let (content_type, body) = multipart(&[
        ("csrf_token", None, token.as_bytes()),
        ("file", Some(""), b"".as_slice()),
    ]);
    let (status, _, page) = http_body(
        workspace.address,
        "POST",
        "/import",
        &cookie,
        &content_type,
        &body,
    );
    assert_eq!(status, 400);
    assert!(page.contains("Choose a CSV file"), "{page}");
    assert_eq!(workspace.dump(), before);
}

fn a_good_upload_opens_every_case_and_says_which_spaces_it_removed() {
    let workspace = Workspace::start();
    let cookie = sign_in(&workspace, CASEWORKER).unwrap();
    let (_, _, page) = http(workspace.address, "GET", "/", &cookie, "");
    assert!(
        page.contains("href=\"/import\""),
        "linked from the case list"
    );
    let (_, _, page) = http(workspace.address, "GET", "/import", &cookie, "");
    let token = csrf_token(&page);
    let (uk, iso) = today_both_ways();
    let csv = format!(
        "\u{feff}reference,aware,day0,agencies\r\n\
         RR-IMP-1,{uk},{uk},police;health\r\n\
         RR-IMP-2,{iso},,\" Police ; education \"\r\n"
    );
    let (status, _, page) = upload(&workspace, &cookie, &token, &csv);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("2 cases were opened from cases.csv"),
        "{page}"
    );
    assert!(
        page.contains("Spaces around 1 value was removed: line 3 agencies."),
        "{page}"
    );
    let list = workspace.rrn(&["case", "list"]);
    assert!(
        list.contains("RR-IMP-1") && list.contains("RR-IMP-2"),
        "{list}"
    );
    let shown = workspace.rrn(&["case", "show", "RR-IMP-2"]);
    assert!(
        shown.contains(CASEWORKER.0),
        "audited as the person: {shown}"
    );
    // The command line says the same of a file with spaces.
    let file = workspace.dir.path().join("more.csv");
    std::fs::write(
        &file,
        format!("reference,aware,day0,agencies\nRR-IMP-3 ,{iso},, police\n"),
    )
    .unwrap();
    let said = workspace.rrn(&["case", "import", file.to_str().unwrap(), "--actor", "test"]);
    assert!(
        said.contains("imported 1 case")
            && said
                .contains("spaces around 2 values were removed: line 2 reference, line 2 agencies"),
        "{said}"
    );
}

fn an_upload_without_its_token_or_by_a_viewer_is_refused_and_changes_nothing() {
    let workspace = Workspace::start();
    let cookie = sign_in(&workspace, CASEWORKER).unwrap();
    let (_, _, page) = http(workspace.address, "GET", "/import", &cookie, "");
    let token = csrf_token(&page);
    let (_, iso) = today_both_ways();
    let csv = format!("reference,aware,day0,agencies\nRR-FORGED-1,{iso},,police\n");
    let viewer = sign_in(&workspace, VIEWER).unwrap();
    let before = workspace.dump();
    let post = |cookie: &str, parts: &[(&str, Option<&str>, &[u8])]| {
        let (content_type, body) = multipart(parts);
        http_body(
            workspace.address,
            "POST",
            "/import",
            cookie,
            &content_type,
            &body,
        )
    };
    let file = ("file", Some("cases.csv"), csv.as_bytes());
    // No token; a wrong one; the right one but after the file (the guard reads only the first
    // part); the right one in a url-encoded form.
    for (what, parts) in [
        ("no token", vec![file]),
        (
            "a wrong token",
            vec![("csrf_token", None, b"0000".as_slice()), file],
        ),
        (
            "the token after the file",
            vec![file, ("csrf_token", None, token.as_bytes())],
        ),
    ] {
        let (status, _, page) = post(&cookie, &parts);
        assert_eq!(status, 403, "{what}: {page}");
        assert!(page.contains("nothing was changed"), "{what}: {page}");
    }
    let (status, _, _) = http(
        workspace.address,
        "POST",
        "/import",
        &cookie,
        &form_encode(&[("csrf_token", &token), ("file", &csv)]),
    );
    assert_eq!(status, 403, "a url-encoded form is no upload");
    // A file over 5 MB: refused with the limit in words (a larger request the guard refuses
    // with 413 before any handler, by the same bound).
    let big = format!("{csv}{}", " ".repeat(5 * 1024 * 1024));
    let (status, _, page) = upload(&workspace, &cookie, &token, &big);
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("larger than 5 MB"), "{page}");
    // A request that says it is larger than the bound is refused before any of it is read.
    let mut stream =
        TcpStream::connect_timeout(&workspace.address, Duration::from_secs(5)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /import HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {}\r\n\r\n",
        6 * 1024 * 1024
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("larger than 5 MB"), "{answer}");
    // A viewer with a good token of their own is refused by role.
    let (status, _, _) = http(workspace.address, "GET", "/import", &viewer, "");
    assert_eq!(status, 403);
    let (_, _, page) = http(workspace.address, "GET", "/", &viewer, "");
    assert!(!page.contains("href=\"/import\""), "{page}");
    let viewer_token = csrf_token(&page);
    let (status, _, page) = upload(&workspace, &viewer, &viewer_token, &csv);
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("needs the caseworker role"), "{page}");
    assert_eq!(workspace.dump(), before, "nothing was imported");
}

fn an_admin_enables_a_disabled_account_and_it_signs_in_with_its_old_password() {
    let workspace = Workspace::start();
    let cookie = sign_in(&workspace, ADMIN).unwrap();
    let (_, _, page) = http(workspace.address, "GET", "/users", &cookie, "");
    let token = csrf_token(&page);
    let act = |action: &str| {
        let form = form_encode(&[
            ("csrf_token", &token),
            ("action", action),
            ("email", VIEWER.0),
        ]);
        http(workspace.address, "POST", "/users", &cookie, &form)
    };
    let (status, _, page) = act("enable");
    assert_eq!(status, 400, "an active account is not enabled again");
    assert!(page.contains("is not disabled"), "{page}");
    let (status, _, _) = act("disable");
    assert_eq!(status, 303);
    assert!(sign_in(&workspace, VIEWER).is_err());
    let (_, _, page) = http(workspace.address, "GET", "/users", &cookie, "");
    assert!(
        page.contains("value=\"enable\""),
        "an Enable button: {page}"
    );
    let (status, head, _) = act("enable");
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /users?done=enable"), "{head}");
    sign_in(&workspace, VIEWER).expect("the old password works again");
    // From the command line too, audited like disable.
    workspace.rrn(&["user", "disable", VIEWER.0, "--actor", "test"]);
    let said = workspace.rrn(&["user", "enable", VIEWER.0, "--actor", "test"]);
    assert!(said.contains("enabled"), "{said}");
    assert!(workspace.rrn(&["user", "list"]).contains("active"));
    let output = rrn_command()
        .envs(workspace.env.iter().map(|(k, v)| (k, v)))
        .args([
            "--config", CONFIG, "user", "enable", VIEWER.0, "--actor", "test",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not disabled"));
    let dump = workspace.dump();
    assert_eq!(dump.matches("account-enable").count(), 2, "{dump}");
}

/// Polls `probe` (every 50 ms) until it gives a value, for at most `limit` in all, a probe
/// that hangs included: the one bounded wait of these tests.
async fn wait_until<T>(
    limit: Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, probe()).await {
            Ok(Some(value)) => return value,
            Ok(None) if Instant::now() < deadline => {}
            _ => panic!("{what}: not within {limit:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (at most 20 s) until the page the browser shows is no longer `old` and has loaded.
async fn wait_for_new_page(client: &Client, old: &fantoccini::elements::Element, after: &str) {
    // The old page's root element goes stale once the browser has left it.
    wait_until(
        Duration::from_secs(20),
        &format!("a new page after {after}"),
        async || old.tag_name().await.is_err().then_some(()),
    )
    .await;
    wait_until(Duration::from_secs(20), "the page loads", async || {
        let state = client.execute("return document.readyState", vec![]).await;
        state.is_ok_and(|s| s == "complete").then_some(())
    })
    .await;
}

/// Clicks a form's button that asks for a confirmation first: the question it asked, after
/// saying yes (and waiting for the page it leads to) or no.
async fn confirm(client: &Client, css: &str, yes: bool) -> String {
    let old = client.find(Locator::Css("html")).await.unwrap();
    click(client, css).await;
    let question = wait_until(
        Duration::from_secs(10),
        &format!("a confirmation after clicking {css}"),
        async || client.get_alert_text().await.ok(),
    )
    .await;
    if yes {
        client.accept_alert().await.unwrap();
        wait_for_new_page(client, &old, css).await;
    } else {
        client.dismiss_alert().await.unwrap();
    }
    question
}

/// The rows of the case list the browser shows (not hidden by the filter).
async fn shown_references(client: &Client) -> Vec<String> {
    let shown = client
        .execute(
            "return Array.from(document.querySelectorAll('#cases tbody tr'))\
               .filter(r => !r.hidden && r.offsetParent !== null)\
               .map(r => r.getAttribute('data-reference'))",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(shown).unwrap()
}

/// Writes a screenshot under target/screenshots/ at `width`, scrolled to `css`.
async fn screenshot_at(client: &Client, css: &str, name: &str, width: u32) {
    client.set_window_size(width, 1400).await.unwrap();
    let element = client.find(Locator::Css(css)).await.unwrap();
    client
        .execute(
            "arguments[0].scrollIntoView()",
            vec![serde_json::to_value(&element).unwrap()],
        )
        .await
        .unwrap();
    let png = client.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
    client.set_window_size(1280, 1000).await.unwrap();
}

/// The one script: Undo, Close and Reopen ask first (no changes nothing), the case list
/// filters as you type, a reference typed in another case finds its case, and the audit trail
/// is the MOJ timeline; axe-core finds nothing on these pages either.
fn the_script_confirms_and_filters_and_the_case_page_shows_a_timeline(browser: &Browser) {
    let workspace = Workspace::start();
    let axe = axe_source();
    if axe.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("under CI=true axe-core must be installed");
    }
    for reference in ["RR-2026-050", "RR-2026-051", "RR-2027-001"] {
        open_case(&workspace, reference);
    }
    let mut violations = Vec::new();
    block_on(async {
        let client = browser.client().await;
        client.goto(&workspace.url("/sign-in")).await.unwrap();
        fill(&client, "email", CASEWORKER.0).await;
        fill(&client, "password", CASEWORKER.1).await;
        submit(&client, "form[action='/sign-in'] button").await;

        // Filter as you type: the rows of the page not matching are hidden at once.
        client.goto(&workspace.url("/")).await.unwrap();
        assert_eq!(shown_references(&client).await.len(), 3);
        fill(&client, "find", "2026-05").await;
        let mut shown = shown_references(&client).await;
        shown.sort();
        assert_eq!(shown, ["RR-2026-050", "RR-2026-051"]);
        let status = wait_until(Duration::from_secs(10), "the filter's words", async || {
            let text = client
                .find(Locator::Id("filter-status"))
                .await
                .ok()?
                .prop("textContent")
                .await
                .ok()??;
            (!text.is_empty()).then_some(text)
        })
        .await;
        assert_eq!(status, "2 of the 3 cases on this page match 2026-05");
        fill(&client, "find", "rr-2027").await;
        assert_eq!(shown_references(&client).await, ["RR-2027-001"]);
        if let Some(axe) = &axe {
            for v in accessibility_violations(&client, axe).await {
                violations.push(format!("cases, filtered: {v}"));
            }
        }
        // The server's filter still answers the form.
        submit(&client, "form[action='/'] button").await;
        let url = client.current_url().await.unwrap();
        assert!(
            url.query().is_some_and(|q| q.starts_with("find=rr-2027&")),
            "{url}"
        );
        assert_eq!(shown_references(&client).await, ["RR-2027-001"]);

        // A reference typed in another case finds its case, at its own address.
        client
            .goto(&workspace.url("/cases/rr-2026-050"))
            .await
            .unwrap();
        assert_eq!(
            client.current_url().await.unwrap().path(),
            "/cases/RR-2026-050"
        );
        let title = client
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(title.starts_with("RR-2026-050"), "{title}");

        // Undo asks first: no leaves the completion as it was, yes undoes it.
        select(&client, "milestone", "agency_summary|police").await;
        submit(&client, "form[action$='/complete'] button").await;
        let before = workspace.dump();
        let undo = "#undo form button";
        let question = confirm(&client, undo, false).await;
        assert!(question.starts_with("Undo "), "{question}");
        assert!(client.find(Locator::Css(undo)).await.is_ok());
        assert_eq!(workspace.dump(), before, "no changes nothing");
        confirm(&client, undo, true).await;
        let source = client.source().await.unwrap();
        assert!(source.contains("recorded as not done"), "{source}");

        // Close and Reopen ask too.
        fill(&client, "reason", "opened in error").await;
        let question = confirm(&client, "form[action$='/close'] button", false).await;
        assert_eq!(
            question,
            "Close RR-2026-050? Nothing more will be sent for it."
        );
        confirm(&client, "form[action$='/close'] button", true).await;
        assert!(
            client
                .source()
                .await
                .unwrap()
                .contains("The case was closed")
        );
        let before = workspace.dump();
        let question = confirm(&client, "#reopen", false).await;
        assert!(question.starts_with("Reopen RR-2026-050?"), "{question}");
        assert_eq!(workspace.dump(), before);
        confirm(&client, "#reopen", true).await;
        assert!(
            client
                .source()
                .await
                .unwrap()
                .contains("The case was reopened")
        );

        // The audit trail as the MOJ timeline, newest first.
        let items = client
            .find_all(Locator::Css("#audit .moj-timeline__item"))
            .await
            .unwrap();
        let mut titles = Vec::new();
        for item in &items {
            let title = item
                .find(Locator::Css(".moj-timeline__title"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            titles.push(title);
        }
        assert!(titles.len() >= 5, "{titles:?}");
        let byline = items[0]
            .find(Locator::Css(".moj-timeline__byline"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(byline, format!("by {}", CASEWORKER.0));
        let datetime = items[0]
            .find(Locator::Css(".moj-timeline__date time"))
            .await
            .unwrap()
            .attr("datetime")
            .await
            .unwrap()
            .unwrap();
        assert!(
            datetime.ends_with('Z') && datetime.len() == 20,
            "{datetime}"
        );
        if let Some(axe) = &axe {
            for v in accessibility_violations(&client, axe).await {
                violations.push(format!("case with its timeline: {v}"));
            }
        }
        for width in [1280, 375] {
            screenshot_at(&client, "#audit", "case-timeline", width).await;
        }

        // The import page, and an upload from the browser's own file chooser.
        client.goto(&workspace.url("/import")).await.unwrap();
        if let Some(axe) = &axe {
            for v in accessibility_violations(&client, axe).await {
                violations.push(format!("import: {v}"));
            }
        }
        let file = workspace.dir.path().join("upload.csv");
        let today = chrono::Utc::now().date_naive();
        std::fs::write(
            &file,
            format!(
                "reference,aware,day0,agencies\nRR-UP-1,{},,police\nRR-UP-2,31/02/2026,,police\n",
                today.format("%d/%m/%Y")
            ),
        )
        .unwrap();
        client
            .find(Locator::Id("file"))
            .await
            .unwrap()
            .send_keys(file.to_str().unwrap())
            .await
            .unwrap();
        submit(&client, "form[action='/import'] button").await;
        let summary = client
            .find(Locator::Css(".govuk-error-summary"))
            .await
            .expect("the error summary")
            .text()
            .await
            .unwrap();
        assert!(
            summary.contains("Line 3, aware") && summary.contains("no day 31"),
            "{summary}"
        );
        if let Some(axe) = &axe {
            for v in accessibility_violations(&client, axe).await {
                violations.push(format!("import with errors: {v}"));
            }
        }
        screenshot(&client, "import-errors", 1280).await;
        screenshot(&client, "import-errors", 375).await;
        // Corrected, the whole file is imported.
        std::fs::write(
            &file,
            format!(
                "reference,aware,day0,agencies\nRR-UP-1,{day},,police\nRR-UP-2,{day},{day}, police;health\n",
                day = today.format("%d/%m/%Y")
            ),
        )
        .unwrap();
        client
            .find(Locator::Id("file"))
            .await
            .unwrap()
            .send_keys(file.to_str().unwrap())
            .await
            .unwrap();
        submit(&client, "form[action='/import'] button").await;
        let banner = client
            .find(Locator::Css(".govuk-notification-banner"))
            .await
            .expect("the confirmation")
            .text()
            .await
            .unwrap();
        assert!(
            banner.contains("2 cases were opened from upload.csv"),
            "{banner}"
        );
        let trimmed = client
            .find(Locator::Id("trimmed"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            trimmed,
            "Spaces around 1 value was removed: line 3 agencies."
        );
        if let Some(axe) = &axe {
            for v in accessibility_violations(&client, axe).await {
                violations.push(format!("import done: {v}"));
            }
        }
        screenshot(&client, "import-done", 375).await;
        client.close().await.unwrap();
    });
    assert!(
        violations.is_empty(),
        "accessibility (axe-core, WCAG 2.2 A and AA):\n{}",
        violations.join("\n")
    );
}
