//! A planned email rendered with the partnership's templates into a message: the marking,
//! Reply-To, a Message-ID from the outbox row, case threading and the deadlines attachment.
//!
//! The template context holds only what the planner put in an item (case reference, milestone
//! title and step, dates, their derivation, status words), the recipient's name and role, the
//! partnership's name, the marking and the reply-to contact. There is nothing about a child to
//! add, and nothing here would add it.

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use chrono::{DateTime, Utc};

use super::error::MailError;
use super::ids::id_part;
use super::{mistake, words, wrap};
use crate::config::Config;
use crate::domain::agency::AgencyId;
use crate::domain::plan::{Capacity, Email, EmailKind, Rule};
use crate::domain::timeline::long_date;

/// The templates each partnership can edit, with built-in copies of the shipped ones.
const TEMPLATES: [(&str, &str); 10] = [
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
    (
        "relay_fault.txt",
        include_str!("../../config/templates/relay_fault.txt"),
    ),
    (
        "relay_fault.html",
        include_str!("../../config/templates/relay_fault.html"),
    ),
];

/// Templates a partnership's own folder may lack, having been copied before they existed.
const ADDED_LATER: [&str; 2] = ["relay_fault.txt", "relay_fault.html"];

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
    /// Where the agencies stand; left out for an agency's own lead, whose part it is.
    progress: Option<&'a str>,
    /// The rule that planned it: `reminder`, `escalation`, `chair_notice`, …
    rule: &'static str,
    /// What the reader is asked to do and by when, in a sentence.
    request: String,
    /// The item's state in a sentence: "Due in 3 working days, on Thursday 7 January 2027."
    when: String,
    escalation: bool,
    /// Nothing is asked of the reader (the Chair's notice, the national panel's note).
    for_information: bool,
    /// Whose task an overdue one is.
    owner: Option<&'a str>,
    overdue_since: Option<String>,
    key_dates: Vec<KeyDateContext<'a>>,
}

#[derive(Serialize)]
struct KeyDateContext<'a> {
    label: &'a str,
    date: String,
}

#[derive(Serialize)]
struct RecipientContext<'a> {
    name: &'a str,
    role: String,
}

/// Everything a template may use; nothing else reaches it.
#[derive(Serialize)]
struct TemplateContext<'a> {
    partnership: &'a str,
    marking: &'a str,
    recipient: RecipientContext<'a>,
    reply_to: Person<'a>,
    /// The recipient is the reply-to address (the business team): not told to write to itself.
    reply_to_self: bool,
    /// The email's first sentence: what the reader must do and by when.
    headline: String,
    /// Some item counts from "day 0": the email says once what that is.
    mentions_day0: bool,
    /// Every item is for information only.
    for_information: bool,
    /// The daily summary's day in words.
    date: Option<String>,
    items: Vec<ItemContext<'a>>,
    /// The daily summary's figures; only in heartbeat emails.
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<&'a crate::domain::plan::Heartbeat>,
}

/// What a delivery-failure report to the admin contact says.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FailureReport {
    pub outbox_id: i64,
    pub recipient: String,
    pub error: String,
    /// Set when the relay refused every message of a pass alike: the report is then about the
    /// relay (`outbox_id` is the first of them), and the messages wait for a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_fault: Option<RelayFault>,
}

/// A relay that refuses every message alike: how many it refused, to how many recipients.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RelayFault {
    pub refused: usize,
    pub recipients: usize,
}

