//! `tracehop token create`: how an operator issues the first tokens.

use std::collections::BTreeSet;

use jiff::SignedDuration;
use tracehop_app::App;
use tracehop_app::access::principal::{Principal, StaffRole};
use tracehop_app::access::tokens::{NewToken, Scope, TokenOwner};
use tracehop_core::provider::ProviderId;

/// Who a token acts for, from the command's options (exactly one of them is given).
pub fn owner(
    provider: Option<String>,
    submitter: Option<String>,
    staff_role: Option<&str>,
) -> anyhow::Result<TokenOwner> {
    Ok(match (provider, submitter, staff_role) {
        (Some(provider), None, None) => TokenOwner::Provider(ProviderId::new(provider)?),
        (None, Some(submitter), None) => TokenOwner::Submitter(submitter),
        (None, None, Some("admin")) => TokenOwner::Staff(StaffRole::Admin),
        (None, None, Some("analyst")) => TokenOwner::Staff(StaffRole::Analyst),
        _ => anyhow::bail!("give one of --provider ID, --submitter ID or --staff-role admin|analyst"),
    })
}

pub async fn create(
    app: &App,
    name: String,
    owner: TokenOwner,
    scopes: &[String],
    expires_in_days: Option<u32>,
) -> anyhow::Result<String> {
    let scopes = scopes
        .iter()
        .map(|s| Scope::parse(s.trim()).ok_or_else(|| anyhow::anyhow!("unknown scope {s:?}")))
        .collect::<anyhow::Result<BTreeSet<_>>>()?;
    let expires_at = expires_in_days.map(|days| app.now() + SignedDuration::from_hours(24 * i64::from(days)));
    // An operator with the database is the platform's administrator.
    let operator = Principal::Staff { user: "operator-cli".to_owned(), role: StaffRole::Admin, minted_by: None };
    let issued = app
        .issue_token(&operator, None, NewToken { name, owner, scopes, expires_at, rate_limit_per_minute: None })
        .await?;
    Ok(issued.token)
}
