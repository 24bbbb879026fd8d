//! The configuration: found, parsed, overridden from the environment and validated once.
//!
//! Precedence: built-in defaults < the file < `RRN_<SECTION>__<KEY>` environment variables.
//! Search order for the file: `--config`, `$RRN_CONFIG`, `/etc/rapid-review-notifier/rrn.toml`,
//! `./config/rrn.toml`; with none of them, the built-in defaults stand alone. Relative paths in
//! the file resolve against the file's folder. Nothing here writes a file.

mod cleartext;
mod database;
mod reach;
mod relocate;
mod schedule;
mod sections;

use cleartext::check_plaintext;
use database::{DATABASE_OVERRIDE, relative_sqlite_path, resolve_sqlite_url};
pub use database::{
    SERVICE_STATE_DIR, default_sqlite_url, override_database, shown_url, state_dir,
};
use reach::check_reach;
pub use schedule::{Schedule, ScheduleError};
pub use sections::*;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use crate::domain::address::DisplayName;
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
    /// A refusal with no place in a file (a setting without a config file).
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
    /// `[schedule] runs`, parsed.
    runs: Schedule,
    pub service: ServiceSection,
    pub contacts: ContactsSection,
    pub agencies: Vec<Agency>,
    pub web: WebSection,
    pub csv: CsvSection,
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
    csv: CsvSection,
    web: WebSection,
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
    /// The relay's host when mail goes through SMTP to another machine: what a rehearsal must
    /// not reach, since its emails would land in real people's inboxes.
    pub fn relay_beyond_this_machine(&self) -> Option<&str> {
        (self.mail.transport == Transport::Smtp && !cleartext::is_loopback(&self.smtp.host))
            .then_some(self.smtp.host.as_str())
    }

    /// The local times of `[mail] window_start` and `window_end` (the end after the start).
    pub fn sending_window(&self) -> (chrono::NaiveTime, chrono::NaiveTime) {
        (self.mail.window_start, self.mail.window_end)
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
        let mut raw: RawConfig =
            toml::from_str(&text).map_err(|e| ConfigError::Invalid(in_words(&name, &text, &e)))?;

        let (written_name, written) = (name.clone(), text.clone());
        let mut applied = Vec::new();
        if let Some((overridden, overrides)) = with_overrides(&text, env)? {
            // Re-read from text: `Spanned` values only deserialize from a TOML document.
            text = overridden;
            name = format!("{name} with RRN_* overrides");
            raw = toml::from_str(&text).expect("each override was checked as it was applied");
            applied = overrides;
        }
        // A refusal of the overridden document, put at the variable or the file's own line.
        let placed = |error: ConfigError| match applied.is_empty() {
            true => error,
            false => relocate::relocate(error, &text, &written_name, &written, &applied),
        };
        let agencies =
            unique_agencies(std::mem::take(&mut raw.agency), &name, &text).map_err(placed)?;

        // A value's refusal at the value (or the variable that set it).
        let at = |path: &[&str], index: Option<usize>, message: String| {
            placed(ConfigError::Invalid(Diagnostic::at(
                &name,
                &text,
                value_span(&text, path, index).unwrap_or(0..0),
                message,
            )))
        };
        let runs = Schedule::new(&raw.schedule.runs, raw.partnership.timezone)
            .map_err(|e| at(&["schedule", "runs"], Some(e.index), e.to_string()))?;
        if raw.mail.window_end <= raw.mail.window_start {
            let key = match value_span(&text, &["mail", "window_end"], None) {
                Some(_) => "window_end",
                None => "window_start",
            };
            return Err(at(
                &["mail", key],
                None,
                format!(
                    "[mail] window_end {} is not after window_start {}: the sending window is \
                     one span within a day, e.g. window_start = \"08:00\" and window_end = \
                     \"18:00\"",
                    raw.mail.window_end.format("%H:%M"),
                    raw.mail.window_start.format("%H:%M")
                ),
            ));
        }
        for (section, key, seconds) in [
            ("schedule", "poll_seconds", raw.schedule.poll_seconds),
            ("service", "lease_seconds", raw.service.lease_seconds),
            ("smtp", "timeout_seconds", raw.smtp.timeout_seconds),
        ] {
            if seconds == 0 {
                return Err(at(
                    &[section, key],
                    None,
                    format!("[{section}] {key} is 0: give a number of seconds of at least 1"),
                ));
            }
        }
        check_plaintext(&raw.smtp, &name, &text).map_err(placed)?;
        check_reach(&raw.mail, &raw.contacts, &agencies, &name, &text).map_err(placed)?;
        let base = file
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let resolve = |p: Option<PathBuf>| p.map(|p| base.join(p));
        let mut mail = raw.mail;
        mail.maildir = resolve(mail.maildir);
        mail.templates = resolve(mail.templates);
        let mut database = raw.database;
        if file.is_none()
            && let Some(url) = &database.url
            && let Some((path, _)) = relative_sqlite_path(url)
        {
            // Without a config file there is no folder to be relative to but the current one,
            // which differs between the daemon, a timer and a person's shell.
            return Err(ConfigError::Setting(format!(
                "RRN_DATABASE__URL: the SQLite path `{path}` is relative and there is no config \
                 file for it to be relative to, so each folder a command runs in would get its \
                 own database: give an absolute path, e.g. sqlite:///var/lib/rapid-review-notifier/rrn.db"
            )));
        }
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
            runs,
            service: raw.service,
            contacts: raw.contacts,
            agencies,
            web: WebSection {
                tls_cert: resolve(raw.web.tls_cert),
                tls_key: resolve(raw.web.tls_key),
                ..raw.web
            },
            csv: raw.csv,
        })
    }

    /// The bank-holidays feed named by `[calendar] bank_holidays`, or the built-in copy.
    pub fn holiday_feed(&self) -> Result<HolidayFeed, FeedError> {
        let (text, origin) = self.holiday_feed_text()?;
        HolidayFeed::parse(&text, &origin)
    }

    /// The working-day calendar of `division` (the configured one when `None`), closures included.
    pub fn calendar(&self, feed: &HolidayFeed, division: Option<Division>) -> Calendar {
        Calendar::new(
            feed,
            division.unwrap_or(self.partnership.division),
            &self.closure_dates(),
        )
    }

    /// Every date of `[partnership] closure_days`, spans spread out.
    pub fn closure_dates(&self) -> Vec<NaiveDate> {
        self.partnership
            .closure_days
            .iter()
            .flat_map(|c| c.dates())
            .collect()
    }

    /// The timeline's text and where it comes from (`[timeline] file`, or the built-in one),
    /// read once: what the service parses is what it records it planned with.
    pub fn timeline_text(&self) -> Result<(String, String), TimelineError> {
        match &self.timeline.file {
            Some(path) => Ok((
                std::fs::read_to_string(path).map_err(|reason| TimelineError::Read {
                    path: path.display().to_string(),
                    reason,
                })?,
                path.display().to_string(),
            )),
            None => Ok((
                Timeline::BUILTIN_TEXT.to_owned(),
                "the built-in timeline".to_owned(),
            )),
        }
    }

    /// The bank-holiday feed's text and where it comes from, read once (see [`timeline_text`]).
    ///
    /// [`timeline_text`]: Self::timeline_text
    pub fn holiday_feed_text(&self) -> Result<(String, String), FeedError> {
        match &self.calendar.bank_holidays {
            Some(path) => Ok((HolidayFeed::read(path)?, path.display().to_string())),
            None => Ok((
                HolidayFeed::BUILTIN_TEXT.to_owned(),
                "the built-in bank-holidays feed".to_owned(),
            )),
        }
    }

    /// The timeline named by `[timeline] file`, or the built-in one.
    pub fn load_timeline(&self) -> Result<Timeline, TimelineError> {
        let (text, origin) = self.timeline_text()?;
        Timeline::parse(&text, &origin)
    }

    /// The daemon's evaluation schedule, parsed at load.
    pub fn schedule(&self) -> &Schedule {
        &self.runs
    }

    /// The configured agency with this id.
    pub fn agency(&self, id: &AgencyId) -> Option<&Agency> {
        self.agencies.iter().find(|a| &a.id == id)
    }
}

