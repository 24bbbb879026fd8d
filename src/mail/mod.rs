//! Emails: a planned [`Email`] rendered with the partnership's templates into a message, and the
//! transports that carry it (a maildir folder, or SMTP).
//!
//! The template context holds only what the planner put in an item (case reference, milestone
//! title and step, dates, their derivation, status words), the recipient's name and role, the
//! partnership's name, the marking and the reply-to contact. There is nothing about a child to
//! add, and nothing here would add it.

pub mod smtp;

use std::path::{Path, PathBuf};
use std::time::Duration;

use icalendar::{Component as _, EventLike as _};
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::config::{Config, SmtpTls, Transport};
use crate::domain::plan::{Email, EmailKind};
use crate::mail::smtp::{Protection, SmtpSession, SmtpSettings};

/// The templates each partnership can edit, with built-in copies of the shipped ones.
const TEMPLATES: [(&str, &str); 8] = [
    (
        "heartbeat.txt",
        include_str!("../../config/templates/heartbeat.txt"),
    ),
    (
        "heartbeat.html",
        include_str!("../../config/templates/heartbeat.html"),
    ),
    (
        "digest.txt",
        include_str!("../../config/templates/digest.txt"),
    ),
    (
        "digest.html",
        include_str!("../../config/templates/digest.html"),
    ),
    (
        "agency_letter.txt",
        include_str!("../../config/templates/agency_letter.txt"),
    ),
    (
        "agency_letter.html",
        include_str!("../../config/templates/agency_letter.html"),
    ),
    (
        "delivery_failure.txt",
        include_str!("../../config/templates/delivery_failure.txt"),
    ),
    (
        "delivery_failure.html",
        include_str!("../../config/templates/delivery_failure.html"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot read template {path}: {reason}")]
    ReadTemplate {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("template {name}: {reason:#}")]
    Template {
        name: String,
        reason: minijinja::Error,
    },
    #[error("template {0} rendered empty: it must say something")]
    EmptyTemplate(String),
    #[error("invalid [mail] {field} `{value}`: {reason}")]
    Address {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("{0}")]
    Message(String),
    #[error("SMTP settings: {0}")]
    Smtp(String),
}

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Serialize)]
struct Person<'a> {
    name: &'a str,
    email: &'a str,
}

#[derive(Serialize)]
struct ItemContext<'a> {
    case: &'a str,
    title: &'a str,
    step: Option<u32>,
    due: Option<String>,
    status: &'a str,
    derivation: Option<&'a str>,
    progress: Option<&'a str>,
}

#[derive(Serialize)]
struct RecipientContext<'a> {
    name: &'a str,
    role: &'a str,
}

/// Everything a template may use; nothing else reaches it.
#[derive(Serialize)]
struct TemplateContext<'a> {
    partnership: &'a str,
    marking: &'a str,
    recipient: RecipientContext<'a>,
    reply_to: Person<'a>,
    items: Vec<ItemContext<'a>>,
    /// The daily summary's figures; only in heartbeat emails.
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a crate::domain::plan::Summary>,
}

/// What a delivery-failure report to the admin contact says.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FailureReport {
    pub outbox_id: i64,
    pub recipient: String,
    pub error: String,
}

/// Renders planned emails into messages.
pub struct Renderer {
    env: Environment<'static>,
    partnership: String,
    marking: String,
    from: Mailbox,
    reply_to: Mailbox,
    /// The domain of the sender, for Message-IDs.
    domain: String,
}

