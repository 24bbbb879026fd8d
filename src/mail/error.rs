//! Why an email could not be made or sent.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("cannot read template {path}: {reason}")]
    ReadTemplate {
        path: PathBuf,
        reason: std::io::Error,
    },
    /// A template that does not parse or render: where (`templates/digest.txt:24`, or the
    /// built-in one) and what, in words (`item.titel` is not defined, and what there is).
    #[error("{place}: {message}")]
    Template { place: String, message: String },
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

impl MailError {
    /// Whether the partnership's settings were refused (a template, an address), rather than
    /// a template unreadable or a message not made.
    pub fn refused(&self) -> bool {
        matches!(
            self,
            MailError::Template { .. } | MailError::EmptyTemplate(_) | MailError::Address { .. }
        )
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
