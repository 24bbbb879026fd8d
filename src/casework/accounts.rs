//! The web workspace's accounts: who may sign in, with which role, and the password rule.
//!
//! Passwords follow the NCSC's advice: at least 12 characters, no composition rules, refused
//! when they are the account's own email or among the 10,000 commonest. They are kept as
//! argon2id hashes with the first of OWASP's equivalent parameter sets: 46 MiB, 1 pass, 1 lane.
//! (Over 32 MiB a block is always mapped and unmapped by the allocator, so a burst of sign-ins
//! leaves nothing behind; the 19 MiB set's blocks stayed in the process, one per thread.)

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::{CaseworkError, refuse};
use crate::domain::account::{Account, Role};
use crate::domain::address::{DisplayName, EmailAddress};
use crate::store::{Store, StoredAccount, Tx};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longer than any passphrase; bounds the hashing work one request can ask for.
const MAX_PASSWORD_CHARS: usize = 256;

/// The 10,000 commonest passwords, most common first (scripts/build-web-assets).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../assets/common-passwords.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});

/// How many hashes are computed at once: each takes 46 MiB, so a burst of sign-ins queues
/// here instead of growing the process by 46 MiB a request.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

fn hasher() -> Argon2<'static> {
    let params = Params::new(46 * 1024, 1, 1, None).expect("OWASP's argon2id parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses a password the rule does not accept, saying why in the words a person needs.
pub fn check_password(password: &str, email: &str) -> Result<(), CaseworkError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return refuse(format!(
            "password: it has {chars} characters; use at least {MIN_PASSWORD_CHARS} (three or \
             four random words make a good one)"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return refuse(format!(
            "password: it is longer than {MAX_PASSWORD_CHARS} characters"
        ));
    }
    if password.chars().any(char::is_control) {
        return refuse("password: it contains a control character (a tab or line break)");
    }
    let lower = password.to_lowercase();
    if lower == email.trim().to_lowercase() {
        return refuse("password: it is the account's email address; choose another");
    }
    if password.trim().is_empty() {
        return refuse("password: it is only spaces; choose one with words in it");
    }
    if is_pattern(&lower) {
        return refuse(
            "password: it is a repeated or running pattern (aaaa…, abcabc…, 1234…); choose \
             another (three or four random words make a good one)",
        );
    }
    let core = lower.trim_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    if COMMON.contains(lower.as_str()) || (core.chars().count() >= 4 && COMMON.contains(core)) {
        return refuse(
            "password: it is one of the 10,000 commonest passwords; choose another (three or \
             four random words make a good one)",
        );
    }
    Ok(())
}

/// A password made of one short piece repeated (`passwordpassword`, `aaaaaaaaaaaa`), or of a
/// run of consecutive characters (`123456789012`, `abcdefghijkl`).
fn is_pattern(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    let n = chars.len();
    let repeated = (1..=n / 2).any(|period| {
        n.is_multiple_of(period) && chars.chunks(period).all(|c| c == &chars[..period])
    });
    let running = chars.windows(2).all(|w| {
        let step = w[1] as i64 - w[0] as i64;
        step == 1 || (w[0] == '9' && w[1] == '0')
    }) || chars.windows(2).all(|w| w[0] as i64 - w[1] as i64 == 1);
    repeated || running
}

/// The argon2id hash of a password, computed on a blocking thread.
pub(super) async fn hash_password(password: SecretString) -> Result<String, CaseworkError> {
    let _permit = HASHING.acquire().await.expect("never closed");
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| {
        CaseworkError::Refused(format!("the system's random number source failed: {e}"))
    })?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).expect("16 bytes encode");
        hasher()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CaseworkError::Refused(format!("password: cannot be hashed ({e})")))
    })
    .await
    .expect("hashing does not panic")
}

/// A hash checked when there is no account, so that an unknown email takes as long to refuse
/// as a wrong password.
static NO_ACCOUNT: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::encode_b64(b"no account here.").expect("16 bytes encode");
    hasher()
        .hash_password(b"no password matches", &salt)
        .expect("a fixed input hashes")
        .to_string()
});

