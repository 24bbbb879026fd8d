//! The web workspace's accounts, sessions and sign-in throttle.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Inner, Store, StoreError, Tx};
use crate::domain::account::{Account, Role};
use crate::domain::address::{DisplayName, EmailAddress};

/// An account's row id, only meaningful inside the store and the session that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountId(i64);

/// An account with what signing in checks.
#[derive(Debug, Clone)]
pub struct StoredAccount {
    pub id: AccountId,
    pub account: Account,
    pub password_hash: String,
}

/// A session as stored, with its account.
#[derive(Debug, Clone)]
pub struct StoredSession {
    pub account_id: AccountId,
    pub account: Account,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A throttle key's run of failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// The columns [`account_from`] reads, as a literal so the queries stay static strings.
macro_rules! account_columns {
    () => {
        "a.id, a.email, a.name, a.role, a.password_hash, a.disabled, a.created_at, a.last_sign_in_at"
    };
}

fn account_from<R>(row: &R) -> Result<StoredAccount, StoreError>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> bool: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("an account's {what}: {e}"))
    };
    let email: String = row.try_get("email")?;
    let name: String = row.try_get("name")?;
    let role: String = row.try_get("role")?;
    Ok(StoredAccount {
        id: AccountId(row.try_get("id")?),
        password_hash: row.try_get("password_hash")?,
        account: Account {
            email: EmailAddress::parse(&email).map_err(|e| corrupt("email", &e))?,
            name: DisplayName::parse(&name).map_err(|e| corrupt("name", &e))?,
            role: role.parse::<Role>().map_err(|e| corrupt("role", &e))?,
            disabled: row.try_get("disabled")?,
            created_at: row.try_get("created_at")?,
            last_sign_in_at: row.try_get("last_sign_in_at")?,
        },
    })
}

impl Store {
    /// Every account, by email.
    pub async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut tx = self.read().await?;
        let accounts = on_backend!(&mut tx.0, conn, _PG => {
            let rows = sqlx::query(concat!(
                "SELECT ", account_columns!(), " FROM accounts a ORDER BY a.email_key"
            ))
            .fetch_all(&mut **conn)
            .await?;
            rows.iter()
                .map(|row| account_from(row).map(|a| a.account))
                .collect::<Result<Vec<_>, _>>()?
        });
        tx.rollback().await?;
        Ok(accounts)
    }

    /// The session whose cookie hashes to `token_hash`, if its account is not disabled.
    pub async fn session(&self, token_hash: &str) -> Result<Option<StoredSession>, StoreError> {
        let mut tx = self.read().await?;
        let session = on_backend!(&mut tx.0, conn, _PG => {
            let row = sqlx::query(concat!(
                "SELECT ", account_columns!(), ", s.csrf_token, s.created_at AS session_created, \
                 s.last_seen_at FROM sessions s JOIN accounts a ON a.id = s.account_id \
                 WHERE s.token_hash = $1 AND NOT a.disabled"
            ))
            .bind(token_hash)
            .fetch_optional(&mut **conn)
            .await?;
            match row {
                None => None,
                Some(row) => {
                    let stored = account_from(&row)?;
                    Some(StoredSession {
                        account_id: stored.id,
                        account: stored.account,
                        csrf_token: row.try_get("csrf_token")?,
                        created_at: row.try_get("session_created")?,
                        last_seen_at: row.try_get("last_seen_at")?,
                    })
                }
            }
        });
        tx.rollback().await?;
        Ok(session)
    }
}

impl Tx {
    /// The account with this email (matched without regard to case).
    pub async fn account(&mut self, email_key: &str) -> Result<Option<StoredAccount>, StoreError> {
        Ok(on_backend!(&mut self.0, conn, _PG => {
            let row = sqlx::query(concat!(
                "SELECT ", account_columns!(), " FROM accounts a WHERE a.email_key = $1"
            ))
            .bind(email_key)
            .fetch_optional(&mut **conn)
            .await?;
            row.map(|row| account_from(&row)).transpose()?
        }))
    }

