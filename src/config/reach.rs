//! The refusal of settings under which mail could not reach anyone, or a failure no one: SMTP
//! with no relay named, an address whose domain cannot be one on the internet, and SMTP with no
//! one to tell when an email fails for good.

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, MailSection, Transport};
use crate::domain::address::EmailAddress;
use crate::domain::contacts::{Agency, ContactsSection};
use crate::domain::diagnostic::Diagnostic;

/// Refuses what would silently send nothing: `transport = "smtp"` without `[smtp] host` (it
/// would try `localhost`), an address with no dot in its domain (`csc-manager@council`: a
/// typing slip, unless `[mail] allow_local_domains = true` says the relay delivers such
/// names), and SMTP without `[contacts] admin` (a failed email would be reported to no one).
pub(super) fn check_reach(
    mail: &MailSection,
    contacts: &ContactsSection,
    agencies: &[Agency],
    name: &str,
    text: &str,
) -> Result<(), ConfigError> {
    let at = |span: std::ops::Range<usize>, message: String| {
        ConfigError::Invalid(Diagnostic::at(name, text, span, message))
    };
    let spans = Spans::of(text);
    if mail.transport == Transport::Smtp {
        if !spans.smtp.contains_key("host") {
            return Err(at(
                spans.mail_key("transport"),
                "[mail] transport = \"smtp\" needs the relay: set [smtp] host (e.g. host = \
                 \"smtp.council.example\"), or use transport = \"maildir\""
                    .to_owned(),
            ));
        }
        if contacts.admin.is_none() {
            return Err(at(
                spans.mail_key("transport"),
                "[mail] transport = \"smtp\" needs [contacts] admin: an email that fails for good \
                 is reported to them, and without one to no one (e.g. admin = { name = \"IT \
                 Service Desk\", email = \"service-desk@council.example\" })"
                    .to_owned(),
            ));
        }
    }
    if mail.allow_local_domains {
        return Ok(());
    }
    let addresses = contacts
        .roles()
        .into_iter()
        .filter_map(|(_, contact)| contact.map(|c| &c.email))
        .chain(
            agencies
                .iter()
                .flat_map(|a| [&a.lead.email, &a.manager.email]),
        )
        .chain(mail.reply_to.as_ref());
    for address in addresses {
        if !has_dotted_domain(address) {
            let written = address.as_str();
            let span = text
                .find(&format!("\"{written}\""))
                .map_or(0..0, |start| start..start + written.len() + 2);
            return Err(at(
                span,
                format!(
                    "`{written}` has no dot in its domain, so no relay on the internet can \
                     deliver to it: write the whole domain (e.g. `{}.gov.uk`), or set [mail] \
                     allow_local_domains = true if your relay delivers such names",
                    written
                ),
            ));
        }
    }
    Ok(())
}

fn has_dotted_domain(address: &EmailAddress) -> bool {
    address
        .as_str()
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.trim_end_matches('.').contains('.'))
}

/// Where keys of `[mail]` and `[smtp]` are written, for the caret.
#[derive(Deserialize, Default)]
struct Spans {
    #[serde(default)]
    mail: std::collections::HashMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    smtp: std::collections::HashMap<String, Spanned<toml::Value>>,
}

impl Spans {
    fn of(text: &str) -> Self {
        toml::from_str(text).unwrap_or_default()
    }

    fn mail_key(&self, key: &str) -> std::ops::Range<usize> {
        self.mail.get(key).map_or(0..0, Spanned::span)
    }
}