/// Whether `password` matches `hash` (`None`: no account, so nothing matches, as slowly); an
/// unreadable hash matches nothing.
pub(super) async fn verify_password(password: SecretString, hash: Option<String>) -> bool {
    let _permit = HASHING.acquire().await.expect("never closed");
    tokio::task::spawn_blocking(move || {
        let matches = |hash: &str| {
            PasswordHash::new(hash).is_ok_and(|parsed| {
                hasher()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok()
            })
        };
        match hash {
            Some(hash) => matches(&hash),
            None => {
                let _same_work = matches(&NO_ACCOUNT);
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// What a sign-in is matched on: the email without regard to case.
pub(super) fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Account changes, by whom and when, each one transaction with its audit entry.
pub struct Accounts<'a> {
    pub store: &'a Store,
    /// Recorded in the audit log: the OS user, `--actor` or the signed-in admin.
    pub actor: String,
    pub now: DateTime<Utc>,
}

impl Accounts<'_> {
    pub async fn list(&self) -> Result<Vec<Account>, CaseworkError> {
        Ok(self.store.accounts().await?)
    }

    /// Adds an account; refuses a taken email, a bad name or a weak password.
    pub async fn add(
        &self,
        email: &str,
        name: &str,
        role: Role,
        password: SecretString,
    ) -> Result<(), CaseworkError> {
        let email = EmailAddress::parse(email.trim())
            .map_err(|e| CaseworkError::Refused(format!("email: {e}")))?;
        let name = DisplayName::parse(name.trim())
            .map_err(|e| CaseworkError::Refused(format!("name: {e}")))?;
        if name.as_str().is_empty() {
            return refuse("name: it is empty; give the person's name as colleagues know it");
        }
        check_password(password.expose_secret(), email.as_str())?;
        let hash = hash_password(password).await?;
        let key = email_key(email.as_str());
        let mut tx = self.store.begin().await?;
        if tx.account(&key).await?.is_some() {
            return refuse(format!(
                "email: an account for {email} exists already; change its role with `rrn user \
                 role {email} ROLE`"
            ));
        }
        let account = Account {
            email,
            name,
            role,
            disabled: false,
            created_at: self.now,
            last_sign_in_at: None,
        };
        tx.insert_account(&account, &key, &hash).await?;
        let detail = format!("{} as {role}", account.email);
        tx.audit(None, self.now, &self.actor, "account-add", &detail)
            .await?;
        Ok(tx.commit().await?)
    }

    pub async fn set_role(&self, email: &str, role: Role) -> Result<(), CaseworkError> {
        let (mut tx, stored) = self.load(email).await?;
        if stored.account.role == role {
            return refuse(format!(
                "{} is {role} already: nothing changed",
                stored.account.email
            ));
        }
        self.keep_an_admin(&mut tx, &stored, "change its role")
            .await?;
        tx.set_account_role(stored.id, role).await?;
        let detail = format!(
            "{}: {} to {role}",
            stored.account.email, stored.account.role
        );
        tx.audit(None, self.now, &self.actor, "account-role", &detail)
            .await?;
        Ok(tx.commit().await?)
    }

    /// Disables an account and ends its sessions at once.
    pub async fn disable(&self, email: &str) -> Result<(), CaseworkError> {
        let (mut tx, stored) = self.load(email).await?;
        if stored.account.disabled {
            return refuse(format!("{} is disabled already", stored.account.email));
        }
        self.keep_an_admin(&mut tx, &stored, "disable it").await?;
        tx.set_account_disabled(stored.id, true).await?;
        let ended = tx.delete_sessions_of(stored.id).await?;
        let detail = format!("{} ({ended} sessions ended)", stored.account.email);
        tx.audit(None, self.now, &self.actor, "account-disable", &detail)
            .await?;
        Ok(tx.commit().await?)
    }

    /// Lets a disabled account sign in again with the password it had (audited like
    /// [`Self::disable`]); a new password is [`Self::reset_password`].
    pub async fn enable(&self, email: &str) -> Result<(), CaseworkError> {
        let (mut tx, stored) = self.load(email).await?;
        if !stored.account.disabled {
            return refuse(format!("{} is not disabled", stored.account.email));
        }
        tx.set_account_disabled(stored.id, false).await?;
        let detail = stored.account.email.to_string();
        tx.audit(None, self.now, &self.actor, "account-enable", &detail)
            .await?;
        Ok(tx.commit().await?)
    }

    /// Gives an account a new password, enables it if it was disabled, and ends its sessions.
    pub async fn reset_password(
        &self,
        email: &str,
        password: SecretString,
    ) -> Result<(), CaseworkError> {
        check_password(password.expose_secret(), email)?;
        let hash = hash_password(password).await?;
        let (mut tx, stored) = self.load(email).await?;
        tx.set_password_hash(stored.id, &hash).await?;
        tx.set_account_disabled(stored.id, false).await?;
        let ended = tx.delete_sessions_of(stored.id).await?;
        let detail = format!("{} ({ended} sessions ended)", stored.account.email);
        tx.audit(None, self.now, &self.actor, "account-password", &detail)
            .await?;
        Ok(tx.commit().await?)
    }

    /// Refuses to take away the last admin who can sign in: only the command line could then
    /// manage accounts.
    async fn keep_an_admin(
        &self,
        tx: &mut Tx,
        stored: &StoredAccount,
        what: &str,
    ) -> Result<(), CaseworkError> {
        if stored.account.role == Role::Admin
            && !stored.account.disabled
            && tx.active_admins().await? <= 1
        {
            return refuse(format!(
                "{} is the only admin who can sign in: make another account admin before you {what}",
                stored.account.email
            ));
        }
        Ok(())
    }

    async fn load(&self, email: &str) -> Result<(Tx, StoredAccount), CaseworkError> {
        let mut tx = self.store.begin().await?;
        match tx.account(&email_key(email)).await? {
            Some(stored) => Ok((tx, stored)),
            None => refuse(format!(
                "no account for {}: see them with `rrn user list`",
                email.trim()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_rule_asks_for_length_only_and_refuses_the_common_and_the_email() {
        let email = "Officer@Partnership.example";
        assert!(check_password("correct horse battery", email).is_ok());
        assert!(check_password("short words", email).is_err());
        assert!(check_password("officer@partnership.example", email).is_err());
        assert!(
            check_password("1qaz2wsx3edc", email).is_err(),
            "in the common list"
        );
        assert!(check_password("tab\tinside password", email).is_err());
        for weak in [
            "123456789012",
            "aaaaaaaaaaaa",
            "passwordpassword",
            "            ",
            "password1234!",
            "abcdefghijklm",
        ] {
            assert!(check_password(weak, email).is_err(), "{weak:?} is refused");
        }
        assert_eq!(COMMON.len(), 10_000);
    }
}