/// Renders planned emails into messages.
pub struct Renderer {
    env: Environment<'static>,
    /// Each template's name, where it came from (its file, or "the built-in digest.txt") and
    /// its text, for a mistake's place and words.
    sources: Vec<(&'static str, String, String)>,
    pub(super) partnership: String,
    pub(super) marking: String,
    from: Mailbox,
    reply_to: Mailbox,
    /// The domain of the sender, for Message-IDs.
    pub(super) domain: String,
}

impl Renderer {
    /// Loads the templates from `[mail] templates` (or the built-in ones) and checks each one
    /// renders with a sample context, so a typo fails at load (and in `check-config`), never
    /// at 08:00 on a deadline day.
    pub fn load(config: &Config) -> Result<Self, MailError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Spans in errors, for the words of a mistake, whatever the build.
        env.set_debug(true);
        let mut sources = Vec::with_capacity(TEMPLATES.len());
        for (name, builtin) in TEMPLATES {
            let built_in = || (format!("the built-in {name}"), builtin.to_owned());
            let (place, source) = match &config.mail.templates {
                Some(folder) => {
                    let path = folder.join(name);
                    match std::fs::read_to_string(&path) {
                        Ok(source) => (path.display().to_string(), source),
                        // A folder made before a kind of email was added has no template for
                        // it: that kind uses the built-in one instead of stopping the service.
                        Err(e)
                            if e.kind() == std::io::ErrorKind::NotFound
                                && ADDED_LATER.contains(&name) =>
                        {
                            built_in()
                        }
                        Err(reason) => return Err(MailError::ReadTemplate { path, reason }),
                    }
                }
                None => built_in(),
            };
            env.add_template_owned(name, source.clone())
                .map_err(|e| mistake::in_words(&place, &source, &e, None))?;
            sources.push((name, place, source));
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
            sources,
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
        let reader = &email.recipient.role;
        let items: Vec<ItemContext<'a>> = email
            .items
            .iter()
            .map(|n| ItemContext {
                case: n.case.as_ref().map_or("", |c| c.as_str()),
                title: &n.item.title,
                step: n.item.step,
                due: n.item.due.map(long_date),
                status: &n.item.status,
                derivation: n.item.derivation.as_deref(),
                progress: match reader {
                    Capacity::AgencyLead(_) => None,
                    _ => n.item.progress.as_deref(),
                },
                rule: n.rule.as_str(),
                request: words::request(n, reader),
                when: words::when(n),
                escalation: n.rule == Rule::Escalation,
                for_information: words::for_information(n),
                owner: n.item.owner.as_deref(),
                overdue_since: n.item.overdue_since.map(long_date),
                key_dates: n
                    .item
                    .key_dates
                    .iter()
                    .map(|k| KeyDateContext {
                        label: &k.label,
                        date: long_date(k.date),
                    })
                    .collect(),
            })
            .collect();
        TemplateContext {
            partnership: &self.partnership,
            marking: &self.marking,
            recipient: RecipientContext {
                name: &email.recipient.name,
                role: email.recipient.role.to_string(),
            },
            reply_to: Person {
                name: self.reply_to.name.as_deref().unwrap_or(""),
                email: self.reply_to.email.as_ref(),
            },
            reply_to_self: email
                .recipient
                .email
                .as_str()
                .eq_ignore_ascii_case(self.reply_to.email.as_ref()),
            headline: words::headline(email),
            // Only where a derivation is shown (not in a note for information).
            mentions_day0: items
                .iter()
                .any(|i| !i.for_information && i.derivation.is_some_and(|d| d.contains("day 0"))),
            for_information: !items.is_empty() && items.iter().all(|i| i.for_information),
            date: email.heartbeat.as_ref().map(|h| long_date(h.date)),
            items,
            summary: email.heartbeat.as_ref(),
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
                .map_err(|e| {
                    let (place, source) = self
                        .sources
                        .iter()
                        .find(|(n, _, _)| *n == name)
                        .map_or((name.as_str(), ""), |(_, place, source)| {
                            (place.as_str(), source.as_str())
                        });
                    let context = minijinja::Value::from(minijinja::value::Serde(context));
                    mistake::in_words(place, source, &e, Some(&context))
                })?;
            if text.trim().is_empty() {
                return Err(MailError::EmptyTemplate(name));
            }
            Ok(text)
        };
        Ok((
            wrap::wrap(&render(format!("{base}.txt"))?, wrap::WIDTH),
            wrap::dates_unbroken_html(&render(format!("{base}.html"))?),
        ))
    }

    /// Renders every template with a sample of each kind of email.
    pub fn check(&self) -> Result<(), MailError> {
        let sample = sample_email();
        self.render_pair("digest", &self.context(&sample))?;
        self.render_pair("agency_letter", &self.context(&sample))?;
        let mut heartbeat = sample.clone();
        heartbeat.kind = EmailKind::Heartbeat;
        heartbeat.heartbeat = Some(crate::domain::plan::Heartbeat {
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
                relay_fault: None,
            }),
        )?;
        self.render_pair(
            "relay_fault",
            &self.failure_context(&FailureReport {
                outbox_id: 1,
                recipient: "someone@example.org".to_owned(),
                error: "550 5.7.1 relaying denied".to_owned(),
                relay_fault: Some(RelayFault {
                    refused: 12,
                    recipients: 4,
                }),
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
    /// `now` is the moment it is sent (simulated under `--at`), for its `Date:` header.
    pub fn render(
        &self,
        email: &Email,
        outbox_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Message, MailError> {
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
        let subject = clean(&format!("{} {}", self.marking, words::subject(email)));
        let mut builder = Message::builder()
            .date(now.into())
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
        // A note that a deadline was met has no deadline to put in a calendar.
        let deadlines = match email.items.iter().all(words::for_information) {
            true => None,
            false => self.deadlines(email, outbox_id),
        };
        let body = match deadlines {
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
        now: DateTime<Utc>,
    ) -> Result<Message, MailError> {
        let (template, subject) = match report.relay_fault {
            None => (
                "delivery_failure",
                format!(
                    "{} Rapid Review Notifier: an email could not be delivered (outbox {})",
                    self.marking, report.outbox_id
                ),
            ),
            Some(_) => (
                "relay_fault",
                format!(
                    "{} Rapid Review Notifier: the mail relay refuses every email",
                    self.marking
                ),
            ),
        };
        let (text, html) = self.render_pair(template, &self.failure_context(report))?;
        let subject = clean(&subject);
        Message::builder()
            .date(now.into())
            .from(self.from.clone())
            .reply_to(self.reply_to.clone())
            .to(admin.clone())
            .subject(subject)
            .message_id(Some(format!("<rrn.outbox.{outbox_id}@{}>", self.domain)))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| MailError::Message(e.to_string()))
    }
}

/// Control characters never reach a header.
pub(super) fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// An email with one of everything, for checking templates and measuring delivery.
pub fn sample_email() -> Email {
    use crate::domain::address::EmailAddress;
    use crate::domain::case::CaseRef;
    use crate::domain::plan::{Item, Notification, Recipient, Rule};
    let recipient = Recipient {
        role: Capacity::AgencyLead(AgencyId::parse("police").expect("valid")),
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
            derivation: Some("The due date is working day 10 after day 0.".to_owned()),
            progress: Some(
                "1 of the 3 agencies has sent theirs (health); still to come: police, education"
                    .to_owned(),
            ),
            ..Item::default()
        },
    );
    Email {
        recipient,
        kind: EmailKind::Digest,
        items: vec![notification],
        heartbeat: None,
    }
}
