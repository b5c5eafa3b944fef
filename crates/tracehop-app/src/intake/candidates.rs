//! Traceback candidates (SRC-1..4): submitted by a source, vetted by staff under the sourcing
//! policy — due diligence and a legal basis — and approved or rejected with a reason. Only an
//! approved candidate starts a traceback.

use tracehop_core::intake::{DueDiligence, LegalBasis, SourceKind, approval_problems};
use tracehop_store::candidates::{CandidateFilter, CandidateRecord};

use crate::access::principal::Principal;
use crate::{App, AppError, AppResult};

/// A candidate as submitted.
#[derive(Debug, Clone, Default)]
pub struct NewCandidate {
    /// Staff entering a candidate name its source; a submitter's is its own.
    pub source_kind: Option<SourceKind>,
    /// Staff may name the submitting organisation.
    pub submitter_id: Option<String>,
    pub incident_id: Option<String>,
    pub campaign_id: Option<String>,
    pub summary: String,
}

pub const PENDING: &str = "pending";
pub const APPROVED: &str = "approved";
pub const REJECTED: &str = "rejected";
pub const STARTED: &str = "started";

fn legal_basis_name(basis: LegalBasis) -> &'static str {
    match basis {
        LegalBasis::ProtectProviders => "protect_providers",
        LegalBasis::ProtectUsers => "protect_users",
        LegalBasis::CustomerApproval => "customer_approval",
    }
}

pub fn parse_legal_basis(text: &str) -> Option<LegalBasis> {
    [LegalBasis::ProtectProviders, LegalBasis::ProtectUsers, LegalBasis::CustomerApproval]
        .into_iter()
        .find(|b| legal_basis_name(*b) == text)
}

impl App {
    pub async fn submit_candidate(&self, by: &Principal, new: NewCandidate) -> AppResult<CandidateRecord> {
        let summary = new.summary.trim();
        if summary.is_empty() || summary.chars().count() > 5_000 {
            return Err(AppError::invalid("summary", "1 to 5000 characters"));
        }
        let (kind, submitter) = match by {
            Principal::Submitter { submitter, kind, .. } => {
                if new.submitter_id.as_ref().is_some_and(|s| s != submitter) {
                    return Err(AppError::invalid("submitter_id", "submit for your own organisation"));
                }
                (*kind, Some(submitter.clone()))
            }
            Principal::Staff { .. } => {
                let kind =
                    new.source_kind.ok_or_else(|| AppError::invalid("source_kind", "name the candidate's source"))?;
                if let Some(submitter) = &new.submitter_id
                    && self.store().submitter(submitter).await?.is_none()
                {
                    return Err(AppError::invalid("submitter_id", format!("no submitter {submitter}")));
                }
                (kind, new.submitter_id.clone())
            }
            Principal::Provider { .. } => return Err(AppError::Forbidden("providers do not submit candidates".into())),
        };
        let mut tx = self.store().begin().await?;
        if let Some(incident) = &new.incident_id {
            let owner = tx
                .incident_submitter(incident)
                .await?
                .ok_or_else(|| AppError::invalid("incident_id", format!("no incident {incident}")))?;
            if matches!(by, Principal::Submitter { .. }) && Some(&owner) != submitter.as_ref() {
                return Err(AppError::invalid("incident_id", format!("no incident {incident}")));
            }
        }
        if let Some(campaign) = &new.campaign_id
            && tx.campaign(campaign).await?.is_none()
        {
            return Err(AppError::invalid("campaign_id", format!("no campaign {campaign}")));
        }
        let now = self.now();
        let candidate = CandidateRecord {
            id: self.new_id().to_string(),
            source_kind: kind.name().to_owned(),
            submitter_id: submitter,
            submitted_by: by.user().to_owned(),
            category: tracehop_store::tracebacks::category_name(kind.category()).to_owned(),
            incident_id: new.incident_id,
            campaign_id: new.campaign_id,
            summary: summary.to_owned(),
            status: PENDING.to_owned(),
            due_diligence: None,
            legal_basis: None,
            decided_by: None,
            decided_at: None,
            rejection_reason: None,
            traceback_id: None,
            created_at: now,
            updated_at: now,
        };
        tx.save_candidate(&candidate).await?;
        tx.commit().await?;
        Ok(candidate)
    }

    /// A candidate the caller may see: staff see all; a submitter its own.
    pub async fn candidate(&self, by: &Principal, id: &str) -> AppResult<CandidateRecord> {
        let hidden = || AppError::NotFound(format!("candidate {id}"));
        let candidate = self.store().candidate(id).await?.ok_or_else(hidden)?;
        match by {
            Principal::Staff { .. } => Ok(candidate),
            Principal::Submitter { submitter, .. } if candidate.submitter_id.as_ref() == Some(submitter) => {
                Ok(as_submitter_sees(candidate))
            }
            _ => Err(hidden()),
        }
    }

    pub async fn candidates(&self, by: &Principal, mut filter: CandidateFilter) -> AppResult<Vec<CandidateRecord>> {
        match by {
            Principal::Staff { .. } => {}
            Principal::Submitter { submitter, .. } => filter.submitter_id = Some(submitter.clone()),
            Principal::Provider { .. } => return Err(AppError::Forbidden("providers do not see candidates".into())),
        }
        let rows = self.store().list_candidates(&filter).await?;
        Ok(match by {
            Principal::Staff { .. } => rows,
            _ => rows.into_iter().map(as_submitter_sees).collect(),
        })
    }

