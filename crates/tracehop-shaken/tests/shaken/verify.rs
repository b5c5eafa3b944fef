//! Verification: the public vectors, the test PKI, and every failure reason.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tracehop_shaken::{
    Attestation, Call, CertCacheDir, FixedCertificate, NoCertificates, Policy, Reason, TrustStore, Verification,
    Verifier, read_certificates, verify_es256,
};

use crate::support::{X5U, at, fixture, good, identity, shaken, sign, trust, verifier, verifier_with};

fn call() -> Call<'static> {
    Call { at: at(), calling: None }
}

fn reason(outcome: &Verification) -> Option<Reason> {
    assert_eq!(outcome.valid, outcome.reason.is_none(), "{outcome:?}");
    outcome.reason
}

#[test]
fn libstirshaken_reference_verifies_with_legacy_string_orig_and_dest() {
    let text = std::fs::read_to_string(fixture("libstirshaken/passport.txt")).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("eyJ")).collect();
    assert_eq!(lines.len(), 2, "the signed PASSporT and the Identity header");
    let trust = TrustStore::load(&fixture("libstirshaken/ca.pem")).unwrap();
    let cert = read_certificates(&fixture("libstirshaken/sp.pem")).unwrap();
    let verifier = Verifier::new(trust, Box::new(FixedCertificate(cert)), Policy::default());
    // iat 1603458131 is 2020-10-23T13:02:11Z.
    let at = Timestamp::from_second(1_603_458_131 + 5).unwrap();
    for line in lines {
        let outcome = verifier.verify(line, Call { at, calling: Some("01256789999") });
        assert_eq!(reason(&outcome), None, "{line}: {outcome:?}");
        assert_eq!(outcome.attest, Some(Attestation::A));
        assert_eq!(outcome.orig.as_deref(), Some("01256789999"));
        assert_eq!(outcome.dest, vec!["01256500600"]);
        assert_eq!(outcome.origid.as_deref(), Some("ref"));
        assert_eq!(outcome.spc, None, "its TNAuthList holds a URL, not an SPC");
        assert_eq!(outcome.signer.as_deref(), Some("CN=SignalWire STI-SP Test,C=US"));
    }
}

#[test]
fn rfc7515_a3_es256_vector_verifies() {
    use tracehop_shaken::p256::ecdsa::VerifyingKey;
    let x = URL_SAFE_NO_PAD.decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU").unwrap();
    let y = URL_SAFE_NO_PAD.decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0").unwrap();
    let key = VerifyingKey::from_sec1_bytes(&[&[4u8][..], &x, &y].concat()).unwrap();
    let jws = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    let (input, signature) = jws.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert!(verify_es256(&key, input.as_bytes(), &signature));
    let mut tampered = input.to_owned();
    tampered.replace_range(..1, "f");
    assert!(!verify_es256(&key, tampered.as_bytes(), &signature));
}

#[test]
fn own_pki_verifies_with_intermediate_and_reads_the_spc() {
    let outcome = verifier("sp-chain.pem").verify(&good(), Call { at: at(), calling: Some("+1 (202) 555-0123") });
    assert_eq!(reason(&outcome), None, "{outcome:?}");
    assert_eq!(outcome.spc.as_deref(), Some("555A"));
    assert_eq!(outcome.attest, Some(Attestation::A));
    assert_eq!(outcome.orig.as_deref(), Some("12025550123"));
    assert_eq!(outcome.signer.as_deref(), Some("CN=Prairie Test SP 555A,O=Tracehop Test,C=US"));
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["reason"], serde_json::Value::Null);
    assert_eq!(json["attest"], "A");
    assert_eq!(json["spc"], "555A");
}

