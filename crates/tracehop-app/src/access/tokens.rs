//! Bearer API tokens for providers' systems and staff machine users: shown once, stored as a
//! hash, scoped, expiring, revocable.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use rand::Rng;
use sha2::{Digest, Sha256};
use tracehop_core::intake::SourceKind;
use tracehop_core::provider::ProviderId;
use tracehop_store::tokens::TokenRecord;

use crate::access::principal::{Principal, StaffRole};
use crate::{App, AppError, AppResult};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Read one's own hop requests and their views.
    HopsRead,
    /// Acknowledge, answer, dispute and comment on one's own hops.
    HopsAnswer,
    /// Manage one's webhooks and read deliveries.
    WebhooksManage,
    /// Change one's own directory profile: the contacts hop requests go to.
    ProfileManage,
    /// Issue and revoke tokens (a provider's for itself; staff's for anyone).
    TokensManage,
    /// Staff: read every traceback.
    TracebacksRead,
    /// Staff: start and steer tracebacks.
    TracebacksManage,
    /// Submit incident data (submitters and staff).
    IncidentsSubmit,
    /// Submit traceback candidates (submitters and staff).
    CandidatesSubmit,
    /// Staff: review candidates, manage campaigns, read incidents.
    IntakeManage,
    /// Staff: the provider directory and RMD imports.
    DirectoryManage,
    /// Staff: the Do Not Originate registry (entries, publication, registry users).
    DnoManage,
    /// Registry users and staff: download the Do Not Originate registry and screen numbers.
    DnoRead,
}

pub const ALL_SCOPES: [Scope; 13] = [
    Scope::HopsRead,
    Scope::HopsAnswer,
    Scope::WebhooksManage,
    Scope::ProfileManage,
    Scope::TokensManage,
    Scope::TracebacksRead,
    Scope::TracebacksManage,
    Scope::IncidentsSubmit,
    Scope::CandidatesSubmit,
    Scope::IntakeManage,
    Scope::DirectoryManage,
    Scope::DnoManage,
    Scope::DnoRead,
];

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Self::HopsRead => "hops:read",
            Self::HopsAnswer => "hops:answer",
            Self::WebhooksManage => "webhooks:manage",
            Self::ProfileManage => "profile:manage",
            Self::TokensManage => "tokens:manage",
            Self::TracebacksRead => "tracebacks:read",
            Self::TracebacksManage => "tracebacks:manage",
            Self::IncidentsSubmit => "incidents:submit",
            Self::CandidatesSubmit => "candidates:submit",
            Self::IntakeManage => "intake:manage",
            Self::DirectoryManage => "directory:manage",
            Self::DnoManage => "dno:manage",
            Self::DnoRead => "dno:read",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ALL_SCOPES.into_iter().find(|scope| scope.name() == text)
    }

    /// Whether a provider's token may hold it.
    pub fn for_providers(self) -> bool {
        matches!(
            self,
            Self::HopsRead
                | Self::HopsAnswer
                | Self::WebhooksManage
                | Self::ProfileManage
                | Self::TokensManage
                | Self::DnoRead
        )
    }

    /// Whether a staff token may hold it.
    pub fn for_staff(self) -> bool {
        matches!(
            self,
            Self::TracebacksRead
                | Self::TracebacksManage
                | Self::TokensManage
                | Self::IncidentsSubmit
                | Self::CandidatesSubmit
                | Self::IntakeManage
                | Self::DirectoryManage
                | Self::DnoManage
                | Self::DnoRead
        )
    }

    /// Whether a submitter's token may hold it.
    pub fn for_submitters(self) -> bool {
        matches!(self, Self::IncidentsSubmit | Self::CandidatesSubmit | Self::DnoRead)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whom a token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOwner {
    Provider(ProviderId),
    /// A staff machine user with this role.
    Staff(StaffRole),
    /// A submitter's systems.
    Submitter(String),
}

impl TokenOwner {
    /// Whether its tokens may hold `scope`. A staff admin's token may also hold the provider
    /// scopes, only so that it can grant them when it onboards a provider (a new token's scopes
    /// are a subset of its issuer's); they let a staff token do nothing itself, since provider
    /// routes act only for a provider.
    pub fn may_hold(&self, scope: Scope) -> bool {
        match self {
            Self::Provider(_) => scope.for_providers(),
            Self::Submitter(_) => scope.for_submitters(),
            Self::Staff(StaffRole::Admin) => scope.for_staff() || scope.for_providers(),
            Self::Staff(StaffRole::Analyst) => scope.for_staff(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub owner: TokenOwner,
    pub scopes: BTreeSet<Scope>,
    pub expires_at: Option<Timestamp>,
    pub rate_limit_per_minute: Option<u32>,
}

/// A token just issued: the secret is in `token` and nowhere else.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub record: TokenRecord,
    pub token: String,
}

/// The caller a valid token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: String,
    pub principal: Principal,
    pub scopes: BTreeSet<Scope>,
    pub rate_limit_per_minute: u32,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl Caller {
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("this token lacks the {scope} scope")))
        }
    }
}

