//! People's accounts: consortium staff and provider users, with argon2id password hashes.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tracehop_core::provider::ProviderId;
use tracehop_store::users::UserRecord;

use crate::access::principal::{Principal, StaffRole};
use crate::{App, AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Analyst,
    Provider,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Analyst => "analyst",
            Self::Provider => "provider",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    /// Required for provider users.
    pub provider: Option<ProviderId>,
    pub password: String,
}

/// Hashes off the async threads: argon2id is deliberately slow.
async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| AppError::invalid("password", e.to_string()))
    })
    .await
    .map_err(|e| AppError::invalid("password", e.to_string()))?
}

impl App {
    pub async fn create_user(&self, new: NewUser) -> AppResult<UserRecord> {
        if new.username.trim().is_empty() || new.username.len() > 64 {
            return Err(AppError::invalid("username", "1 to 64 characters"));
        }
        if new.password.chars().count() < 12 {
            return Err(AppError::invalid("password", "at least 12 characters"));
        }
        if (new.role == Role::Provider) != new.provider.is_some() {
            return Err(AppError::invalid("provider", "provider users, and only they, belong to a provider"));
        }
        let user = UserRecord {
            id: self.new_id().to_string(),
            username: new.username.trim().to_owned(),
            display_name: new.display_name,
            email: new.email,
            role: new.role.name().to_owned(),
            provider_id: new.provider.map(|p| p.to_string()),
            password_hash: Some(hash_password(new.password).await?),
            disabled: false,
            created_at: self.now(),
        };
        let mut tx = self.store().begin().await?;
        tx.insert_user(&user).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The principal for a username and password, or `Forbidden` without saying which was wrong.
    pub async fn authenticate(&self, username: &str, password: &str) -> AppResult<Principal> {
        let refused = || AppError::Forbidden("unknown username or wrong password".into());
        let user = self.store().user_by_username(username).await?.filter(|u| !u.disabled).ok_or_else(refused)?;
        let stored = user.password_hash.clone().ok_or_else(refused)?;
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored)
                .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
        })
        .await
        .unwrap_or(false);
        if !matches {
            return Err(refused());
        }
        principal_of(&user).ok_or_else(refused)
    }
}

/// The principal an account acts as.
pub fn principal_of(user: &UserRecord) -> Option<Principal> {
    match user.role.as_str() {
        "admin" => Some(Principal::Staff { user: user.username.clone(), role: StaffRole::Admin, minted_by: None }),
        "analyst" => Some(Principal::Staff { user: user.username.clone(), role: StaffRole::Analyst, minted_by: None }),
        "provider" => {
            let provider = ProviderId::new(user.provider_id.clone()?).ok()?;
            Some(Principal::Provider { provider, user: user.username.clone(), minted_by: None })
        }
        _ => None,
    }
}
