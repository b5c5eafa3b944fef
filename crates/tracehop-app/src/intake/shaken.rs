//! STIR/SHAKEN in the platform (SHK-1, INC-1): an incident's Identity header is verified at intake,
//! at the call's time, against the configured trust store and certificate cache, and the outcome
//! is kept with the parsed header. Staff see, for a traceback, who signed its call, the
//! attestation and the verdict; the signer's SPC (or OCN) maps to a provider of the directory,
//! and a verified A-attested call names that provider as the likely originator.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::{Answer, Attestation, Traceback, TracebackId};
use tracehop_shaken::{
    Call, CertCacheDir, CertSource, NoCertificates, Policy, Token, TrustStore, Verifier, decode_token,
    parse_certificates, parse_identity_headers, read_certificates,
};
use tracehop_store::providers::IdentifierKind;

use crate::access::principal::StaffHandle;
use crate::{App, AppError, AppResult};

/// `[policy.shaken]`: off unless `trust` names the STI-CA roots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShakenSettings {
    /// A PEM file of trusted STI-CA roots, or a directory of them. Unset: headers are parsed and
    /// kept but not verified.
    pub trust: Option<PathBuf>,
    /// A directory of signers' certificates, each named by the SHA-256 of its URL
    /// (`tracehop shaken cache-add`). Unset: every header is `cert_unavailable`.
    pub cert_cache: Option<PathBuf>,
    /// Largest distance between a PASSporT's `iat` and the call's time.
    pub max_iat_skew: SignedDuration,
    /// Fetch a signer's certificate named by `x5u` (or `info`) into `cert_cache` when the cache
    /// lacks it or holds one past its notAfter: HTTPS to public addresses only (the webhook
    /// fence), no redirects, no proxy, at most `fetch_max_bytes`, within `fetch_timeout`.
    pub fetch_x5u: bool,
    pub fetch_max_bytes: u64,
    pub fetch_timeout: SignedDuration,
}

impl Default for ShakenSettings {
    fn default() -> Self {
        Self {
            trust: None,
            cert_cache: None,
            max_iat_skew: SignedDuration::from_secs(60),
            fetch_x5u: false,
            fetch_max_bytes: 64 * 1024,
            fetch_timeout: SignedDuration::from_secs(5),
        }
    }
}

/// The verifier the settings describe: `None` when no trust store is named.
pub fn verifier(settings: &ShakenSettings) -> Result<Option<Verifier>, String> {
    let Some(trust) = &settings.trust else { return Ok(None) };
    let store = TrustStore::load(trust).map_err(|e| format!("policy.shaken.trust: {e}"))?;
    let certs: Box<dyn CertSource> = match &settings.cert_cache {
        Some(dir) if dir.is_dir() => Box::new(CertCacheDir(dir.clone())),
        Some(dir) => return Err(format!("policy.shaken.cert_cache: {} is not a directory", dir.display())),
        None => Box::new(NoCertificates),
    };
    Ok(Some(Verifier::new(store, certs, Policy { max_iat_skew: settings.max_iat_skew.as_secs() })))
}

/// As [`verifier`], logging a configuration that does not load (the server checks it at start).
pub(crate) fn verifier_or_log(settings: &ShakenSettings) -> Option<Arc<Verifier>> {
    match verifier(settings) {
        Ok(verifier) => verifier.map(Arc::new),
        Err(error) => {
            tracing::error!(%error, "STIR/SHAKEN verification is off");
            None
        }
    }
}

