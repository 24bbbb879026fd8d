//! The sections of `rrn.toml` as typed values, with their defaults.

use std::path::PathBuf;

use chrono::{Days, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use crate::domain::address::{DisplayName, EmailAddress};
use crate::domain::calendar::Division;

/// `[partnership]`: who runs the reviews, where, and on which calendar.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Partnership {
    pub name: DisplayName,
    /// Civil dates ("today", "due on") are taken in this zone.
    pub timezone: Tz,
    pub division: Division,
    /// The partnership's own non-working days, as dates or `FROM..TO` spans.
    pub closure_days: Vec<ClosureDays>,
    /// The national panel's expectation for the whole Rapid Review, in working days from day 0.
    pub statutory_limit_working_days: u32,
}

impl Default for Partnership {
    fn default() -> Self {
        Self {
            name: DisplayName::parse("Safeguarding Children Partnership").expect("plain text"),
            timezone: chrono_tz::Europe::London,
            division: Division::EnglandAndWales,
            closure_days: Vec::new(),
            statutory_limit_working_days: 15,
        }
    }
}

/// One date or an inclusive span of dates: `"2026-12-29"` or `"2026-12-29..2026-12-31"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosureDays {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl ClosureDays {
    pub fn dates(self) -> impl Iterator<Item = NaiveDate> {
        self.first.iter_days().take_while(move |d| *d <= self.last)
    }
}

impl<'de> Deserialize<'de> for ClosureDays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(deserializer)?;
        let date = |s: &str| {
            crate::domain::calendar::parse_date(s.trim()).map_err(|_| {
                D::Error::custom(format!(
                    "invalid closure day `{text}`: use \"YYYY-MM-DD\" or \"YYYY-MM-DD..YYYY-MM-DD\""
                ))
            })
        };
        let (first, last) = match text.split_once("..") {
            Some((a, b)) => (date(a)?, date(b)?),
            None => (date(&text)?, date(&text)?),
        };
        if last < first {
            return Err(D::Error::custom(format!(
                "closure span `{text}` ends before it starts: write the earlier date first"
            )));
        }
        if first
            .checked_add_days(Days::new(366))
            .is_some_and(|limit| last > limit)
        {
            return Err(D::Error::custom(format!(
                "closure span `{text}` is longer than a year: list shorter spans"
            )));
        }
        Ok(Self { first, last })
    }
}

/// `[calendar]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarSection {
    /// A GOV.UK bank-holidays feed file; the built-in copy when unset.
    pub bank_holidays: Option<PathBuf>,
}

/// `[timeline]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimelineSection {
    /// The timeline file; the built-in one when unset.
    pub file: Option<PathBuf>,
}

/// `[database]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSection {
    /// `sqlite://…` or `postgres://…`; an SQLite file under the state directory when unset.
    pub url: Option<String>,
}

/// `[mail]`: how emails are sent and what they look like.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSection {
    pub transport: Transport,
    /// The folder `maildir` writes `.eml` files into; under the state directory when unset.
    pub maildir: Option<PathBuf>,
    /// The sender, `Name <address>` or a bare address.
    #[serde(deserialize_with = "sender")]
    pub from: String,
    /// Where replies go; the business team's address when unset.
    pub reply_to: Option<EmailAddress>,
    /// The protective marking every subject starts with.
    #[serde(deserialize_with = "header_text")]
    pub marking: String,
    /// The folder of the email templates.
    pub templates: Option<PathBuf>,
    /// Emails go out on working days between these local times; what is queued outside the
    /// window waits for the next one.
    #[serde(deserialize_with = "local_time")]
    pub window_start: NaiveTime,
    #[serde(deserialize_with = "local_time")]
    pub window_end: NaiveTime,
    /// A daily summary to the business team on working days: open cases, what is due in the
    /// next 3 working days, what is overdue, what failed to send. If it stops, the service is
    /// down.
    pub heartbeat: bool,
    /// Accept addresses whose domain has no dot (`lead@council`), for a relay that delivers
    /// such names inside one organisation; refused otherwise, as a typing slip.
    pub allow_local_domains: bool,
}

impl Default for MailSection {
    fn default() -> Self {
        Self {
            transport: Transport::Maildir,
            maildir: None,
            from: "Rapid Review Notifier <rrn@localhost>".to_owned(),
            reply_to: None,
            marking: "OFFICIAL-SENSITIVE".to_owned(),
            templates: None,
            window_start: NaiveTime::from_hms_opt(8, 0, 0).expect("a time"),
            window_end: NaiveTime::from_hms_opt(18, 0, 0).expect("a time"),
            heartbeat: false,
            allow_local_domains: false,
        }
    }
}

/// A local time of day written `HH:MM` (`[mail] window_start`, `window_end`).
fn local_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    NaiveTime::parse_from_str(&text, "%H:%M").map_err(|_| {
        serde::de::Error::custom(format!(
            "`{text}` is not a time: use HH:MM, for example 08:00"
        ))
    })
}

/// Text that goes into every header (`[mail] marking`, and `from`): refused at its key when it holds
/// a control or invisible formatting character, like a name.
fn header_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    DisplayName::parse(&text)
        .map(|_| text)
        .map_err(serde::de::Error::custom)
}

