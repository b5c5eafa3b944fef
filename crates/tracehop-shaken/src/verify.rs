//! Verification of an Identity header at the call's time.
//!
//! The checks, in order (the first failure is the reason): the header and PASSporT parse
//! (`malformed`); full form (`compact_form`); ES256 (`unsupported_alg`); `info` names the same
//! certificate as `x5u` (`x5u_mismatch`); the certificate is found (`cert_unavailable`) and parses
//! (`bad_certificate`); it chains to the trust store (`untrusted_issuer`); every certificate of
//! the chain is valid at the call (`cert_expired_at_call`); the signature verifies
//! (`bad_signature`); `iat` is fresh (`stale_iat`); the certificate has a TNAuthList
//! (`no_tnauthlist`, `bad_tnauthlist`) authorising the originating number when it lists numbers
//! (`tn_not_authorized`); `orig` is the calling number presented (`tn_mismatch`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::Serialize;

use crate::cert::{Cert, CertSource, TrustStore, check_validity};
use crate::error::{Failure, Reason};
use crate::identity::{IdentityHeader, parse_identity_header, parse_identity_headers};
use crate::passport::{Attestation, Passport, Token, decode_token, normalize_tn};
use crate::tnauth::TnAuthList;

/// The raw ES256 check of a JWS: `signature` (R ‖ S, 64 bytes) over `signing_input`
/// (`base64url(header) "." base64url(payload)`) with a P-256 key.
pub fn verify_es256(key: &VerifyingKey, signing_input: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|signature| key.verify(signing_input, &signature).is_ok())
}

/// Verification policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Largest distance between `iat` and the call's time, in seconds (default 60).
    pub max_iat_skew: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self { max_iat_skew: 60 }
    }
}

/// The call a header came with.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// When the call was made: certificates and `iat` are judged at this instant.
    pub at: Timestamp,
    /// The calling number presented (From / P-Asserted-Identity), when known.
    pub calling: Option<&'a str>,
}

/// What verifying one header found. `valid` is true exactly when `reason` is `None`. Claims are
/// filled in whenever the PASSporT parsed, even when verification then failed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Verification {
    pub valid: bool,
    pub reason: Option<Reason>,
    /// What went wrong, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub attest: Option<Attestation>,
    pub orig: Option<String>,
    pub dest: Vec<String>,
    pub iat: Option<i64>,
    pub origid: Option<String>,
    /// The signer's service provider code, from the certificate's TNAuthList.
    pub spc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5u: Option<String>,
    /// The signing certificate's subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub div: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcd_name: Option<String>,
}

impl Verification {
    fn fail(mut self, failure: Failure) -> Self {
        self.valid = false;
        self.reason = Some(failure.reason);
        self.detail = Some(failure.detail);
        self
    }
}

/// A certificate chain prepared for a URL: parsed and chained once, then reused (the warm cache).
struct Prepared {
    leaf: Cert,
    /// The path to an anchor, or why there is none.
    chain: Result<Vec<Cert>, Failure>,
    tn_auth: Option<Result<TnAuthList, String>>,
}

/// Most URLs remembered before the memory cache starts again.
const MEMO_LIMIT: usize = 10_000;

/// Verifies Identity headers against a trust store, with certificates from a [`CertSource`].
pub struct Verifier {
    trust: TrustStore,
    certs: Box<dyn CertSource>,
    policy: Policy,
    memo: Mutex<HashMap<String, Arc<Prepared>>>,
}

impl Verifier {
    pub fn new(trust: TrustStore, certs: Box<dyn CertSource>, policy: Policy) -> Self {
        Self { trust, certs, policy, memo: Mutex::new(HashMap::new()) }
    }

