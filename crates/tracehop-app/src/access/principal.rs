//! Who is acting, and what they may do: a route obtains a handle for its principal, and the handle
//! can only do what that principal may. A provider's handle answers "not found" for anything that
//! is not its own, so nobody learns that a traceback exists without a hop in it (ACC-2).

use tracehop_core::intake::SourceKind;
use tracehop_core::number::PhoneNumber;
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::view::ProviderView;
use tracehop_core::traceback::{
    Actor, CallFacts, Category, Evidence, HopId, HopRef, RecordingRef, Rejection, Reply, Traceback, TracebackId,
    Visibility, provider_view,
};
use tracehop_store::tracebacks::{HopFilter, HopRecord, category_name};

use crate::intake::candidates::{APPROVED, STARTED};
use crate::traceback::{Access, Executed, Request, StartRequest, TracebackOrder, UpstreamChoice};
use crate::{App, AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffRole {
    Admin,
    Analyst,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Staff {
        user: String,
        role: StaffRole,
        /// For an API token staff minted, the staff member who minted it.
        minted_by: Option<String>,
    },
    Provider {
        provider: ProviderId,
        user: String,
        /// For an API token staff minted, the staff member who minted it.
        minted_by: Option<String>,
    },
    /// An organisation that submits candidates and incident data: an analytics provider, an
    /// enforcement agency, an organisation subject to abusive calling.
    Submitter { submitter: String, kind: SourceKind, user: String },
}

impl Principal {
    /// Who acted, for records.
    pub fn user(&self) -> &str {
        match self {
            Self::Staff { user, .. } | Self::Provider { user, .. } | Self::Submitter { user, .. } => user,
        }
    }
}

impl App {
    /// The staff handle, if the principal is staff.
    pub fn staff(&self, principal: &Principal) -> AppResult<StaffHandle<'_>> {
        match principal {
            Principal::Staff { user, role, minted_by } => Ok(StaffHandle {
                app: self,
                actor: Actor::Staff { user: user.clone(), minted_by: minted_by.clone() },
                role: *role,
            }),
            Principal::Provider { .. } | Principal::Submitter { .. } => {
                Err(AppError::Forbidden("only consortium staff may do this".into()))
            }
        }
    }

    /// The provider handle, if the principal acts for a provider.
    pub fn provider(&self, principal: &Principal) -> AppResult<ProviderHandle<'_>> {
        match principal {
            Principal::Provider { provider, user, minted_by } => Ok(ProviderHandle {
                app: self,
                provider: provider.clone(),
                actor: Actor::Provider { provider: provider.clone(), user: user.clone(), minted_by: minted_by.clone() },
            }),
            Principal::Staff { .. } | Principal::Submitter { .. } => {
                Err(AppError::Forbidden("this is for a provider's own users".into()))
            }
        }
    }
}

/// Everything consortium staff may do with tracebacks (ACC-1: staff see everything).
pub struct StaffHandle<'a> {
    app: &'a App,
    actor: Actor,
    role: StaffRole,
}

