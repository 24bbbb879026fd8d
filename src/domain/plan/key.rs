//! [`NotificationKey`]: a notification's logical occurrence and recipient, the same on every run
//! that proposes it, so the notification log can tell a new occurrence from one already decided.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Rule;
use crate::domain::address::EmailAddress;
use crate::domain::agency::AgencyId;
use crate::domain::case::CaseRef;

/// The stable identity of one notification to one recipient; never reused for another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NotificationKey(pub(super) String);

impl NotificationKey {
    pub(super) fn new(
        case: Option<&CaseRef>,
        milestone: Option<&str>,
        agency: Option<&AgencyId>,
        rule: Rule,
        rung: u32,
        repeat: u32,
        recipient: &EmailAddress,
    ) -> Self {
        Self(format!(
            "{}/{}/{}/{}/{rung}/{repeat}/{recipient}",
            case.map_or("-", CaseRef::as_str),
            milestone.unwrap_or("-"),
            agency.map_or("-", AgencyId::as_str),
            rule.as_str(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key as stored in the notification log.
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }
}
impl fmt::Display for NotificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}
