//! Incident data through the API (INC-1..3): submitters send incidents one at a time or in bulk
//! (CSV or JSON Lines, read as the upload arrives), and recordings; staff read them.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracehop_app::access::tokens::{Caller, Scope};
use tracehop_app::intake::incidents::{ImportFormat, ImportSummary, RowError, Submitted};
use tracehop_app::intake::recordings::RecordingError;
use tracehop_app::{AppError, Principal};
use tracehop_core::number::PhoneNumber;
use tracehop_store::incidents::{IncidentFilter, IncidentRecord, RecordingRecord};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, limit, page};
use super::problem::{ApiError, ApiResult, FieldError, Problem};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(tags((name = "incidents", description = "Incident data (INC-1..3): submitters send incidents one by one \
or in bulk as CSV or JSON Lines, idempotent by (submitter, external_id), and their recordings; staff read them.")))]
struct IncidentsDoc;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(IncidentsDoc::openapi())
        .routes(routes!(submit_incident, list_incidents))
        .routes(routes!(import_incidents))
        .routes(routes!(get_incident))
        .routes(routes!(upload_recording, download_recording))
}

// ---- bodies ----------------------------------------------------------------------------------

/// One incident as a submitter saw it (INC-1). `external_id`, `calling`, `called` and the call
/// time (`call_time`, or `local_time` with `local_zone`) are required. The same fields name the
/// columns of a CSV import and the keys of a JSON Lines import.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentInput {
    /// The submitter's own id of the incident: with the submitter, the key that makes a second
    /// submission change nothing.
    pub external_id: String,
    /// The calling number as presented, e.g. `(202) 555-0123`; kept as given, with its E.164 form
    /// when it parses (numbers without `+` are read in the North American plan).
    pub calling: String,
    /// The called number as presented.
    pub called: String,
    /// When the call was made: RFC 3339 with its offset, e.g. `2026-03-01T18:22:05Z`.
    #[schema(format = DateTime)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_time: Option<String>,
    /// The local time as the called party saw it, without offset, e.g. `2026-03-01T13:22:05`;
    /// with `local_zone` it gives the call time when `call_time` is absent, and must agree with it
    /// when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_time: Option<String>,
    /// The IANA time zone of `local_time`, e.g. `America/New_York`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_zone: Option<String>,
    /// The originating IP address (optionally with port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_ip: Option<String>,
    /// The called side's IP address (optionally with port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called_ip: Option<String>,
    /// The originating signalling point code, e.g. `245-016-000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_point_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called_point_code: Option<String>,
    /// The SIP Call-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_call_id: Option<String>,
    /// SIP header anomalies observed (in CSV: separated by `;`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_anomalies: Option<Vec<String>>,
    /// The raw STIR/SHAKEN `Identity` header; its PASSporT is decoded (not verified) on intake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_header: Option<String>,
    /// How many such calls the submitter saw.
    #[schema(minimum = 0)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_volume: Option<i64>,
    /// Call detail record fields: an object (or a string).
    #[schema(value_type = Option<Object>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdr: Option<Value>,
    /// What the call said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
    /// Why the call warrants a traceback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// The campaign the submitter believes the call belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
}

/// A number as presented, and its E.164 form when it parses.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentNumber {
    pub raw: String,
    pub e164: Option<String>,
}

/// An incident's voicemail or recording.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentRecording {
    /// `audio/…`.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// When the recording was deleted under the retention policy (hash and size stay).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub purged_at: Option<Timestamp>,
}

impl From<RecordingRecord> for IncidentRecording {
    fn from(recording: RecordingRecord) -> Self {
        Self {
            content_type: recording.content_type,
            size: recording.size,
            sha256: recording.sha256,
            purged_at: recording.purged_at,
        }
    }
}

