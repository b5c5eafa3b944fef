//! The Do Not Originate registry (SPEC §12). Staff (`dno:manage`) keep entries, publish
//! signed versions and manage registry users; registry users in good standing (`dno:read`)
//! download signed snapshots and deltas (each download logged) and screen numbers. Anyone
//! else finds nothing here (404), or is refused (403) while its access is not in order.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tracehop_app::access::tokens::Scope;
use tracehop_app::dno::entries::{Entry, EntryInput, EntryStatus, Implementation};
use tracehop_app::dno::publish::FileFormat;
use tracehop_app::dno::screen::FileKind;
use tracehop_app::dno::users::{Eligibility, UserSubject, UserTerms};
use tracehop_store::dno::DnoVersionRecord;
use tracehop_store::dno_users::{DnoDownloadRecord, DnoUserRecord};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiJson, ApiPath, ApiQuery};
use super::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_key))
        .routes(routes!(create_entry, list_entries))
        .routes(routes!(get_entry, update_entry))
        .routes(routes!(publish, list_versions))
        .routes(routes!(download))
        .routes(routes!(create_user, list_users))
        .routes(routes!(update_user))
        .routes(routes!(lapse_user))
        .routes(routes!(attest_deletion))
        .routes(routes!(list_downloads))
        .routes(routes!(screen))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DnoPublicKey {
    /// `ed25519:` and 64 hexadecimal digits; `tracehop dno verify FILE --public-key F` checks files with it.
    pub public_key: String,
}

