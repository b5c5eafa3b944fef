//! Accounts of people: consortium staff and provider users. Passwords are stored as argon2id
//! hashes computed above this layer.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Result, Store, StoreError, Tx, from_micros, micros, with_read, with_tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    /// `admin`, `analyst` (staff) or `provider`.
    pub role: String,
    pub provider_id: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: Timestamp,
}

impl Tx {
    pub async fn insert_user(&mut self, user: &UserRecord) -> Result<()> {
        let result = with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO users (id, username, display_name, email, role, provider_id, password_hash, disabled, created_at_us)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&user.id).bind(&user.username).bind(&user.display_name).bind(&user.email).bind(&user.role)
            .bind(&user.provider_id).bind(&user.password_hash).bind(user.disabled).bind(micros(user.created_at))
            .execute(conn).await.map(|r| r.rows_affected())
        });
        match result {
            Ok(_) => Ok(()),
            Err(error) if crate::is_unique_violation(&error) => {
                Err(StoreError::Conflict(format!("user {}", user.username)))
            }
            Err(error) => Err(error.into()),
        }
    }
}

impl Store {
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        with_read!(self, pool => {
            let row = sqlx::query(
                "SELECT id, username, display_name, email, role, provider_id, password_hash, disabled, created_at_us
                 FROM users WHERE username = $1",
            )
            .bind(username)
            .fetch_optional(pool)
            .await?;
            row.map(|row| -> Result<UserRecord> {
                Ok(UserRecord {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                    display_name: row.try_get("display_name")?,
                    email: row.try_get("email")?,
                    role: row.try_get("role")?,
                    provider_id: row.try_get("provider_id")?,
                    password_hash: row.try_get("password_hash")?,
                    disabled: row.try_get("disabled")?,
                    created_at: from_micros(row.try_get("created_at_us")?)?,
                })
            })
            .transpose()
        })
    }
}