/// An incident as stored (INC-1).
#[derive(Debug, Serialize, ToSchema)]
pub struct Incident {
    #[schema(format = Uuid)]
    pub id: String,
    pub submitter_id: String,
    pub external_id: String,
    pub calling: IncidentNumber,
    pub called: IncidentNumber,
    /// UTC.
    #[schema(value_type = String, format = DateTime)]
    pub call_time: Timestamp,
    pub local_time: Option<String>,
    pub local_zone: Option<String>,
    pub originating_ip: Option<String>,
    pub called_ip: Option<String>,
    pub originating_point_code: Option<String>,
    pub called_point_code: Option<String>,
    pub sip_call_id: Option<String>,
    pub sip_anomalies: Vec<String>,
    /// The raw `Identity` header.
    pub identity_header: Option<String>,
    /// The header's PASSporT as read, unverified: `header` and `payload` (the claims) decoded,
    /// `params` (`info`, `alg`, `ppt`), and `errors` naming whatever did not read.
    #[schema(value_type = Option<Object>)]
    pub identity: Option<Value>,
    pub call_volume: Option<i64>,
    /// An object of CDR fields, or a string.
    #[schema(value_type = Option<Object>)]
    pub cdr: Option<Value>,
    pub transcript: Option<String>,
    pub basis: Option<String>,
    pub campaign_id: Option<String>,
    pub recording: Option<IncidentRecording>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

fn json_text(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

impl From<IncidentRecord> for Incident {
    fn from(record: IncidentRecord) -> Self {
        let row = record.row;
        Self {
            sip_anomalies: row.sip_anomalies.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default(),
            identity: json_text(row.identity_parsed.as_deref()),
            cdr: json_text(row.cdr.as_deref()),
            id: row.id,
            submitter_id: row.submitter_id,
            external_id: row.external_id,
            calling: IncidentNumber { raw: row.calling_raw, e164: row.calling_e164 },
            called: IncidentNumber { raw: row.called_raw, e164: row.called_e164 },
            call_time: row.call_time,
            local_time: row.local_time,
            local_zone: row.local_zone,
            originating_ip: row.originating_ip,
            called_ip: row.called_ip,
            originating_point_code: row.originating_point_code,
            called_point_code: row.called_point_code,
            sip_call_id: row.sip_call_id,
            identity_header: row.identity_header,
            call_volume: row.call_volume,
            transcript: row.transcript,
            basis: row.basis,
            campaign_id: row.campaign_id,
            recording: record.recording.map(IncidentRecording::from),
            created_at: row.created_at,
        }
    }
}

/// A field at fault in one row of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentRowError {
    /// The row's line: CSV, the line its record starts on (the header is line 1); JSON Lines, its
    /// line.
    pub row: u64,
    pub field: String,
    pub message: String,
}

/// What a bulk import did. Every accepted row is stored, whatever happened to the others.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentImportSummary {
    /// Rows stored.
    pub accepted: u64,
    /// Rows whose external id was stored already (or came earlier in the input): unchanged.
    pub duplicates: u64,
    /// Rows refused.
    pub failed: u64,
    /// The first 1,000 errors, in row order.
    pub errors: Vec<IncidentRowError>,
    /// Errors beyond those listed.
    pub errors_not_listed: u64,
    /// Why the input ended early (the upload broke off, a record was too long); rows before that
    /// point are counted above.
    pub interrupted: Option<String>,
}

