//! The transports that carry a message: a Maildir folder (`tmp/`, `new/`, `cur/`, which mutt,
//! Thunderbird and Evolution open as a folder), or SMTP.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::Message;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, TlsParameters};
use secrecy::ExposeSecret as _;

use super::error::{MailError, SendError};
use super::secret::smtp_password;
use super::smtp::{Protection, SmtpSession, SmtpSettings};
use crate::config::{Config, SmtpTls, Transport};

/// Where messages go.
pub enum Mailer {
    /// A Maildir: each message written into `tmp/` under a unique name, then renamed into
    /// `new/`, so a mail client never sees half a message.
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
                    Some(user) => Some(Credentials::new(
                        user.clone(),
                        smtp_password(config)?.expose_secret().to_owned(),
                    )),
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

    /// Sends one message (in a Maildir, its unique file name starts with `name`, so listing
    /// `new/` shows the outbox's order), and says what the transport answered.
    pub async fn send(&self, message: &Message, name: &str) -> Result<String, SendError> {
        match self {
            Mailer::Maildir(folder) => write_maildir(folder, name, &message.formatted())
                .map(|path| format!("written to {}", path.display()))
                .map_err(|e| SendError::Transient(format!("writing to {}: {e}", folder.display()))),
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

/// Writes one message into the Maildir `folder` (creating `tmp/`, `new/` and `cur/`): into
/// `tmp/` under a name no other delivery uses (`NAME.P<pid>.<random>.<host>`, as the Maildir
/// convention asks: unique, without `/` or `:`), synced, then renamed into `new/`. The path in
/// `new/`.
pub(crate) fn write_maildir(folder: &Path, name: &str, message: &[u8]) -> std::io::Result<PathBuf> {
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(folder.join(sub))?;
    }
    let host: String = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name: String = name
        .chars()
        .map(|c| if c == '/' || c == ':' { '_' } else { c })
        .collect();
    let mut file = tempfile::Builder::new()
        .prefix(&format!("{name}.P{}.", std::process::id()))
        .suffix(&format!(".{host}"))
        .rand_bytes(10)
        .tempfile_in(folder.join("tmp"))?;
    std::io::Write::write_all(&mut file, message)?;
    file.as_file().sync_all()?;
    let unique = file
        .path()
        .file_name()
        .expect("a temporary file has a name")
        .to_owned();
    let new = folder.join("new").join(unique);
    file.persist_noclobber(&new).map_err(|e| e.error)?;
    Ok(new)
}
