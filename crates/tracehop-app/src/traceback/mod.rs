//! Running traceback commands: one transaction per command, retried on a concurrent update.

pub mod timers;

use tracehop_core::provider::{ProviderId, ProviderProfile};
use tracehop_core::traceback::command::{Action, Start};
use tracehop_core::traceback::decide::check_answerable;
use tracehop_core::traceback::{
    Actor, Command, Event, Evidence, HopId, Reply, SuppliedContact, Traceback, TracebackId, apply, decide,
};
use tracehop_store::providers::IdentifierKind;
use tracehop_store::tracebacks::Snapshot;
use tracehop_store::{CommandWrite, StoreError, Tx};

use crate::traceback::timers::jobs_for;
use crate::{App, AppError, AppResult};

/// How often a command is retried when another writer changed the traceback first.
const ATTEMPTS: usize = 8;

/// What a command asks for, before the directory has been consulted.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// A command the engine takes as it is.
    Core(Action),
    /// Start at the terminating provider named by id.
    Start(Box<StartRequest>),
    /// Answer naming an upstream: a known provider, or new contact details (PRV-5).
    AnswerUpstream { hop: HopId, upstream: UpstreamChoice, evidence: Evidence },
}

#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamChoice {
    Known(ProviderId),
    /// Known by an FRN, RMD number, OCN or SPC.
    Identified(IdentifierKind, String),
    New(SuppliedContact),
}

/// TB-1 as staff ask for it: an approved candidate, the incident whose call is traced (the
/// candidate's own unless named), and the terminating provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracebackOrder {
    pub candidate: String,
    pub incident: Option<String>,
    pub terminating: ProviderId,
    /// The campaign it belongs to, if not the candidate's or the incident's.
    pub campaign: Option<String>,
}

/// A start with everything known: what the engine's start command carries.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    pub category: tracehop_core::traceback::Category,
    pub call: tracehop_core::traceback::CallFacts,
    pub terminating: ProviderId,
    pub candidate: Option<String>,
    pub incident: Option<String>,
    pub campaign: Option<String>,
}

/// A claimed job whose completion commits with the command it runs.
#[derive(Debug, Clone, Copy)]
pub struct JobLease<'a> {
    pub id: i64,
    pub worker: &'a str,
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Executed {
    pub traceback: TracebackId,
    pub number: i64,
    pub events: Vec<Event>,
    pub state: Traceback,
}

/// Whose business the traceback must be for the command to run at all.
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    /// Staff and the platform.
    Any,
    /// A provider acting on one of its hops: anything else is "not found" (ACC-2).
    OwnHop { provider: &'a ProviderId, hop: HopId },
}

impl App {
    /// Runs `request` on traceback `id` for `actor`.
    pub async fn execute(&self, id: TracebackId, actor: &Actor, request: &Request) -> AppResult<Executed> {
        self.execute_as(id, actor, request, None, Access::Any).await
    }

    /// Like [`App::execute`], completing a claimed job in the same transaction.
    pub async fn execute_leased(
        &self,
        id: TracebackId,
        actor: &Actor,
        request: &Request,
        lease: Option<JobLease<'_>>,
    ) -> AppResult<Executed> {
        self.execute_as(id, actor, request, lease, Access::Any).await
    }

    /// Runs a command, checking `access` against the state it loads in the same transaction.
    pub async fn execute_as(
        &self,
        id: TracebackId,
        actor: &Actor,
        request: &Request,
        lease: Option<JobLease<'_>>,
        access: Access<'_>,
    ) -> AppResult<Executed> {
        // A retry of a request that committed before its process died: what it did, read back.
        if let Some(effect) = tracehop_store::idempotency::replaying()
            && let Some(executed) = self.replay_effect(id, &effect, matches!(request, Request::Start(_))).await?
        {
            return Ok(executed);
        }
        for _ in 0..ATTEMPTS {
            match self.try_execute(id, actor, request, lease, access).await {
                Err(AppError::Store(StoreError::Conflict(_))) => {}
                other => return other,
            }
        }
        Err(AppError::Busy(format!("traceback {id}")))
    }

