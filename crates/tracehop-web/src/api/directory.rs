//! The provider directory (PRV-1…5): staff keep providers, contacts, affiliates and identifiers,
//! override the foreign flag with a reason, verify or merge providers created from answers, and
//! import the Robocall Mitigation Database. A provider keeps its own contacts current.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracehop_app::access::tokens::Scope;
use tracehop_app::directory::{ProviderDetail, ProviderEdit, SaveMode};
use tracehop_core::calendar::{BusinessHours, BusinessHoursSpec};
use tracehop_core::country::Country;
use tracehop_core::provider::ProviderId;
use tracehop_store::providers::{Contact, ContactRole, IdentifierKind, ProviderFilter, ProviderRecord};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, limit, page};
use super::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

mod rmd;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_provider, list_providers))
        .routes(routes!(get_provider, replace_provider))
        .routes(routes!(override_foreign))
        .routes(routes!(verify_provider))
        .routes(routes!(merge_provider))
        .merge(rmd::routes())
        .routes(routes!(get_own_entry))
        .routes(routes!(replace_own_contacts))
}

/// A provider as directory lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderSummary {
    pub id: String,
    /// Legal name.
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub foreign: bool,
    /// Where the foreign flag comes from: `rmd`, `country` or `staff`.
    pub foreign_source: String,
    /// Unverified providers were named by a downstream's answer (PRV-5).
    pub verified: bool,
    /// The provider this one was merged into.
    pub merged_into: Option<String>,
    /// Its VSP entity under common control (PRV-3).
    pub entity_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&ProviderRecord> for ProviderSummary {
    fn from(record: &ProviderRecord) -> Self {
        Self {
            id: record.id.to_string(),
            name: record.name.clone(),
            country: record.country.code().to_owned(),
            foreign: record.foreign,
            foreign_source: record.foreign_source.name().to_owned(),
            verified: record.verified,
            merged_into: record.merged_into.as_ref().map(ToString::to_string),
            entity_id: record.entity_id.to_string(),
            updated_at: record.updated_at,
        }
    }
}

/// A point of contact (PRV-2). Hop requests go to both the primary and the backup.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactEntry {
    /// `primary` or `backup`.
    pub role: String,
    /// Full name.
    pub name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The contact's hours, when they differ from the provider's.
    pub business_hours: Option<BusinessHoursSpec>,
}

impl From<Contact> for ContactEntry {
    fn from(contact: Contact) -> Self {
        Self {
            role: contact.role.name().to_owned(),
            name: contact.name,
            title: contact.title,
            email: contact.email,
            phone: contact.phone,
            business_hours: contact.business_hours,
        }
    }
}

fn contacts_of(entries: Vec<ContactEntry>) -> Result<Vec<Contact>, ApiError> {
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let role = match entry.role.as_str() {
                "primary" => ContactRole::Primary,
                "backup" => ContactRole::Backup,
                _ => return Err(ApiError::invalid(format!("contacts[{index}].role"), "primary or backup")),
            };
            if let Some(hours) = &entry.business_hours {
                BusinessHours::try_from(hours.clone())
                    .map_err(|e| ApiError::invalid(format!("contacts[{index}].business_hours"), e.to_string()))?;
            }
            Ok(Contact {
                role,
                name: entry.name.trim().to_owned(),
                title: entry.title,
                email: entry.email.map(|e| e.trim().to_owned()),
                phone: entry.phone.map(|p| p.trim().to_owned()),
                business_hours: entry.business_hours,
            })
        })
        .collect()
}

/// An identifier a provider is known by: `frn`, `rmd`, `ocn` or `spc`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    pub kind: String,
    pub value: String,
}

/// Everything the directory holds about a provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderEntry {
    #[serde(flatten)]
    pub summary: ProviderSummary,
    pub dba_names: Vec<String>,
    /// Why staff set the foreign flag against its source.
    pub foreign_override_reason: Option<String>,
    /// The provider asked to be treated apart from its affiliates (PRV-3).
    pub separate_treatment: bool,
    pub business_hours: BusinessHoursSpec,
    /// Requests count as received at 08:00 of its next business day.
    pub deemed_receipt_next_business_day: bool,
    pub contacts: Vec<ContactEntry>,
    /// Providers it declares under common control.
    pub affiliates: Vec<String>,
    pub identifiers: Vec<Identifier>,
    /// The other members of its VSP entity.
    pub entity_members: Vec<String>,
    /// Providers merged into this one.
    pub merged_providers: Vec<String>,
    /// Facts from the directory's sources: the RMD filing (`rmd`), contact details a downstream
    /// supplied (`supplied`).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<ProviderDetail> for ProviderEntry {
    fn from(detail: ProviderDetail) -> Self {
        let record = &detail.provider;
        let dba_names = record
            .details
            .get("dba_names")
            .and_then(serde_json::Value::as_array)
            .map(|names| names.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let ids = |list: Vec<ProviderId>| list.into_iter().map(|id| id.to_string()).collect();
        Self {
            summary: ProviderSummary::from(record),
            dba_names,
            foreign_override_reason: record.foreign_override_reason.clone(),
            separate_treatment: record.separate_treatment,
            business_hours: record.business_hours.spec(),
            deemed_receipt_next_business_day: record.deemed_receipt,
            created_at: record.created_at,
            details: record.details.clone(),
            contacts: detail.contacts.into_iter().map(ContactEntry::from).collect(),
            affiliates: ids(detail.affiliates),
            identifiers: detail.identifiers.into_iter().map(|(kind, value)| Identifier { kind, value }).collect(),
            entity_members: ids(detail.entity_members),
            merged_providers: ids(detail.merged),
        }
    }
}

