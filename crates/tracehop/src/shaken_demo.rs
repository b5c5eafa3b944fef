//! The demo's STIR/SHAKEN incident: when the demo runs from the source tree, it verifies with the
//! test PKI of `crates/tracehop-shaken/tests/fixtures` (test roots are never shipped elsewhere),
//! gives QuickRoute SIP the test SPC `555A`, and queues an incident whose A-attested Identity
//! header that SPC signed, so staff see the signer suggested as the likely originator.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::SignedDuration;
use tracehop_app::App;
use tracehop_app::access::principal::Principal;
use tracehop_app::intake::candidates::NewCandidate;
use tracehop_app::intake::incidents::Submitted;
use tracehop_app::intake::shaken::ShakenSettings;
use tracehop_core::intake::SourceKind;
use tracehop_core::provider::ProviderId;
use tracehop_shaken::CertCacheDir;
use tracehop_shaken::p256::ecdsa::signature::Signer;
use tracehop_shaken::p256::ecdsa::{Signature, SigningKey};
use tracehop_shaken::p256::pkcs8::DecodePrivateKey;
use tracehop_store::providers::IdentifierKind;

const FIXTURES: &str = "crates/tracehop-shaken/tests/fixtures";
const X5U: &str = "https://sti-certs.quickroute.example/sp-555a.pem";
pub const SIGNER: &str = "quickroute";

/// The demo's STIR/SHAKEN settings, with the signer's certificate cached in `dir`: `None` when
/// the test PKI is not at hand (the demo run elsewhere than the source tree).
pub fn settings(dir: &Path) -> anyhow::Result<Option<ShakenSettings>> {
    let fixtures = PathBuf::from(FIXTURES);
    if !fixtures.join("ca.pem").is_file() {
        return Ok(None);
    }
    let cache = dir.join("sti-certs");
    std::fs::create_dir_all(&cache)?;
    std::fs::copy(fixtures.join("sp-chain.pem"), CertCacheDir(cache.clone()).path_for(X5U))?;
    Ok(Some(ShakenSettings {
        trust: Some(fixtures.join("ca.pem")),
        cert_cache: Some(cache),
        ..ShakenSettings::default()
    }))
}

/// Gives the signer its SPC and queues the A-attested incident, as `submitter` sent it.
pub async fn queue_incident(app: &App, submitter: &str) -> anyhow::Result<()> {
    let mut tx = app.store().begin().await?;
    tx.add_identifiers(&ProviderId::new(SIGNER)?, &[(IdentifierKind::Spc, "555A".to_owned())]).await?;
    tx.commit().await?;
    let call_time = app.now() - SignedDuration::from_hours(3);
    let header = identity_header(call_time.as_second())?;
    let principal = Principal::Submitter {
        submitter: submitter.to_owned(),
        kind: SourceKind::AnalyticsProvider,
        user: format!("{submitter}-api"),
    };
    let fields = serde_json::json!({
        "external_id": "shaken-a-attested-001",
        "calling": "+1 202-555-0123",
        "called": "+1 312-555-0199",
        "call_time": call_time.to_string(),
        "identity_header": header,
        "basis": "Prerecorded 'final notice' calls, signed with full attestation.",
    });
    let serde_json::Value::Object(fields) = fields else { anyhow::bail!("a JSON object literal") };
    let incident = match app.submit_incident(&principal, None, &fields).await? {
        Submitted::Created(record) | Submitted::Existing(record) => record,
        Submitted::Invalid(problems) => anyhow::bail!("the STIR/SHAKEN demo incident: {problems:?}"),
    };
    let new = NewCandidate {
        incident_id: Some(incident.row.id),
        summary: "Full-attestation calls: the signer is the likely originator.".to_owned(),
        ..NewCandidate::default()
    };
    app.submit_candidate(&principal, new).await?;
    Ok(())
}

/// An A-attested PASSporT from 202-555-0123, signed with the test SP key.
fn identity_header(iat: i64) -> anyhow::Result<String> {
    let pem = std::fs::read_to_string(Path::new(FIXTURES).join("sp.key")).context("the test SP key")?;
    let (_, der) = tracehop_shaken::p256::pkcs8::der::pem::decode_vec(pem.as_bytes())
        .map_err(|e| anyhow::anyhow!("the test SP key: {e}"))?;
    let key = SigningKey::from_pkcs8_der(&der).map_err(|e| anyhow::anyhow!("the test SP key: {e}"))?;
    let header = serde_json::json!({"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": X5U});
    let claims = serde_json::json!({"attest": "A", "dest": {"tn": ["13125550199"]}, "iat": iat,
        "orig": {"tn": "12025550123"}, "origid": "8d0e6f4a-2b1c-4d3e-9f5a-6b7c8d9e0f1a"});
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature: Signature = key.sign(input.as_bytes());
    Ok(format!("{input}.{};info=<{X5U}>;alg=ES256;ppt=shaken", URL_SAFE_NO_PAD.encode(signature.to_bytes())))
}
