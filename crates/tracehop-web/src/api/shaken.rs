//! STIR/SHAKEN for staff (SHK-1): who signed a traceback's (or an incident's) call, its
//! attestation, the verification verdict at intake, the signer's provider in the directory, and
//! for a verified A-attested call the signer as the likely originator. Providers never reach these
//! routes: they are staff-only, and a provider's own view carries no signer data.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tracehop_app::access::tokens::Scope;
use tracehop_app::intake::shaken::SignerView;
use tracehop_core::traceback::TracebackId;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authenticated;
use super::json::ApiPath;
use super::problem::{ApiResult, Problem};
use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(traceback_signer)).routes(routes!(incident_signer))
}

/// The STIR/SHAKEN signer of a call, as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShakenSigner {
    pub incident_id: String,
    /// `verified`, `failed`, `not_verified` (verification was off when the incident came in) or
    /// `no_header`.
    pub status: String,
    /// The reason code of a failed verification (`bad_signature`, `untrusted_issuer`,
    /// `cert_expired_at_call`, `stale_iat`, `no_tnauthlist`, `tn_mismatch`, `malformed`, ...).
    pub reason: Option<String>,
    pub detail: Option<String>,
    /// The attestation claimed: `A`, `B` or `C`.
    pub attest: Option<String>,
    pub orig: Option<String>,
    pub origid: Option<String>,
    /// The signer's service provider code (verified headers only).
    pub spc: Option<String>,
    /// The signing certificate's subject.
    pub signer: Option<String>,
    pub x5u: Option<String>,
    /// The directory's provider holding the signer's SPC or OCN.
    pub signer_provider: Option<String>,
    /// For a verified, A-attested call: the signer's provider, the likely originator. Starting a
    /// traceback with it as `terminating_provider` sends the first request straight to it.
    pub suggested_originator: Option<String>,
    /// What each provider in the current call path reported receiving from its upstream
    /// (attestation and verstat, TB-2 evidence), terminating provider first, beside the
    /// signer's claim above.
    pub attestations_received: Vec<AttestationReceivedView>,
}

/// The attestation a provider reported with its upstream answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttestationReceivedView {
    /// The hop's position from the terminating provider (0).
    pub hop: usize,
    pub provider: String,
    pub upstream: String,
    /// `A`, `B` or `C`.
    pub attestation: Option<String>,
    pub verstat: Option<String>,
}

impl From<SignerView> for ShakenSigner {
    fn from(v: SignerView) -> Self {
        Self {
            incident_id: v.incident_id,
            status: v.status.to_owned(),
            reason: v.reason,
            detail: v.detail,
            attest: v.attest,
            orig: v.orig,
            origid: v.origid,
            spc: v.spc,
            signer: v.signer,
            x5u: v.x5u,
            signer_provider: v.signer_provider,
            suggested_originator: v.suggested_originator,
            attestations_received: v
                .attestations_received
                .into_iter()
                .map(|a| AttestationReceivedView {
                    hop: a.hop,
                    provider: a.provider.as_str().to_owned(),
                    upstream: a.upstream.as_str().to_owned(),
                    attestation: a.attestation.map(|level| format!("{level:?}")),
                    verstat: a.verstat,
                })
                .collect(),
        }
    }
}

/// The STIR/SHAKEN signer of the traceback's call (staff only).
#[utoipa::path(get, path = "/tracebacks/{traceback}/signer", tag = "staff",
    params(("traceback" = String, Path, format = Uuid)),
    responses((status = 200, body = ShakenSigner), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["tracebacks:read"])))]
async fn traceback_signer(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(traceback): ApiPath<uuid::Uuid>,
) -> ApiResult<Json<ShakenSigner>> {
    let caller = auth.with(Scope::TracebacksRead)?;
    let staff = state.app.staff(&caller.principal)?;
    Ok(Json(state.app.traceback_signer(&staff, TracebackId(traceback)).await?.into()))
}

/// The STIR/SHAKEN signer of an incident's call (staff only): before a traceback starts, to send
/// its first request straight to a verified A-attested signer.
#[utoipa::path(get, path = "/incidents/{incident}/signer", tag = "staff",
    params(("incident" = String, Path)),
    responses((status = 200, body = ShakenSigner), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = ["tracebacks:read"])))]
async fn incident_signer(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiPath(incident): ApiPath<String>,
) -> ApiResult<Json<ShakenSigner>> {
    let caller = auth.with(Scope::TracebacksRead)?;
    let staff = state.app.staff(&caller.principal)?;
    Ok(Json(state.app.incident_signer(&staff, &incident).await?.into()))
}
