//! Who receives email: a [`Contact`], the partnership's roles ([`ContactsSection`]) and the
//! agencies that can be involved in a case. Built by the config; planning reads them.

use serde::{Deserialize, Serialize};

use crate::domain::address::{DisplayName, EmailAddress};
use crate::domain::agency::AgencyId;
use crate::domain::timeline::Role;

/// A person or team that receives email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: DisplayName,
    pub email: EmailAddress,
}

/// `[contacts]`: who holds each partnership role.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// Who holds a partnership role; `None` for a role nobody holds, and for agency leads,
    /// who are each agency's own.
    pub fn holder(&self, role: Role) -> Option<&Contact> {
        match role {
            Role::BusinessTeam => self.business_team.as_ref(),
            Role::CscManager => self.csc_manager.as_ref(),
            Role::ExecutiveChair => self.executive_chair.as_ref(),
            Role::Panel => self.panel.as_ref(),
            Role::SafeguardingPartners => self.safeguarding_partners.as_ref(),
            Role::NationalPanel => self.national_panel.as_ref(),
            Role::AgencyLead => None,
        }
    }

    /// Every `[contacts]` key with its contact, if configured: the partnership roles, then
    /// `admin` (who hears of delivery failures, and owns no milestone).
    pub fn roles(&self) -> Vec<(&'static str, Option<&Contact>)> {
        Role::ALL
            .into_iter()
            .filter(|role| *role != Role::AgencyLead)
            .map(|role| (role.as_str(), self.holder(role)))
            .chain([("admin", self.admin.as_ref())])
            .collect()
    }
}

/// `[[agency]]`: an agency that can be involved in cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    pub id: AgencyId,
    pub name: DisplayName,
    /// Its safeguarding lead, who writes the Individual Agency Summary.
    pub lead: Contact,
    /// The lead's manager: the first escalation.
    pub manager: Contact,
}
