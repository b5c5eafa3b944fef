//! Test PKI (tests/fixtures, made by make-certs.sh) and PASSporT signing.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use serde_json::{Value, json};
use tracehop_shaken::{CertSource, FixedCertificate, Policy, TrustStore, Verifier, read_certificates};

pub const X5U: &str = "https://cert.tracehop-test.example/sp-555a.pem";

/// The call's time in the tests: within every test certificate but `sp-expired.pem`.
pub fn at() -> Timestamp {
    "2027-03-01T18:22:05Z".parse().unwrap()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn trust() -> TrustStore {
    TrustStore::load(&fixture("ca.pem")).unwrap()
}

pub fn verifier_with(cert: &str, policy: Policy) -> Verifier {
    let source: Box<dyn CertSource> = Box::new(FixedCertificate(read_certificates(&fixture(cert)).unwrap()));
    Verifier::new(trust(), source, policy)
}

pub fn verifier(cert: &str) -> Verifier {
    verifier_with(cert, Policy::default())
}

fn key() -> SigningKey {
    SigningKey::from_pkcs8_pem(&std::fs::read_to_string(fixture("sp.key")).unwrap()).unwrap()
}

/// The SHAKEN header and claims of an A-attested call from 202-555-0123 at `at()`.
pub fn shaken() -> (Value, Value) {
    (
        json!({"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": X5U}),
        json!({"attest": "A", "dest": {"tn": ["13125550199"]}, "iat": at().as_second(),
               "orig": {"tn": "12025550123"}, "origid": "0b9ad8f7-52e2-4a4e-8a54-2f7bd2d1b1d0"}),
    )
}

/// A signed full-form PASSporT.
pub fn sign(header: &Value, claims: &Value) -> String {
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature: Signature = key().sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// An Identity header line for a signed PASSporT.
pub fn identity(header: &Value, claims: &Value) -> String {
    let x5u = header["x5u"].as_str().unwrap_or(X5U);
    format!("{};info=<{x5u}>;alg=ES256;ppt=shaken", sign(header, claims))
}

/// The default A-attested header.
pub fn good() -> String {
    let (header, claims) = shaken();
    identity(&header, &claims)
}
