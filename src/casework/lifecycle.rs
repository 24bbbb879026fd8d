//! Closing and reopening a case, and recording whether a local review is proposed.

use super::{Casework, CaseworkError, check_text, refuse};
use crate::domain::case::{CaseRef, CaseState};

impl Casework<'_> {
    pub async fn close(&self, reference: &CaseRef, reason: &str) -> Result<(), CaseworkError> {
        let reason = reason.trim();
        check_text(Some(reason), "--reason")?;
        if reason.is_empty() {
            return refuse(
                "--reason is empty: say why the case is closed (for example \"review complete\")",
            );
        }
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, true).await?;
        if let CaseState::Closed(existing) = &case.state {
            return refuse(format!("case {reference} is already closed ({existing})"));
        }
        let state = CaseState::Closed(reason.to_owned());
        tx.update_case(id, case.day0, &state, case.local_review_proposed, self.now)
            .await?;
        tx.audit(Some(id), self.now, &self.actor, "close", reason)
            .await?;
        tx.commit().await?;
        Ok(())
    }
    pub async fn reopen(&self, reference: &CaseRef) -> Result<(), CaseworkError> {
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, true).await?;
        if case.state.is_open() {
            return refuse(format!(
                "case {reference} is already open: nothing to reopen"
            ));
        }
        tx.update_case(
            id,
            case.day0,
            &CaseState::Open,
            case.local_review_proposed,
            self.now,
        )
        .await?;
        tx.audit(Some(id), self.now, &self.actor, "reopen", "")
            .await?;
        tx.commit().await?;
        Ok(())
    }
    /// Records whether the Rapid Review proposed a local child safeguarding practice review.
    pub async fn set_local_review(
        &self,
        reference: &CaseRef,
        proposed: bool,
    ) -> Result<(), CaseworkError> {
        let mut tx = self.store.begin().await?;
        let (id, case) = self.load_for_change(&mut tx, reference, false).await?;
        if case.local_review_proposed == proposed {
            return refuse(format!(
                "case {reference} already has local review proposed = {}: nothing to change",
                if proposed { "yes" } else { "no" }
            ));
        }
        tx.update_case(id, case.day0, &case.state, proposed, self.now)
            .await?;
        let detail = format!(
            "local review proposed {}",
            if proposed { "yes" } else { "no" }
        );
        tx.audit(Some(id), self.now, &self.actor, "local-review", &detail)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