    /// Changes a pending candidate under staff review.
    async fn review<F>(&self, by: &Principal, id: &str, change: F) -> AppResult<CandidateRecord>
    where
        F: FnOnce(&mut CandidateRecord) -> AppResult<()>,
    {
        self.staff(by)?;
        let mut tx = self.store().begin().await?;
        let mut candidate = tx.candidate(id).await?.ok_or_else(|| AppError::NotFound(format!("candidate {id}")))?;
        if candidate.status != PENDING {
            return Err(AppError::Conflict(format!("candidate {id} is {}, not pending", candidate.status)));
        }
        change(&mut candidate)?;
        candidate.updated_at = self.now();
        tx.save_candidate(&candidate).await?;
        tx.commit().await?;
        Ok(candidate)
    }

    /// SRC-2: records the due diligence and the legal basis.
    pub async fn record_due_diligence(
        &self,
        by: &Principal,
        id: &str,
        diligence: &DueDiligence,
        basis: Option<LegalBasis>,
    ) -> AppResult<CandidateRecord> {
        let text = serde_json::to_string(diligence)?;
        self.review(by, id, |candidate| {
            candidate.due_diligence = Some(text);
            candidate.legal_basis = basis.map(|b| legal_basis_name(b).to_owned());
            Ok(())
        })
        .await
    }

    /// SRC-3: approves a candidate whose due diligence and legal basis are complete.
    pub async fn approve_candidate(&self, by: &Principal, id: &str) -> AppResult<CandidateRecord> {
        let (user, now) = (by.user().to_owned(), self.now());
        self.review(by, id, |candidate| {
            let diligence: DueDiligence =
                candidate.due_diligence.as_deref().map(serde_json::from_str).transpose()?.unwrap_or_default();
            let basis = candidate.legal_basis.as_deref().and_then(parse_legal_basis);
            if let Some((field, problem)) = approval_problems(&diligence, basis).into_iter().next() {
                return Err(AppError::invalid(field, format!("{problem} before approval")));
            }
            APPROVED.clone_into(&mut candidate.status);
            candidate.decided_by = Some(user);
            candidate.decided_at = Some(now);
            Ok(())
        })
        .await
    }

    /// SRC-3: rejects a candidate, keeping it with the reason.
    pub async fn reject_candidate(&self, by: &Principal, id: &str, reason: &str) -> AppResult<CandidateRecord> {
        if reason.trim().is_empty() {
            return Err(AppError::invalid("reason", "say why"));
        }
        let (user, now, reason) = (by.user().to_owned(), self.now(), reason.trim().to_owned());
        self.review(by, id, |candidate| {
            REJECTED.clone_into(&mut candidate.status);
            candidate.rejection_reason = Some(reason);
            candidate.decided_by = Some(user);
            candidate.decided_at = Some(now);
            Ok(())
        })
        .await
    }
}

/// One call to trace, entered by staff in one go: the incident, a candidate from its submitter,
/// the due diligence, approval, then the start. The demo, the scenario runner and the benchmark
/// open their tracebacks this way, through the same services as the API.
#[derive(Debug, Clone)]
pub struct Referral {
    /// The submitter the incident comes from; its kind is the candidate's source.
    pub submitter: String,
    /// Incident fields as the API takes them (`external_id`, `calling`, `called`, `call_time`…).
    pub incident: serde_json::Map<String, serde_json::Value>,
    pub summary: String,
    pub diligence: DueDiligence,
    pub legal_basis: LegalBasis,
    pub campaign_id: Option<String>,
    pub terminating: tracehop_core::provider::ProviderId,
}

impl App {
    pub async fn refer_and_start(
        &self,
        staff: &Principal,
        referral: Referral,
    ) -> AppResult<crate::traceback::Executed> {
        let submitter = self
            .store()
            .submitter(&referral.submitter)
            .await?
            .ok_or_else(|| AppError::invalid("submitter", format!("no submitter {}", referral.submitter)))?;
        let source_kind = SourceKind::parse(&submitter.kind)
            .ok_or_else(|| AppError::invalid("submitter", format!("unknown source kind {}", submitter.kind)))?;
        let incident = match self.submit_incident(staff, Some(&submitter.id), &referral.incident).await? {
            crate::intake::incidents::Submitted::Created(record)
            | crate::intake::incidents::Submitted::Existing(record) => record,
            crate::intake::incidents::Submitted::Invalid(problems) => {
                let first = problems.into_iter().next();
                return Err(first.map_or_else(
                    || AppError::invalid("incident", "invalid"),
                    |p| AppError::invalid(format!("incident.{}", p.field), p.message),
                ));
            }
        };
        let new = NewCandidate {
            source_kind: Some(source_kind),
            submitter_id: Some(submitter.id),
            incident_id: Some(incident.row.id.clone()),
            campaign_id: referral.campaign_id,
            summary: referral.summary,
        };
        let candidate = self.submit_candidate(staff, new).await?;
        self.record_due_diligence(staff, &candidate.id, &referral.diligence, Some(referral.legal_basis)).await?;
        self.approve_candidate(staff, &candidate.id).await?;
        let order = crate::traceback::TracebackOrder {
            candidate: candidate.id,
            incident: None,
            terminating: referral.terminating,
            campaign: None,
        };
        self.staff(staff)?.start(order).await
    }
}

/// A candidate as its submitter sees it: its status and dates, without staff's due-diligence
/// record, who decided, or the traceback it started.
fn as_submitter_sees(candidate: CandidateRecord) -> CandidateRecord {
    CandidateRecord { due_diligence: None, legal_basis: None, decided_by: None, traceback_id: None, ..candidate }
}
