//! Adding agencies to a case and removing them.

use super::{Casework, CaseworkError, join, refuse};
use crate::domain::agency::AgencyId;
use crate::domain::case::CaseRef;

impl Casework<'_> {
    pub async fn change_agencies(
        &self,
        reference: &CaseRef,
        add: &[AgencyId],
        remove: &[AgencyId],
    ) -> Result<(), CaseworkError> {
        for agency in add.iter().chain(remove) {
            self.check_agency_known(
                agency,
                if add.contains(agency) {
                    "--add"
                } else {
                    "--remove"
                },
            )?;
        }
        if let Some(both) = add.iter().find(|a| remove.contains(a)) {
            return refuse(format!(
                "agency {both} is both added and removed: that is no change; give it once"
            ));
        }
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, false).await?;
        let mut involved = case.agencies.clone();
        for agency in add {
            if involved.contains(agency) {
                return refuse(format!(
                    "agency {agency} is already involved in {reference}: nothing to add"
                ));
            }
            tx.add_agency(id, agency, self.now).await?;
            involved.push(agency.clone());
        }
        for agency in remove {
            if !involved.contains(agency) {
                return refuse(format!(
                    "agency {agency} is not involved in {reference}: involved are {}",
                    join(&involved)
                ));
            }
            let recorded: Vec<&str> = case
                .completions
                .iter()
                .filter(|c| c.agency.as_ref() == Some(agency))
                .map(|c| c.milestone.as_str())
                .collect();
            if !recorded.is_empty() {
                return refuse(format!(
                    "agency {agency} has recorded completions on {reference} ({}): uncomplete \
                     them first with `rrn case uncomplete {reference} MILESTONE --agency {agency}`",
                    recorded.join(", ")
                ));
            }
            tx.remove_agency(id, agency).await?;
            involved.retain(|a| a != agency);
        }
        if involved.is_empty() {
            return refuse(format!(
                "removing the last agency would leave {reference} with none: add another first"
            ));
        }
        let detail = format!("added {}; removed {}", join(add), join(remove));
        tx.update_case(
            id,
            case.day0,
            &case.state,
            case.local_review_proposed,
            self.now,
        )
        .await?;
        tx.audit(Some(id), self.now, &self.actor, "agencies", &detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