impl Renderer {
    /// Loads the templates from `[mail] templates` (or the built-in ones) and checks each one
    /// renders with a sample context, so a typo fails at load (and in `check-config`), never
    /// at 08:00 on a deadline day.
    pub fn load(config: &Config) -> Result<Self, MailError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, builtin) in TEMPLATES {
            let source = match &config.mail.templates {
                Some(folder) => {
                    let path = folder.join(name);
                    std::fs::read_to_string(&path)
                        .map_err(|reason| MailError::ReadTemplate { path, reason })?
                }
                None => builtin.to_owned(),
            };
            env.add_template_owned(name, source)
                .map_err(|reason| MailError::Template {
                    name: name.to_owned(),
                    reason,
                })?;
        }
        let address = |field: &'static str, value: &str| {
            value.parse::<Mailbox>().map_err(|e| MailError::Address {
                field,
                value: value.to_owned(),
                reason: e.to_string(),
            })
        };
        let from = address("from", &config.mail.from)?;
        if let Some(hidden) = from
            .name
            .as_deref()
            .and_then(crate::domain::address::first_hidden)
        {
            return Err(MailError::Address {
                field: "from",
                value: config.mail.from.escape_debug().to_string(),
                reason: format!("the name holds {hidden}, a control or formatting character"),
            });
        }
        let reply_to = match (&config.mail.reply_to, &config.contacts.business_team) {
            (Some(reply_to), _) => address("reply_to", reply_to.as_str())?,
            (None, Some(team)) => Mailbox::new(
                Some(team.name.to_string()),
                address("reply_to", team.email.as_str())?.email,
            ),
            (None, None) => from.clone(),
        };
        let renderer = Self {
            env,
            partnership: config.partnership.name.to_string(),
            marking: config.mail.marking.clone(),
            domain: from.email.domain().to_owned(),
            from,
            reply_to,
        };
        renderer.check()?;
        Ok(renderer)
    }

    fn context<'a>(&'a self, email: &'a Email) -> TemplateContext<'a> {
        TemplateContext {
            partnership: &self.partnership,
            marking: &self.marking,
            recipient: RecipientContext {
                name: &email.recipient.name,
                role: &email.recipient.role,
            },
            reply_to: Person {
                name: self.reply_to.name.as_deref().unwrap_or(""),
                email: self.reply_to.email.as_ref(),
            },
            items: email
                .items
                .iter()
                .map(|n| ItemContext {
                    case: n.case.as_ref().map_or("", |c| c.as_str()),
                    title: &n.item.title,
                    step: n.item.step,
                    due: n.item.due.map(crate::domain::timeline::long_date),
                    status: &n.item.status,
                    derivation: n.item.derivation.as_deref(),
                    progress: n.item.progress.as_deref(),
                })
                .collect(),
            summary: email.summary.as_ref(),
        }
    }

    fn render_pair(
        &self,
        base: &str,
        context: &impl Serialize,
    ) -> Result<(String, String), MailError> {
        let render = |name: String| -> Result<String, MailError> {
            let text = self
                .env
                .get_template(&name)
                .and_then(|t| t.render(minijinja::value::Serde(context)))
                .map_err(|reason| MailError::Template {
                    name: name.clone(),
                    reason,
                })?;
            if text.trim().is_empty() {
                return Err(MailError::EmptyTemplate(name));
            }
            Ok(text)
        };
        Ok((
            render(format!("{base}.txt"))?,
            render(format!("{base}.html"))?,
        ))
    }

    /// Renders every template with a sample of each kind of email.
    pub fn check(&self) -> Result<(), MailError> {
        let sample = sample_email();
        self.render_pair("digest", &self.context(&sample))?;
        self.render_pair("agency_letter", &self.context(&sample))?;
        let mut heartbeat = sample.clone();
        heartbeat.kind = EmailKind::Heartbeat;
        heartbeat.summary = Some(crate::domain::plan::Summary {
            key: crate::domain::plan::NotificationKey::from_stored("heartbeat/sample".to_owned()),
            date: chrono::NaiveDate::from_ymd_opt(2027, 1, 7).expect("valid"),
            open_cases: 1,
            overdue: 0,
            due_soon: 1,
            failed_emails: 0,
            failed_cases: vec![crate::domain::case::FailedCase {
                reference: crate::domain::case::CaseRef::parse("RR-2026-001").expect("valid"),
                reason: "agency `probation` is not in the config".to_owned(),
            }],
        });
        self.render_pair("heartbeat", &self.context(&heartbeat))?;
        self.render_pair(
            "delivery_failure",
            &self.failure_context(&FailureReport {
                outbox_id: 1,
                recipient: "someone@example.org".to_owned(),
                error: "550 mailbox unavailable".to_owned(),
            }),
        )?;
        Ok(())
    }

    fn failure_context<'a>(&'a self, report: &'a FailureReport) -> impl Serialize + 'a {
        #[derive(Serialize)]
        struct FailureContext<'a> {
            partnership: &'a str,
            marking: &'a str,
            failure: &'a FailureReport,
        }
        FailureContext {
            partnership: &self.partnership,
            marking: &self.marking,
            failure: report,
        }
    }

    /// The message for one outbox row. Its Message-ID is derived from the row, so a re-send
    /// after a crash carries the same ID; every message of a case refers to the case's thread.
    pub fn render(&self, email: &Email, outbox_id: i64) -> Result<Message, MailError> {
        let base = match email.kind {
            EmailKind::Digest => "digest",
            EmailKind::AgencyLetter => "agency_letter",
            EmailKind::Heartbeat => "heartbeat",
        };
        // The name comes from the outbox row, which an older version may have written with a
        // line break or NUL in it: lettre panics formatting such a header, so check it first.
        let name = crate::domain::address::DisplayName::parse(&email.recipient.name)
            .map_err(|e| MailError::Message(format!("the recipient's name: {e}")))?;
        let (text, html) = self.render_pair(base, &self.context(email))?;
        let to = Mailbox::new(
            Some(name.to_string()),
            email
                .recipient
                .email
                .as_str()
                .parse()
                .map_err(|e| MailError::Message(format!("recipient address: {e}")))?,
        );
        let cases: Vec<&str> = {
            let mut cases: Vec<&str> = email
                .items
                .iter()
                .filter_map(|n| n.case.as_ref().map(|c| c.as_str()))
                .collect();
            cases.dedup();
            cases
        };
        let subject = self.subject(email, &cases);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .reply_to(self.reply_to.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<rrn.outbox.{outbox_id}@{}>", self.domain)));
        if let ([case], false) = (cases.as_slice(), email.kind == EmailKind::Heartbeat) {
            let thread = format!("<rrn.case.{}@{}>", id_part(case), self.domain);
            builder = builder.in_reply_to(thread.clone()).references(thread);
        }
        let body = MultiPart::alternative_plain_html(text, html);
        let body = match self.deadlines(email, outbox_id) {
            Some(ics) => MultiPart::mixed().multipart(body).singlepart(
                Attachment::new("deadlines.ics".to_owned()).body(
                    ics,
                    ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                        .expect("a valid content type"),
                ),
            ),
            None => body,
        };
        builder
            .multipart(body)
            .map_err(|e| MailError::Message(e.to_string()))
    }

    /// The email's deadlines as an iCalendar file (RFC 5545): an all-day VEVENT per item with
    /// a due date. The UID names the deadline (case, milestone, agency), so every email about it
    /// updates one calendar entry; the SEQUENCE is the outbox row, which only grows, so the
    /// newest email wins. `None` when no item has a due date.
    fn deadlines(&self, email: &Email, outbox_id: i64) -> Option<String> {
        // `empty`, not `new`: `new` brings its own PRODID, and RFC 5545 allows exactly one.
        let mut calendar = icalendar::Calendar::empty();
        for (name, value) in [
            ("VERSION", "2.0"),
            ("PRODID", "-//rapid-review-notifier//EN"),
            ("CALSCALE", "GREGORIAN"),
            ("METHOD", "PUBLISH"),
        ] {
            calendar.append_property(icalendar::Property::new(name, value));
        }
        let mut any = false;
        for notification in &email.items {
            let (Some(due), Some(case), Some(milestone)) = (
                notification.item.due,
                &notification.case,
                &notification.milestone,
            ) else {
                continue;
            };
            let agency = notification.agency.as_ref().map_or("-", |a| a.as_str());
            let uid = format!(
                "rrn.{}.{}.{}@{}",
                id_part(case.as_str()),
                id_part(milestone),
                id_part(agency),
                self.domain
            );
            let summary = clean(&format!(
                "{} Rapid Review {case}: {} due",
                self.marking, notification.item.title
            ));
            let mut event = icalendar::Event::new();
            event
                .uid(&uid)
                .summary(&summary)
                // An all-day event: DTEND is exclusive, the day after.
                .starts(due)
                .ends(due.succ_opt().unwrap_or(due))
                .sequence(u32::try_from(outbox_id).unwrap_or(u32::MAX));
            if let Some(derivation) = &notification.item.derivation {
                event.description(derivation);
            }
            calendar.push(event.done());
            any = true;
        }
        any.then(|| calendar.done().to_string())
    }

    /// A short message that proves the transport works (`rrn send-test`).
    pub fn render_test(&self, to: &Mailbox) -> Result<Message, MailError> {
        let text = format!(
            "{marking}\n\nThis is a test message from the Rapid Review Notifier of {partnership}.\n\
             If you can read it, email delivery works.\n\n{marking}\n",
            marking = self.marking,
            partnership = self.partnership
        );
        Message::builder()
            .from(self.from.clone())
            .reply_to(self.reply_to.clone())
            .to(to.clone())
            .subject(clean(&format!(
                "{} Rapid Review Notifier: test message",
                self.marking
            )))
            .body(text)
            .map_err(|e| MailError::Message(e.to_string()))
    }

    /// A report of a permanent delivery failure, for the admin contact.
    pub fn render_failure(
        &self,
        report: &FailureReport,
        admin: &Mailbox,
        outbox_id: i64,
    ) -> Result<Message, MailError> {
        let (text, html) = self.render_pair("delivery_failure", &self.failure_context(report))?;
        let subject = clean(&format!(
            "{} Rapid Review Notifier: an email could not be delivered (outbox {})",
            self.marking, report.outbox_id
        ));
        Message::builder()
            .from(self.from.clone())
            .reply_to(self.reply_to.clone())
            .to(admin.clone())
            .subject(subject)
            .message_id(Some(format!("<rrn.outbox.{outbox_id}@{}>", self.domain)))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| MailError::Message(e.to_string()))
    }

    fn subject(&self, email: &Email, cases: &[&str]) -> String {
        let first = email.items.first();
        let text = match (email.kind, cases, email.items.len()) {
            (EmailKind::Heartbeat, _, _) => {
                let summary = email.summary.as_ref();
                let figure = |f: fn(&crate::domain::plan::Summary) -> usize| summary.map_or(0, f);
                let mut text = format!(
                    "{} Rapid Review daily summary: {} open cases, {} overdue, {} due soon",
                    self.marking,
                    figure(|s| s.open_cases),
                    figure(|s| s.overdue),
                    figure(|s| s.due_soon)
                );
                if figure(|s| s.failed_emails) > 0 {
                    text.push_str(&format!(", {} emails failed", figure(|s| s.failed_emails)));
                }
                text
            }
            (EmailKind::AgencyLetter, _, _) => format!(
                "{} Rapid Review {}: Individual Agency Summary {}",
                self.marking,
                cases.first().unwrap_or(&""),
                first.map_or("", |n| n.item.status.as_str())
            ),
            (EmailKind::Digest, [case], 1)
                if first.is_some_and(|n| n.rule == crate::domain::plan::Rule::ChairNotice) =>
            {
                format!("{} Rapid Review {case} is in progress", self.marking)
            }
            (EmailKind::Digest, [case], 1) => format!(
                "{} Rapid Review {case}: {} {}",
                self.marking,
                first.map_or("", |n| n.item.title.as_str()),
                first.map_or("", |n| n.item.status.as_str())
            ),
            (EmailKind::Digest, _, n) => {
                let overdue = email
                    .items
                    .iter()
                    .filter(|i| i.item.status.starts_with("overdue"))
                    .count();
                let plural = if n == 1 { "" } else { "s" };
                if overdue > 0 {
                    format!(
                        "{} Rapid Review: {n} item{plural} need attention, {overdue} overdue",
                        self.marking
                    )
                } else {
                    format!(
                        "{} Rapid Review: {n} item{plural} need attention",
                        self.marking
                    )
                }
            }
        };
        clean(&text)
    }
}