/// The key that verifies the registry's signed files.
#[utoipa::path(get, path = "/dno/public-key", tag = "dno",
    responses((status = 200, body = DnoPublicKey), (status = 401, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
async fn public_key(State(state): State<AppState>, _auth: Authenticated) -> ApiResult<Json<DnoPublicKey>> {
    Ok(Json(DnoPublicKey { public_key: state.app.dno_public_key_text()? }))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnoImplementation {
    /// The implementing steering member.
    pub member: String,
    #[schema(value_type = String, format = Date)]
    pub implemented_on: Date,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DnoEntryStatus {
    /// Listed.
    Active,
    /// A removal instruction to registry users.
    Removal,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnoEntryRequest {
    pub recipient_name: String,
    /// NANP numbers (`+1…`, 11 or 10 digits, punctuation allowed).
    pub numbers: Vec<String>,
    /// When the numbers' assigned holder authorised the listing.
    #[schema(value_type = String, format = Date)]
    pub authorised_on: Date,
    pub government_issued: bool,
    /// Calls seen spoofing the numbers.
    pub volume: u64,
    pub status: Option<DnoEntryStatus>,
    #[serde(default)]
    pub implementations: Vec<DnoImplementation>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DnoEntry {
    pub id: String,
    pub recipient_name: String,
    /// E.164.
    pub numbers: Vec<String>,
    #[schema(value_type = String, format = Date)]
    pub authorised_on: Date,
    pub government_issued: bool,
    pub volume: u64,
    pub status: DnoEntryStatus,
    pub implementations: Vec<DnoImplementation>,
    #[schema(value_type = Option<String>, format = Date)]
    pub last_confirmed_on: Option<Date>,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<Entry> for DnoEntry {
    fn from(e: Entry) -> Self {
        Self {
            id: e.id,
            recipient_name: e.recipient_name,
            numbers: e.numbers,
            authorised_on: e.authorised_on,
            government_issued: e.government_issued,
            volume: e.volume,
            status: match e.status {
                EntryStatus::Active => DnoEntryStatus::Active,
                EntryStatus::Removal => DnoEntryStatus::Removal,
            },
            implementations: e
                .implementations
                .into_iter()
                .map(|i| DnoImplementation { member: i.member, implemented_on: i.implemented_on })
                .collect(),
            last_confirmed_on: e.last_confirmed_on,
            created_by: e.created_by,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

impl From<DnoEntryRequest> for EntryInput {
    fn from(r: DnoEntryRequest) -> Self {
        Self {
            recipient_name: r.recipient_name,
            numbers: r.numbers,
            authorised_on: r.authorised_on,
            government_issued: r.government_issued,
            volume: r.volume,
            status: match r.status {
                Some(DnoEntryStatus::Removal) => EntryStatus::Removal,
                _ => EntryStatus::Active,
            },
            implementations: r
                .implementations
                .into_iter()
                .map(|i| Implementation { member: i.member, implemented_on: i.implemented_on })
                .collect(),
        }
    }
}

/// Adds an entry to the registry (DNO-2).
#[utoipa::path(post, path = "/dno/entries", tag = "dno",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = DnoEntryRequest,
    responses((status = 201, body = DnoEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn create_entry(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<DnoEntryRequest>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::DnoManage)?;
    let entry = state.app.create_dno_entry(&caller.principal, body.into()).await?;
    let location = format!("/api/v1/dno/entries/{}", entry.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(DnoEntry::from(entry))).into_response())
}

/// Every entry.
#[utoipa::path(get, path = "/dno/entries", tag = "dno",
    responses((status = 200, body = Vec<DnoEntry>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn list_entries(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Json<Vec<DnoEntry>>> {
    let caller = auth.with(Scope::DnoManage)?;
    Ok(Json(state.app.dno_entries(&caller.principal).await?.into_iter().map(DnoEntry::from).collect()))
}

/// One entry.
#[utoipa::path(get, path = "/dno/entries/{id}", tag = "dno",
    params(("id" = String, Path)),
    responses((status = 200, body = DnoEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn get_entry(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DnoEntry>> {
    let caller = auth.with(Scope::DnoManage)?;
    Ok(Json(state.app.dno_entry(&caller.principal, &id).await?.into()))
}

/// Replaces an entry's fields and numbers (status `removal` makes it a removal instruction).
#[utoipa::path(put, path = "/dno/entries/{id}", tag = "dno",
    params(("id" = String, Path)),
    request_body = DnoEntryRequest,
    responses((status = 200, body = DnoEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn update_entry(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DnoEntryRequest>,
) -> ApiResult<Json<DnoEntry>> {
    let caller = auth.with(Scope::DnoManage)?;
    Ok(Json(state.app.update_dno_entry(&caller.principal, &id, body.into()).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DnoVersion {
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub published_at: Timestamp,
    pub published_by: String,
    /// Numbers listed in this version.
    pub numbers: i64,
    /// Against the previous version.
    pub added: i64,
    pub removed: i64,
}

impl From<DnoVersionRecord> for DnoVersion {
    fn from(r: DnoVersionRecord) -> Self {
        Self {
            version: r.version,
            published_at: r.published_at,
            published_by: r.published_by,
            numbers: r.numbers,
            added: r.added,
            removed: r.removed,
        }
    }
}

/// Publishes a new version: a signed full snapshot and a signed delta against the last.
#[utoipa::path(post, path = "/dno/versions", tag = "dno",
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = DnoVersion), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn publish(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Response> {
    let caller = auth.with(Scope::DnoManage)?;
    let version = state.app.publish_dno(&caller.principal).await?;
    let location = format!("/api/v1/dno/files/snapshot?version={}", version.version);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(DnoVersion::from(version))).into_response())
}

/// Published versions, newest first.
#[utoipa::path(get, path = "/dno/versions", tag = "dno",
    responses((status = 200, body = Vec<DnoVersion>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["dno:read"])))]
async fn list_versions(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Json<Vec<DnoVersion>>> {
    let caller = auth.with(Scope::DnoRead)?;
    Ok(Json(state.app.dno_versions(&caller.principal).await?.into_iter().map(DnoVersion::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// The version (default: the latest).
    pub version: Option<i64>,
    /// `csv` (default) or `binary`.
    pub format: Option<String>,
}

/// A signed file: `snapshot` or `delta` (against the version before). Every download is logged.
#[utoipa::path(get, path = "/dno/files/{kind}", tag = "dno",
    params(("kind" = String, Path, description = "`snapshot` or `delta`"), DownloadQuery),
    responses((status = 200, description = "The signed file.", content(("text/csv"), ("application/octet-stream"))),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["dno:read"])))]
async fn download(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(query): ApiQuery<DownloadQuery>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::DnoRead)?;
    let kind = match kind.as_str() {
        "snapshot" => FileKind::Snapshot,
        "delta" => FileKind::Delta,
        _ => return Err(tracehop_app::AppError::NotFound(format!("DNO file kind {kind}")).into()),
    };
    let format = match query.format.as_deref() {
        None | Some("csv") => FileFormat::Csv,
        Some("binary") => FileFormat::Binary,
        Some(_) => return Err(tracehop_app::AppError::invalid("format", "csv or binary").into()),
    };
    let (version, bytes) = state.app.dno_download(&caller.principal, query.version, kind, format).await?;
    let (content_type, extension) = match format {
        FileFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        FileFormat::Binary => ("application/octet-stream", "bin"),
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"dno-{}-{version}.{extension}\"", kind.name()))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DnoEligibility {
    /// A cooperative provider serving U.S. subscribers.
    UsProvider,
    /// An analytics provider, at staff discretion.
    AnalyticsProvider,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnoUserRequest {
    /// The provider this user is (or give `submitter_id`).
    pub provider_id: Option<String>,
    /// The submitter (analytics provider) this user is.
    pub submitter_id: Option<String>,
    pub eligibility: DnoEligibility,
    /// The terms of use version accepted.
    pub terms_version: Option<String>,
    #[serde(default)]
    pub subscription_active: bool,
    /// The date the user reported it starts using the registry.
    #[schema(value_type = Option<String>, format = Date)]
    pub usage_start: Option<Date>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DnoUser {
    pub id: String,
    pub provider_id: Option<String>,
    pub submitter_id: Option<String>,
    /// `us_provider` or `analytics_provider`.
    pub eligibility: String,
    pub terms_version: Option<String>,
    pub subscription_active: bool,
    pub usage_start: Option<String>,
    /// `active` or `lapsed`.
    pub status: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lapsed_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deletion_attested_at: Option<Timestamp>,
    pub deletion_attested_by: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<DnoUserRecord> for DnoUser {
    fn from(r: DnoUserRecord) -> Self {
        Self {
            id: r.id,
            provider_id: r.provider_id,
            submitter_id: r.submitter_id,
            eligibility: r.eligibility,
            terms_version: r.terms_version,
            subscription_active: r.subscription_active,
            usage_start: r.usage_start,
            status: r.status,
            lapsed_at: r.lapsed_at,
            deletion_attested_at: r.deletion_attested_at,
            deletion_attested_by: r.deletion_attested_by,
            created_at: r.created_at,
        }
    }
}

fn terms(body: &DnoUserRequest) -> UserTerms {
    UserTerms {
        eligibility: match body.eligibility {
            DnoEligibility::UsProvider => Eligibility::UsProvider,
            DnoEligibility::AnalyticsProvider => Eligibility::AnalyticsProvider,
        },
        terms_version: body.terms_version.clone(),
        subscription_active: body.subscription_active,
        usage_start: body.usage_start,
    }
}

/// Registers a registry user (DNO-4): a provider or an analytics provider.
#[utoipa::path(post, path = "/dno/users", tag = "dno",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = DnoUserRequest,
    responses((status = 201, body = DnoUser), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn create_user(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<DnoUserRequest>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::DnoManage)?;
    let subject = match (&body.provider_id, &body.submitter_id) {
        (Some(p), None) => UserSubject::Provider(p.clone()),
        (None, Some(s)) => UserSubject::Submitter(s.clone()),
        _ => {
            return Err(tracehop_app::AppError::invalid(
                "provider_id",
                "give exactly one of provider_id and submitter_id",
            )
            .into());
        }
    };
    let user = state.app.create_dno_user(&caller.principal, subject, terms(&body)).await?;
    let location = format!("/api/v1/dno/users/{}", user.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(DnoUser::from(user))).into_response())
}

/// Every registry user.
#[utoipa::path(get, path = "/dno/users", tag = "dno",
    responses((status = 200, body = Vec<DnoUser>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn list_users(State(state): State<AppState>, auth: Authenticated) -> ApiResult<Json<Vec<DnoUser>>> {
    let caller = auth.with(Scope::DnoManage)?;
    Ok(Json(state.app.dno_users(&caller.principal).await?.into_iter().map(DnoUser::from).collect()))
}

/// Updates eligibility, accepted terms version, subscription and usage start (the provider or
/// submitter it is cannot change).
#[utoipa::path(put, path = "/dno/users/{id}", tag = "dno",
    params(("id" = String, Path)),
    request_body = DnoUserRequest,
    responses((status = 200, body = DnoUser), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn update_user(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DnoUserRequest>,
) -> ApiResult<Json<DnoUser>> {
    let caller = auth.with(Scope::DnoManage)?;
    Ok(Json(state.app.update_dno_user(&caller.principal, &id, terms(&body)).await?.into()))
}

/// Ends a user's access; it must then attest deletion of its copies.
#[utoipa::path(post, path = "/dno/users/{id}/lapse", tag = "dno",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = DnoUser), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn lapse_user(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DnoUser>> {
    let caller = auth.with(Scope::DnoManage)?;
    Ok(Json(state.app.lapse_dno_user(&caller.principal, &id).await?.into()))
}

/// A lapsed user attests that its copies of the registry are deleted (staff may record it).
#[utoipa::path(post, path = "/dno/users/{id}/deletion-attestation", tag = "dno",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = DnoUser), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = ["dno:read"])))]
async fn attest_deletion(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DnoUser>> {
    let caller = auth.with(Scope::DnoRead)?;
    Ok(Json(state.app.attest_dno_deletion(&caller.principal, &id).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DnoDownload {
    pub id: String,
    /// The registry user; none for staff.
    pub user_id: Option<String>,
    pub actor: String,
    pub version: i64,
    /// `snapshot` or `delta`.
    pub kind: String,
    /// `csv` or `binary`.
    pub format: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DownloadsQuery {
    /// One registry user's downloads.
    pub user_id: Option<String>,
}

/// The download log, newest first.
#[utoipa::path(get, path = "/dno/downloads", tag = "dno",
    params(DownloadsQuery),
    responses((status = 200, body = Vec<DnoDownload>), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = ["dno:manage"])))]
async fn list_downloads(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<DownloadsQuery>,
) -> ApiResult<Json<Vec<DnoDownload>>> {
    let caller = auth.with(Scope::DnoManage)?;
    let rows = state.app.dno_downloads(&caller.principal, query.user_id.as_deref()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r: DnoDownloadRecord| DnoDownload {
                id: r.id,
                user_id: r.user_id,
                actor: r.actor,
                version: r.version,
                kind: r.kind,
                format: r.format,
                at: r.at,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnoScreenRequest {
    /// Caller IDs as written.
    pub numbers: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DnoVerdict {
    pub input: String,
    /// E.164, when the input is a NANP number.
    pub number: Option<String>,
    /// `allow`, `block` or `error`.
    pub verdict: String,
    /// Why it is blocked: `registry` or `invalid_nanp`.
    pub reason: Option<String>,
    /// Why the input is not a number.
    pub message: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DnoScreenResponse {
    /// The published version screened against; none before the first.
    pub version: Option<i64>,
    /// One a number, in order.
    pub verdicts: Vec<DnoVerdict>,
}

/// Screens caller IDs against the latest published version and the numbering plan's structure
/// rules (DNO-7), as `tracehop dno check` does.
#[utoipa::path(post, path = "/dno/screen", tag = "dno",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = DnoScreenRequest,
    responses((status = 200, body = DnoScreenResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["dno:read"])))]
async fn screen(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(body): ApiJson<DnoScreenRequest>,
) -> ApiResult<Json<DnoScreenResponse>> {
    let caller = auth.with(Scope::DnoRead)?;
    let result = state.app.dno_screen(&caller.principal, &body.numbers).await?;
    Ok(Json(DnoScreenResponse {
        version: result.version,
        verdicts: result
            .verdicts
            .into_iter()
            .map(|v| DnoVerdict {
                input: v.input,
                number: v.number,
                verdict: v.verdict.to_owned(),
                reason: v.reason.map(str::to_owned),
                message: v.message,
            })
            .collect(),
    }))
}