    async fn try_execute(
        &self,
        id: TracebackId,
        actor: &Actor,
        request: &Request,
        lease: Option<JobLease<'_>>,
        access: Access<'_>,
    ) -> AppResult<Executed> {
        let now = self.now();
        // Reads happen before the write transaction, so writers hold it only to write (SQLite has
        // one writer); the version check on save catches anyone who wrote in between.
        let snapshot = self.store().reader().await?.load_snapshot(id).await?;
        let mut acting = std::borrow::Cow::Borrowed(actor);
        if let Access::OwnHop { provider, hop } = access {
            let hop_provider = snapshot.as_ref().and_then(|s| s.state.hop(hop)).map(|h| &h.provider.id);
            match hop_provider {
                Some(owner) if owner == provider => {}
                // A hop of a provider since merged into this one is its own; it answers under
                // the name the traceback knows.
                Some(owner) if self.merged_target(owner).await?.as_ref() == Some(provider) => {
                    if let Actor::Provider { user, minted_by, .. } = actor {
                        acting = std::borrow::Cow::Owned(Actor::Provider {
                            provider: owner.clone(),
                            user: user.clone(),
                            minted_by: minted_by.clone(),
                        });
                    }
                }
                _ => return Err(AppError::NotFound(format!("hop {hop} of traceback {id}"))),
            }
        }
        let actor = acting.as_ref();
        if snapshot.is_none() && !matches!(request, Request::Start(_)) {
            return Err(AppError::NotFound(format!("traceback {id}")));
        }
        let Snapshot { number, state, version, head_hash } = snapshot.unwrap_or(Snapshot {
            number: 0,
            state: Traceback::default(),
            version: 0,
            head_hash: tracehop_store::events::GENESIS.to_owned(),
        });
        // Starting takes a number, and new contact details create a provider: both write before
        // the rest is known, so they do everything inside the transaction.
        let writes_first =
            matches!(request, Request::Start(_) | Request::AnswerUpstream { upstream: UpstreamChoice::New(_), .. });
        let (mut tx, mut reads) = if writes_first {
            (Some(self.store().begin().await?), None)
        } else {
            (None, Some(self.store().reader().await?))
        };
        // An answer naming an upstream on a hop that takes no answer is refused before the
        // directory is asked, so its 409 never becomes a 422 that tells what the directory holds.
        if let Request::AnswerUpstream { hop, .. } = request {
            check_answerable(&state, actor, *hop)?;
        }
        let ((Some(lookups), _) | (None, Some(lookups))) = (tx.as_mut(), reads.as_mut()) else {
            unreachable!("one of the two is open")
        };
        let command = Command::new(actor.clone(), self.resolve(lookups, id, request).await?);
        let events = decide(&state, command, now)?;
        let new_state = events.iter().fold(state.clone(), apply);
        let number = if version == 0 && !events.is_empty() { lookups.next_counter("traceback").await? } else { number };
        let mut jobs = jobs_for(self.settings(), &new_state, &events, now);
        jobs.extend(self.notification_jobs(lookups, &new_state, &events, now).await?);
        drop(reads.take());
        if tx.is_none() && lease.is_none() && !events.is_empty() {
            // The common case, an answer or a staff action: everything it writes in one round trip.
            let write = CommandWrite {
                number,
                version,
                head_hash: &head_hash,
                events: &events,
                state: &new_state,
                jobs: &jobs,
                now,
            };
            self.store().write_command(&write).await?;
            return Ok(Executed { traceback: id, number, events, state: new_state });
        }
        let mut tx = match tx.take() {
            Some(tx) => tx,
            None => self.store().begin().await?,
        };
        if let Some(lease) = lease
            && !tx.complete_job(lease.id, lease.worker, now).await?
        {
            tx.rollback().await?;
            return Err(AppError::Busy(format!("job {} was taken over by another worker", lease.id)));
        }
        if events.is_empty() {
            tx.commit().await?;
            return Ok(Executed { traceback: id, number, events, state });
        }
        let head = tx.append_events(&id.to_string(), version, &head_hash, &events, now).await?;
        let previous = (version != 0).then_some(version);
        tx.save_traceback(number, &new_state, previous, &head, &events, now).await?;
        tx.enqueue(&jobs, now).await?;
        let to = version + i64::try_from(events.len()).unwrap_or(i64::MAX);
        tracehop_store::idempotency::note_effect(format!("traceback:{id}:{version}:{to}"));
        tx.commit().await?;
        Ok(Executed { traceback: id, number, events, state: new_state })
    }