/// A part of a Message-ID or calendar UID that keeps every character of `s`: letters, digits,
/// `-` and `_` as they are, anything else as `=XX` (its UTF-8 bytes in hex). Parts are joined
/// with `.`, which never appears in a part, so different references (`RR/2026/1`, `RR.2026.1`)
/// never share a thread or a calendar entry.
pub fn id_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("={byte:02X}"));
            }
        }
    }
    out
}

/// Control characters never reach a header.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// An email with one of everything, for checking templates and measuring delivery.
pub fn sample_email() -> Email {
    use crate::domain::address::EmailAddress;
    use crate::domain::case::CaseRef;
    use crate::domain::plan::{Item, Notification, Recipient, Rule};
    let recipient = Recipient {
        role: "agency_lead:police".to_owned(),
        name: "Sample Lead".to_owned(),
        email: EmailAddress::parse("lead@example.org").expect("valid"),
    };
    let date = chrono::NaiveDate::from_ymd_opt(2027, 1, 7).expect("valid");
    let notification = Notification::standalone(
        CaseRef::parse("RR-0000-000").expect("valid"),
        Rule::Reminder,
        recipient.clone(),
        date,
        Item {
            title: "Individual Agency Summary".to_owned(),
            step: Some(4),
            due: Some(date),
            status: "due in 3 working days".to_owned(),
            derivation: Some("Due Thursday 7 January 2027: working day 10 after day 0.".to_owned()),
            progress: Some("1 of 3 received".to_owned()),
        },
    );
    Email {
        recipient,
        kind: EmailKind::Digest,
        items: vec![notification],
        summary: None,
    }
}

