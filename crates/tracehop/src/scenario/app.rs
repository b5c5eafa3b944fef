//! The world a scenario runs in: the application services on an in-memory SQLite database, a
//! manual clock, and the real deadline worker, which runs each job when the clock reaches it.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use tracehop_app::access::principal::StaffRole;
use tracehop_app::traceback::{Executed, UpstreamChoice};
use tracehop_app::worker::Worker;
use tracehop_app::{App, AppError, ManualClock, Principal, Settings};
use tracehop_core::intake::SourceKind;
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::command::Action as CoreAction;
use tracehop_core::traceback::{Answer, Category, Evidence, HopId, HopRef, TracebackId, Visibility};
use tracehop_store::providers::{Contact, ContactRole, ForeignSource, ProviderInput};
use tracehop_store::{ConnectOptions, DatabaseUrl, Store};

use super::check::{Observed, observe};
use super::convert::{
    call_facts, category, provider_id, provider_profile, strike_exempt_reason, supplied_contact, terminal_reply,
};
use super::file::{Action, ReplySpec, Scenario, StaffAction};
use super::{Refusal, World};

pub struct AppWorld {
    app: App,
    clock: Arc<ManualClock>,
    worker: Worker,
    traceback: TracebackId,
    names: Names,
}

/// Scenario names of providers and their directory ids, both ways.
#[derive(Debug, Default, Clone)]
pub struct Names {
    ids: BTreeMap<String, ProviderId>,
    names: BTreeMap<ProviderId, String>,
}

impl Names {
    pub fn insert(&mut self, name: String, id: ProviderId) {
        self.names.insert(id.clone(), name.clone());
        self.ids.insert(name, id);
    }

    fn id(&self, name: &str) -> Result<ProviderId, String> {
        self.ids.get(name).cloned().ok_or_else(|| format!("{name} is not a known provider"))
    }