#[test]
fn trust_store_reads_a_directory() {
    let dir = tempdir("trust-dir");
    std::fs::copy(fixture("ca.pem"), dir.join("root.pem")).unwrap();
    std::fs::write(dir.join("README"), "not a certificate").unwrap();
    let store = TrustStore::load(&dir).unwrap();
    assert_eq!(store.len(), 1);
    let verifier = Verifier::new(
        store,
        Box::new(FixedCertificate(read_certificates(&fixture("sp-chain.pem")).unwrap())),
        Policy::default(),
    );
    assert!(verifier.verify(&good(), call()).valid);
    assert!(TrustStore::load(&fixture("no-such-dir")).is_err());
}

#[test]
fn cert_cache_directory_is_keyed_by_the_sha256_of_the_url() {
    let dir = tempdir("cert-cache");
    let cache = CertCacheDir(dir.clone());
    let verifier = Verifier::new(trust(), Box::new(CertCacheDir(dir.clone())), Policy::default());
    let missing = verifier.verify(&good(), call());
    assert_eq!(reason(&missing), Some(Reason::CertUnavailable));
    assert!(missing.detail.unwrap().contains(&CertCacheDir::file_name(X5U)));
    std::fs::copy(fixture("sp-chain.pem"), cache.path_for(X5U)).unwrap();
    assert!(verifier.verify(&good(), call()).valid);
    assert_eq!(CertCacheDir::file_name("https://a.example/x.pem").len(), 64 + 4);
}

