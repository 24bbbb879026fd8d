//! Who receives email: a [`Contact`], the partnership's roles ([`ContactsSection`]) and the
//! agencies that can be involved in a case. Built by the config; planning reads them.

use serde::Deserialize;

use crate::domain::address::{DisplayName, EmailAddress};
use crate::domain::agency::AgencyId;

/// A person or team that receives email.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: DisplayName,
    pub email: EmailAddress,
}

/// `[contacts]`: who holds each partnership role.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactsSection {
    pub business_team: Option<Contact>,
    pub csc_manager: Option<Contact>,
    pub executive_chair: Option<Contact>,
    pub panel: Option<Contact>,
    pub safeguarding_partners: Option<Contact>,
    pub national_panel: Option<Contact>,
    /// Hears of delivery failures.
    pub admin: Option<Contact>,
}

impl ContactsSection {
    /// Every role with its contact, if configured.
    pub fn roles(&self) -> [(&'static str, Option<&Contact>); 7] {
        [
            ("business_team", self.business_team.as_ref()),
            ("csc_manager", self.csc_manager.as_ref()),
            ("executive_chair", self.executive_chair.as_ref()),
            ("panel", self.panel.as_ref()),
            ("safeguarding_partners", self.safeguarding_partners.as_ref()),
            ("national_panel", self.national_panel.as_ref()),
            ("admin", self.admin.as_ref()),
        ]
    }
}

/// `[[agency]]`: an agency that can be involved in cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    pub id: AgencyId,
    pub name: DisplayName,
    /// Its safeguarding lead, who writes the Individual Agency Summary.
    pub lead: Contact,
    /// The lead's manager: the first escalation.
    pub manager: Contact,
}
