//! The configuration: found, parsed, overridden from the environment and validated once.
//!
//! Precedence: built-in defaults < the file < `RRN_<SECTION>__<KEY>` environment variables.
//! Search order for the file: `--config`, `$RRN_CONFIG`, `/etc/rapid-review-notifier/rrn.toml`,
//! `./config/rrn.toml`; with none of them, the built-in defaults stand alone. Relative paths in
//! the file resolve against the file's folder. Nothing here writes a file.

use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::domain::address::{DisplayName, EmailAddress};
use crate::domain::agency::AgencyId;
use crate::domain::calendar::{Calendar, Division, FeedError, HolidayFeed};
use crate::domain::contacts::{Agency, Contact, ContactsSection};
use crate::domain::diagnostic::Diagnostic;
use crate::domain::timeline::{Timeline, TimelineError};

/// The system-wide config file, used when neither `--config` nor `$RRN_CONFIG` is given.
pub const SYSTEM_CONFIG: &str = "/etc/rapid-review-notifier/rrn.toml";
/// The config of a checkout, used when there is no system-wide one.
pub const LOCAL_CONFIG: &str = "config/rrn.toml";
/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "RRN_CONFIG";
/// The prefix of environment overrides: `RRN_DATABASE__URL` sets `[database] url`.
const OVERRIDE_PREFIX: &str = "RRN_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path} (from {origin}) does not exist: check the path")]
    NotFound { path: PathBuf, origin: &'static str },
    #[error("cannot read config file {path}: {reason}")]
    Read {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Diagnostic),
    #[error("environment variable {var}: {message}")]
    Override { var: String, message: String },
    #[error(transparent)]
    Schedule(#[from] crate::service::schedule::ScheduleError),
    #[error("{0}")]
    Setting(String),
}

impl ConfigError {
    /// Whether the config itself was refused (fix the file, the path or a variable), rather
    /// than unreadable.
    pub fn refused(&self) -> bool {
        !matches!(self, ConfigError::Read { .. })
    }
}

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from; `None` for the built-in defaults.
    pub file: Option<PathBuf>,
    pub partnership: Partnership,
    pub calendar: CalendarSection,
    pub timeline: TimelineSection,
    pub database: DatabaseSection,
    pub mail: MailSection,
    pub smtp: SmtpSection,
    pub schedule: ScheduleSection,
    pub service: ServiceSection,
    pub contacts: ContactsSection,
    pub agencies: Vec<Agency>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    partnership: Partnership,
    calendar: CalendarSection,
    timeline: TimelineSection,
    database: DatabaseSection,
    mail: MailSection,
    smtp: SmtpSection,
    schedule: ScheduleSection,
    service: ServiceSection,
    contacts: ContactsSection,
    agency: Vec<RawAgency>,
}

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
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
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
    #[serde(deserialize_with = "header_text")]
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
    pub window_start: String,
    pub window_end: String,
    /// A daily summary to the business team on working days: open cases, what is due in the
    /// next 3 working days, what is overdue, what failed to send. If it stops, the service is
    /// down.
    pub heartbeat: bool,
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
            window_start: "08:00".to_owned(),
            window_end: "18:00".to_owned(),
            heartbeat: false,
        }
    }
}

/// Text that goes into every header (`[mail] from`, `marking`): refused at its key when it holds
/// a control or invisible formatting character, like a name.
fn header_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    DisplayName::parse(&text)
        .map(|_| text)
        .map_err(serde::de::Error::custom)
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgency {
    id: Spanned<AgencyId>,
    name: DisplayName,
    lead: Contact,
    manager: Contact,
}