/// A send that did not happen, by what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: a 4xx reply, or a connection dropped while the message was sent.
    #[error("transient: {0}")]
    Transient(String),
    /// The server cannot be reached, refused the session (TLS, login) or did not answer in
    /// time: worth retrying later, but not with the next message now, so one dead server costs
    /// a delivery pass one timeout rather than one per email.
    #[error("server unavailable: {0}")]
    Unavailable(String),
    /// Retrying will not help: a 5xx reply, a rejected address.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Where messages go.
pub enum Mailer {
    /// `.eml` files in a folder.
    Maildir(PathBuf),
    Smtp(Box<SmtpSession>),
}

impl Mailer {
    /// Checks the transport settings without connecting (for `check-config`): a password can
    /// be found when a username is set (plain text to another host was refused with the config).
    pub fn check(config: &Config) -> Result<(), MailError> {
        if config.mail.transport == Transport::Smtp && config.smtp.username.is_some() {
            smtp_password(config)?;
        }
        Ok(())
    }

    /// The transport `[mail] transport` names. The SMTP password comes from `password_file`,
    /// `$RRN_SMTP_PASSWORD` or `$CREDENTIALS_DIRECTORY/smtp-password`, in that order. Call it
    /// inside the async runtime: the SMTP connection pool starts with it.
    pub fn from_config(config: &Config, default_maildir: &Path) -> Result<Self, MailError> {
        match config.mail.transport {
            Transport::Maildir => Ok(Mailer::Maildir(
                config
                    .mail
                    .maildir
                    .clone()
                    .unwrap_or_else(|| default_maildir.to_owned()),
            )),
            Transport::Smtp => {
                let smtp = &config.smtp;
                let fail = |e: lettre::transport::smtp::Error| {
                    MailError::Smtp(format!("{} ({})", e, smtp.host))
                };
                let parameters = || -> Result<TlsParameters, MailError> {
                    let mut builder = TlsParameters::builder(smtp.host.clone());
                    if let Some(path) = &smtp.ca_file {
                        let pem = std::fs::read(path).map_err(|e| {
                            MailError::Smtp(format!("cannot read ca_file {}: {e}", path.display()))
                        })?;
                        let ca = Certificate::from_pem(&pem).map_err(|e| {
                            MailError::Smtp(format!(
                                "ca_file {} is not a PEM certificate: {e}",
                                path.display()
                            ))
                        })?;
                        builder = builder.add_root_certificate(ca);
                    }
                    builder.build_rustls().map_err(fail)
                };
                let (protection, default_port) = match smtp.tls {
                    SmtpTls::Starttls => (Protection::StartTls(parameters()?), 587),
                    SmtpTls::Implicit => (Protection::Implicit(parameters()?), 465),
                    SmtpTls::None => (Protection::None, 25),
                };
                let credentials = match &smtp.username {
                    Some(user) => Some(Credentials::new(user.clone(), smtp_password(config)?.0)),
                    None => None,
                };
                Ok(Mailer::Smtp(Box::new(SmtpSession::new(SmtpSettings {
                    host: smtp.host.clone(),
                    port: smtp.port.unwrap_or(default_port),
                    protection,
                    credentials,
                    // Within half a lease, so a claim renewed before a message cannot lapse
                    // while that message is being sent.
                    timeout: Duration::from_secs(smtp.timeout_seconds)
                        .min(Duration::from_millis(config.service.lease_seconds * 500))
                        .max(Duration::from_secs(1)),
                }))))
            }
        }
    }