/// A provider as staff write it. The foreign flag follows RMD or the country unless overridden
/// through its own route.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderWrite {
    /// Lower-case letters, digits and hyphens; required when creating, fixed after.
    pub id: Option<String>,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    #[serde(default)]
    pub dba_names: Vec<String>,
    #[serde(default)]
    pub separate_treatment: bool,
    /// Default Mon–Fri 08:00–17:00 America/New_York.
    pub business_hours: Option<BusinessHoursSpec>,
    #[serde(default)]
    pub deemed_receipt_next_business_day: bool,
    #[serde(default)]
    pub affiliates: Vec<String>,
    #[serde(default)]
    pub contacts: Vec<ContactEntry>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
}

fn edit_of(id: ProviderId, body: ProviderWrite) -> Result<ProviderEdit, ApiError> {
    let country = Country::from_code(body.country.trim()).map_err(|e| ApiError::invalid("country", e.to_string()))?;
    let business_hours = body
        .business_hours
        .map(BusinessHours::try_from)
        .transpose()
        .map_err(|e| ApiError::invalid("business_hours", e.to_string()))?;
    let affiliates = body
        .affiliates
        .into_iter()
        .enumerate()
        .map(|(i, a)| ProviderId::new(a).map_err(|e| ApiError::invalid(format!("affiliates[{i}]"), e.to_string())))
        .collect::<Result<_, _>>()?;
    let identifiers = body
        .identifiers
        .into_iter()
        .enumerate()
        .map(|(i, identifier)| {
            let kind = match identifier.kind.as_str() {
                "frn" => IdentifierKind::Frn,
                "rmd" => IdentifierKind::Rmd,
                "ocn" => IdentifierKind::Ocn,
                "spc" => IdentifierKind::Spc,
                _ => return Err(ApiError::invalid(format!("identifiers[{i}].kind"), "frn, rmd, ocn or spc")),
            };
            if kind.normalise(&identifier.value).is_empty() {
                return Err(ApiError::invalid(format!("identifiers[{i}].value"), "a value is required"));
            }
            Ok((kind, identifier.value))
        })
        .collect::<Result<_, _>>()?;
    Ok(ProviderEdit {
        id,
        name: body.name,
        country,
        dba_names: body.dba_names,
        separate_treatment: body.separate_treatment,
        business_hours,
        deemed_receipt: body.deemed_receipt_next_business_day,
        affiliates,
        contacts: contacts_of(body.contacts)?,
        identifiers,
    })
}

/// Adds a provider to the directory.
#[utoipa::path(post, path = "/providers", tag = "directory",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = ProviderWrite,
    responses((status = 201, body = ProviderEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn create_provider(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(mut body): ApiJson<ProviderWrite>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::DirectoryManage)?;
    let id = body.id.take().ok_or_else(|| ApiError::invalid("id", "required when creating a provider"))?;
    let id = ProviderId::new(id).map_err(|e| ApiError::invalid("id", e.to_string()))?;
    let detail = state.app.edit_provider(&caller.principal, edit_of(id, body)?, SaveMode::Create).await?;
    let location = format!("/api/v1/providers/{}", detail.provider.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ProviderEntry::from(detail))).into_response())
}