impl Config {
    /// The local times of `[mail] window_start` and `window_end`.
    pub fn sending_window(&self) -> Result<(chrono::NaiveTime, chrono::NaiveTime), String> {
        let parse = |key: &str, value: &str| {
            chrono::NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| {
                format!("[mail] {key} `{value}` is not a time: use HH:MM, for example 08:00")
            })
        };
        let start = parse("window_start", &self.mail.window_start)?;
        let end = parse("window_end", &self.mail.window_end)?;
        if end <= start {
            return Err(format!(
                "[mail] window_end {} is not after window_start {}: the window is one span within a day",
                self.mail.window_end, self.mail.window_start
            ));
        }
        Ok((start, end))
    }

    /// Finds and loads the config, applying overrides from the process environment, then the
    /// command line's `--database` (see [`override_database`]).
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let file = locate(
            explicit,
            env.iter().find(|(k, _)| k == CONFIG_ENV).map(|(_, v)| v),
        )?;
        let mut config = Self::load_from(file.as_deref(), &env)?;
        if let Some(url) = DATABASE_OVERRIDE.get() {
            // Relative to where the command runs, as any path typed on a command line.
            let here = std::env::current_dir().unwrap_or_default();
            config.database.url = Some(resolve_sqlite_url(url, &here));
        }
        Ok(config)
    }

    /// Loads `file` (or the built-in defaults when `None`) with the `RRN_*__*` overrides in `env`.
    pub fn load_from(file: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let (mut text, mut name) = match file {
            Some(path) => (
                std::fs::read_to_string(path).map_err(|reason| ConfigError::Read {
                    path: path.to_owned(),
                    reason,
                })?,
                path.display().to_string(),
            ),
            None => (String::new(), "built-in defaults".to_owned()),
        };
        let mut raw: RawConfig = toml::from_str(&text)
            .map_err(|e| ConfigError::Invalid(Diagnostic::from_toml(&name, &text, &e)))?;

        let overrides: Vec<(&String, &String)> = env
            .iter()
            .filter(|(k, _)| k.starts_with(OVERRIDE_PREFIX) && k.contains("__"))
            .map(|(k, v)| (k, v))
            .collect();
        if !overrides.is_empty() {
            let mut table: toml::Table = text.parse().expect("parsed once already");
            for (var, value) in overrides {
                apply_override(&mut table, var, value)?;
            }
            // Re-read from text: `Spanned` values only deserialize from a TOML document.
            text = toml::to_string(&table).expect("a table serializes");
            name = format!("{name} with RRN_* overrides");
            raw = toml::from_str(&text).expect("each override was checked as it was applied");
        }

        let mut agencies: Vec<Agency> = Vec::with_capacity(raw.agency.len());
        for raw_agency in raw.agency {
            let id = raw_agency.id.get_ref();
            if agencies.iter().any(|a| &a.id == id) {
                return Err(ConfigError::Invalid(Diagnostic::at(
                    &name,
                    &text,
                    raw_agency.id.span(),
                    format!("duplicate agency id `{id}`: each [[agency]] needs its own id"),
                )));
            }
            agencies.push(Agency {
                id: raw_agency.id.into_inner(),
                name: raw_agency.name,
                lead: raw_agency.lead,
                manager: raw_agency.manager,
            });
        }

        crate::service::schedule::Schedule::new(&raw.schedule.runs, raw.partnership.timezone)?;
        if raw.schedule.poll_seconds == 0
            || raw.service.lease_seconds == 0
            || raw.smtp.timeout_seconds == 0
        {
            return Err(ConfigError::Setting(
                "[schedule] poll_seconds, [service] lease_seconds and [smtp] timeout_seconds \
                 must be at least 1"
                    .to_owned(),
            ));
        }
        check_plaintext(&raw.smtp, &name, &text)?;
        let base = file
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let resolve = |p: Option<PathBuf>| p.map(|p| base.join(p));
        let mut mail = raw.mail;
        mail.maildir = resolve(mail.maildir);
        mail.templates = resolve(mail.templates);
        let mut database = raw.database;
        // Absolute, so that the database a daemon and a CLI in another folder open is the same.
        let absolute_base = std::path::absolute(&base).unwrap_or_else(|_| base.clone());
        database.url = database
            .url
            .map(|url| resolve_sqlite_url(&url, &absolute_base));
        let mut smtp = raw.smtp;
        smtp.password_file = resolve(smtp.password_file);
        smtp.ca_file = resolve(smtp.ca_file);
        Ok(Self {
            file: file.map(Path::to_path_buf),
            partnership: raw.partnership,
            calendar: CalendarSection {
                bank_holidays: resolve(raw.calendar.bank_holidays),
            },
            timeline: TimelineSection {
                file: resolve(raw.timeline.file),
            },
            database,
            mail,
            smtp,
            schedule: raw.schedule,
            service: raw.service,
            contacts: raw.contacts,
            agencies,
        })
    }

    /// The bank-holidays feed named by `[calendar] bank_holidays`, or the built-in copy.
    pub fn holiday_feed(&self) -> Result<HolidayFeed, FeedError> {
        match &self.calendar.bank_holidays {
            Some(path) => HolidayFeed::load(path),
            None => Ok(HolidayFeed::builtin()),
        }
    }

    /// The working-day calendar of `division` (the configured one when `None`), closures included.
    pub fn calendar(&self, feed: &HolidayFeed, division: Option<Division>) -> Calendar {
        let closures: Vec<NaiveDate> = self
            .partnership
            .closure_days
            .iter()
            .flat_map(|c| c.dates())
            .collect();
        Calendar::new(
            feed,
            division.unwrap_or(self.partnership.division),
            &closures,
        )
    }

    /// The timeline named by `[timeline] file`, or the built-in one.
    pub fn load_timeline(&self) -> Result<Timeline, TimelineError> {
        match &self.timeline.file {
            Some(path) => Timeline::load(path),
            None => Ok(Timeline::builtin()),
        }
    }

    /// The daemon's evaluation schedule (its patterns were checked at load).
    pub fn schedule(&self) -> crate::service::schedule::Schedule {
        crate::service::schedule::Schedule::new(&self.schedule.runs, self.partnership.timezone)
            .expect("checked when the config was loaded")
    }

    /// The configured agency with this id.
    pub fn agency(&self, id: &AgencyId) -> Option<&Agency> {
        self.agencies.iter().find(|a| &a.id == id)
    }
}

