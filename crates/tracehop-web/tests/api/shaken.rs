//! STIR/SHAKEN in the platform: an incident's Identity header verified at intake against the
//! configured trust store and certificate cache; staff see the signer, its attestation, the verdict
//! and, for a verified A-attested call, the signer's provider as the likely originator, to which
//! the first request can go straight; providers see none of it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde_json::{Value, json};
use tracehop_app::Settings;
use tracehop_app::access::principal::{Principal, StaffRole};
use tracehop_app::access::tokens::Scope;
use tracehop_app::intake::candidates::NewCandidate;
use tracehop_app::intake::incidents::Submitted;
use tracehop_app::intake::shaken::ShakenSettings;
use tracehop_core::intake::{DueDiligence, LegalBasis, Nature, SourceKind};
use tracehop_shaken::CertCacheDir;
use tracehop_shaken::p256::ecdsa::signature::Signer;
use tracehop_shaken::p256::ecdsa::{Signature, SigningKey};
use tracehop_shaken::p256::pkcs8::DecodePrivateKey;
use tracehop_store::providers::IdentifierKind;
use tracehop_web::testing::TestApp;

use crate::support::expect_json;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tracehop-shaken/tests/fixtures");
const X5U: &str = "https://cert.tracehop-test.example/sp-555a.pem";
const CALL_TIME: &str = "2027-03-01T18:22:05Z";

/// An Identity header for a call from 202-555-0123 at `CALL_TIME`, signed with the test SP key.
fn identity(attest: &str) -> String {
    identity_at(attest, X5U)
}