impl StaffHandle<'_> {
    pub fn role(&self) -> StaffRole {
        self.role
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// TB-1: starts a traceback from an approved candidate (SRC-3) and an incident, at the
    /// terminating provider. The call it traces, its category and its campaign come from them.
    pub async fn start(&self, order: TracebackOrder) -> AppResult<Executed> {
        let store = self.app.store();
        let candidate = store
            .candidate(&order.candidate)
            .await?
            .ok_or_else(|| AppError::invalid("candidate_id", format!("no candidate {}", order.candidate)))?;
        match candidate.status.as_str() {
            APPROVED => {}
            // A retry whose start committed before its process died: it reads the start back.
            STARTED if tracehop_store::idempotency::replaying().is_some() => {}
            STARTED => {
                let traceback = candidate.traceback_id.as_deref().unwrap_or("another traceback");
                return Err(AppError::Conflict(format!("candidate {} already started {traceback}", candidate.id)));
            }
            status => {
                return Err(AppError::invalid(
                    "candidate_id",
                    format!("candidate {} is {status}; only an approved candidate starts a traceback", candidate.id),
                ));
            }
        }
        let incident_id = order
            .incident
            .or_else(|| candidate.incident_id.clone())
            .ok_or_else(|| AppError::invalid("incident_id", "name the incident whose call the traceback traces"))?;
        let incident = store
            .incident(&incident_id)
            .await?
            .ok_or_else(|| AppError::invalid("incident_id", format!("no incident {incident_id}")))?;
        let campaign_id = order.campaign.or(candidate.campaign_id).or_else(|| incident.row.campaign_id.clone());
        let campaign = match &campaign_id {
            Some(id) => Some(
                store
                    .campaign(id)
                    .await?
                    .ok_or_else(|| AppError::invalid("campaign_id", format!("no campaign {id}")))?,
            ),
            None => None,
        };
        let campaign_label = match campaign.as_ref().and_then(|c| c.label_id.as_ref()) {
            Some(label) => store.labels().await?.into_iter().find(|l| &l.id == label).map(|l| l.name),
            None => None,
        }
        .or_else(|| campaign.as_ref().map(|c| c.name.clone()));
        let row = &incident.row;
        let call = CallFacts {
            calling: PhoneNumber::parse(&row.calling_raw),
            called: PhoneNumber::parse(&row.called_raw),
            call_time: row.call_time,
            sip_call_id: row.sip_call_id.clone(),
            campaign_label,
            basis_summary: row.basis.clone().or(Some(candidate.summary)),
            recording: incident.recording.as_ref().filter(|r| r.purged_at.is_none()).map(|r| RecordingRef {
                key: r.key.clone(),
                content_type: r.content_type.clone(),
                sha256: r.sha256.clone(),
                size: u64::try_from(r.size).unwrap_or_default(),
            }),
        };
        let category = [Category::Domestic, Category::ForeignLawEnforcement]
            .into_iter()
            .find(|c| category_name(*c) == candidate.category)
            .ok_or_else(|| AppError::invalid("candidate_id", format!("unknown category {}", candidate.category)))?;
        let request = StartRequest {
            category,
            call,
            terminating: order.terminating,
            candidate: Some(candidate.id),
            incident: Some(incident_id),
            campaign: campaign_id,
        };
        let id = TracebackId(self.app.new_id());
        self.app.execute(id, &self.actor, &Request::Start(Box::new(request))).await
    }

    /// Any traceback action, as staff (including answers entered on a provider's behalf).
    pub async fn act(&self, traceback: TracebackId, action: Action) -> AppResult<Executed> {
        self.app.execute(traceback, &self.actor, &Request::Core(action)).await
    }

    pub async fn answer_upstream(
        &self,
        traceback: TracebackId,
        hop: HopId,
        upstream: UpstreamChoice,
        evidence: Evidence,
    ) -> AppResult<Executed> {
        self.app.execute(traceback, &self.actor, &Request::AnswerUpstream { hop, upstream, evidence }).await
    }

    /// The whole traceback.
    pub async fn traceback(&self, id: TracebackId) -> AppResult<(i64, Traceback)> {
        self.app.traceback(id).await
    }
}

/// What a provider may do: only with its own hops.
pub struct ProviderHandle<'a> {
    app: &'a App,
    provider: ProviderId,
    actor: Actor,
}