/// The config text with the `RRN_<SECTION>__<KEY>` variables of `env` applied, each checked as
/// it is applied; `None` when there are none.
/// The document with every `RRN_*__*` override of `env` applied, and each variable applied with
/// its key path; `None` when there are none.
fn with_overrides(
    text: &str,
    env: &[(String, String)],
) -> Result<Option<(String, Vec<relocate::Applied>)>, ConfigError> {
    let overrides: Vec<(&String, &String)> = env
        .iter()
        .filter(|(k, _)| k.starts_with(OVERRIDE_PREFIX) && k.contains("__"))
        .map(|(k, v)| (k, v))
        .collect();
    if overrides.is_empty() {
        return Ok(None);
    }
    let mut table: toml::Table = text.parse().expect("parsed once already");
    let mut applied = Vec::with_capacity(overrides.len());
    for (var, value) in overrides {
        apply_override(&mut table, var, value)?;
        applied.push((var.clone(), override_path(var)));
    }
    Ok(Some((
        toml::to_string(&table).expect("a table serializes"),
        applied,
    )))
}

/// Where the value at `path` (`["mail", "window_end"]`), or its `index`-th item, is written in
/// `text`; `None` when it is not (a default).
fn value_span(text: &str, path: &[&str], index: Option<usize>) -> Option<std::ops::Range<usize>> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let (first, rest) = path.split_first()?;
    let mut value = root.get_ref().get(*first)?;
    for key in rest {
        value = value.get_ref().get(*key)?;
    }
    if let Some(index) = index {
        value = value.get_ref().get(index)?;
    }
    Some(value.span())
}

