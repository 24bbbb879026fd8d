//! The notification log: every key a run decided (sent or skipped), found again by a small
//! index on (case, the first 8 bytes of the key's SHA-256) and compared as text.

use std::collections::HashSet;

use super::{Inner, Store, StoreError, Tx};
use crate::domain::plan::NotificationKey;

/// How many keys one lookup asks for.
const KEYS_PER_QUERY: usize = 500;
/// `$1` is a JSON array of `[case id or 0, key hash]` pairs.
/// (A row-value `IN` would scan the log: SQLite only uses the expression index from a join.)
const LOGGED_SQLITE: &str = "SELECT l.key FROM json_each($1) AS k CROSS JOIN notification_log AS l \
     ON coalesce(l.case_id, 0) = json_extract(k.value, '$[0]') \
     AND l.key_hash = json_extract(k.value, '$[1]')";
const LOGGED_POSTGRES: &str = "SELECT l.key FROM notification_log l \
     JOIN unnest($1::bigint[], $2::bigint[]) AS k (case_id, key_hash) \
     ON coalesce(l.case_id, 0) = k.case_id AND l.key_hash = k.key_hash";
/// A chunk of keys as `LOGGED_SQLITE` takes them.
fn sqlite_pairs(chunk: &[(Option<i64>, &NotificationKey)]) -> String {
    let pairs: Vec<(i64, i64)> = chunk
        .iter()
        .map(|(case, key)| (case.unwrap_or(0), key_hash(key.as_str())))
        .collect();
    serde_json::to_string(&pairs).expect("numbers serialise")
}
/// A chunk of keys as `LOGGED_POSTGRES` takes them.
fn postgres_arrays(chunk: &[(Option<i64>, &NotificationKey)]) -> (Vec<i64>, Vec<i64>) {
    chunk
        .iter()
        .map(|(case, key)| (case.unwrap_or(0), key_hash(key.as_str())))
        .unzip()
}
/// The logged keys a lookup found that were asked for: the hash found the rows, the text
/// decides (a colliding key is not logged).
fn asked_for(
    chunk: &[(Option<i64>, &NotificationKey)],
    rows: Vec<String>,
) -> impl Iterator<Item = NotificationKey> {
    let asked: HashSet<&str> = chunk.iter().map(|(_, key)| key.as_str()).collect();
    let found: Vec<String> = rows
        .into_iter()
        .filter(|key| asked.contains(key.as_str()))
        .collect();
    found.into_iter().map(NotificationKey::from_stored)
}
/// The notification log's lookup hash of a key: the first 8 bytes of its SHA-256, big-endian
/// (migration 0004 computes the same in PostgreSQL). Lookups compare the key text as well, so
/// the hash only has to find the row, never to tell keys apart.
pub(crate) fn key_hash(key: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("SHA-256 has 32 bytes"))
}
/// One decision to record in the notification log.
#[derive(Debug, Clone, Copy)]
pub struct LogEntry<'a> {
    pub key: &'a NotificationKey,
    /// The case's row id.
    pub case_id: Option<i64>,
    /// A sent notification's email: its index among the batch's emails.
    pub email: Option<usize>,
    /// Why a notification was skipped.
    pub skip_reason: Option<&'a str>,
}

impl Store {
    /// The keys among `keys` (each with its case's row id) that are already in the notification
    /// log. Asks only about these keys, a few hundred at a time: the log itself is never read
    /// whole.
    pub async fn logged_keys(
        &self,
        keys: &[(Option<i64>, &NotificationKey)],
    ) -> Result<HashSet<NotificationKey>, StoreError> {
        let mut found = HashSet::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let rows: Vec<String> = match self {
                Store::Sqlite(pool) => {
                    sqlx::query_scalar(LOGGED_SQLITE)
                        .bind(sqlite_pairs(chunk))
                        .fetch_all(pool)
                        .await?
                }
                Store::Postgres(pool) => {
                    let (cases, hashes) = postgres_arrays(chunk);
                    sqlx::query_scalar(LOGGED_POSTGRES)
                        .bind(cases)
                        .bind(hashes)
                        .fetch_all(pool)
                        .await?
                }
            };
            found.extend(asked_for(chunk, rows));
        }
        Ok(found)
    }
    /// The cases with anything logged after `mark` (normally none: a run that died half-way
    /// leaves some).
    pub async fn cases_logged_after(&self, mark: i64) -> Result<HashSet<i64>, StoreError> {
        let mut tx = self.read().await?;
        let cases: Vec<i64> = on_backend!(&mut tx.0, conn, _PG => {
            sqlx::query_scalar(
                "SELECT DISTINCT case_id FROM notification_log \
                 WHERE id > $1 AND case_id IS NOT NULL",
            )
            .bind(mark)
            .fetch_all(&mut **conn)
            .await?
        });
        tx.rollback().await?;
        Ok(cases.into_iter().collect())
    }
}

impl Tx {
    /// [`Store::logged_keys`] inside this write transaction, so what it finds stays true until
    /// the transaction ends.
    pub async fn logged_keys(
        &mut self,
        keys: &[(Option<i64>, &NotificationKey)],
    ) -> Result<HashSet<NotificationKey>, StoreError> {
        let mut found = HashSet::new();
        for chunk in keys.chunks(KEYS_PER_QUERY) {
            let rows: Vec<String> = match &mut self.0 {
                Inner::Sqlite(conn) => {
                    sqlx::query_scalar(LOGGED_SQLITE)
                        .bind(sqlite_pairs(chunk))
                        .fetch_all(&mut **conn)
                        .await?
                }
                Inner::Postgres(conn) => {
                    let (cases, hashes) = postgres_arrays(chunk);
                    sqlx::query_scalar(LOGGED_POSTGRES)
                        .bind(cases)
                        .bind(hashes)
                        .fetch_all(&mut **conn)
                        .await?
                }
            };
            found.extend(asked_for(chunk, rows));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    /// Migration 0004 computes the hash in PostgreSQL as
    /// `('x' || substr(encode(sha256(convert_to(key, 'UTF8')), 'hex'), 1, 16))::bit(64)::bigint`,
    /// which gives this for `abc`; rrn must give the same, or old keys would never be found.
    #[test]
    fn the_log_hash_is_the_first_8_bytes_of_sha256_as_postgresql_reads_them() {
        assert_eq!(super::key_hash("abc"), -5_010_229_573_455_851_542);
    }
}