impl From<ImportSummary> for IncidentImportSummary {
    fn from(summary: ImportSummary) -> Self {
        Self {
            accepted: summary.accepted,
            duplicates: summary.duplicates,
            failed: summary.failed,
            errors: summary
                .errors
                .into_iter()
                .map(|RowError { row, field, message }| IncidentRowError { row, field, message })
                .collect(),
            errors_not_listed: summary.errors_not_listed,
            interrupted: summary.interrupted,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubmitterQuery {
    /// Staff: the submitter the data comes from. A submitter's token submits for itself and may
    /// leave it out.
    pub submitter: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IncidentsQuery {
    pub submitter: Option<String>,
    pub campaign_id: Option<String>,
    pub external_id: Option<String>,
    /// A calling or called number, in any format that parses (matched on E.164), or exactly as
    /// presented.
    pub number: Option<String>,
    /// Calls at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Calls before this time (RFC 3339).
    pub until: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

// ---- handlers --------------------------------------------------------------------------------

fn invalid_fields(problems: Vec<(String, String)>) -> ApiError {
    let Some((field, message)) = problems.first().cloned() else {
        return ApiError::new("validation", "invalid incident");
    };
    let mut error = ApiError::invalid(field, message);
    error.problem.errors = problems.into_iter().map(|(field, message)| FieldError { field, message }).collect();
    error
}

/// Submits one incident. Submitting an external id again changes nothing and returns the stored
/// incident with 200.
#[utoipa::path(post, path = "/incidents", tag = "incidents",
    params(SubmitterQuery, ("Idempotency-Key" = Option<String>, Header)),
    request_body = IncidentInput,
    responses((status = 201, body = Incident), (status = 200, description = "The incident was submitted before; unchanged.", body = Incident),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["incidents:submit"])))]
async fn submit_incident(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<SubmitterQuery>,
    ApiJson(body): ApiJson<IncidentInput>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::IncidentsSubmit)?;
    let Ok(Value::Object(fields)) = serde_json::to_value(&body) else {
        return Err(ApiError::new("internal", "the incident could not be read"));
    };
    match state.app.submit_incident(&caller.principal, query.submitter.as_deref(), &fields).await? {
        Submitted::Created(record) => {
            let location = format!("/api/v1/incidents/{}", record.row.id);
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(Incident::from(record))).into_response())
        }
        Submitted::Existing(record) => Ok(Json(Incident::from(record)).into_response()),
        Submitted::Invalid(problems) => {
            Err(invalid_fields(problems.into_iter().map(|p| (p.field, p.message)).collect()))
        }
    }
}

/// Imports incidents in bulk: CSV (`text/csv`, a header row naming the fields) or JSON Lines
/// (`application/x-ndjson`, one object a line), read as the upload arrives and committed in
/// batches. Rows that fail are listed with their line numbers; the others are stored. Importing
/// the same rows again stores nothing new and counts them as duplicates, so an import needs no
/// `Idempotency-Key` to be repeated safely (one is ignored for these bodies).
#[utoipa::path(post, path = "/incidents/import", tag = "incidents",
    params(SubmitterQuery, ("Idempotency-Key" = Option<String>, Header)),
    request_body(description = "The rows.", content(("text/csv"), ("application/x-ndjson"))),
    responses((status = 200, body = IncidentImportSummary), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 415, description = "Neither text/csv nor application/x-ndjson (problem+json).", body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = ["incidents:submit"])))]
async fn import_incidents(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<SubmitterQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<IncidentImportSummary>> {
    let caller = auth.with(Scope::IncidentsSubmit)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let format = ImportFormat::from_content_type(content_type)
        .ok_or_else(|| ApiError::new("unsupported-media-type", "send the rows as text/csv or application/x-ndjson"))?;
    let summary = state
        .app
        .import_incidents(&caller.principal, query.submitter.as_deref(), format, body.into_data_stream(), |_| {})
        .await?;
    Ok(Json(summary.into()))
}

fn timestamp(field: &str, text: Option<&str>) -> ApiResult<Option<Timestamp>> {
    text.map(|t| {
        t.parse::<Timestamp>().map_err(|_| ApiError::invalid(field, "an RFC 3339 time, e.g. 2026-03-01T00:00:00Z"))
    })
    .transpose()
}

/// Incidents, newest first, filtered by submitter, campaign, external id, number and call time.
#[utoipa::path(get, path = "/incidents", tag = "incidents", params(IncidentsQuery),
    responses((status = 200, body = Page<Incident>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn list_incidents(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<IncidentsQuery>,
) -> ApiResult<Json<Page<Incident>>> {
    let caller = auth.with(Scope::IntakeManage)?;
    let limit = limit(query.limit)?;
    let (number_e164, number_raw) = match query.number.as_deref().map(PhoneNumber::parse) {
        Some(PhoneNumber { e164: Some(e164), .. }) => (Some(e164), None),
        Some(number) => (None, Some(number.raw)),
        None => (None, None),
    };
    let filter = IncidentFilter {
        submitter_id: query.submitter,
        campaign_id: query.campaign_id,
        external_id: query.external_id,
        number_e164,
        number_raw,
        since: timestamp("since", query.since.as_deref())?,
        until: timestamp("until", query.until.as_deref())?,
        before_id: query.cursor.as_deref().map(decode_cursor::<String>).transpose()?,
        limit: limit + 1,
    };
    let rows = state.app.list_incidents(&caller.principal, &filter).await?;
    Ok(Json(page(rows, limit, |r| r.row.id.clone(), Incident::from)))
}

/// Staff read incidents with `intake:manage`; a submitter reads its own with `incidents:submit`.
fn reader(auth: Authenticated) -> ApiResult<Caller> {
    let scope = if matches!(auth.0.principal, Principal::Submitter { .. }) {
        Scope::IncidentsSubmit
    } else {
        Scope::IntakeManage
    };
    auth.with(scope)
}

/// One incident: staff see every one; a submitter its own.
#[utoipa::path(get, path = "/incidents/{incident}", tag = "incidents",
    params(("incident" = String, Path, format = Uuid)),
    responses((status = 200, body = Incident), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["intake:manage"]), ("bearer" = ["incidents:submit"])))]
