//! Who a notification goes to: the owner of a milestone, their manager, or a partnership role,
//! looked up in the contacts; a role nobody holds is a reason, never an address.

use super::{Capacity, Planner, Recipient};
use crate::domain::address::EmailAddress;
use crate::domain::agency::AgencyId;
use crate::domain::contacts::{Agency, Contact};
use crate::domain::timeline::{MilestoneState, Role};

/// A notification that cannot be addressed (no contact configured): planned as a skip.
#[derive(Clone)]
pub(super) struct Unaddressed(pub(super) String);

/// Who a notification goes to, worked out only if it is proposed.
pub(super) type ToWhom<'a> = dyn Fn() -> Result<Recipient, Unaddressed> + 'a;

impl Planner<'_> {
    pub(super) fn role_contact(&self, role: Role) -> Result<Recipient, Unaddressed> {
        let contact = self.contacts.holder(role);
        contact
            .map(|c| recipient(Capacity::Role(role), c))
            .ok_or_else(|| Unaddressed(format!("no contact for {role} in [contacts]")))
    }
    pub(super) fn agency(&self, id: &AgencyId) -> Result<&Agency, Unaddressed> {
        self.agencies
            .iter()
            .find(|a| &a.id == id)
            .ok_or_else(|| Unaddressed(format!("agency {id} is not in the config")))
    }
    /// Who must act on a milestone (for one agency, where per agency).
    pub(super) fn owner(&self, state: &MilestoneState) -> Result<Recipient, Unaddressed> {
        match (state.owner, state.agency) {
            (Role::AgencyLead, Some(agency)) => {
                let agency = self.agency(agency)?;
                Ok(recipient(
                    Capacity::AgencyLead(agency.id.clone()),
                    &agency.lead,
                ))
            }
            (role, _) => self.role_contact(role),
        }
    }
    pub(super) fn manager(&self, state: &MilestoneState) -> Result<Recipient, Unaddressed> {
        match state.agency {
            Some(agency) => {
                let agency = self.agency(agency)?;
                Ok(recipient(
                    Capacity::AgencyManager(agency.id.clone()),
                    &agency.manager,
                ))
            }
            None => match self.policy().manager_of.of(state.owner) {
                Some(role) => self.role_contact(role),
                None => Err(Unaddressed(format!("no manager for {}", state.owner))),
            },
        }
    }
}

pub(super) fn recipient(role: Capacity, contact: &Contact) -> Recipient {
    Recipient {
        role,
        name: contact.name.to_string(),
        email: contact.email.clone(),
    }
}
/// A placeholder address for a notification that has no contact; it is only ever skipped.
pub(super) fn unaddressed() -> Recipient {
    Recipient {
        role: Capacity::Unaddressed,
        name: "no contact configured".to_owned(),
        email: EmailAddress::parse("unaddressed@invalid").expect("valid"),
    }
}
