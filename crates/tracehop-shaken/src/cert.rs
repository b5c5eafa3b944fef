//! Certificates: the trust store (STI-CA roots), where signers' certificates come from, and the
//! checks on a chain (ECDSA P-256 with SHA-256 signatures, validity at an instant).

use std::path::{Path, PathBuf};

use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::BasicConstraints;

use crate::error::{Failure, Reason};
use crate::tnauth::{TN_AUTH_LIST_OID, TnAuthList};

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const PRIME256V1: &str = "1.2.840.10045.3.1.7";
const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";

/// Largest certificate file read (a chain of a few certificates is a few KiB).
pub const MAX_CERT_FILE: u64 = 256 * 1024;

/// A parsed certificate with what verification needs.
#[derive(Clone, Debug)]
pub struct Cert {
    pub cert: Certificate,
    /// The subject key, when it is a P-256 key.
    pub key: Option<VerifyingKey>,
    pub not_before: i64,
    pub not_after: i64,
    /// The subject, RFC 4514.
    pub subject: String,
}

impl Cert {
    pub fn new(cert: Certificate) -> Self {
        let tbs = cert.tbs_certificate();
        let spki = tbs.subject_public_key_info();
        let p256 = spki.algorithm.oid.to_string() == EC_PUBLIC_KEY
            && spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<x509_cert::spki::ObjectIdentifier>().ok())
                .is_some_and(|oid| oid.to_string() == PRIME256V1);
        let key = if p256 { VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).ok() } else { None };
        let seconds = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
        Cert {
            key,
            not_before: seconds(tbs.validity().not_before),
            not_after: seconds(tbs.validity().not_after),
            subject: tbs.subject().to_string(),
            cert,
        }
    }

    /// Whether `at` (Unix seconds) lies within the validity period.
    pub fn valid_at(&self, at: i64) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// Whether this certificate's key signed `child` (ecdsa-with-SHA256, P-256).
    pub fn signed(&self, child: &Certificate) -> bool {
        let Some(key) = &self.key else { return false };
        if child.signature_algorithm().oid.to_string() != ECDSA_WITH_SHA256
            || child.tbs_certificate().issuer() != self.cert.tbs_certificate().subject()
        {
            return false;
        }
        let (Ok(tbs), Some(sig)) = (child.tbs_certificate().to_der(), child.signature().as_bytes()) else {
            return false;
        };
        Signature::from_der(sig).is_ok_and(|sig| key.verify(&tbs, &sig).is_ok())
    }

    /// Whether the certificate may issue others (basicConstraints cA).
    pub fn is_ca(&self) -> bool {
        matches!(self.cert.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
    }

    /// The TNAuthList extension: `None` when absent, an error when it does not parse.
    pub fn tn_auth_list(&self) -> Option<Result<TnAuthList, String>> {
        let extensions = self.cert.tbs_certificate().extensions()?;
        let extension = extensions.iter().find(|e| e.extn_id.to_string() == TN_AUTH_LIST_OID)?;
        Some(TnAuthList::from_der(extension.extn_value.as_bytes()))
    }
}

/// Certificates from PEM text (any number of `CERTIFICATE` blocks) or one DER certificate.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<Cert>, String> {
    let certs = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        Certificate::load_pem_chain(bytes).map_err(|e| format!("not PEM certificates: {e}"))?
    } else {
        vec![Certificate::from_der(bytes).map_err(|e| format!("not a DER certificate: {e}"))?]
    };
    if certs.is_empty() {
        return Err("no certificate".into());
    }
    Ok(certs.into_iter().map(Cert::new).collect())
}

