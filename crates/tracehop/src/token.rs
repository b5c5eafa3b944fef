//! `tracehop token create`: how an operator issues the first tokens.

use std::collections::BTreeSet;

use jiff::SignedDuration;
use tracehop_app::App;
use tracehop_app::principal::{Principal, StaffRole};
use tracehop_app::tokens::{NewToken, Scope, TokenOwner};
use tracehop_core::provider::ProviderId;

pub async fn create(
    app: &App,
    name: String,
    provider: Option<String>,
    staff_role: Option<String>,
    scopes: &[String],
    expires_in_days: Option<u32>,
) -> anyhow::Result<String> {
    let scopes = scopes
        .iter()
        .map(|s| Scope::parse(s.trim()).ok_or_else(|| anyhow::anyhow!("unknown scope {s:?}")))
        .collect::<anyhow::Result<BTreeSet<_>>>()?;
    let owner = match (provider, staff_role.as_deref()) {
        (Some(provider), None) => TokenOwner::Provider(ProviderId::new(provider)?),
        (None, Some("admin")) => TokenOwner::Staff(StaffRole::Admin),
        (None, Some("analyst")) => TokenOwner::Staff(StaffRole::Analyst),
        _ => anyhow::bail!("give --provider ID, or --staff-role admin|analyst"),
    };
    let expires_at = expires_in_days.map(|days| app.now() + SignedDuration::from_hours(24 * i64::from(days)));
    // An operator with the database is the platform's administrator.
    let operator = Principal::Staff { user: "operator-cli".to_owned(), role: StaffRole::Admin };
    let issued = app
        .issue_token(&operator, None, NewToken { name, owner, scopes, expires_at, rate_limit_per_minute: None })
        .await?;
    Ok(issued.token)
}
