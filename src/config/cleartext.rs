//! The refusal of `[smtp]` settings that would send mail or the password in clear text.

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, SmtpSection, SmtpTls};
use crate::domain::diagnostic::Diagnostic;

/// Refuses `[smtp]` settings that would put mail or the password on the network in clear text:
/// `tls = "none"` only to a relay on this machine, and a login over it only with
/// `allow_plaintext_auth = true`. Checked whatever `[mail] transport` says, so switching the
/// transport on later cannot turn a latent setting into a leak.
pub(super) fn check_plaintext(
    smtp: &SmtpSection,
    name: &str,
    text: &str,
) -> Result<(), ConfigError> {
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
pub(super) fn is_loopback(host: &str) -> bool {
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
