//! The SMTP password: from a file, the environment or a systemd credential, never the config,
//! and never shown.

use std::path::Path;

use secrecy::{ExposeSecret as _, SecretString};

use super::MailError;
use crate::config::Config;

pub(super) fn smtp_password(config: &Config) -> Result<SecretString, MailError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map(|s| SecretString::from(s.trim_end_matches(['\n', '\r'])))
            .map_err(|e| {
                MailError::Smtp(format!(
                    "cannot read the password file {}: {e}",
                    path.display()
                ))
            })
    };
    // An empty password is a missing one (the systemd unit's fallback credential is a lone
    // newline): refuse to start rather than fail every login.
    let given = |secret: SecretString, source: &str| {
        if secret.expose_secret().trim().is_empty() {
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
        return given(SecretString::from(password), "$RRN_SMTP_PASSWORD");
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