pub const DEFAULT_RATE_LIMIT: u32 = 600;

/// A token's last use is written back at most this often.
const TOUCH_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// How long a replica trusts a token it looked up; revocation elsewhere takes effect within it.
const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// Recently looked-up tokens, so a busy client costs no database read per request.
#[derive(Default)]
pub(crate) struct TokenCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (TokenRecord, std::time::Instant)>>,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (TokenRecord, std::time::Instant)>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, prefix: &str) -> Option<TokenRecord> {
        self.lock().get(prefix).filter(|(_, at)| at.elapsed() < CACHE_FOR).map(|(record, _)| record.clone())
    }

    fn put(&self, record: TokenRecord) {
        let mut entries = self.lock();
        entries.retain(|_, (_, at)| at.elapsed() < CACHE_FOR);
        entries.insert(record.prefix.clone(), (record, std::time::Instant::now()));
    }

    fn touched(&self, prefix: &str, at: Timestamp) {
        if let Some((record, _)) = self.lock().get_mut(prefix) {
            record.last_used_at = Some(at);
        }
    }

    fn forget(&self, prefix: &str) {
        self.lock().remove(prefix);
    }
}

/// How a token's owner is stored.
type OwnerColumns = (&'static str, Option<String>, Option<&'static str>, Option<String>);
const TOKEN_PREFIX: &str = "thp_";

fn random_text(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..length).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn role_name(role: StaffRole) -> &'static str {
    match role {
        StaffRole::Admin => "admin",
        StaffRole::Analyst => "analyst",
    }
}