/// As [`identity`], naming the signer's certificate at `x5u`.
fn identity_at(attest: &str, x5u: &str) -> String {
    let pem = std::fs::read_to_string(format!("{FIXTURES}/sp.key")).unwrap();
    let (_, der) = tracehop_shaken::p256::pkcs8::der::pem::decode_vec(pem.as_bytes()).unwrap();
    let key = SigningKey::from_pkcs8_der(&der).unwrap();
    let iat = CALL_TIME.parse::<Timestamp>().unwrap().as_second();
    let header = json!({"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": x5u});
    let claims = json!({"attest": attest, "dest": {"tn": ["13125550199"]}, "iat": iat, "orig": {"tn": "12025550123"},
                        "origid": "6f1c2b9e-3d4a-4e8b-9c1f-2a7d5e0b8c43"});
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature: Signature = key.sign(input.as_bytes());
    format!("{input}.{};info=<{x5u}>;alg=ES256;ppt=shaken", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn staff() -> Principal {
    Principal::Staff { user: "test-analyst".to_owned(), role: StaffRole::Analyst, minted_by: None }
}

async fn app_with_shaken() -> (TestApp, std::path::PathBuf) {
    let cache =
        std::env::temp_dir().join(format!("tracehop-web-shaken-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::copy(format!("{FIXTURES}/sp-chain.pem"), CertCacheDir(cache.clone()).path_for(X5U)).unwrap();
    let settings = Settings {
        shaken: ShakenSettings {
            trust: Some(format!("{FIXTURES}/ca.pem").into()),
            cert_cache: Some(cache.clone()),
            ..ShakenSettings::default()
        },
        ..Settings::default()
    };
    let t = TestApp::with_settings("2027-03-02T09:00:00Z".parse().unwrap(), settings).await;
    t.app
        .create_submitter(&staff(), "test-analytics", "Test Analytics", SourceKind::AnalyticsProvider, None)
        .await
        .unwrap();
    (t, cache)
}

async fn incident(t: &TestApp, identity_header: Option<&str>) -> String {
    let mut fields = json!({
        "external_id": uuid::Uuid::new_v4().to_string(),
        "calling": "+1 202-555-0123",
        "called": "(312) 555-0199",
        "call_time": CALL_TIME,
        "basis": "Analytics flagged a Medicare impersonation campaign.",
    });
    if let Some(header) = identity_header {
        fields["identity_header"] = json!(header);
    }
    let Value::Object(fields) = fields else { panic!("a JSON object literal") };
    match t.app.submit_incident(&staff(), Some("test-analytics"), &fields).await.unwrap() {
        Submitted::Created(record) => record.row.id,
        other => panic!("the incident was not created: {other:?}"),
    }
}

#[tokio::test]
async fn a_verified_a_attested_call_names_its_signer_as_the_likely_originator() {
    let (t, cache) = app_with_shaken().await;
    let origin = t.provider("prairie-origin", "US", &[(IdentifierKind::Spc, "555A")]).await;
    let terminating = t.provider("lakeshore-term", "US", &[]).await;
    let staff_token = t.staff_token(&[Scope::TracebacksRead, Scope::TracebacksManage, Scope::IntakeManage]).await;

    let a = incident(&t, Some(&identity("A"))).await;
    let signer = expect_json(t.get(&staff_token, &format!("/api/v1/incidents/{a}/signer")).await, 200).await;
    assert_eq!(signer["status"], "verified", "{signer}");
    assert_eq!(signer["reason"], Value::Null);
    assert_eq!(signer["attest"], "A");
    assert_eq!(signer["spc"], "555A");
    assert_eq!(signer["orig"], "12025550123");
    assert_eq!(signer["signer_provider"], origin.as_str());
    assert_eq!(signer["suggested_originator"], origin.as_str());
    assert_eq!(signer["signer"], "CN=Prairie Test SP 555A,O=Tracehop Test,C=US");
    // The verdict is kept with the parsed header (INC-1).
    let stored = expect_json(t.get(&staff_token, &format!("/api/v1/incidents/{a}")).await, 200).await;
    assert_eq!(stored["identity"]["verification"]["valid"], true, "{stored}");
    assert_eq!(stored["identity"]["verification"]["spc"], "555A");

    // B attestation: the signer is known, but not suggested as the originator.
    let b = incident(&t, Some(&identity("B"))).await;
    let signer = expect_json(t.get(&staff_token, &format!("/api/v1/incidents/{b}/signer")).await, 200).await;
    assert_eq!((signer["status"].as_str(), signer["attest"].as_str()), (Some("verified"), Some("B")));
    assert_eq!(signer["signer_provider"], origin.as_str());
    assert_eq!(signer["suggested_originator"], Value::Null);

    // A claim that does not verify suggests nothing, and says why.
    let forged = identity("A").replacen(".eyJ", ".eyJhdHRlc3QiOiJBIn0.eyJ", 1);
    let forged = incident(&t, Some(&forged)).await;
    let signer = expect_json(t.get(&staff_token, &format!("/api/v1/incidents/{forged}/signer")).await, 200).await;
    assert_eq!(signer["status"], "failed");
    assert_eq!(signer["reason"], "malformed");
    assert_eq!(signer["suggested_originator"], Value::Null);
    let mut tampered = identity("A");
    let dot = tampered[..tampered.find(';').unwrap()].rfind('.').unwrap();
    tampered.replace_range(dot + 1..dot + 3, "AA");
    let tampered = incident(&t, Some(&tampered)).await;
    let signer = expect_json(t.get(&staff_token, &format!("/api/v1/incidents/{tampered}/signer")).await, 200).await;
    assert_eq!((signer["status"].as_str(), signer["reason"].as_str()), (Some("failed"), Some("bad_signature")));
    assert_eq!(signer["spc"], Value::Null);
    let none = incident(&t, None).await;
    let signer = expect_json(t.get(&staff_token, &format!("/api/v1/incidents/{none}/signer")).await, 200).await;
    assert_eq!(signer["status"], "no_header");

    // The staff action: the first request goes straight to the suggested originator.
    let candidate = candidate_for(&t, &a).await;
    let started = expect_json(
        t.post(
            &staff_token,
            "/api/v1/tracebacks",
            &json!({"candidate_id": candidate, "terminating_provider": origin.as_str()}),
        )
        .await,
        201,
    )
    .await;
    let id = started["id"].as_str().unwrap();
    assert_eq!(started["hops"][0]["provider"]["id"], origin.as_str(), "{started}");
    let signer = expect_json(t.get(&staff_token, &format!("/api/v1/tracebacks/{id}/signer")).await, 200).await;
    assert_eq!(signer["suggested_originator"], origin.as_str());
    assert_eq!(signer["incident_id"], a.as_str());

    // Providers see none of it: not the signer routes, and not in their view of the traceback.
    for provider in [&origin, &terminating] {
        let token = t.provider_token(provider, &[Scope::HopsRead]).await;
        let refused = t.get(&token, &format!("/api/v1/tracebacks/{id}/signer")).await;
        assert_eq!(refused.status().as_u16(), 403);
        let refused = t.get(&token, &format!("/api/v1/incidents/{a}/signer")).await;
        assert_eq!(refused.status().as_u16(), 403);
    }
    let token = t.provider_token(&origin, &[Scope::HopsRead]).await;
    let view = t.get(&token, &format!("/api/v1/provider/tracebacks/{id}")).await;
    let text = view.text().await.unwrap();
    for secret in ["555A", "Prairie Test SP", "attest", X5U] {
        assert!(!text.contains(secret), "the provider view shows {secret}: {text}");
    }
    std::fs::remove_dir_all(cache).unwrap();
}

#[tokio::test]
async fn without_a_trust_store_headers_are_kept_but_not_verified() {
    let t = TestApp::start("2027-03-02T09:00:00Z".parse().unwrap()).await;
    t.app
        .create_submitter(&staff(), "test-analytics", "Test Analytics", SourceKind::AnalyticsProvider, None)
        .await
        .unwrap();
    let staff_token = t.staff_token(&[Scope::TracebacksRead]).await;
    let id = incident(&t, Some(&identity("A"))).await;
    let signer = expect_json(t.get(&staff_token, &format!("/api/v1/incidents/{id}/signer")).await, 200).await;
    assert_eq!(signer["status"], "not_verified");
    assert_eq!(signer["attest"], "A", "the claim as parsed");
    assert_eq!(signer["suggested_originator"], Value::Null);
    assert_eq!(t.get(&staff_token, "/api/v1/incidents/no-such/signer").await.status().as_u16(), 404);
}

async fn candidate_for(t: &TestApp, incident: &str) -> String {
    let app = &t.app;
    let new = NewCandidate {
        source_kind: Some(SourceKind::AnalyticsProvider),
        submitter_id: Some("test-analytics".to_owned()),
        incident_id: Some(incident.to_owned()),
        campaign_id: None,
        summary: "Analytics flagged a Medicare impersonation campaign.".to_owned(),
    };
    let candidate = app.submit_candidate(&staff(), new).await.unwrap();
    let diligence = DueDiligence {
        credible_source: true,
        verifiable: true,
        nature: Some(Nature::Fraudulent),
        nature_note: Some("Medicare impersonation in the recording".to_owned()),
        burden_balanced: true,
        burden_note: None,
    };
    app.record_due_diligence(&staff(), &candidate.id, &diligence, Some(LegalBasis::ProtectUsers)).await.unwrap();
    app.approve_candidate(&staff(), &candidate.id).await.unwrap();
    candidate.id
}

#[tokio::test]
async fn attestations_received_along_the_path_stand_beside_the_signers_claim() {
    let (t, cache) = app_with_shaken().await;
    let origin = t.provider("prairie-origin", "US", &[(IdentifierKind::Spc, "555A")]).await;
    let terminating = t.provider("lakeshore-term", "US", &[]).await;
    let staff_token = t.staff_token(&[Scope::TracebacksRead, Scope::TracebacksManage, Scope::IntakeManage]).await;
    let a = incident(&t, Some(&identity("A"))).await;
    let candidate = candidate_for(&t, &a).await;
    let start = json!({"candidate_id": candidate, "terminating_provider": terminating.as_str()});
    let started = expect_json(t.post(&staff_token, "/api/v1/tracebacks", &start).await, 201).await;
    let id = started["id"].as_str().unwrap().to_owned();
    let before = expect_json(t.get(&staff_token, &format!("/api/v1/tracebacks/{id}/signer")).await, 200).await;
    assert_eq!(before["attestations_received"], json!([]), "{before}");

    let token = t.provider_token(&terminating, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let list = expect_json(t.get(&token, "/api/v1/provider/hops").await, 200).await;
    let hop = list["items"][0]["hop"].as_str().unwrap().to_owned();
    let answer = json!({"kind": "upstream", "upstream": {"provider_id": origin.as_str()},
                        "evidence": {"attestation_received": "B", "verstat": "TN-Validation-Passed"}});
    expect_json(t.post(&token, &format!("/api/v1/provider/tracebacks/{id}/hops/{hop}/answer"), &answer).await, 200)
        .await;

    let signer = expect_json(t.get(&staff_token, &format!("/api/v1/tracebacks/{id}/signer")).await, 200).await;
    assert_eq!(signer["attest"], "A", "the signer's claim: {signer}");
    assert_eq!(
        signer["attestations_received"],
        json!([{"hop": 0, "provider": terminating.as_str(), "upstream": origin.as_str(),
                "attestation": "B", "verstat": "TN-Validation-Passed"}]),
        "{signer}"
    );
    std::fs::remove_dir_all(cache).unwrap();
}

/// A certificate publisher on loopback: `/sp.pem` serves the test SP chain, `/huge.pem` more than
/// the fetch limit; it counts the requests it answers.
async fn certificate_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let chain = std::fs::read_to_string(format!("{FIXTURES}/sp-chain.pem")).unwrap();
    let (counted, counted_huge) = (hits.clone(), hits.clone());
    let router = axum::Router::new()
        .route(
            "/sp.pem",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let chain = chain.clone();
                async move { chain }
            }),
        )
        .route(
            "/huge.pem",
            axum::routing::get(move || {
                counted_huge.fetch_add(1, Ordering::SeqCst);
                async move { "A".repeat(200 * 1024) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    (base, hits)
}

async fn fetching_app(allow_private_targets: bool) -> (TestApp, std::path::PathBuf) {
    let cache =
        std::env::temp_dir().join(format!("tracehop-web-shaken-fetch-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&cache).unwrap();
    let mut settings = Settings {
        shaken: ShakenSettings {
            trust: Some(format!("{FIXTURES}/ca.pem").into()),
            cert_cache: Some(cache.clone()),
            fetch_x5u: true,
            ..ShakenSettings::default()
        },
        ..Settings::default()
    };
    settings.webhooks.allow_private_targets = allow_private_targets;
    let t = TestApp::with_settings("2027-03-02T09:00:00Z".parse().unwrap(), settings).await;
    t.app
        .create_submitter(&staff(), "test-analytics", "Test Analytics", SourceKind::AnalyticsProvider, None)
        .await
        .unwrap();
    (t, cache)
}

#[tokio::test]
async fn a_missing_certificate_is_fetched_once_within_the_fence_and_the_size_cap() {
    use std::sync::atomic::Ordering;
    let (base, hits) = certificate_server().await;
    let (t, cache) = fetching_app(true).await;
    let staff_token = t.staff_token(&[Scope::TracebacksRead]).await;
    let signer_of = |id: String| {
        let (t, token) = (&t, &staff_token);
        async move { expect_json(t.get(token, &format!("/api/v1/incidents/{id}/signer")).await, 200).await }
    };

    let url = format!("{base}/sp.pem");
    let first = signer_of(incident(&t, Some(&identity_at("A", &url))).await).await;
    assert_eq!(first["status"], "verified", "{first}");
    assert_eq!(first["spc"], "555A");
    assert!(CertCacheDir(cache.clone()).path_for(&url).is_file(), "the certificate is cached under its URL");
    let second = signer_of(incident(&t, Some(&identity_at("B", &url))).await).await;
    assert_eq!(second["status"], "verified", "{second}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a cached certificate valid now is not fetched again");

    // Larger than the cap: not cached, and the verdict says the certificate could not be had.
    let huge = format!("{base}/huge.pem");
    let refused = signer_of(incident(&t, Some(&identity_at("A", &huge))).await).await;
    assert_eq!(refused["reason"], "cert_unavailable", "{refused}");
    assert!(!CertCacheDir(cache.clone()).path_for(&huge).exists());
    let missing = signer_of(incident(&t, Some(&identity_at("A", &format!("{base}/absent.pem")))).await).await;
    assert_eq!(missing["reason"], "cert_unavailable", "{missing}");
    std::fs::remove_dir_all(cache).unwrap();
}

#[tokio::test]
async fn the_webhook_fence_keeps_certificate_fetches_off_private_addresses() {
    use std::sync::atomic::Ordering;
    let (base, hits) = certificate_server().await;
    let (t, cache) = fetching_app(false).await;
    let staff_token = t.staff_token(&[Scope::TracebacksRead]).await;
    let id = incident(&t, Some(&identity_at("A", &format!("{base}/sp.pem")))).await;
    let signer = expect_json(t.get(&staff_token, &format!("/api/v1/incidents/{id}/signer")).await, 200).await;
    assert_eq!(signer["reason"], "cert_unavailable", "{signer}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing was fetched from a loopback address");
    std::fs::remove_dir_all(cache).unwrap();
}
