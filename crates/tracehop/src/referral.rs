//! How the demo, the scenario runner and the benchmark open tracebacks: the call as an incident
//! from a submitter, a candidate with its due diligence recorded, approved, then started — the
//! same services staff use through the API.

use tracehop_app::intake::candidates::Referral;
use tracehop_core::intake::{DueDiligence, LegalBasis, Nature};
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::CallFacts;

/// A referral of `call` from `submitter`, as a vetted candidate. `external_id` names the incident
/// within the submitter's data.
pub fn referral(
    submitter: &str,
    external_id: &str,
    call: &CallFacts,
    terminating: ProviderId,
    campaign_id: Option<String>,
) -> Referral {
    let mut incident = serde_json::Map::new();
    incident.insert("external_id".into(), external_id.into());
    incident.insert("calling".into(), call.calling.raw.clone().into());
    incident.insert("called".into(), call.called.raw.clone().into());
    incident.insert("call_time".into(), call.call_time.to_string().into());
    if let Some(id) = &call.sip_call_id {
        incident.insert("sip_call_id".into(), id.clone().into());
    }
    if let Some(basis) = &call.basis_summary {
        incident.insert("basis".into(), basis.clone().into());
    }
    Referral {
        submitter: submitter.to_owned(),
        incident,
        summary: call.basis_summary.clone().unwrap_or_else(|| format!("calls from {}", call.calling.raw)),
        diligence: DueDiligence {
            credible_source: true,
            verifiable: true,
            nature: Some(Nature::Unlawful),
            nature_note: Some(call.basis_summary.clone().unwrap_or_else(|| "prerecorded calls without consent".into())),
            burden_balanced: true,
            burden_note: None,
        },
        legal_basis: LegalBasis::ProtectUsers,
        campaign_id,
        terminating,
    }
}