impl App {
    /// Issues a token. Only a staff admin onboards a provider or a submitter (issues its tokens)
    /// or issues staff tokens; a provider's caller with `tokens:manage` issues tokens for its own
    /// provider. When `issuer` is the API token asking, the new token stays within its ceilings:
    /// scopes a subset of the issuer's, a rate limit no higher, an expiry no later (an issuer
    /// that expires cannot issue a token that never does); the new token records it (lineage).
    /// `issuer` is `None` only for an operator at the command line or a person.
    pub async fn issue_token(&self, by: &Principal, issuer: Option<&Caller>, new: NewToken) -> AppResult<IssuedToken> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("name", "1 to 100 characters"));
        }
        if new.scopes.is_empty() {
            return Err(AppError::invalid("scopes", "at least one scope"));
        }
        let now = self.now();
        if new.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::invalid("expires_at", "must be in the future"));
        }
        if let Some(limit) = new.rate_limit_per_minute
            && !(1..=100_000).contains(&limit)
        {
            return Err(AppError::invalid("rate_limit_per_minute", "between 1 and 100000"));
        }
        match (&new.owner, by) {
            (
                TokenOwner::Provider(_) | TokenOwner::Submitter(_) | TokenOwner::Staff(_),
                Principal::Staff { role: StaffRole::Admin, .. },
            ) => {}
            (TokenOwner::Provider(_) | TokenOwner::Submitter(_), Principal::Staff { .. }) => {
                return Err(AppError::Forbidden(
                    "only staff admins issue providers' and submitters' tokens (onboarding)".into(),
                ));
            }
            (TokenOwner::Staff(_), Principal::Staff { .. }) => {
                return Err(AppError::Forbidden("only staff admins issue staff tokens".into()));
            }
            (TokenOwner::Provider(owner), Principal::Provider { provider, .. }) if owner == provider => {}
            (_, Principal::Provider { .. }) => return Err(AppError::NotFound("provider".into())),
            (_, Principal::Submitter { .. }) => {
                return Err(AppError::Forbidden("submitters' tokens are issued by consortium staff".into()));
            }
        }
        if let Some(held) = issuer
            && let Some(extra) = new.scopes.iter().find(|s| !held.scopes.contains(s))
        {
            return Err(AppError::Forbidden(format!("you cannot grant {extra}, which your own token lacks")));
        }
        let (owner_kind, provider_id, staff_role, submitter_id): OwnerColumns = match &new.owner {
            TokenOwner::Provider(provider) => {
                if self.store().provider(provider).await?.is_none() {
                    return Err(AppError::invalid("provider_id", format!("no provider {provider}")));
                }
                ("provider", Some(provider.to_string()), None, None)
            }
            TokenOwner::Staff(role) => ("staff", None, Some(role_name(*role)), None),
            TokenOwner::Submitter(submitter) => {
                if self.store().submitter(submitter).await?.is_none() {
                    return Err(AppError::invalid("submitter_id", format!("no submitter {submitter}")));
                }
                ("submitter", None, None, Some(submitter.clone()))
            }
        };
        if let Some(wrong) = new.scopes.iter().find(|s| !new.owner.may_hold(**s)) {
            return Err(AppError::invalid("scopes", format!("{wrong} is not for {owner_kind} tokens")));
        }
        let limit = within_ceilings(issuer, new.rate_limit_per_minute, new.expires_at)?;
        let prefix = format!("{TOKEN_PREFIX}{}", random_text(12));
        let token = format!("{prefix}_{}", random_text(40));
        let record = TokenRecord {
            id: self.new_id().to_string(),
            prefix,
            secret_hash: digest(&token),
            name: name.to_owned(),
            owner_kind: owner_kind.to_owned(),
            provider_id,
            staff_role: staff_role.map(str::to_owned),
            submitter_id,
            submitter_kind: None,
            scopes: new.scopes.iter().map(|s| s.name().to_owned()).collect(),
            rate_limit_per_minute: i64::from(limit),
            created_by: by.user().to_owned(),
            created_at: now,
            expires_at: new.expires_at,
            revoked_at: None,
            last_used_at: None,
            issued_by: issuer.map(|caller| caller.token_id.clone()),
            minted_by_staff: matches!(by, Principal::Staff { .. }).then(|| by.user().to_owned()),
        };
        let mut tx = self.store().begin().await?;
        if !tx.insert_token(&record).await? {
            return Err(AppError::Unauthorized("this token has been revoked".into()));
        }
        tx.commit().await?;
        Ok(IssuedToken { record, token })
    }

    /// Whether a token with this prefix exists, as far as a failed [`App::authenticate_token`]
    /// just found: it looked the prefix up and kept what it found for a few seconds.
    pub fn token_prefix_seen(&self, prefix: &str) -> bool {
        self.inner_tokens().get(prefix).is_some()
    }

    /// The caller a bearer token stands for.
    pub async fn authenticate_token(&self, token: &str) -> AppResult<Caller> {
        let refused = || AppError::Unauthorized("the bearer token is not valid".into());
        let prefix = token_prefix(token).ok_or_else(refused)?;
        let record = match self.inner_tokens().get(prefix) {
            Some(record) => record,
            None => {
                let record = self.store().token_by_prefix(prefix).await?.ok_or_else(refused)?;
                self.inner_tokens().put(record.clone());
                record
            }
        };
        if !same(&record.secret_hash, &digest(token)) {
            return Err(refused());
        }
        let now = self.now();
        if record.revoked_at.is_some() {
            return Err(AppError::Unauthorized("this token has been revoked".into()));
        }
        if record.expires_at.is_some_and(|at| at <= now) {
            return Err(AppError::Unauthorized("this token has expired".into()));
        }
        if record.last_used_at.is_none_or(|last| now.duration_since(last) >= TOUCH_EVERY) {
            self.inner_tokens().touched(prefix, now);
            let (store, id) = (self.store().clone(), record.id.clone());
            tokio::spawn(async move {
                if let Err(error) = store.touch_token(&id, now).await {
                    tracing::warn!(%error, "could not record a token's last use");
                }
            });
        }
        caller_of(&record).ok_or_else(refused)
    }

    /// Tokens of a provider (for that provider's callers or staff), or staff tokens (staff).
    pub async fn list_tokens(&self, by: &Principal, provider: Option<&ProviderId>) -> AppResult<Vec<TokenRecord>> {
        match (by, provider) {
            (Principal::Staff { .. }, provider) => {
                Ok(self.store().list_tokens(provider.map(ProviderId::as_str)).await?)
            }
            (Principal::Provider { provider: own, .. }, Some(asked)) if own == asked => {
                Ok(self.store().list_tokens(Some(own.as_str())).await?)
            }
            (Principal::Provider { .. } | Principal::Submitter { .. }, _) => Err(AppError::NotFound("tokens".into())),
        }
    }

    /// Drops revoked tokens from this replica's cache (others trust theirs for a few seconds).
    pub(crate) fn forget_tokens(&self, prefixes: &[String]) {
        for prefix in prefixes {
            self.inner_tokens().forget(prefix);
        }
    }

    /// Revokes a token the caller may manage, and every token issued from it, transitively.
    pub async fn revoke_token(&self, by: &Principal, id: &str) -> AppResult<TokenRecord> {
        let hidden = || AppError::NotFound(format!("token {id}"));
        let record = self.store().token(id).await?.ok_or_else(hidden)?;
        let allowed = match by {
            Principal::Staff { role, .. } => record.owner_kind == "provider" || *role == StaffRole::Admin,
            Principal::Provider { provider, .. } => record.provider_id.as_deref() == Some(provider.as_str()),
            Principal::Submitter { .. } => false,
        };
        if !allowed {
            return Err(hidden());
        }
        let revoked = self.store().revoke_token(id, self.now()).await?;
        self.forget_tokens(&revoked);
        if revoked.len() > 1 {
            tracing::info!(token = %record.prefix, also = revoked.len() - 1, "revoked a token and the tokens issued from it");
        }
        self.store().token(id).await?.ok_or_else(hidden)
    }
}