/// The certificate URLs an Identity header field names: each header's `info`, and the PASSporT's
/// `x5u` where it differs.
fn certificate_urls(field: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for header in parse_identity_headers(field).into_iter().flatten() {
        let x5u = match decode_token(&header.token) {
            Ok(Token::Full(passport)) => passport.header.x5u,
            _ => None,
        };
        for url in header.info.into_iter().chain(x5u) {
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
    }
    urls
}

impl App {
    /// Fills the certificate cache with the signers' certificates an Identity header names, when
    /// `policy.shaken.fetch_x5u` is on; a certificate that cannot be had is logged and left to
    /// verification, which then says `cert_unavailable`.
    pub(crate) async fn prefetch_certificates(&self, field: &str) {
        let settings = &self.settings().shaken;
        let (true, Some(dir)) = (settings.fetch_x5u, settings.cert_cache.as_deref()) else { return };
        for url in certificate_urls(field) {
            if let Err(problem) = self.fetch_certificate(dir, &url).await {
                tracing::warn!(%url, %problem, "a signer's certificate could not be fetched");
            }
        }
    }

    async fn fetch_certificate(&self, dir: &Path, url: &str) -> Result<(), String> {
        let settings = &self.settings().shaken;
        let path = CertCacheDir(dir.to_path_buf()).path_for(url);
        let now = self.now().as_second();
        // Cached until its notAfter: a leaf valid now needs no fetch.
        if read_certificates(&path).is_ok_and(|chain| chain.first().is_some_and(|leaf| leaf.valid_at(now))) {
            return Ok(());
        }
        if let Some(problem) = crate::notify::fence::url_problem(url, self.settings().webhooks.allow_private_targets) {
            return Err(problem);
        }
        let timeout =
            std::time::Duration::try_from(settings.fetch_timeout).unwrap_or(std::time::Duration::from_secs(5));
        let mut response =
            self.http().get(url).timeout(timeout).send().await.map_err(|e| format!("fetching it failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("it answered {}", response.status()));
        }
        let limit = usize::try_from(settings.fetch_max_bytes).unwrap_or(usize::MAX);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("reading it failed: {e}"))? {
            if body.len() + chunk.len() > limit {
                return Err(format!("it is larger than {limit} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        let chain = parse_certificates(&body)?;
        if chain.is_empty() {
            return Err("it holds no certificate".to_owned());
        }
        // Written beside and renamed, so a reader never sees half a file.
        let partial = path.with_extension("pem.part");
        tokio::fs::write(&partial, &body).await.map_err(|e| format!("caching it failed: {e}"))?;
        tokio::fs::rename(&partial, &path).await.map_err(|e| format!("caching it failed: {e}"))
    }
}

/// The Identity header read as the incident keeps it (`identity_parsed`): the PASSporT's header,
/// claims and parameters, and, when verification is configured, `verification`: the verdict at the
/// call's time against the presented calling number.
pub(crate) fn parsed_and_verified(header: &str, verifier: Option<&Verifier>, at: Timestamp, calling: &str) -> Value {
    let mut parsed = crate::intake::incidents::identity::parse(header);
    if let (Some(verifier), Some(object)) = (verifier, parsed.as_object_mut()) {
        let outcome = verifier.verify_all(header, Call { at, calling: Some(calling) });
        object.insert("verification".into(), serde_json::to_value(&outcome).unwrap_or(Value::Null));
    }
    parsed
}

/// What staff see of a traceback's STIR/SHAKEN signer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignerView {
    /// The incident the traceback started from.
    pub incident_id: String,
    /// `verified`, `failed`, `not_verified` (verification off when it came in) or `no_header`.
    pub status: &'static str,
    /// The failure's reason code, when `failed`.
    pub reason: Option<String>,
    pub detail: Option<String>,
    /// The attestation the signer claimed (A, B, C).
    pub attest: Option<String>,
    pub orig: Option<String>,
    pub origid: Option<String>,
    /// The signer's service provider code from its certificate (verified headers only).
    pub spc: Option<String>,
    /// The signing certificate's subject.
    pub signer: Option<String>,
    /// The certificate URL the PASSporT names.
    pub x5u: Option<String>,
    /// The directory's provider holding the signer's SPC (or OCN), when known.
    pub signer_provider: Option<String>,
    /// For a verified, A-attested call: the signer, as the likely originator. Staff may send
    /// the first request straight to it.
    pub suggested_originator: Option<String>,
    /// What each provider in the call path says it received from its upstream (TB-2 evidence),
    /// beside the signer's claim; empty for an incident's signer.
    pub attestations_received: Vec<AttestationReceived>,
}

/// The attestation (and verstat) a provider reported with its upstream answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttestationReceived {
    /// The hop's position in the path, counted from the terminating provider (staff only).
    pub hop: usize,
    pub provider: ProviderId,
    pub upstream: ProviderId,
    pub attestation: Option<Attestation>,
    pub verstat: Option<String>,
}

/// The attestations reported along the current call path, terminating provider first.
fn attestations_received(state: &Traceback) -> Vec<AttestationReceived> {
    state
        .hops
        .iter()
        .enumerate()
        .filter(|(_, hop)| !hop.superseded)
        .filter_map(|(index, hop)| match &hop.answer.as_ref()?.answer {
            Answer::Upstream { upstream, evidence, .. }
                if evidence.attestation_received.is_some() || evidence.verstat.is_some() =>
            {
                Some(AttestationReceived {
                    hop: index,
                    provider: hop.provider.id.clone(),
                    upstream: upstream.id.clone(),
                    attestation: evidence.attestation_received,
                    verstat: evidence.verstat.clone(),
                })
            }
            _ => None,
        })
        .collect()
}

impl App {
    /// The signer of a traceback's call, for staff (the handle is the proof).
    pub async fn traceback_signer(&self, staff: &StaffHandle<'_>, traceback: TracebackId) -> AppResult<SignerView> {
        let (_, state) = staff.traceback(traceback).await?;
        let incident = state
            .header
            .as_ref()
            .and_then(|h| h.incident.clone())
            .ok_or_else(|| AppError::NotFound("the traceback's incident".into()))?;
        let mut view = self.incident_signer(staff, &incident).await?;
        view.attestations_received = attestations_received(&state);
        Ok(view)
    }

    /// The signer of an incident's call, for staff.
    pub async fn incident_signer(&self, _staff: &StaffHandle<'_>, incident: &str) -> AppResult<SignerView> {
        let record = self.store().incident(incident).await?.ok_or_else(|| AppError::NotFound("incident".into()))?;
        let parsed: Option<Value> = record.row.identity_parsed.as_deref().and_then(|p| serde_json::from_str(p).ok());
        let mut view = SignerView {
            incident_id: record.row.id.clone(),
            status: "no_header",
            reason: None,
            detail: None,
            attest: None,
            orig: None,
            origid: None,
            spc: None,
            signer: None,
            x5u: None,
            signer_provider: None,
            suggested_originator: None,
            attestations_received: Vec::new(),
        };
        let Some(parsed) = parsed else { return Ok(view) };
        let text = |value: &Value| value.as_str().map(str::to_owned);
        view.attest = text(&parsed["payload"]["attest"]);
        view.origid = text(&parsed["payload"]["origid"]);
        view.x5u = text(&parsed["header"]["x5u"]);
        let verification = &parsed["verification"];
        if verification.is_null() {
            view.status = "not_verified";
            return Ok(view);
        }
        let valid = verification["valid"].as_bool() == Some(true);
        view.status = if valid { "verified" } else { "failed" };
        view.reason = text(&verification["reason"]);
        view.detail = text(&verification["detail"]);
        view.attest = text(&verification["attest"]).or(view.attest);
        view.orig = text(&verification["orig"]);
        view.signer = text(&verification["signer"]);
        if valid {
            view.spc = text(&verification["spc"]);
            if let Some(spc) = &view.spc {
                view.signer_provider = self.provider_by_code(spc).await?.map(|p| p.as_str().to_owned());
            }
            if view.attest.as_deref() == Some("A") {
                view.suggested_originator.clone_from(&view.signer_provider);
            }
        }
        Ok(view)
    }

    /// The provider holding a service provider code: as an SPC, else as an OCN.
    async fn provider_by_code(&self, code: &str) -> AppResult<Option<ProviderId>> {
        for kind in [IdentifierKind::Spc, IdentifierKind::Ocn] {
            if let Some(found) = self.store().find_provider_by_identifier(kind, code).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}