impl ProviderHandle<'_> {
    pub fn provider_id(&self) -> &ProviderId {
        &self.provider
    }

    /// The provider's view of a traceback; not found unless it has a hop in it.
    pub async fn view(&self, traceback: TracebackId) -> AppResult<ProviderView> {
        let hidden = || AppError::NotFound(format!("traceback {traceback}"));
        let (_, state) = self.app.traceback(traceback).await.map_err(|_| hidden())?;
        self.view_of(&state).await?.ok_or_else(hidden)
    }

    /// What it may see of a traceback: its own hops, or those of a provider merged into it.
    pub async fn view_of(&self, state: &Traceback) -> AppResult<Option<ProviderView>> {
        if let Some(view) = provider_view(state, &self.provider) {
            return Ok(Some(view));
        }
        for alias in self.app.store().merged_into(&self.provider).await? {
            if let Some(view) = provider_view(state, &alias) {
                return Ok(Some(view));
            }
        }
        Ok(None)
    }

    /// The hop its reference names. A reference it was not given, or a traceback it has no hop
    /// in, is "not found"; whether the hop is its own is checked with the command.
    async fn hop_named(&self, traceback: TracebackId, hop: HopRef) -> AppResult<HopId> {
        let hidden = || AppError::NotFound(format!("hop {hop} of traceback {traceback}"));
        let (_, state) = self.app.traceback(traceback).await.map_err(|_| hidden())?;
        state.hop_by_ref(hop).ok_or_else(hidden)
    }

    /// Runs a request on one of its hops, named by reference. Anything about a hop that is not
    /// its own, or a traceback it has no hop in, is "not found".
    async fn on_own_hop(
        &self,
        traceback: TracebackId,
        reference: HopRef,
        request: impl FnOnce(HopId) -> Request,
    ) -> AppResult<Executed> {
        let hop = self.hop_named(traceback, reference).await?;
        let access = Access::OwnHop { provider: &self.provider, hop };
        match self.app.execute_as(traceback, &self.actor, &request(hop), None, access).await {
            Err(
                AppError::Rejected(Rejection::NotYourHop(_) | Rejection::NoHopInTraceback | Rejection::UnknownHop(_))
                | AppError::NotFound(_),
            ) => Err(AppError::NotFound(format!("hop {reference} of traceback {traceback}"))),
            other => other,
        }
    }

    pub async fn acknowledge(&self, traceback: TracebackId, hop: HopRef) -> AppResult<Executed> {
        self.on_own_hop(traceback, hop, |hop| Request::Core(Action::Acknowledge { hop })).await
    }

    /// Answers originated or not found.
    pub async fn answer(&self, traceback: TracebackId, hop: HopRef, reply: Reply) -> AppResult<Executed> {
        if matches!(reply, Reply::Upstream { .. }) {
            return Err(AppError::invalid("answer", "name an upstream with answer_upstream"));
        }
        self.on_own_hop(traceback, hop, |hop| Request::Core(Action::Answer { hop, reply: Box::new(reply) })).await
    }

    pub async fn answer_upstream(
        &self,
        traceback: TracebackId,
        hop: HopRef,
        upstream: UpstreamChoice,
        evidence: Evidence,
    ) -> AppResult<Executed> {
        self.on_own_hop(traceback, hop, |hop| Request::AnswerUpstream { hop, upstream, evidence }).await
    }

    /// A comment on one of its hops, within the hourly allowance of the provider (the core
    /// caps the comments on one hop).
    pub async fn comment(
        &self,
        traceback: TracebackId,
        hop: HopRef,
        text: String,
        visibility: Visibility,
    ) -> AppResult<Executed> {
        let now = self.app.now();
        let limit = self.app.settings().comments.per_provider_per_hour;
        self.app.comment_limiter().take(&self.provider, limit, now)?;
        let executed = self
            .on_own_hop(traceback, hop, |hop| Request::Core(Action::Comment { hop: Some(hop), text, visibility }))
            .await;
        if executed.is_err() {
            self.app.comment_limiter().give_back(&self.provider, now);
        }
        executed
    }

    pub async fn dispute(&self, traceback: TracebackId, hop: HopRef, grounds: String) -> AppResult<Executed> {
        self.on_own_hop(traceback, hop, |hop| Request::Core(Action::Dispute { hop, grounds })).await
    }

    /// Its hops: open requests with their deadlines, or its history.
    pub async fn hops(&self, mut filter: HopFilter) -> AppResult<Vec<HopRecord>> {
        filter.provider_id = self.provider.to_string();
        let mut rows = self.app.store().list_hops(&filter).await?;
        // Rows not written since references were introduced get theirs from the traceback.
        for row in rows.iter_mut().filter(|row| row.reference.is_none()) {
            let id = uuid::Uuid::parse_str(&row.traceback_id)
                .map_err(|e| AppError::Store(tracehop_store::StoreError::Corrupt(e.to_string())))?;
            let (_, state) = self.app.traceback(TracebackId(id)).await?;
            let hop = HopId(u32::try_from(row.hop).unwrap_or(u32::MAX));
            row.reference = Some(state.hop_ref(hop).to_string());
        }
        Ok(rows)
    }
}
