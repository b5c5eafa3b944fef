//! Errors: what does not parse ([`ParseError`]) and why a verification failed ([`Reason`]).

use serde::Serialize;

/// Why an Identity header or PASSporT could not be read. Every variant maps to the reason code
/// `malformed`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the Identity header is empty")]
    Empty,
    #[error("the Identity header is longer than tracehop reads")]
    TooLong,
    #[error("the PASSporT token is malformed: {0}")]
    BadToken(String),
    #[error("malformed Identity header parameter `{0}`")]
    BadParameter(String),
    #[error("the Identity header parameter `{0}` is given twice")]
    DuplicateParameter(String),
    #[error("the PASSporT {part} is not base64url")]
    BadBase64 { part: &'static str },
    #[error("the PASSporT {part} is not a JSON object: {message}")]
    BadJson { part: &'static str, message: String },
    #[error("the PASSporT has no `{0}`")]
    Missing(&'static str),
    #[error("the PASSporT's `{name}` is invalid: {message}")]
    BadClaim { name: &'static str, message: String },
}

/// A stable reason code for a failed verification. The codes (`as_str`) are part of tracehop's
/// interface: the CLI, the API and stored incidents carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The header or PASSporT does not parse.
    Malformed,
    /// A compact-form PASSporT (`..signature`): its header and claims must be rebuilt from the
    /// SIP message, which a header alone does not carry.
    CompactForm,
    /// Not ES256 (in the PASSporT or the header's `alg`), or a certificate key that is not P-256.
    UnsupportedAlg,
    /// The header's `info` names another certificate than the PASSporT's `x5u`.
    X5uMismatch,
    /// No certificate for `x5u` (not in the cache, no file given, fetching off).
    CertUnavailable,
    /// The certificate found for `x5u` does not parse.
    BadCertificate,
    /// The certificate does not chain to a root in the trust store.
    UntrustedIssuer,
    /// A certificate of the chain was not valid at the call's time (expired or not yet valid).
    CertExpiredAtCall,
    /// The ES256 signature does not verify with the certificate's key.
    BadSignature,
    /// `iat` is further from the call's time than the freshness policy allows.
    StaleIat,
    /// The signer's certificate has no TNAuthList extension.
    NoTnauthlist,
    /// The TNAuthList extension does not parse.
    BadTnauthlist,
    /// The TNAuthList lists telephone numbers only, and not the originating one.
    TnNotAuthorized,
    /// The PASSporT's `orig` is not the calling number presented.
    TnMismatch,
}

impl Reason {
    /// The stable code.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::CompactForm => "compact_form",
            Reason::UnsupportedAlg => "unsupported_alg",
            Reason::X5uMismatch => "x5u_mismatch",
            Reason::CertUnavailable => "cert_unavailable",
            Reason::BadCertificate => "bad_certificate",
            Reason::UntrustedIssuer => "untrusted_issuer",
            Reason::CertExpiredAtCall => "cert_expired_at_call",
            Reason::BadSignature => "bad_signature",
            Reason::StaleIat => "stale_iat",
            Reason::NoTnauthlist => "no_tnauthlist",
            Reason::BadTnauthlist => "bad_tnauthlist",
            Reason::TnNotAuthorized => "tn_not_authorized",
            Reason::TnMismatch => "tn_mismatch",
        }
    }

    /// Every reason, for documentation and tests.
    pub const ALL: [Reason; 14] = [
        Reason::Malformed,
        Reason::CompactForm,
        Reason::UnsupportedAlg,
        Reason::X5uMismatch,
        Reason::CertUnavailable,
        Reason::BadCertificate,
        Reason::UntrustedIssuer,
        Reason::CertExpiredAtCall,
        Reason::BadSignature,
        Reason::StaleIat,
        Reason::NoTnauthlist,
        Reason::BadTnauthlist,
        Reason::TnNotAuthorized,
        Reason::TnMismatch,
    ];
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with its reason and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Failure {
    pub reason: Reason,
    pub detail: String,
}

impl Failure {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into() }
    }
}

impl From<ParseError> for Failure {
    fn from(error: ParseError) -> Self {
        Failure::new(Reason::Malformed, error.to_string())
    }
}