/// The public prefix of a bearer token (`thp_…`), if it has the shape of one.
pub fn token_prefix(token: &str) -> Option<&str> {
    token.rsplit_once('_').map(|(prefix, _)| prefix).filter(|p| p.starts_with(TOKEN_PREFIX))
}

/// The new token's rate limit, within the issuer's ceilings on rate and expiry. Without a limit
/// asked for, the default or the issuer's, whichever is lower.
fn within_ceilings(issuer: Option<&Caller>, asked: Option<u32>, expires_at: Option<Timestamp>) -> AppResult<u32> {
    let Some(issuer) = issuer else { return Ok(asked.unwrap_or(DEFAULT_RATE_LIMIT)) };
    let limit = asked.unwrap_or(DEFAULT_RATE_LIMIT.min(issuer.rate_limit_per_minute));
    if limit > issuer.rate_limit_per_minute {
        return Err(AppError::Forbidden(format!(
            "you cannot grant {limit} requests a minute; your own token has {}",
            issuer.rate_limit_per_minute
        )));
    }
    match (issuer.expires_at, expires_at) {
        (Some(cap), None) => Err(AppError::Forbidden(format!(
            "your own token expires at {cap}; give an expires_at no later (a token you issue cannot outlive yours)"
        ))),
        (Some(cap), Some(at)) if at > cap => {
            Err(AppError::Forbidden(format!("your own token expires at {cap}; a token you issue cannot expire later")))
        }
        _ => Ok(limit),
    }
}

/// The caller a stored token stands for.
fn caller_of(record: &TokenRecord) -> Option<Caller> {
    let user = format!("token:{}", record.prefix);
    let minted_by = record.minted_by_staff.clone();
    let principal = match (record.owner_kind.as_str(), &record.provider_id, record.staff_role.as_deref()) {
        ("provider", Some(provider), _) => {
            Principal::Provider { provider: ProviderId::new(provider.clone()).ok()?, user, minted_by }
        }
        ("staff", _, Some("admin")) => Principal::Staff { user, role: StaffRole::Admin, minted_by },
        ("staff", _, Some("analyst")) => Principal::Staff { user, role: StaffRole::Analyst, minted_by },
        ("submitter", _, _) => Principal::Submitter {
            submitter: record.submitter_id.clone()?,
            kind: SourceKind::parse(record.submitter_kind.as_deref()?)?,
            user,
        },
        _ => return None,
    };
    let owner = match &principal {
        Principal::Provider { provider, .. } => TokenOwner::Provider(provider.clone()),
        Principal::Staff { role, .. } => TokenOwner::Staff(*role),
        Principal::Submitter { submitter, .. } => TokenOwner::Submitter(submitter.clone()),
    };
    Some(Caller {
        token_id: record.id.clone(),
        principal,
        // A scope the owner may not hold (one written into the database by hand) counts for
        // nothing: a provider's token never acts as staff, whatever it says.
        scopes: record.scopes.iter().filter_map(|s| Scope::parse(s)).filter(|s| owner.may_hold(*s)).collect(),
        rate_limit_per_minute: u32::try_from(record.rate_limit_per_minute).unwrap_or(DEFAULT_RATE_LIMIT),
        expires_at: record.expires_at,
        last_used_at: record.last_used_at,
    })
}