/// Replaces a provider's entry: name, country, names, hours, affiliates, contacts, identifiers.
#[utoipa::path(put, path = "/providers/{provider}", tag = "directory",
    params(("provider" = String, Path)),
    request_body = ProviderWrite,
    responses((status = 200, body = ProviderEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn replace_provider(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<ProviderId>,
    ApiJson(body): ApiJson<ProviderWrite>,
) -> ApiResult<Json<ProviderEntry>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    if body.id.as_deref().is_some_and(|given| given != id.as_str()) {
        return Err(ApiError::invalid("id", "a provider's id does not change"));
    }
    let detail = state.app.edit_provider(&caller.principal, edit_of(id, body)?, SaveMode::Replace).await?;
    Ok(Json(detail.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProvidersQuery {
    /// Part of the name or id, any case; or exactly an RMD number, FRN (leading zeros optional)
    /// or OCN.
    pub q: Option<String>,
    pub verified: Option<bool>,
    pub foreign: Option<bool>,
    /// Also list providers merged into others.
    #[serde(default)]
    pub include_merged: bool,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The directory, by id.
#[utoipa::path(get, path = "/providers", tag = "directory", params(ProvidersQuery),
    responses((status = 200, body = Page<ProviderSummary>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn list_providers(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<ProvidersQuery>,
) -> ApiResult<Json<Page<ProviderSummary>>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    state.app.staff(&caller.principal)?;
    let limit = limit(query.limit)?;
    let filter = ProviderFilter {
        query: query.q.filter(|q| !q.trim().is_empty()),
        verified: query.verified,
        foreign: query.foreign,
        include_merged: query.include_merged,
        after: query.cursor.as_deref().map(decode_cursor::<String>).transpose()?,
        limit: limit + 1,
    };
    let rows = state.app.store().find_providers(&filter).await.map_err(tracehop_app::AppError::from)?;
    Ok(Json(page(rows, limit, |r| r.id.to_string(), |r| ProviderSummary::from(&r))))
}

/// A provider's whole entry.
#[utoipa::path(get, path = "/providers/{provider}", tag = "directory",
    params(("provider" = String, Path)),
    responses((status = 200, body = ProviderEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn get_provider(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<ProviderId>,
) -> ApiResult<Json<ProviderEntry>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    Ok(Json(state.app.provider_detail(&caller.principal, &id).await?.into()))
}

/// Sets the foreign flag against its source, or (`foreign: null`) returns it to its source.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForeignOverride {
    pub foreign: Option<bool>,
    /// Required when setting the flag.
    pub reason: Option<String>,
}

/// PRV-4: staff override the foreign flag RMD or the country gave, with a reason.
#[utoipa::path(put, path = "/providers/{provider}/foreign", tag = "directory",
    params(("provider" = String, Path)),
    request_body = ForeignOverride,
    responses((status = 200, body = ProviderEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn override_foreign(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<ProviderId>,
    ApiJson(body): ApiJson<ForeignOverride>,
) -> ApiResult<Json<ProviderEntry>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    state.app.override_foreign(&caller.principal, &id, body.foreign, body.reason).await?;
    Ok(Json(state.app.provider_detail(&caller.principal, &id).await?.into()))
}

/// PRV-5: confirms a provider created from a downstream's answer.
#[utoipa::path(post, path = "/providers/{provider}/verify", tag = "directory",
    params(("provider" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ProviderEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn verify_provider(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<ProviderId>,
) -> ApiResult<Json<ProviderEntry>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    state.app.verify_provider(&caller.principal, &id).await?;
    Ok(Json(state.app.provider_detail(&caller.principal, &id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The provider this one really is.
    pub into: String,
}

/// PRV-5: merges a provider (typically an unverified one) into the provider it really is. Every
/// traceback keeps its history; the target answers the merged provider's open hops.
#[utoipa::path(post, path = "/providers/{provider}/merge", tag = "directory",
    params(("provider" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = MergeRequest,
    responses((status = 200, body = ProviderEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn merge_provider(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<ProviderId>,
    ApiJson(body): ApiJson<MergeRequest>,
) -> ApiResult<Json<ProviderEntry>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    let target = ProviderId::new(body.into).map_err(|e| ApiError::invalid("into", e.to_string()))?;
    state.app.merge_provider(&caller.principal, &id, &target).await?;
    Ok(Json(state.app.provider_detail(&caller.principal, &target).await?.into()))
}

/// The caller's own directory entry: what hop requests go by.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnEntry {
    #[serde(flatten)]
    pub summary: ProviderSummary,
    pub business_hours: BusinessHoursSpec,
    pub contacts: Vec<ContactEntry>,
}

/// The caller's own directory entry and points of contact.
#[utoipa::path(get, path = "/provider/profile", tag = "provider",
    responses((status = 200, body = OwnEntry), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["hops:read"])))]
async fn get_own_entry(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Json<OwnEntry>> {
    let caller = auth.with(Scope::HopsRead)?;
    let (record, contacts) = state.app.own_entry(&caller.principal).await?;
    Ok(Json(OwnEntry {
        summary: ProviderSummary::from(&record),
        business_hours: record.business_hours.spec(),
        contacts: contacts.into_iter().map(ContactEntry::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactsRequest {
    /// A primary contact, and optionally a backup.
    pub contacts: Vec<ContactEntry>,
}

/// PRV-2: the caller replaces its points of contact; hop requests go to both.
#[utoipa::path(put, path = "/provider/contacts", tag = "provider",
    request_body = ContactsRequest,
    responses((status = 200, body = Vec<ContactEntry>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["profile:manage"])))]
async fn replace_own_contacts(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<ContactsRequest>,
) -> ApiResult<Json<Vec<ContactEntry>>> {
    let caller = auth.with(Scope::ProfileManage)?;
    let contacts = contacts_of(body.contacts)?;
    let saved = state.app.set_own_contacts(&caller.principal, &contacts).await?;
    Ok(Json(saved.into_iter().map(ContactEntry::from).collect()))
}