    /// Ends the transport's connection, if it keeps one (after a delivery pass).
    pub async fn close(&self) {
        if let Mailer::Smtp(session) = self {
            session.close().await;
        }
    }

    /// Sends one message, named `name` in a maildir (the file is written atomically), and says
    /// what the transport answered.
    pub async fn send(&self, message: &Message, name: &str) -> Result<String, SendError> {
        match self {
            Mailer::Maildir(folder) => {
                let path = folder.join(format!("{name}.eml"));
                let write = || -> std::io::Result<()> {
                    std::fs::create_dir_all(folder)?;
                    let mut file = tempfile::NamedTempFile::new_in(folder)?;
                    std::io::Write::write_all(&mut file, &message.formatted())?;
                    file.as_file().sync_all()?;
                    file.persist(&path)?;
                    Ok(())
                };
                write()
                    .map(|()| format!("written to {}", path.display()))
                    .map_err(|e| {
                        SendError::Transient(format!("writing to {}: {e}", folder.display()))
                    })
            }
            Mailer::Smtp(session) => session.send(message).await.map(|response| {
                format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                )
            }),
        }
    }
}

fn smtp_password(config: &Config) -> Result<Secret, MailError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_owned()))
            .map_err(|e| {
                MailError::Smtp(format!(
                    "cannot read the password file {}: {e}",
                    path.display()
                ))
            })
    };
    // An empty password is a missing one (the systemd unit's fallback credential is a lone
    // newline): refuse to start rather than fail every login.
    let given = |secret: Secret, source: &str| {
        if secret.0.trim().is_empty() {
            Err(MailError::Smtp(format!(
                "the SMTP password from {source} is empty: put the password there"
            )))
        } else {
            Ok(secret)
        }
    };
    if let Some(path) = &config.smtp.password_file {
        return given(read(path)?, &path.display().to_string());
    }
    if let Ok(password) = std::env::var("RRN_SMTP_PASSWORD") {
        return given(Secret(password), "$RRN_SMTP_PASSWORD");
    }
    if let Ok(folder) = std::env::var("CREDENTIALS_DIRECTORY") {
        let path = Path::new(&folder).join("smtp-password");
        return given(read(&path)?, "the systemd credential smtp-password");
    }
    Err(MailError::Smtp(
        "a username is set but no password: set [smtp] password_file, $RRN_SMTP_PASSWORD, or \
         the systemd credential smtp-password"
            .to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::id_part;
    use proptest::prelude::*;

    #[test]
    fn references_that_differ_only_in_punctuation_get_different_ids() {
        assert_eq!(id_part("RR/2026/1"), "RR=2F2026=2F1");
        assert_eq!(id_part("RR.2026.1"), "RR=2E2026=2E1");
        assert_eq!(id_part("RR-2026-014"), "RR-2026-014");
    }

    proptest! {
        /// The law: different strings, different parts, and a part never holds the `.` that
        /// joins parts or anything a Message-ID may not carry.
        #[test]
        fn id_parts_are_injective_and_safe(a in "[A-Za-z0-9._/=é-]{1,12}", b in "[A-Za-z0-9._/=é-]{1,12}") {
            let (pa, pb) = (id_part(&a), id_part(&b));
            prop_assert_eq!(a == b, pa == pb);
            prop_assert!(pa.chars().all(|c| c.is_ascii_alphanumeric() || "-_=".contains(c)));
        }
    }
}