    /// Turns a request into an engine action, looking providers up (and creating an unverified
    /// one for new contact details) inside the command's transaction.
    async fn resolve(&self, tx: &mut Tx, id: TracebackId, request: &Request) -> AppResult<Action> {
        Ok(match request {
            Request::Core(action) => action.clone(),
            Request::Start(start) => {
                let terminating = profile(tx, &start.terminating, "terminating").await?;
                if let Some(candidate) = &start.candidate
                    && !tx.mark_candidate_started(candidate, &id.to_string(), self.now()).await?
                {
                    return Err(AppError::Conflict(format!(
                        "candidate {candidate} is not approved, or already started a traceback"
                    )));
                }
                // From now on the incident's recording is evidence: a correction is a new version.
                if let Some(incident) = &start.incident {
                    tx.mark_incident_used(incident, &id.to_string()).await?;
                }
                Action::Start(Box::new(Start {
                    id,
                    category: start.category,
                    call: start.call.clone(),
                    terminating,
                    policy: self.settings().traceback,
                    candidate: start.candidate.clone(),
                    incident: start.incident.clone(),
                    campaign: start.campaign.clone(),
                    view_key: Some(uuid::Uuid::from_bytes(rand::random())),
                }))
            }
            Request::AnswerUpstream { hop, upstream, evidence } => {
                let (upstream, supplied) = match upstream {
                    UpstreamChoice::Known(provider) => (profile(tx, provider, "upstream.provider_id").await?, None),
                    UpstreamChoice::Identified(kind, value) => {
                        let provider = tx.provider_by_identifier(*kind, value).await?.ok_or_else(|| {
                            AppError::invalid(
                                format!("upstream.{}", identifier_field(*kind)),
                                format!("no provider with {} {value}", kind.name()),
                            )
                        })?;
                        (profile(tx, &provider, "upstream").await?, None)
                    }
                    UpstreamChoice::New(contact) => (self.create_unverified(tx, contact).await?, Some(contact.clone())),
                };
                Action::Answer {
                    hop: *hop,
                    reply: Box::new(Reply::Upstream { upstream, evidence: evidence.clone(), supplied }),
                }
            }
        })
    }

    /// What a committed command did, rebuilt from its events: `traceback:<id>:<from>:<to>` names
    /// the versions it wrote. None when the effect is about another traceback (a start replays
    /// the traceback it created, whatever new id the retry drew).
    async fn replay_effect(&self, id: TracebackId, effect: &str, start: bool) -> AppResult<Option<Executed>> {
        let mut parts = effect.split(':');
        let (Some("traceback"), Some(stream), Some(from), Some(to)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let (Ok(from), Ok(to)) = (from.parse::<i64>(), to.parse::<i64>()) else { return Ok(None) };
        let id = if start { stream.parse::<uuid::Uuid>().map_or(id, TracebackId) } else { id };
        if stream != id.to_string() {
            return Ok(None);
        }
        let stored = self.store().load_events(stream).await?;
        let state = stored.iter().filter(|e| e.seq <= to).map(|e| &e.event).fold(Traceback::default(), apply);
        let events = stored.into_iter().filter(|e| e.seq > from && e.seq <= to).map(|e| e.event).collect();
        let (number, _) = self.traceback(id).await?;
        Ok(Some(Executed { traceback: id, number, events, state }))
    }

    /// The provider `provider` was merged into, if any.
    pub(crate) async fn merged_target(&self, provider: &ProviderId) -> AppResult<Option<ProviderId>> {
        Ok(self.store().provider(provider).await?.and_then(|record| record.merged_into))
    }

    /// Loads the state of a traceback as last committed.
    pub async fn traceback(&self, id: TracebackId) -> AppResult<(i64, Traceback)> {
        let snapshot =
            self.store().traceback_snapshot(id).await?.ok_or_else(|| AppError::NotFound(format!("traceback {id}")))?;
        Ok((snapshot.number, snapshot.state))
    }
}

/// The API's name for an identifier field.
pub fn identifier_field(kind: IdentifierKind) -> &'static str {
    match kind {
        IdentifierKind::Frn => "frn",
        IdentifierKind::Rmd => "rmd_number",
        IdentifierKind::Ocn => "ocn",
        IdentifierKind::Spc => "spc",
    }
}

async fn profile(tx: &mut Tx, id: &ProviderId, field: &str) -> AppResult<ProviderProfile> {
    tx.provider_profile(id).await?.ok_or_else(|| AppError::invalid(field, format!("no provider {id} in the directory")))
}