    fn name(&self, id: &ProviderId) -> String {
        self.names.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

pub fn scenario_staff() -> Principal {
    Principal::Staff { user: "scenario-staff".to_owned(), role: StaffRole::Analyst, minted_by: None }
}

impl AppWorld {
    pub async fn start(scenario: &Scenario) -> Result<Self, String> {
        let store =
            Store::open(&DatabaseUrl::SqliteMemory, &ConnectOptions::default()).await.map_err(|e| e.to_string())?;
        let clock = Arc::new(ManualClock::new(scenario.start.at));
        let app = App::new(store, clock.clone(), Settings::default());
        let mut names = Names::default();
        for spec in &scenario.providers {
            let profile = provider_profile(spec)?;
            let mut input = ProviderInput::new(profile.id.clone(), profile.name.clone(), profile.country);
            if let Some(foreign) = spec.foreign {
                input.foreign = Some((foreign, ForeignSource::Staff, Some("set by the scenario".to_owned())));
            }
            input.separate_treatment = spec.separate_treatment;
            input.business_hours = profile.business_hours.clone();
            input.deemed_receipt = profile.deemed_receipt_next_business_day;
            let contact = Contact {
                role: ContactRole::Primary,
                name: format!("{} traceback desk", spec.name),
                title: None,
                email: Some(format!("traceback@{}.example", profile.id.as_str().to_ascii_lowercase())),
                phone: None,
                business_hours: None,
            };
            let affiliates = spec.affiliates.iter().map(|a| provider_id(a)).collect::<Result<Vec<_>, _>>()?;
            let directory_entry =
                tracehop_app::directory::ProviderSpec { provider: input, affiliates, contacts: vec![contact] };
            app.save_provider(&directory_entry).await.map_err(|e| e.to_string())?;
            names.insert(spec.id.clone(), profile.id);
        }
        let terminating = names
            .id(&scenario.start.terminating)
            .map_err(|_| format!("start.terminating {:?} is not a listed provider", scenario.start.terminating))?;
        let staff = scenario_staff();
        let started = refer(&app, &staff, scenario, terminating).await.map_err(|e| format!("start refused: {e}"))?;
        let worker = Worker::new(app.clone(), "scenario-worker");
        Ok(Self { app, clock, worker, traceback: started.traceback, names })
    }
}

/// Opens the scenario's traceback the way staff do: its call as an incident from a source, a
/// candidate vetted and approved, then the start.
async fn refer(
    app: &App,
    staff: &Principal,
    scenario: &Scenario,
    terminating: ProviderId,
) -> Result<Executed, AppError> {
    let call = call_facts(scenario);
    let source = match category(&scenario.start.category).map_err(|e| AppError::invalid("start.category", e))? {
        Category::Domestic => SourceKind::AnalyticsProvider,
        Category::ForeignLawEnforcement => SourceKind::ForeignEnforcement,
    };
    let submitter = app.create_submitter(staff, "scenario-source", "Scenario source", source, None).await?;
    let campaign_id = match &call.campaign_label {
        Some(name) => Some(app.create_campaign(staff, None, name, None, None).await?.id),
        None => None,
    };
    let referral = crate::referral::referral(&submitter.id, "scenario-call", &call, terminating, campaign_id);
    app.refer_and_start(staff, referral).await
}

impl World for AppWorld {
    async fn advance_to(&mut self, at: Timestamp) -> Result<(), String> {
        self.worker.run_through(&self.clock, at).await.map(|_| ()).map_err(|e| e.to_string())
    }

    async fn act(&mut self, action: &Action) -> Result<Result<(), Refusal>, String> {
        match perform(&self.app, self.traceback, &mut self.names, action).await {
            Ok(()) => Ok(Ok(())),
            Err(AppError::Store(error)) => Err(error.to_string()),
            Err(refusal) => Ok(Err(Refusal(refusal.to_string()))),
        }
    }

    async fn observe(&mut self) -> Result<Observed, String> {
        let (_, state) = self.app.traceback(self.traceback).await.map_err(|e| e.to_string())?;
        Ok(observe(&state, |id| self.names.name(id)))
    }
}

fn as_provider(id: ProviderId) -> Principal {
    Principal::Provider { provider: id, user: "scenario".to_owned(), minted_by: None }
}

/// The provider's latest hop: its position, the reference the provider knows it by, and the
/// provider.
async fn latest_hop(
    app: &App,
    tb: TracebackId,
    names: &Names,
    name: &str,
) -> Result<(HopId, HopRef, ProviderId), String> {
    let id = names.id(name)?;
    let (_, state) = app.traceback(tb).await.map_err(|e| e.to_string())?;
    let hop = state.latest_hop_of(&id).map(|h| h.id).ok_or_else(|| format!("{name} has no hop"))?;
    Ok((hop, state.hop_ref(hop), id))
}

/// Performs one step on traceback `tb` as the actor it names: a provider through its own handle,
/// staff through theirs. Shared with the demo, which builds its history the same way.
pub async fn perform(app: &App, tb: TracebackId, names: &mut Names, action: &Action) -> Result<(), AppError> {
    let refused = |message: String| AppError::invalid("step", message);
    match action {
        Action::Acknowledge { provider } => {
            let (_, reference, id) = latest_hop(app, tb, names, provider).await.map_err(refused)?;
            app.provider(&as_provider(id))?.acknowledge(tb, reference).await?;
        }
        Action::Respond { provider, reply } => {
            let (hop, reference, id) = latest_hop(app, tb, names, provider).await.map_err(refused)?;
            let handle = app.provider(&as_provider(id))?;
            match reply {
                ReplySpec::Upstream { provider: upstream } => {
                    let upstream = names.id(upstream).map_err(refused)?;
                    handle.answer_upstream(tb, reference, UpstreamChoice::Known(upstream), Evidence::default()).await?;
                }
                ReplySpec::UpstreamNew { contact } => {
                    let (name, supplied) = supplied_contact(contact).map_err(refused)?;
                    let executed = handle
                        .answer_upstream(tb, reference, UpstreamChoice::New(supplied), Evidence::default())
                        .await?;
                    // The new provider is whoever the answer named.
                    let named_upstream =
                        executed.state.hop(hop).and_then(|h| match h.answer.as_ref().map(|a| &a.answer) {
                            Some(Answer::Upstream { upstream, .. }) => Some(upstream.id.clone()),
                            _ => None,
                        });
                    if let Some(new_id) = named_upstream {
                        names.insert(name, new_id);
                    }
                }
                terminal => {
                    let reply = terminal_reply(terminal)
                        .map_err(refused)?
                        .ok_or_else(|| refused("unsupported answer".into()))?;
                    handle.answer(tb, reference, reply).await?;
                }
            }
        }
        Action::Dispute { provider, grounds } => {
            let (_, reference, id) = latest_hop(app, tb, names, provider).await.map_err(refused)?;
            app.provider(&as_provider(id))?.dispute(tb, reference, grounds.clone()).await?;
        }
        Action::Comment { provider, hop, text, shared } => {
            let visibility = if *shared { Visibility::HopParties } else { Visibility::StaffOnly };
            match provider {
                Some(provider) => {
                    let (_, reference, id) = latest_hop(app, tb, names, provider).await.map_err(refused)?;
                    app.provider(&as_provider(id))?.comment(tb, reference, text.clone(), visibility).await?;
                }
                None => {
                    let hop = match hop {
                        Some(name) => Some(latest_hop(app, tb, names, name).await.map_err(refused)?.0),
                        None => None,
                    };
                    app.staff(&scenario_staff())?
                        .act(tb, CoreAction::Comment { hop, text: text.clone(), visibility })
                        .await?;
                }
            }
        }
        Action::Staff(staff_action) => {
            let action = staff_action_of(app, tb, names, staff_action).await.map_err(refused)?;
            app.staff(&scenario_staff())?.act(tb, action).await?;
        }
    }
    Ok(())
}

async fn staff_action_of(
    app: &App,
    tb: TracebackId,
    names: &Names,
    action: &StaffAction,
) -> Result<CoreAction, String> {
    Ok(match action {
        StaffAction::ReviewDispute { provider, accept } => {
            let (_, _, id) = latest_hop(app, tb, names, provider).await?;
            let (_, state) = app.traceback(tb).await.map_err(|e| e.to_string())?;
            let dispute = state
                .disputes
                .iter()
                .rev()
                .find(|d| d.provider == id && d.review.is_none())
                .ok_or_else(|| format!("{provider} has no dispute awaiting review"))?;
            CoreAction::ReviewDispute { dispute: dispute.id, accept: *accept, note: "reviewed by staff".to_owned() }
        }
        StaffAction::MarkStrikeExempt { reason, category } => CoreAction::MarkStrikeExempt {
            reason: strike_exempt_reason(category.as_deref(), reason),
            note: reason.clone(),
        },
        StaffAction::Extend { provider, to } => CoreAction::Extend {
            hop: latest_hop(app, tb, names, provider).await?.0,
            respond_by: *to,
            reason: "extension granted by staff".to_owned(),
        },
        StaffAction::Redirect { provider } => CoreAction::Redirect {
            hop: latest_hop(app, tb, names, provider).await?.0,
            reason: "the upstream answered that it was not its call".to_owned(),
        },
        StaffAction::Close { reason } => CoreAction::Close { reason: reason.clone() },
        StaffAction::Reopen => CoreAction::Reopen { reason: "reopened by staff".to_owned() },
    })
}