/// `[mail] from`: header text whose address (inside `<>`, or the whole of it) is one, refused at
/// its key otherwise rather than when the first email is made.
fn sender<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use serde::de::Error;
    let text = String::deserialize(deserializer)?;
    DisplayName::parse(&text).map_err(D::Error::custom)?;
    let refused = |why: String| {
        D::Error::custom(format!(
            "[mail] from `{text}` is not a sender: {why}; write `Name <address>` or an address, \
             e.g. \"Rapid Review Notifier <rapid-review@partnership.example>\""
        ))
    };
    let trimmed = text.trim();
    let address = match trimmed.rsplit_once('<') {
        Some((_, rest)) => rest
            .strip_suffix('>')
            .ok_or_else(|| refused("its `<` has no closing `>` at the end".to_owned()))?,
        None => trimmed,
    };
    EmailAddress::parse(address).map_err(|e| refused(e.to_string()))?;
    Ok(text)
}

/// `[mail] transport`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// Each message as an `.eml` file in `[mail] maildir`: real messages with no mail server.
    Maildir,
    Smtp,
}

/// `[smtp]`: the mail server. The password never goes here: it comes from `password_file`,
/// `$RRN_SMTP_PASSWORD` or the systemd credential `smtp-password`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSection {
    pub host: String,
    pub port: Option<u16>,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A PEM file of a private certificate authority to trust besides the system's (for a mail
    /// relay with an internal certificate).
    pub ca_file: Option<PathBuf>,
    /// How long any one wait on the server may last: connecting, TLS, the greeting, login, or
    /// a message's whole exchange (capped at half of `[service] lease_seconds`). A server that
    /// stops answering costs this once per delivery pass, never the pass itself.
    pub timeout_seconds: u64,
    /// With `tls = "none"`, lets a username log in anyway: AUTH then sends the password in
    /// clear text, so it must be asked for by name.
    pub allow_plaintext_auth: bool,
}

impl Default for SmtpSection {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: None,
            tls: SmtpTls::Starttls,
            username: None,
            password_file: None,
            ca_file: None,
            timeout_seconds: 30,
            allow_plaintext_auth: false,
        }
    }
}

/// `[smtp] tls`. There is no "opportunistic": a downgrade to plain text must be explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    Starttls,
    Implicit,
    None,
}

/// `[schedule]`: when the daemon (`rrn run`) evaluates, and how often it looks for changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSection {
    /// Five-field cron patterns in the partnership's timezone.
    pub runs: Vec<String>,
    /// How often the daemon looks for changes made with the CLI, retries due, a sending window
    /// opening, and (on PostgreSQL) a leader to replace.
    pub poll_seconds: u64,
}

impl Default for ScheduleSection {
    fn default() -> Self {
        Self {
            runs: vec!["0 8 * * Mon-Fri".to_owned(), "0 13 * * Mon-Fri".to_owned()],
            poll_seconds: 10,
        }
    }
}

/// `[service]`: how the daemon runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSection {
    /// `plain` (default) or `json`, to stderr.
    pub log_format: LogFormat,
    /// When set, `/healthz` and `/metrics` are served on 127.0.0.1 at this port.
    pub http_port: Option<u16>,
    /// How long a claimed outbox row belongs to the process that claimed it; a live sender
    /// renews it before each message, and another process may take the row only after it
    /// lapses.
    pub lease_seconds: u64,
}

impl Default for ServiceSection {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Plain,
            http_port: None,
            lease_seconds: 60,
        }
    }
}

/// `[service] log_format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Plain,
    Json,
}

/// `[csv]`: the case CSV as `rrn case export` writes it (import reads both date shapes).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvSection {
    pub date_format: DateFormat,
}

/// How the CSV export writes dates: `"DD/MM/YYYY"`, which a UK Excel opens as dates, or
/// `"ISO"` (`YYYY-MM-DD`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum DateFormat {
    #[default]
    #[serde(rename = "DD/MM/YYYY", alias = "dd/mm/yyyy")]
    Uk,
    #[serde(
        rename = "ISO",
        alias = "iso",
        alias = "YYYY-MM-DD",
        alias = "yyyy-mm-dd"
    )]
    Iso,
}

/// `[web]`: the workspace served by `rrn web`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// Where `rrn web` listens (`--listen` overrides).
    pub listen: std::net::SocketAddr,
    /// A session unused for this long ends.
    #[serde(deserialize_with = "session_minutes")]
    pub idle_timeout_minutes: u32,
    /// A session ends this long after sign-in, however busy.
    #[serde(deserialize_with = "session_minutes")]
    pub absolute_timeout_minutes: u32,
    /// Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve HTTPS directly: the certificate chain (PEM), and its private key (PEM). The key
    /// may instead come as the systemd credential `web-tls-key`, so the file can stay
    /// root-only; both are relative to the config file's folder.
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
}

impl Default for WebSection {
    fn default() -> Self {
        Self {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            idle_timeout_minutes: 30,
            absolute_timeout_minutes: 12 * 60,
            trusted_proxies: Vec::new(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl WebSection {
    pub fn session_limits(&self) -> crate::domain::account::SessionLimits {
        let minutes = |m: u32| std::time::Duration::from_secs(u64::from(m) * 60);
        crate::domain::account::SessionLimits {
            idle: minutes(self.idle_timeout_minutes),
            absolute: minutes(self.absolute_timeout_minutes),
        }
    }
}

/// A session timeout: a whole number of minutes from 1 to 10,080 (a week).
fn session_minutes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let minutes = i64::deserialize(deserializer)?;
    u32::try_from(minutes)
        .ok()
        .filter(|m| (1..=7 * 24 * 60).contains(m))
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{minutes} is not a session timeout: give a number of minutes from 1 to 10080 \
                 (a week)"
            ))
        })
}