    /// How many accounts can sign in as admin.
    pub async fn active_admins(&mut self) -> Result<i64, StoreError> {
        Ok(on_backend!(&mut self.0, conn, _PG => {
            sqlx::query_scalar("SELECT count(*) FROM accounts WHERE role = 'admin' AND NOT disabled")
                .fetch_one(&mut **conn)
                .await?
        }))
    }

    /// Adds an account; [`StoreError::Conflict`] if the email is taken.
    pub async fn insert_account(
        &mut self,
        account: &Account,
        email_key: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let role: &'static str = account.role.into();
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO accounts (email, email_key, name, role, password_hash, disabled, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(account.email.as_str())
            .bind(email_key)
            .bind(account.name.as_str())
            .bind(role)
            .bind(password_hash)
            .bind(account.disabled)
            .bind(account.created_at)
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }

    pub async fn set_account_role(&mut self, id: AccountId, role: Role) -> Result<(), StoreError> {
        let role: &'static str = role.into();
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("UPDATE accounts SET role = $1 WHERE id = $2")
                .bind(role)
                .bind(id.0)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }

    pub async fn set_account_disabled(
        &mut self,
        id: AccountId,
        disabled: bool,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("UPDATE accounts SET disabled = $1 WHERE id = $2")
                .bind(disabled)
                .bind(id.0)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }

    pub async fn set_password_hash(&mut self, id: AccountId, hash: &str) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(id.0)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }

    /// Begins a session for the account, and records the sign-in on it.
    pub async fn insert_session(
        &mut self,
        token_hash: &str,
        id: AccountId,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, \
                 last_seen_at) VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(token_hash)
            .bind(id.0)
            .bind(csrf_token)
            .bind(now)
            .execute(&mut **conn)
            .await?;
            sqlx::query("UPDATE accounts SET last_sign_in_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id.0)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }

    /// Marks a session as used now.
    pub async fn touch_session(
        &mut self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(token_hash)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }

    /// Ends every session of an account (disabled, or its password reset).
    pub async fn delete_sessions_of(&mut self, id: AccountId) -> Result<u64, StoreError> {
        Ok(on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(id.0)
                .execute(&mut **conn)
                .await?
                .rows_affected()
        }))
    }

    /// Ends the sessions last used before `idle_before` or begun before `begun_before`.
    pub async fn delete_expired_sessions(
        &mut self,
        idle_before: DateTime<Utc>,
        begun_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
                .bind(idle_before)
                .bind(begun_before)
                .execute(&mut **conn)
                .await?
                .rows_affected()
        }))
    }

    pub async fn throttle(&mut self, key: &str) -> Result<Throttle, StoreError> {
        Ok(on_backend!(&mut self.0, conn, _PG => {
            let row = sqlx::query("SELECT failures, locked_until FROM sign_in_throttle WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut **conn)
                .await?;
            match row {
                None => Throttle::default(),
                Some(row) => Throttle {
                    failures: u32::try_from(row.try_get::<i32, _>("failures")?).unwrap_or(0),
                    locked_until: row.try_get("locked_until")?,
                },
            }
        }))
    }

    pub async fn set_throttle(&mut self, key: &str, throttle: Throttle) -> Result<(), StoreError> {
        let failures = i32::try_from(throttle.failures).unwrap_or(i32::MAX);
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query(
                "INSERT INTO sign_in_throttle (key, failures, locked_until) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
                 locked_until = excluded.locked_until",
            )
            .bind(key)
            .bind(failures)
            .bind(throttle.locked_until)
            .execute(&mut **conn)
            .await?;
        });
        Ok(())
    }

    pub async fn clear_throttle(&mut self, key: &str) -> Result<(), StoreError> {
        on_backend!(&mut self.0, conn, _PG => {
            sqlx::query("DELETE FROM sign_in_throttle WHERE key = $1")
                .bind(key)
                .execute(&mut **conn)
                .await?;
        });
        Ok(())
    }
}