async fn get_incident(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(incident): ApiPath<uuid::Uuid>,
) -> ApiResult<Json<Incident>> {
    let caller = reader(auth)?;
    Ok(Json(state.app.incident(&caller.principal, &incident.to_string()).await?.into()))
}

/// Stores the incident's voicemail or recording (the body, as `audio/…`), replacing any earlier
/// one; its size and SHA-256 are kept on the incident. Submitters for their own incidents; staff
/// for any.
#[utoipa::path(put, path = "/incidents/{incident}/recording", tag = "incidents",
    params(("incident" = String, Path, format = Uuid)),
    request_body(description = "The recording's bytes.", content(("audio/*"))),
    responses((status = 200, body = Incident), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 413, description = "Larger than the configured limit (default 20 MiB) (problem+json).", body = Problem),
        (status = 415, description = "Not an accepted audio type (problem+json).", body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["incidents:submit"])))]
async fn upload_recording(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(incident): ApiPath<uuid::Uuid>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Incident>> {
    let caller = auth.with(Scope::IncidentsSubmit)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let uploaded = state
        .app
        .upload_recording(&caller.principal, &incident.to_string(), content_type, length, body.into_data_stream())
        .await;
    match uploaded {
        Ok(record) => Ok(Json(record.into())),
        Err(RecordingError::TooLarge { limit }) => {
            Err(ApiError::new("payload-too-large", format!("the recording is larger than the limit of {limit} bytes")))
        }
        Err(RecordingError::UnsupportedType { allowed }) => {
            Err(ApiError::new("unsupported-media-type", format!("send the recording as one of {}", allowed.join(", "))))
        }
        Err(RecordingError::App(error)) => Err(error.into()),
    }
}

/// The incident's recording, checked against its SHA-256 (`ETag` and `Repr-Digest` carry it).
#[utoipa::path(get, path = "/incidents/{incident}/recording", tag = "incidents",
    params(("incident" = String, Path, format = Uuid)),
    responses((status = 200, description = "The recording's bytes, with its type.", content(("audio/*"))),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["intake:manage"])))]
async fn download_recording(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(incident): ApiPath<uuid::Uuid>,
) -> ApiResult<Response> {
    let caller = auth.with(Scope::IntakeManage)?;
    let (recording, bytes) = state.app.download_recording(&caller.principal, &incident.to_string()).await?;
    let digest =
        hex::decode(&recording.sha256).map(|raw| format!("sha-256=:{}:", STANDARD.encode(raw))).unwrap_or_default();
    let header_value = |text: String| HeaderValue::from_str(&text).map_err(|_| AppError::NotFound("recording".into()));
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header_value(recording.content_type)?);
    headers.insert(header::ETAG, header_value(format!("\"{}\"", recording.sha256))?);
    headers.insert("repr-digest", header_value(digest)?);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_DISPOSITION, header_value(format!("attachment; filename=\"incident-{incident}\""))?);
    Ok(response)
}
