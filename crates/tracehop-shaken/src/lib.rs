//! STIR/SHAKEN for tracehop, usable alone: parse SIP `Identity` headers (RFC 8224) and PASSporTs
//! (RFC 8225, SHAKEN RFC 8588, `div` RFC 8946, `rcd`), and verify them at the call's time: the
//! ES256 signature with the certificate named by `x5u`, its chain to a trust store of STI-CA roots,
//! the chain's validity at the call, `iat` freshness, and the signer's TNAuthList (RFC 8226,
//! ATIS-1000080), which names its service provider code (SPC).
//!
//! ```no_run
//! use tracehop_shaken::{Call, CertCacheDir, Policy, TrustStore, Verifier};
//! # fn main() -> Result<(), String> {
//! let trust = TrustStore::load("sti-ca-roots/".as_ref())?;
//! let verifier = Verifier::new(trust, Box::new(CertCacheDir("cert-cache".into())), Policy::default());
//! let at = "2026-03-01T18:22:05Z".parse().map_err(|e| format!("{e}"))?;
//! let outcome = verifier.verify("eyJ...;info=<https://cert.example/sp.pem>;ppt=shaken", Call { at, calling: None });
//! println!("{} {:?} {:?}", outcome.valid, outcome.reason, outcome.spc);
//! # Ok(()) }
//! ```
//!
//! Nothing here reads the clock or the network: the call's time is a parameter, and
//! certificates come from a [`CertSource`] (a local cache directory keyed by URL, or one file).

mod cert;
mod error;
mod identity;
mod passport;
mod tnauth;
mod verify;

pub use cert::{
    Cert, CertCacheDir, CertSource, FixedCertificate, NoCertificates, TrustStore, check_validity, parse_certificates,
    read_certificates,
};
pub use error::{Failure, ParseError, Reason};
pub use identity::{IdentityHeader, MAX_HEADER_LEN, parse_identity_header, parse_identity_headers};
pub use passport::{Attestation, Claims, Header, Party, Passport, Token, decode_token, normalize_tn};
pub use tnauth::{TN_AUTH_LIST_OID, TnAuthList, TnRange};
pub use verify::{Call, Policy, Verification, Verifier, verify_es256};

/// The P-256 implementation verification uses, for callers that measure or build keys.
pub use p256;