/// `--database URL` from the command line: wins over the config and `RRN_DATABASE__URL` for
/// every config this process loads (a SIGHUP reload included). Set once, at the edge.
static DATABASE_OVERRIDE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes every [`Config::load`] of this process use `url` as its database.
pub fn override_database(url: String) {
    let _ = DATABASE_OVERRIDE.set(url);
}

/// A database URL as it may be shown: a password in it is replaced by `***`.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let slash = if rest.contains('/') { "/" } else { "" };
            format!("{scheme}://{user}:***@{host}{slash}{path}")
        }
        _ => url.to_owned(),
    }
}

/// An SQLite URL whose file path is relative, made relative to the config file's folder (as
/// every other path in the config is), so that the database does not depend on the folder a
/// command happens to run in. Other URLs, absolute paths and `:memory:` are kept as they are.
fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_owned();
    };
    let (path, query) = rest
        .split_once('?')
        .map_or((rest, None), |(p, q)| (p, Some(q)));
    if path.is_empty() || path.starts_with(':') || Path::new(path).is_absolute() {
        return url.to_owned();
    }
    let joined = base.join(path);
    match query {
        Some(query) => format!("sqlite://{}?{query}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    }
}

/// The default database: SQLite's `rrn.db` in the state directory.
pub fn default_sqlite_url() -> String {
    format!("sqlite://{}", state_dir().join("rrn.db").display())
}

/// Where `rrn` keeps its state (the SQLite database, the maildir): systemd's
/// `$STATE_DIRECTORY`, else `$XDG_STATE_HOME` or `~/.local/state`, in a `rapid-review-notifier`
/// folder.
pub fn state_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("STATE_DIRECTORY")
        .or_else(|| env("XDG_STATE_HOME").map(|p| p.join("rapid-review-notifier")))
        .or_else(|| env("HOME").map(|p| p.join(".local/state/rapid-review-notifier")))
        .unwrap_or_else(|| PathBuf::from("/var/lib/rapid-review-notifier"))
}