/// Reads a certificate file, refusing large ones.
pub fn read_certificates(path: &Path) -> Result<Vec<Cert>, String> {
    let size = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    if size > MAX_CERT_FILE {
        return Err(format!("{}: larger than {MAX_CERT_FILE} bytes", path.display()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_certificates(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The roots a chain must end at: STI-CA certificates, from PEM files or a directory of them.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    anchors: Vec<Cert>,
}

impl TrustStore {
    pub fn new(anchors: Vec<Cert>) -> Self {
        Self { anchors }
    }

    /// A PEM (or DER) file, or every `.pem`, `.crt`, `.cer` and `.der` file of a directory.
    pub fn load(path: &Path) -> Result<Self, String> {
        let mut anchors = Vec::new();
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|p| {
                    p.extension().and_then(|e| e.to_str()).is_some_and(|e| ["pem", "crt", "cer", "der"].contains(&e))
                })
                .collect();
            files.sort();
            for file in files {
                anchors.extend(read_certificates(&file)?);
            }
        } else {
            anchors = read_certificates(path)?;
        }
        if anchors.is_empty() {
            return Err(format!("{}: no certificates", path.display()));
        }
        Ok(Self { anchors })
    }

    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The path from `leaf` through `intermediates` to an anchor, leaf first and anchor last, or
    /// `untrusted_issuer`. Validity is not checked here (see [`check_validity`]).
    pub fn chain(&self, leaf: &Cert, intermediates: &[Cert]) -> Result<Vec<Cert>, Failure> {
        let mut path = vec![leaf.clone()];
        if self.anchors.iter().any(|a| a.cert == leaf.cert) {
            return Ok(path);
        }
        for _ in 0..6 {
            let current = &path[path.len() - 1].cert;
            if let Some(anchor) = self.anchors.iter().find(|a| a.signed(current)) {
                path.push(anchor.clone());
                return Ok(path);
            }
            let Some(next) =
                intermediates.iter().find(|c| c.is_ca() && c.signed(current) && !path.iter().any(|p| p.cert == c.cert))
            else {
                break;
            };
            path.push(next.clone());
        }
        Err(Failure::new(
            Reason::UntrustedIssuer,
            format!(
                "{} (issued by {}) does not chain to the trust store",
                leaf.subject,
                leaf.cert.tbs_certificate().issuer()
            ),
        ))
    }
}

/// Every certificate of a chain valid at `at` (Unix seconds), else `cert_expired_at_call`.
pub fn check_validity(chain: &[Cert], at: i64) -> Result<(), Failure> {
    match chain.iter().find(|c| !c.valid_at(at)) {
        None => Ok(()),
        Some(c) => {
            let when = |t: i64| jiff::Timestamp::from_second(t).map_or_else(|_| t.to_string(), |t| t.to_string());
            let state = if at < c.not_before { "not yet valid" } else { "expired" };
            Err(Failure::new(
                Reason::CertExpiredAtCall,
                format!("{} was {state} at the call ({} to {})", c.subject, when(c.not_before), when(c.not_after)),
            ))
        }
    }
}

/// Where the certificate named by a PASSporT's `x5u` comes from.
pub trait CertSource: Send + Sync {
    /// The chain published at `url` (leaf first, then any intermediates), or
    /// `cert_unavailable` / `bad_certificate`.
    fn fetch(&self, url: &str) -> Result<Vec<Cert>, Failure>;
}

/// No certificates at all: every PASSporT is `cert_unavailable`.
pub struct NoCertificates;

impl CertSource for NoCertificates {
    fn fetch(&self, url: &str) -> Result<Vec<Cert>, Failure> {
        Err(Failure::new(Reason::CertUnavailable, format!("no certificate source is configured for {url}")))
    }
}

/// One certificate file used for every `x5u` (the CLI's `--cert FILE`).
pub struct FixedCertificate(pub Vec<Cert>);

impl CertSource for FixedCertificate {
    fn fetch(&self, _url: &str) -> Result<Vec<Cert>, Failure> {
        Ok(self.0.clone())
    }
}

/// A local directory of certificates by URL: the certificate published at `URL` is the file
/// `DIR/<hex SHA-256 of URL>.pem` (see [`CertCacheDir::file_name`]).
pub struct CertCacheDir(pub PathBuf);

impl CertCacheDir {
    /// The file name the certificate of `url` has in a cache directory.
    pub fn file_name(url: &str) -> String {
        let digest = Sha256::digest(url.as_bytes());
        format!("{}.pem", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub fn path_for(&self, url: &str) -> PathBuf {
        self.0.join(Self::file_name(url))
    }
}

impl CertSource for CertCacheDir {
    fn fetch(&self, url: &str) -> Result<Vec<Cert>, Failure> {
        let path = self.path_for(url);
        if !path.is_file() {
            return Err(Failure::new(
                Reason::CertUnavailable,
                format!("{url} is not in the certificate cache (expected {})", path.display()),
            ));
        }
        read_certificates(&path).map_err(|e| Failure::new(Reason::BadCertificate, e))
    }
}