    /// Verifies a field value that may hold several Identity headers, and returns the best
    /// outcome: a valid one with the strongest attestation, else the first failure.
    pub fn verify_all(&self, value: &str, call: Call<'_>) -> Verification {
        let mut outcomes: Vec<Verification> = parse_identity_headers(value)
            .into_iter()
            .map(|parsed| match parsed {
                Ok(header) => self.verify_parsed(&header, call),
                Err(error) => Verification::default().fail(error.into()),
            })
            .collect();
        if outcomes.is_empty() {
            return Verification::default().fail(Failure::new(Reason::Malformed, "no Identity header"));
        }
        let best = outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| o.valid)
            .min_by_key(|(_, o)| o.attest.unwrap_or(Attestation::C))
            .map_or(0, |(i, _)| i);
        outcomes.swap_remove(best)
    }

    /// Verifies one Identity header value.
    pub fn verify(&self, header: &str, call: Call<'_>) -> Verification {
        match parse_identity_header(header) {
            Ok(header) => self.verify_parsed(&header, call),
            Err(error) => Verification::default().fail(error.into()),
        }
    }

    /// Verifies a parsed Identity header.
    pub fn verify_parsed(&self, header: &IdentityHeader, call: Call<'_>) -> Verification {
        let passport = match decode_token(&header.token) {
            Ok(Token::Full(passport)) => passport,
            Ok(Token::Compact { .. }) => {
                return Verification { x5u: header.info.clone(), ppt: header.ppt.clone(), ..Verification::default() }
                    .fail(Failure::new(
                        Reason::CompactForm,
                        "a compact-form PASSporT is rebuilt from the SIP message, not verified from the header alone",
                    ));
            }
            Err(error) => return Verification::default().fail(error.into()),
        };
        let claims = &passport.claims;
        let mut outcome = Verification {
            valid: false,
            attest: claims.attest,
            orig: claims.orig.first().map(str::to_owned),
            dest: claims.dest.all(),
            iat: Some(claims.iat),
            origid: claims.origid.clone(),
            ppt: passport.header.ppt.clone().or_else(|| header.ppt.clone()),
            x5u: passport.header.x5u.clone(),
            div: claims.div.as_ref().and_then(|d| d.first().map(str::to_owned)),
            rcd_name: claims.rcd_name().map(str::to_owned),
            ..Verification::default()
        };
        match self.check(header, &passport, call, &mut outcome) {
            Ok(()) => {
                outcome.valid = true;
                outcome
            }
            Err(failure) => outcome.fail(failure),
        }
    }

    fn check(
        &self,
        header: &IdentityHeader,
        passport: &Passport,
        call: Call<'_>,
        outcome: &mut Verification,
    ) -> Result<(), Failure> {
        if passport.header.alg != "ES256" || header.alg.as_deref().is_some_and(|alg| alg != "ES256") {
            return Err(Failure::new(Reason::UnsupportedAlg, format!("alg {} is not ES256", passport.header.alg)));
        }
        let x5u =
            passport.header.x5u.as_deref().ok_or_else(|| Failure::new(Reason::Malformed, "the PASSporT has no x5u"))?;
        if let Some(info) = &header.info
            && info != x5u
        {
            return Err(Failure::new(Reason::X5uMismatch, format!("info <{info}> is not x5u {x5u}")));
        }
        let prepared = self.prepared(x5u)?;
        outcome.signer = Some(prepared.leaf.subject.clone());
        if let Some(Ok(list)) = &prepared.tn_auth {
            outcome.spc = list.spc.first().cloned();
        }
        let chain = prepared.chain.as_ref().map_err(Clone::clone)?;
        check_validity(chain, call.at.as_second())?;
        let key = prepared
            .leaf
            .key
            .as_ref()
            .ok_or_else(|| Failure::new(Reason::UnsupportedAlg, "the signing certificate's key is not P-256"))?;
        if !verify_es256(key, passport.signing_input.as_bytes(), &passport.signature) {
            return Err(Failure::new(
                Reason::BadSignature,
                format!("the signature does not verify with {}", prepared.leaf.subject),
            ));
        }
        let skew = call.at.as_second().saturating_sub(passport.claims.iat);
        if skew.saturating_abs() > self.policy.max_iat_skew {
            return Err(Failure::new(
                Reason::StaleIat,
                format!("iat is {skew} s from the call's time; the policy allows {} s", self.policy.max_iat_skew),
            ));
        }
        let list = match &prepared.tn_auth {
            None => {
                return Err(Failure::new(Reason::NoTnauthlist, format!("{} has no TNAuthList", prepared.leaf.subject)));
            }
            Some(Err(error)) => return Err(Failure::new(Reason::BadTnauthlist, error.clone())),
            Some(Ok(list)) => list,
        };
        let orig = passport.claims.orig.tn.first().map(|tn| normalize_tn(tn));
        if list.spc.is_empty() && list.reference.is_none() {
            let authorised = orig.as_deref().is_some_and(|digits| {
                let full: String = passport.claims.orig.tn[0].chars().filter(char::is_ascii_digit).collect();
                list.authorises_tn(&full) || list.authorises_tn(digits) || list.authorises_tn(&format!("1{digits}"))
            });
            if !authorised {
                return Err(Failure::new(
                    Reason::TnNotAuthorized,
                    "the certificate's TNAuthList does not list the originating number",
                ));
            }
        }
        if let Some(calling) = call.calling {
            let presented = normalize_tn(calling);
            if orig.as_deref() != Some(presented.as_str()) {
                return Err(Failure::new(
                    Reason::TnMismatch,
                    format!(
                        "orig {} is not the calling number {calling}",
                        outcome.orig.as_deref().unwrap_or("(a URI)")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The prepared chain for `x5u`, from memory or from the certificate source.
    fn prepared(&self, x5u: &str) -> Result<Arc<Prepared>, Failure> {
        if let Some(hit) = self.memo.lock().ok().and_then(|memo| memo.get(x5u).cloned()) {
            return Ok(hit);
        }
        let mut certs = self.certs.fetch(x5u)?.into_iter();
        let leaf =
            certs.next().ok_or_else(|| Failure::new(Reason::BadCertificate, format!("no certificate at {x5u}")))?;
        let intermediates: Vec<Cert> = certs.collect();
        let prepared =
            Arc::new(Prepared { chain: self.trust.chain(&leaf, &intermediates), tn_auth: leaf.tn_auth_list(), leaf });
        if let Ok(mut memo) = self.memo.lock() {
            if memo.len() >= MEMO_LIMIT {
                memo.clear();
            }
            memo.insert(x5u.to_owned(), Arc::clone(&prepared));
        }
        Ok(prepared)
    }
}
