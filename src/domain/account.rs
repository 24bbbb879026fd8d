//! Who may use the web workspace and what each role may do; how long a session lasts; how
//! long a run of failed sign-ins locks an account out. Pure: times are passed in.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::address::{DisplayName, EmailAddress};

/// What a signed-in person may do. Each role may do everything the one before it may.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum Role {
    /// The Executive Chair, the safeguarding partners, the independent scrutineer: sees
    /// everything, changes nothing.
    Viewer,
    /// The business team: everything a case needs.
    Caseworker,
    /// Accounts and the outbox, and what a caseworker may do.
    Admin,
}

impl Role {
    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// A workspace account as shown in listings (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub email: EmailAddress,
    pub name: DisplayName,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// How long a session lasts: since it was last used, and since it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
}

impl SessionLimits {
    /// Whether a session begun at `created` and last used at `last_seen` is still good `now`.
    pub fn holds(
        self,
        created: DateTime<Utc>,
        last_seen: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        let within = |since: DateTime<Utc>, limit: Duration| {
            chrono::Duration::from_std(limit).is_ok_and(|limit| now < since + limit)
        };
        within(last_seen, self.idle) && within(created, self.absolute)
    }
}

/// Failed sign-ins before an account waits.
pub const FAILURES_BEFORE_LOCKOUT: u32 = 5;
/// Failed sign-ins from one client address before it waits: higher than an account's, since a
/// council office signs in from behind one address.
pub const CLIENT_FAILURES_BEFORE_LOCKOUT: u32 = 20;
const FIRST_LOCKOUT: Duration = Duration::from_secs(60);
const LONGEST_LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// How long to wait after the `failures`-th failure in a row: none before `threshold`, then one
/// minute, doubling with each further failure, never more than fifteen.
pub fn lockout(failures: u32, threshold: u32) -> Option<Duration> {
    let beyond = failures.checked_sub(threshold)?;
    let doubled = FIRST_LOCKOUT.saturating_mul(2u32.saturating_pow(beyond.min(16)));
    Some(doubled.min(LONGEST_LOCKOUT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lockout_begins_at_the_threshold_doubles_and_stops_at_fifteen_minutes() {
        let minutes = |n| lockout(n, FAILURES_BEFORE_LOCKOUT).map(|d| d.as_secs() / 60);
        assert_eq!(minutes(4), None);
        assert_eq!(minutes(5), Some(1));
        assert_eq!(minutes(6), Some(2));
        assert_eq!(minutes(8), Some(8));
        assert_eq!(minutes(9), Some(15));
        assert_eq!(minutes(u32::MAX), Some(15));
    }

    #[test]
    fn roles_allow_what_the_roles_before_them_allow() {
        assert!(Role::Admin.allows(Role::Caseworker) && Role::Caseworker.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Caseworker) && !Role::Caseworker.allows(Role::Admin));
        assert_eq!("Caseworker".parse::<Role>().unwrap(), Role::Caseworker);
    }

    #[test]
    fn a_session_ends_when_idle_too_long_or_too_old() {
        let limits = SessionLimits {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
        };
        let t = |h: i64, m: i64| {
            DateTime::<Utc>::from_timestamp(1_800_000_000 + h * 3600 + m * 60, 0).unwrap()
        };
        assert!(limits.holds(t(0, 0), t(0, 0), t(0, 29)));
        assert!(!limits.holds(t(0, 0), t(0, 0), t(0, 30)));
        assert!(limits.holds(t(0, 0), t(11, 50), t(11, 59)));
        assert!(!limits.holds(t(0, 0), t(11, 59), t(12, 0)));
    }
}