/// Refuses `[smtp]` settings that would put mail or the password on the network in clear text:
/// `tls = "none"` only to a relay on this machine, and a login over it only with
/// `allow_plaintext_auth = true`. Checked whatever `[mail] transport` says, so switching the
/// transport on later cannot turn a latent setting into a leak.
fn check_plaintext(smtp: &SmtpSection, name: &str, text: &str) -> Result<(), ConfigError> {
    if smtp.tls != SmtpTls::None {
        return Ok(());
    }
    let at = |key: &str, message: String| {
        ConfigError::Invalid(Diagnostic::at(name, text, smtp_span(text, key), message))
    };
    if !is_loopback(&smtp.host) {
        return Err(at(
            "tls",
            format!(
                "[smtp] tls = \"none\" sends mail to `{}` in clear text: use tls = \"starttls\" \
                 or \"implicit\" (\"none\" is only for a relay on this machine: localhost, \
                 127.0.0.1 or ::1)",
                smtp.host
            ),
        ));
    }
    if smtp.username.is_some() && !smtp.allow_plaintext_auth {
        return Err(at(
            "username",
            "[smtp] username with tls = \"none\" would send the password in clear text: use \
             tls = \"starttls\" or \"implicit\", or set allow_plaintext_auth = true in [smtp] \
             if the relay on this machine must have it"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Whether `host` names this machine without asking DNS: `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Where `[smtp] key` is written in `text` (the start of the file when it is a default).
fn smtp_span(text: &str, key: &str) -> std::ops::Range<usize> {
    #[derive(Deserialize)]
    struct Spans {
        #[serde(default)]
        smtp: std::collections::HashMap<String, Spanned<toml::Value>>,
    }
    toml::from_str::<Spans>(text)
        .ok()
        .and_then(|spans| spans.smtp.get(key).map(Spanned::span))
        .unwrap_or(0..0)
}

/// The config file to use, by the documented search order; `None` means built-in defaults.
pub fn locate(
    explicit: Option<&Path>,
    from_env: Option<&String>,
) -> Result<Option<PathBuf>, ConfigError> {
    let named = explicit
        .map(|p| (p.to_path_buf(), "--config"))
        .or_else(|| from_env.map(|p| (PathBuf::from(p), CONFIG_ENV)));
    if let Some((path, origin)) = named {
        return if path.exists() {
            Ok(Some(path))
        } else {
            Err(ConfigError::NotFound { path, origin })
        };
    }
    Ok([SYSTEM_CONFIG, LOCAL_CONFIG]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists()))
}

/// Sets `section.key` (any depth, split on `__`, lowercased) from `RRN_SECTION__KEY`, and checks
/// the result still makes a valid config. The value is read as a TOML value when it is one
/// (`587`, `true`, `["a", "b"]`) and as a string otherwise, or when only a string fits.
fn apply_override(table: &mut toml::Table, var: &str, value: &str) -> Result<(), ConfigError> {
    let fail = |message: String| ConfigError::Override {
        var: var.to_owned(),
        message,
    };
    let path: Vec<String> = var[OVERRIDE_PREFIX.len()..]
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect();
    if path.iter().any(String::is_empty) {
        return Err(fail(
            "empty key: write RRN_<SECTION>__<KEY>, for example RRN_DATABASE__URL".to_owned(),
        ));
    }
    let typed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"));
    let mut candidates: Vec<toml::Value> = typed.into_iter().collect();
    candidates.push(toml::Value::String(value.to_owned()));

    let mut first_error = None;
    for candidate in candidates {
        let mut trial = table.clone();
        let mut node = &mut trial;
        for key in &path[..path.len() - 1] {
            let entry = node
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = match entry {
                toml::Value::Table(t) => t,
                _ => return Err(fail(format!("`{key}` is not a section"))),
            };
        }
        node.insert(path[path.len() - 1].clone(), candidate);
        let trial_text = toml::to_string(&trial).expect("a table serializes");
        match toml::from_str::<RawConfig>(&trial_text) {
            Ok(_) => {
                *table = trial;
                return Ok(());
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.message().trim_end().to_owned());
            }
        }
    }
    Err(fail(first_error.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn built_in_defaults_are_england_and_wales_in_london() {
        let config = Config::load_from(None, &[]).unwrap();
        assert_eq!(config.partnership.division, Division::EnglandAndWales);
        assert_eq!(config.partnership.timezone, chrono_tz::Europe::London);
        assert_eq!(config.partnership.statutory_limit_working_days, 15);
    }

    #[test]
    fn environment_overrides_the_file_and_types_its_values() {
        let config = Config::load_from(
            None,
            &env(&[
                ("RRN_DATABASE__URL", "postgres://127.0.0.1/test"),
                ("RRN_PARTNERSHIP__STATUTORY_LIMIT_WORKING_DAYS", "16"),
                ("RRN_PARTNERSHIP__NAME", "2026"),
                ("RRN_CONFIG", "ignored-here"),
                ("RRN_TEST_POSTGRES_URL", "ignored: no double underscore"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.database.url.as_deref(),
            Some("postgres://127.0.0.1/test")
        );
        assert_eq!(config.partnership.statutory_limit_working_days, 16);
        assert_eq!(config.partnership.name.as_str(), "2026");
    }

    #[test]
    fn a_bad_override_names_the_variable() {
        let err = Config::load_from(None, &env(&[("RRN_PARTNERSHIP__DIVISION", "wales")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("RRN_PARTNERSHIP__DIVISION"), "{err}");
        let err = Config::load_from(None, &env(&[("RRN_NOSUCH__KEY", "1")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("RRN_NOSUCH__KEY") && err.contains("nosuch"),
            "{err}"
        );
    }

    #[test]
    fn closure_spans_expand_to_each_day() {
        let text = "[partnership]\nclosure_days = [\"2026-12-29..2026-12-31\", \"2027-04-06\"]\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rrn.toml");
        std::fs::write(&path, text).unwrap();
        let config = Config::load_from(Some(&path), &[]).unwrap();
        let days: Vec<NaiveDate> = config
            .partnership
            .closure_days
            .iter()
            .flat_map(|c| c.dates())
            .collect();
        assert_eq!(days.len(), 4);
    }

    fn load_text(text: &str, overrides: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rrn.toml");
        std::fs::write(&path, text).unwrap();
        Config::load_from(Some(&path), &env(overrides))
    }

    #[test]
    fn plain_text_smtp_is_only_for_a_relay_on_this_machine_and_a_login_over_it_is_asked_for() {
        let remote = "[mail]\ntransport = \"smtp\"\n\n[smtp]\nhost = \"smtp.partnership.example\"\ntls = \"none\"\n";
        let err = load_text(remote, &[]).unwrap_err();
        assert!(err.refused());
        let err = err.to_string();
        assert!(err.contains("rrn.toml:6:7"), "{err}");
        assert!(
            err.contains("tls")
                && err.contains("smtp.partnership.example")
                && err.contains("starttls"),
            "{err}"
        );
        // The same from the environment: still refused, located in the overridden text.
        let err = load_text(
            "",
            &[("RRN_SMTP__HOST", "10.0.0.25"), ("RRN_SMTP__TLS", "none")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("with RRN_* overrides") && err.contains("10.0.0.25"),
            "{err}"
        );

        for host in ["localhost", "127.0.0.1", "::1", "127.0.0.2"] {
            let config = load_text(&format!("[smtp]\nhost = \"{host}\"\ntls = \"none\"\n"), &[]);
            assert!(config.is_ok(), "{host}: {config:?}");
        }
        let login = "[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"rrn\"\n";
        let err = load_text(login, &[]).unwrap_err().to_string();
        assert!(err.contains("rrn.toml:4:12"), "{err}");
        assert!(
            err.contains("clear text") && err.contains("allow_plaintext_auth = true"),
            "{err}"
        );
        let allowed = format!("{login}allow_plaintext_auth = true\n");
        assert!(load_text(&allowed, &[]).unwrap().smtp.allow_plaintext_auth);
        // TLS protects the login: nothing to allow.
        let tls = "[smtp]\nhost = \"smtp.partnership.example\"\nusername = \"rrn\"\n";
        assert!(load_text(tls, &[]).is_ok());
    }

    #[test]
    fn an_unknown_key_is_located_by_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rrn.toml");
        std::fs::write(
            &path,
            "[partnership]\nname = \"x\"\ndivison = \"scotland\"\n",
        )
        .unwrap();
        let err = Config::load_from(Some(&path), &[]).unwrap_err().to_string();
        assert!(err.contains("rrn.toml:3:1"), "{err}");
        assert!(err.contains("divison"), "{err}");
    }

    #[test]
    fn a_relative_sqlite_path_is_relative_to_the_config_folder() {
        let base = Path::new("/etc/rapid-review-notifier");
        for (url, resolved) in [
            (
                "sqlite://rrn.db",
                "sqlite:///etc/rapid-review-notifier/rrn.db",
            ),
            (
                "sqlite:state/rrn.db?mode=rwc",
                "sqlite:///etc/rapid-review-notifier/state/rrn.db?mode=rwc",
            ),
            (
                "sqlite:///var/lib/rrn/rrn.db",
                "sqlite:///var/lib/rrn/rrn.db",
            ),
            ("sqlite::memory:", "sqlite::memory:"),
            ("postgres://rrn@db/rrn", "postgres://rrn@db/rrn"),
        ] {
            assert_eq!(super::resolve_sqlite_url(url, base), resolved, "{url}");
        }
    }

    #[test]
    fn a_password_in_a_database_url_is_never_shown() {
        assert_eq!(
            super::shown_url("postgres://rrn:s3cret@db.example/rrn?sslmode=require"),
            "postgres://rrn:***@db.example/rrn?sslmode=require"
        );
        assert_eq!(
            super::shown_url("postgres://rrn@db/rrn"),
            "postgres://rrn@db/rrn"
        );
        assert_eq!(
            super::shown_url("sqlite:///var/lib/rrn.db"),
            "sqlite:///var/lib/rrn.db"
        );
    }
}
