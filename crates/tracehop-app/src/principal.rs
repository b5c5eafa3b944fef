//! Who is acting, and what they may do: a route obtains a handle for its principal, and the handle
//! can only do what that principal may. A provider's handle answers "not found" for anything that
//! is not its own, so nobody learns that a traceback exists without a hop in it (ACC-2).

use tracehop_core::intake::SourceKind;
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::view::ProviderView;
use tracehop_core::traceback::{
    Actor, Evidence, HopId, Rejection, Reply, Traceback, TracebackId, Visibility, provider_view,
};
use tracehop_store::tracebacks::{HopFilter, HopRecord};

use crate::traceback::{Access, Executed, Request, StartRequest, UpstreamChoice};
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
    },
    Provider {
        provider: ProviderId,
        user: String,
    },
    /// An organisation that submits candidates and incident data: an analytics provider, an
    /// enforcement agency, an organisation subject to abusive calling.
    Submitter {
        submitter: String,
        kind: SourceKind,
        user: String,
    },
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
            Principal::Staff { user, role } => {
                Ok(StaffHandle { app: self, actor: Actor::Staff { user: user.clone() }, role: *role })
            }
            Principal::Provider { .. } | Principal::Submitter { .. } => {
                Err(AppError::Forbidden("only consortium staff may do this".into()))
            }
        }
    }

    /// The provider handle, if the principal acts for a provider.
    pub fn provider(&self, principal: &Principal) -> AppResult<ProviderHandle<'_>> {
        match principal {
            Principal::Provider { provider, user } => Ok(ProviderHandle {
                app: self,
                provider: provider.clone(),
                actor: Actor::Provider { provider: provider.clone(), user: user.clone() },
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

    /// TB-1: starts a traceback at the terminating provider.
    pub async fn start(&self, request: StartRequest) -> AppResult<Executed> {
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
        provider_view(&state, &self.provider).ok_or_else(hidden)
    }

    /// Runs a request on one of its hops. Anything about a hop that is not its own, or a
    /// traceback it has no hop in, is "not found".
    async fn on_own_hop(&self, traceback: TracebackId, hop: HopId, request: Request) -> AppResult<Executed> {
        let access = Access::OwnHop { provider: &self.provider, hop };
        match self.app.execute_as(traceback, &self.actor, &request, None, access).await {
            Err(AppError::Rejected(
                Rejection::NotYourHop(_) | Rejection::NoHopInTraceback | Rejection::UnknownHop(_),
            )) => Err(AppError::NotFound(format!("hop {hop} of traceback {traceback}"))),
            other => other,
        }
    }

    pub async fn acknowledge(&self, traceback: TracebackId, hop: HopId) -> AppResult<Executed> {
        self.on_own_hop(traceback, hop, Request::Core(Action::Acknowledge { hop })).await
    }

    /// Answers originated or not found.
    pub async fn answer(&self, traceback: TracebackId, hop: HopId, reply: Reply) -> AppResult<Executed> {
        if matches!(reply, Reply::Upstream { .. }) {
            return Err(AppError::invalid("answer", "name an upstream with answer_upstream"));
        }
        self.on_own_hop(traceback, hop, Request::Core(Action::Answer { hop, reply: Box::new(reply) })).await
    }

    pub async fn answer_upstream(
        &self,
        traceback: TracebackId,
        hop: HopId,
        upstream: UpstreamChoice,
        evidence: Evidence,
    ) -> AppResult<Executed> {
        self.on_own_hop(traceback, hop, Request::AnswerUpstream { hop, upstream, evidence }).await
    }

    pub async fn comment(
        &self,
        traceback: TracebackId,
        hop: HopId,
        text: String,
        visibility: Visibility,
    ) -> AppResult<Executed> {
        self.on_own_hop(traceback, hop, Request::Core(Action::Comment { hop: Some(hop), text, visibility })).await
    }

    pub async fn dispute(&self, traceback: TracebackId, hop: HopId, grounds: String) -> AppResult<Executed> {
        self.on_own_hop(traceback, hop, Request::Core(Action::Dispute { hop, grounds })).await
    }

    /// Its hops: open requests with their deadlines, or its history.
    pub async fn hops(&self, mut filter: HopFilter) -> AppResult<Vec<HopRecord>> {
        filter.provider_id = self.provider.to_string();
        Ok(self.app.store().list_hops(&filter).await?)
    }
}
