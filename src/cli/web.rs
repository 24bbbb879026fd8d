//! `rrn web`: serves the workspace until SIGINT or SIGTERM. `--demo` serves a throwaway
//! database with sample cases and a one-off sign-in, deleted on exit.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{Duration, Utc};
use secrecy::SecretString;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use super::case::open_store;
use super::{CliError, WebArgs, load, print};
use crate::casework::{Accounts, Casework, Opening};
use crate::domain::account::Role;
use crate::domain::case::CaseRef;
use crate::store::Store;
use crate::web::Workspace;

pub(super) fn run(
    _cli_runtime: &Runtime,
    config_path: Option<&Path>,
    args: WebArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut loaded = load(config_path, None)?;
    crate::service::daemon::init_logging(loaded.config.service.log_format);
    let listen: SocketAddr = args.listen.unwrap_or(loaded.config.web.listen);
    // Kept until the end of this function: the demo's folder goes with it.
    let demo_dir = if args.demo {
        let dir = tempfile::Builder::new()
            .prefix("rrn-web-demo-")
            .tempdir()
            .context("creating a folder for the demo")?;
        loaded.config.database.url =
            Some(format!("sqlite://{}", dir.path().join("demo.db").display()));
        Some(dir)
    } else {
        None
    };
    // Its own runtime, on every core: one request's work (the list's evaluation after a
    // change, a password hash) must not hold up the others.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the web server's runtime")?;
    runtime.block_on(async {
        let store = open_store(&loaded.config).await?;
        let demo_sign_in = match demo_dir {
            Some(_) => Some(seed_demo(&store, &loaded).await?),
            None => None,
        };
        let tls = crate::web::tls::acceptor(&loaded.config.web).map_err(|e| CliError::Usage(e.into()))?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} (give another with --listen ADDR)"))?;
        let address = listener.local_addr().context("the listening address")?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut text = format!("rrn web: the workspace is at {scheme}://{address}/\n");
        if let Some((email, password)) = &demo_sign_in {
            text.push_str(&format!(
                "sign in as {email} with the password {password}\n(a throwaway database: it is deleted when you stop this with Ctrl-C)\n"
            ));
        }
        print(out, &text)?;
        out.flush().ok();
        let workspace = Arc::new(Workspace::new(
            store,
            loaded.config.clone(),
            loaded.timeline.clone(),
            loaded.calendar.clone(),
            loaded.config.holiday_feed()?,
        ));
        let stop = CancellationToken::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            on_signal.cancel();
        });
        crate::web::serve(workspace, listener, tls, stop)
            .await
            .context("serving the workspace")?;
        Ok::<_, CliError>(())
    })?;
    drop(demo_dir);
    Ok(())
}

/// Three cases at different stages and a caseworker with a one-off password.
async fn seed_demo(store: &Store, loaded: &super::Loaded) -> Result<(String, String), CliError> {
    let now = Utc::now();
    let today = loaded.today();
    let agencies: Vec<_> = loaded
        .config
        .agencies
        .iter()
        .take(3)
        .map(|a| a.id.clone())
        .collect();
    let work = Casework {
        store,
        config: &loaded.config,
        timeline: &loaded.timeline,
        calendar: &loaded.calendar,
        actor: "rrn web --demo".to_owned(),
        now,
        dated: now,
        today,
    };
    if agencies.is_empty() {
        return Err(CliError::Usage(anyhow::anyhow!(
            "the demo needs [[agency]] entries in the config: run it from the source folder \
             (it finds config/rrn.toml) or give --config"
        )));
    }
    let back = |working_days: i32| loaded.calendar.add_working_days(today, -working_days);
    let cases = [
        ("RR-DEMO-001", 12, 2),
        ("RR-DEMO-002", 3, 0),
        ("RR-DEMO-003", 0, 0),
    ];
    for (reference, day0_ago, received) in cases {
        let day0 = back(day0_ago)?;
        let aware = loaded.calendar.add_working_days(day0, -2)?;
        let reference = CaseRef::parse(reference).expect("valid");
        work.open(Opening {
            reference: reference.clone(),
            aware,
            day0: Some(day0),
            agencies: agencies.clone(),
            local_review_proposed: false,
        })
        .await?;
        if day0_ago > 0 {
            let next = loaded.calendar.add_working_days(day0, 1)?;
            for milestone in [
                "business_team_copy",
                "agency_letters",
                "executive_chair_informed",
            ] {
                work.complete(&reference, milestone, None, next, None)
                    .await?;
            }
        }
        for agency in agencies.iter().take(received) {
            work.complete(
                &reference,
                "agency_summary",
                Some(agency),
                today,
                Some("received by email"),
            )
            .await?;
        }
    }
    let password = one_off_password()?;
    let email = "caseworker@demo.example".to_owned();
    Accounts {
        store,
        actor: "rrn web --demo".to_owned(),
        now: now - Duration::seconds(1),
    }
    .add(
        &email,
        "Demo Caseworker",
        Role::Caseworker,
        SecretString::from(password.clone()),
    )
    .await?;
    Ok((email, password))
}

/// 16 random letters and digits, in groups of four.
fn one_off_password() -> Result<String, CliError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| CliError::Failed(anyhow::anyhow!("random numbers: {e}")))?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}
