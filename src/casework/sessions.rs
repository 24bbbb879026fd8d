//! Signing in and out of the web workspace, and the sessions in between.
//!
//! A session's cookie holds 256 random bits; the store keeps only their SHA-256, so a copy of
//! the database signs no one in. Failed sign-ins are counted per email (whether or not it has
//! an account, so a lockout says nothing about who has one) and per client address.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sha2::{Digest as _, Sha256};

use super::CaseworkError;
use super::accounts::{email_key, verify_password};
use crate::domain::account::{
    Account, CLIENT_FAILURES_BEFORE_LOCKOUT, FAILURES_BEFORE_LOCKOUT, SessionLimits, lockout,
};
use crate::store::{Store, Throttle};

/// A session is marked as used at most this often, so a page view is a read, not a write.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A signed-in person, for the request that carries their cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub account: Account,
    /// Every form that changes something carries it.
    pub csrf_token: String,
    token_hash: String,
}

/// Why a sign-in was refused, in the words the person is shown: never whether the account
/// exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInRefusal {
    #[error("The email address or the password is not right: check them and try again")]
    NoMatch,
    #[error(
        "Too many failed attempts: wait {} before you try again",
        minutes(*.0)
    )]
    LockedOut(Duration),
}

fn minutes(wait: Duration) -> String {
    match wait.as_secs().div_ceil(60) {
        0 | 1 => "a minute".to_owned(),
        n => format!("{n} minutes"),
    }
}

/// Signing in and out, and the sessions of the workspace.
pub struct Sessions<'a> {
    pub store: &'a Store,
    pub limits: SessionLimits,
}

/// 32 random bytes as 64 hex digits: a session id, a CSRF token, the sign-in form's token.
pub fn random_token() -> Result<String, CaseworkError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        CaseworkError::Refused(format!("the system's random number source failed: {e}"))
    })?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Sessions<'_> {
    /// Checks the password and begins a session; the cookie value is returned with it.
    pub async fn sign_in(
        &self,
        email: &str,
        password: SecretString,
        client: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(String, Session), SignInRefusal>, CaseworkError> {
        let key = email_key(email);
        let account_key = format!("account:{key}");
        let client_key = format!("client:{client}");
        // Read, then check the password outside any transaction: a hash takes tens of
        // milliseconds, and SQLite has one writer.
        let mut tx = self.store.begin().await?;
        let throttles = [
            tx.throttle(&account_key).await?,
            tx.throttle(&client_key).await?,
        ];
        let stored = tx.account(&key).await?;
        tx.rollback().await?;
        let locked = throttles
            .iter()
            .filter_map(|t| t.locked_until.filter(|until| *until > now))
            .max();
        if let Some(until) = locked {
            let mut tx = self.store.begin().await?;
            let actor = key.as_str();
            tx.audit(
                None,
                now,
                actor,
                "sign-in-refused",
                "locked out: the password was not checked",
            )
            .await?;
            tx.commit().await?;
            let wait = (until - now).to_std().unwrap_or_default();
            return Ok(Err(SignInRefusal::LockedOut(wait)));
        }
        let usable = stored.filter(|s| !s.account.disabled);
        let exists = usable.is_some();
        let hash = usable.as_ref().map(|s| s.password_hash.clone());
        let matches = verify_password(password, hash).await && exists;

        let mut tx = self.store.begin().await?;
        let Some(stored) = usable.filter(|_| matches) else {
            let why = if !exists {
                "no such account, or it is disabled"
            } else {
                "wrong password"
            };
            let mut longest = None;
            for (k, threshold) in [
                (&account_key, FAILURES_BEFORE_LOCKOUT),
                (&client_key, CLIENT_FAILURES_BEFORE_LOCKOUT),
            ] {
                let failures = tx.throttle(k).await?.failures.saturating_add(1);
                let wait = lockout(failures, threshold);
                let locked_until = wait
                    .and_then(|w| chrono::Duration::from_std(w).ok())
                    .map(|w| now + w);
                tx.set_throttle(
                    k,
                    Throttle {
                        failures,
                        locked_until,
                    },
                )
                .await?;
                if wait.is_some() {
                    let detail = format!("{k} after {failures} failed sign-ins");
                    tx.audit(None, now, &key, "locked-out", &detail).await?;
                }
                longest = longest.max(wait);
            }
            tx.audit(None, now, &key, "sign-in-failed", why).await?;
            tx.commit().await?;
            return Ok(Err(
                longest.map_or(SignInRefusal::NoMatch, SignInRefusal::LockedOut)
            ));
        };
        tx.clear_throttle(&account_key).await?;
        tx.clear_throttle(&client_key).await?;
        // Sessions nobody came back to: their rows go at the next sign-in.
        let ago = |d: Duration| now - chrono::Duration::from_std(d).unwrap_or_default();
        tx.delete_expired_sessions(ago(self.limits.idle), ago(self.limits.absolute))
            .await?;
        let token = random_token()?;
        let csrf_token = random_token()?;
        let hash = token_hash(&token);
        tx.insert_session(&hash, stored.id, &csrf_token, now)
            .await?;
        tx.audit(None, now, stored.account.email.as_str(), "sign-in", client)
            .await?;
        tx.commit().await?;
        let session = Session {
            account: stored.account,
            csrf_token,
            token_hash: hash,
        };
        Ok(Ok((token, session)))
    }

    /// The session a cookie names, if it is still good `now`; an expired one is ended.
    pub async fn session(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, CaseworkError> {
        let hash = token_hash(token);
        let Some(stored) = self.store.session(&hash).await? else {
            return Ok(None);
        };
        if !self
            .limits
            .holds(stored.created_at, stored.last_seen_at, now)
        {
            let mut tx = self.store.begin().await?;
            tx.delete_session(&hash).await?;
            tx.audit(
                None,
                now,
                stored.account.email.as_str(),
                "session-expired",
                "",
            )
            .await?;
            tx.commit().await?;
            return Ok(None);
        }
        if (now - stored.last_seen_at).to_std().unwrap_or_default() >= TOUCH_EVERY {
            let mut tx = self.store.begin().await?;
            tx.touch_session(&hash, now).await?;
            tx.commit().await?;
        }
        Ok(Some(Session {
            account: stored.account,
            csrf_token: stored.csrf_token,
            token_hash: hash,
        }))
    }

    /// Ends a session at once.
    pub async fn sign_out(
        &self,
        session: &Session,
        now: DateTime<Utc>,
    ) -> Result<(), CaseworkError> {
        let mut tx = self.store.begin().await?;
        tx.delete_session(&session.token_hash).await?;
        tx.audit(None, now, session.account.email.as_str(), "sign-out", "")
            .await?;
        Ok(tx.commit().await?)
    }
}