/// The `[[agency]]` entries, refused at the second of two with one id.
fn unique_agencies(
    raw: Vec<RawAgency>,
    name: &str,
    text: &str,
) -> Result<Vec<Agency>, ConfigError> {
    let mut agencies: Vec<Agency> = Vec::with_capacity(raw.len());
    for raw_agency in raw {
        let id = raw_agency.id.get_ref();
        if agencies.iter().any(|a| &a.id == id) {
            return Err(ConfigError::Invalid(Diagnostic::at(
                name,
                text,
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
    Ok(agencies)
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

/// The key path `RRN_SECTION__KEY` sets: `["section", "key"]`.
fn override_path(var: &str) -> Vec<String> {
    var[OVERRIDE_PREFIX.len()..]
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Sets `section.key` (any depth, split on `__`, lowercased) from `RRN_SECTION__KEY`, and checks
/// the result still makes a valid config. The value is read as a TOML value when it is one
/// (`587`, `true`, `["a", "b"]`) and as a string otherwise, or when only a string fits.
fn apply_override(table: &mut toml::Table, var: &str, value: &str) -> Result<(), ConfigError> {
    let fail = |message: String| ConfigError::Override {
        var: var.to_owned(),
        message,
    };
    let path = override_path(var);
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
                // In the words a file's mistake gets; its place is the variable.
                first_error.get_or_insert_with(|| in_words("", &trial_text, &e).message);
            }
        }
    }
    Err(fail(first_error.unwrap_or_default()))
}

#[cfg(test)]
mod tests;

/// A TOML error at its place, with serde's type names (`invalid type: string "10", expected
/// u64`) put in words: "poll_seconds: a number of seconds, e.g. 10, not the text \"10\"".
fn in_words(file: &str, text: &str, error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim_end();
    // The key is what comes before `=` on the value's line.
    let start = span.start.min(text.len());
    let line = &text[text[..start].rfind('\n').map_or(0, |i| i + 1)..start];
    let key = line.split('=').next().unwrap_or("").trim();
    let named = if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    };
    let value = text.get(span.clone()).unwrap_or("").trim();
    // A value of the right type that is not one of the choices, or not a timezone or address.
    if let Some((variant, expected)) = message
        .strip_prefix("unknown variant ")
        .and_then(|m| m.split_once(", expected "))
    {
        // serde says "`a` or `b`" for two and "one of `a`, `b`, `c`" for more.
        let listed: Vec<String> = expected
            .trim_start_matches("one of ")
            .split(", ")
            .flat_map(|c| c.split(" or "))
            .map(|c| format!("\"{}\"", c.trim().trim_matches('`')))
            .collect();
        let choices = match listed.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => listed.concat(),
        };
        let variant = variant.trim_matches('`');
        return Diagnostic::at(
            file,
            text,
            span,
            format!("{named}\"{variant}\" is not one of the choices: write {choices}"),
        );
    }
    if message.starts_with("failed to parse timezone") {
        return Diagnostic::at(
            file,
            text,
            span,
            format!(
                "{named}{value} is not a timezone: write its IANA name, e.g. \"Europe/London\""
            ),
        );
    }
    if message == "invalid socket address syntax" {
        return Diagnostic::at(
            file,
            text,
            span,
            format!(
                "{named}{value} is not an address and port: write an IP address and a port, \
                 e.g. \"127.0.0.1:8080\""
            ),
        );
    }
    let Some((found, expected)) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|m| m.split_once(", expected "))
    else {
        return Diagnostic::from_toml(file, text, error);
    };
    let wanted = match expected.trim() {
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
            if key.ends_with("_seconds") {
                "a number of seconds, e.g. 10".to_owned()
            } else if key.ends_with("_minutes") {
                "a number of minutes, e.g. 30".to_owned()
            } else if key.ends_with("port") {
                "a port number, e.g. 587".to_owned()
            } else {
                "a whole number, e.g. 10".to_owned()
            }
        }
        "a boolean" => "true or false (without quotes)".to_owned(),
        "a string" => "text in quotes".to_owned(),
        "a sequence" => "a list in square brackets, e.g. [\"a\", \"b\"]".to_owned(),
        other => other.to_owned(),
    };
    let got = if let Some(s) = found.strip_prefix("string ") {
        format!("the text {s}")
    } else if let Some(n) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
    {
        format!("the number {}", n.trim_matches('`'))
    } else if let Some(b) = found.strip_prefix("boolean ") {
        b.trim_matches('`').to_owned()
    } else {
        found.to_owned()
    };
    Diagnostic::at(file, text, span, format!("{named}{wanted}, not {got}"))
}
