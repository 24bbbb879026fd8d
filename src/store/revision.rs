//! The revision counter every case change bumps, so a run knows which cases changed since the
//! last one without reading them.

use super::{Inner, Store, StoreError};

impl Store {
    /// The revision counter: it moves whenever any case changes.
    pub async fn revision(&self) -> Result<i64, StoreError> {
        let mut tx = self.read().await?;
        let value = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_scalar("SELECT value FROM revision_counter WHERE id = 1")
                .fetch_one(&mut **conn)
                .await?
        });
        tx.rollback().await?;
        Ok(value)
    }
}