/// Every failure reason, each from one fault in an otherwise good header.
#[test]
fn every_reason_has_a_case() {
    let mut seen = HashSet::new();
    let mut expect = |expected: Reason, outcome: Verification| {
        assert_eq!(reason(&outcome), Some(expected), "{outcome:?}");
        assert!(outcome.detail.as_deref().is_some_and(|d| !d.is_empty()));
        seen.insert(expected);
    };
    let v = verifier("sp-chain.pem");
    let (header, claims) = shaken();

    expect(Reason::Malformed, v.verify("not an identity header", call()));
    expect(Reason::Malformed, v.verify(&identity(&json!({"alg": "ES256"}), &claims), call()));
    let compact = format!("..{};info=<{X5U}>;ppt=shaken", good().split(['.', ';']).nth(2).unwrap());
    expect(Reason::CompactForm, v.verify(&compact, call()));
    let mut rs256 = header.clone();
    rs256["alg"] = json!("RS256");
    expect(Reason::UnsupportedAlg, v.verify(&identity(&rs256, &claims), call()));
    expect(Reason::UnsupportedAlg, v.verify(&good().replace("alg=ES256", "alg=PS256"), call()));
    expect(Reason::X5uMismatch, v.verify(&good().replace(X5U, "https://elsewhere.example/sp.pem"), call()));
    let nothing = Verifier::new(trust(), Box::new(NoCertificates), Policy::default());
    expect(Reason::CertUnavailable, nothing.verify(&good(), call()));
    let dir = tempdir("bad-cache");
    std::fs::write(
        CertCacheDir(dir.clone()).path_for(X5U),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    expect(
        Reason::BadCertificate,
        Verifier::new(trust(), Box::new(CertCacheDir(dir)), Policy::default()).verify(&good(), call()),
    );
    expect(Reason::UntrustedIssuer, verifier("sp-rogue.pem").verify(&good(), call()));
    let leaf_only = read_certificates(&fixture("sp-chain.pem")).unwrap().into_iter().take(1).collect();
    expect(
        Reason::UntrustedIssuer,
        Verifier::new(trust(), Box::new(FixedCertificate(leaf_only)), Policy::default()).verify(&good(), call()),
    );
    expect(Reason::CertExpiredAtCall, verifier("sp-expired.pem").verify(&good(), call()));
    let early = Timestamp::from_second(1_500_000_000).unwrap();
    let mut early_claims = claims.clone();
    early_claims["iat"] = json!(early.as_second());
    expect(Reason::CertExpiredAtCall, v.verify(&identity(&header, &early_claims), Call { at: early, calling: None }));
    // The claims changed after signing: the signature no longer covers them.
    let signed = sign(&header, &claims);
    let mut other = claims.clone();
    other["attest"] = json!("B");
    let parts: Vec<&str> = signed.split('.').collect();
    let forged = format!("{}.{}.{};info=<{X5U}>", parts[0], URL_SAFE_NO_PAD.encode(other.to_string()), parts[2]);
    expect(Reason::BadSignature, v.verify(&forged, call()));
    let stale = Call { at: at().checked_add(SignedDuration::from_secs(61)).unwrap(), calling: None };
    expect(Reason::StaleIat, v.verify(&good(), stale));
    let early_iat = Call { at: at().checked_sub(SignedDuration::from_secs(61)).unwrap(), calling: None };
    expect(Reason::StaleIat, v.verify(&good(), early_iat));
    expect(Reason::NoTnauthlist, verifier("sp-notn.pem").verify(&good(), call()));
    expect(Reason::BadTnauthlist, verifier("sp-badtn.pem").verify(&good(), call()));
    let mut outside = claims.clone();
    outside["orig"] = json!({"tn": "12025550300"});
    expect(Reason::TnNotAuthorized, verifier("sp-range.pem").verify(&identity(&header, &outside), call()));
    expect(Reason::TnMismatch, v.verify(&good(), Call { at: at(), calling: Some("+1 202 555 0199") }));

    let missing: Vec<&str> = Reason::ALL.iter().filter(|r| !seen.contains(r)).map(|r| r.as_str()).collect();
    assert!(missing.is_empty(), "reasons without a case: {missing:?}");
}

#[test]
fn freshness_boundary_and_policy() {
    let v = verifier("sp-chain.pem");
    let edge = Call { at: at().checked_add(SignedDuration::from_secs(60)).unwrap(), calling: None };
    assert!(v.verify(&good(), edge).valid);
    let lenient = verifier_with("sp-chain.pem", Policy { max_iat_skew: 300 });
    let later = Call { at: at().checked_add(SignedDuration::from_secs(299)).unwrap(), calling: None };
    assert!(lenient.verify(&good(), later).valid);
}

#[test]
fn tn_ranges_authorise_numbers_inside() {
    let (header, mut claims) = shaken();
    claims["orig"] = json!({"tn": "12025550142"});
    let outcome = verifier("sp-range.pem").verify(&identity(&header, &claims), call());
    assert_eq!(reason(&outcome), None, "{outcome:?}");
    assert_eq!(outcome.spc, None);
}

#[test]
fn several_headers_give_the_strongest_valid_one() {
    let (header, mut claims) = shaken();
    claims["attest"] = json!("B");
    let b = identity(&header, &claims);
    let line = format!("garbage.x.y;info=<{X5U}>, {b}, {}", good());
    let outcome = verifier("sp-chain.pem").verify_all(&line, call());
    assert_eq!(reason(&outcome), None, "{outcome:?}");
    assert_eq!(outcome.attest, Some(Attestation::A));
    let none_valid = verifier("sp-chain.pem").verify_all("garbage.x.y;info=<x>, ", call());
    assert_eq!(reason(&none_valid), Some(Reason::Malformed));
}

#[test]
fn div_passports_report_the_diverting_number() {
    let header = json!({"alg": "ES256", "ppt": "div", "typ": "passport", "x5u": X5U});
    let claims = json!({"dest": {"tn": ["13125550199"]}, "div": {"tn": "13125550100"}, "iat": at().as_second(),
                        "orig": {"tn": "12025550123"}});
    let line = format!("{};info=<{X5U}>;ppt=div", sign(&header, &claims));
    let outcome = verifier("sp-chain.pem").verify(&line, call());
    assert_eq!(reason(&outcome), None, "{outcome:?}");
    assert_eq!(outcome.div.as_deref(), Some("13125550100"));
    assert_eq!(outcome.attest, None);
    assert_eq!(outcome.ppt.as_deref(), Some("div"));
}

pub fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tracehop-shaken-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
