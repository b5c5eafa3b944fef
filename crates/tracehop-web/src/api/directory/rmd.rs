//! The RMD import through the API, streamed into the directory a batch at a time, and the
//! affiliations it suggests, which staff confirm or dismiss (PRV-3, PRV-4).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use futures_util::StreamExt;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tracehop_app::access::tokens::Scope;
use tracehop_app::directory::rmd::{RmdSummary, RowError};
use tracehop_core::provider::ProviderId;
use tracehop_store::affiliations::{AffiliationSuggestion, SuggestionFilter, SuggestionStatus};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::auth::Authenticated;
use super::super::json::{ApiJson, ApiPath, ApiQuery, Page, decode_cursor, limit, page};
use super::super::problem::{ApiError, ApiResult, Problem};
use crate::AppState;

/// The largest RMD export the API takes in one request.
const MAX_RMD_BYTES: usize = 256 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_rmd))
        .routes(routes!(list_suggestions))
        .routes(routes!(confirm_suggestion))
        .routes(routes!(dismiss_suggestion))
}

/// What an RMD import did. `summary` is the line the CLI prints last.
#[derive(Debug, Serialize, ToSchema)]
pub struct RmdImportReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: u64,
    /// `created C, updated U, unchanged N, failed F`.
    pub summary: String,
    /// Each failed row, by the line of the file where it starts.
    pub errors: Vec<ImportRowError>,
    /// Rows that went in with something left out.
    pub notes: Vec<ImportRowError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowError {
    pub line: u64,
    pub message: String,
}

impl From<RowError> for ImportRowError {
    fn from(error: RowError) -> Self {
        Self { line: error.line, message: error.message }
    }
}

impl From<RmdSummary> for RmdImportReport {
    fn from(summary: RmdSummary) -> Self {
        Self {
            summary: summary.to_string(),
            created: summary.created,
            updated: summary.updated,
            unchanged: summary.unchanged,
            failed: summary.failed,
            errors: summary.errors.into_iter().map(ImportRowError::from).collect(),
            notes: summary.notes.into_iter().map(ImportRowError::from).collect(),
        }
    }
}

/// PRV-4: imports the FCC Robocall Mitigation Database CSV export (the body, as `text/csv`).
/// One filing (RMD number) is one provider; rows apply in file order as they arrive, a batch at
/// a time; a bad row is reported with its line and the rest go in. An FRN another provider holds
/// stays with it and the pair becomes a suggested affiliation.
#[utoipa::path(post, path = "/providers/rmd-import", tag = "directory",
    request_body(content = String, content_type = "text/csv", description = "The RMD export, header line first."),
    responses((status = 200, body = RmdImportReport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn import_rmd(
    State(state): State<AppState>,
    auth: Authenticated,
    body: Body,
) -> ApiResult<Json<RmdImportReport>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    state.app.staff(&caller.principal)?;
    // The body reaches the import through a pipe, so only a batch of rows is held at a time.
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let feed = async move {
        let mut chunks = body.into_data_stream();
        let mut sent = 0_usize;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|e| ApiError::invalid("file", format!("the upload broke off: {e}")))?;
            sent += chunk.len();
            if sent > MAX_RMD_BYTES {
                return Err(ApiError::new("payload-too-large", "the export is larger than 256 MiB"));
            }
            if writer.write_all(&chunk).await.is_err() {
                // The import stopped reading: its own error says why.
                break;
            }
        }
        Ok(())
    };
    let (delivered, imported) = tokio::join!(feed, state.app.import_rmd_from(tokio::io::BufReader::new(reader)));
    delivered?;
    Ok(Json(imported?.into()))
}

/// A suggested affiliation: two providers whose RMD filings name the same FRN (PRV-3).
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionEntry {
    pub id: i64,
    pub provider_a: String,
    pub provider_b: String,
    /// The FRN both filings name.
    pub frn: String,
    /// The filing whose row showed it, and that row's line in the export.
    pub source_rmd: String,
    pub source_line: u64,
    /// `open`, `confirmed` or `dismissed`.
    pub status: String,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Timestamp>,
}

impl From<AffiliationSuggestion> for SuggestionEntry {
    fn from(s: AffiliationSuggestion) -> Self {
        Self {
            id: s.id,
            provider_a: s.provider_a.to_string(),
            provider_b: s.provider_b.to_string(),
            frn: s.frn,
            source_rmd: s.source_rmd,
            source_line: s.source_line,
            status: s.status.name().to_owned(),
            reason: s.reason,
            decided_by: s.decided_by,
            created_at: s.created_at,
            decided_at: s.decided_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SuggestionsQuery {
    /// `open` (the default), `confirmed`, `dismissed` or `all`.
    pub status: Option<String>,
    /// Only suggestions naming this provider.
    pub provider: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// PRV-3: affiliations the RMD import suggests, oldest first.
#[utoipa::path(get, path = "/directory/affiliation-suggestions", tag = "directory", params(SuggestionsQuery),
    responses((status = 200, body = Page<SuggestionEntry>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn list_suggestions(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiQuery(query): ApiQuery<SuggestionsQuery>,
) -> ApiResult<Json<Page<SuggestionEntry>>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    let limit = limit(query.limit)?;
    let status = match query.status.as_deref().unwrap_or("open") {
        "open" => Some(SuggestionStatus::Open),
        "confirmed" => Some(SuggestionStatus::Confirmed),
        "dismissed" => Some(SuggestionStatus::Dismissed),
        "all" => None,
        _ => return Err(ApiError::invalid("status", "open, confirmed, dismissed or all")),
    };
    let provider =
        query.provider.map(ProviderId::new).transpose().map_err(|e| ApiError::invalid("provider", e.to_string()))?;
    let filter = SuggestionFilter {
        status,
        provider,
        after: query.cursor.as_deref().map(decode_cursor::<i64>).transpose()?,
        limit: limit + 1,
    };
    let rows = state.app.affiliation_suggestions(&caller.principal, &filter).await?;
    Ok(Json(page(rows, limit, |s| s.id, SuggestionEntry::from)))
}

/// Staff's decision on a suggestion.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestionDecision {
    /// Required when dismissing.
    pub reason: Option<String>,
}

/// PRV-3: confirms a suggestion: the two providers become affiliates, one VSP entity.
#[utoipa::path(post, path = "/directory/affiliation-suggestions/{suggestion}/confirm", tag = "directory",
    params(("suggestion" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = SuggestionDecision,
    responses((status = 200, body = SuggestionEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn confirm_suggestion(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SuggestionDecision>,
) -> ApiResult<Json<SuggestionEntry>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    let decided = state.app.decide_affiliation(&caller.principal, id, SuggestionStatus::Confirmed, body.reason).await?;
    Ok(Json(decided.into()))
}

/// PRV-3: dismisses a suggestion, with a reason; an import never suggests the pair again.
#[utoipa::path(post, path = "/directory/affiliation-suggestions/{suggestion}/dismiss", tag = "directory",
    params(("suggestion" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = SuggestionDecision,
    responses((status = 200, body = SuggestionEntry), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = ["directory:manage"])))]
async fn dismiss_suggestion(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SuggestionDecision>,
) -> ApiResult<Json<SuggestionEntry>> {
    let caller = auth.with(Scope::DirectoryManage)?;
    let decided = state.app.decide_affiliation(&caller.principal, id, SuggestionStatus::Dismissed, body.reason).await?;
    Ok(Json(decided.into()))
}
