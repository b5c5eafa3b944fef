//! A world that runs a scenario on the pure engine alone: the traceback state in memory, a manual
//! clock, and deadline timers fired in due order as the clock moves.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use tracehop_core::deadline::DeadlineKind;
use tracehop_core::provider::{ProviderId, ProviderProfile};
use tracehop_core::traceback::command::{Action as CoreAction, Start};
use tracehop_core::traceback::{
    Actor, Command, Evidence, HopId, Reply, Traceback, TracebackId, TracebackPolicy, Visibility,
    apply, decide,
};

use super::check::{Observed, observe};
use super::convert::{
    call_facts, category, provider_id, provider_profiles, strike_exempt_reason, supplied_contact,
    terminal_reply,
};
use super::file::{Action, ReplySpec, Scenario, StaffAction};
use super::{Refusal, World};

pub struct EngineWorld {
    profiles: BTreeMap<String, ProviderProfile>,
    aliases: BTreeMap<ProviderId, String>,
    traceback: Traceback,
    now: Timestamp,
    fired: BTreeSet<(HopId, DeadlineKind, Timestamp)>,
}

fn staff() -> Actor {
    Actor::Staff {
        user: "scenario-staff".to_owned(),
    }
}

impl EngineWorld {
    pub fn start(scenario: &Scenario) -> Result<Self, String> {
        let profiles = provider_profiles(scenario)?;
        let aliases = profiles
            .iter()
            .map(|(alias, p)| (p.id.clone(), alias.clone()))
            .collect();
        let terminating = profiles
            .get(&scenario.start.terminating)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "start.terminating {:?} is not a listed provider",
                    scenario.start.terminating
                )
            })?;
        let mut world = Self {
            profiles,
            aliases,
            traceback: Traceback::default(),
            now: scenario.start.at,
            fired: BTreeSet::new(),
        };
        let start = Start {
            id: TracebackId(uuid::Uuid::nil()),
            category: category(&scenario.start.category)?,
            call: call_facts(scenario),
            terminating,
            policy: TracebackPolicy::default(),
            candidate: None,
            incident: None,
            campaign: None,
        };
        world
            .run(Command::new(staff(), CoreAction::Start(Box::new(start))))
            .map_err(|r| format!("start refused: {}", r.0))?;
        Ok(world)
    }

    fn run(&mut self, command: Command) -> Result<(), Refusal> {
        let events =
            decide(&self.traceback, command, self.now).map_err(|r| Refusal(r.to_string()))?;
        for event in &events {
            self.traceback = apply(std::mem::take(&mut self.traceback), event);
        }
        Ok(())
    }

    fn latest_hop(&self, alias: &str) -> Result<(HopId, ProviderId), Refusal> {
        let profile = self
            .profiles
            .get(alias)
            .ok_or_else(|| Refusal(format!("{alias} is not a known provider")))?;
        let hop = self
            .traceback
            .latest_hop_of(&profile.id)
            .ok_or_else(|| Refusal(format!("{alias} has no hop")))?;
        Ok((hop.id, profile.id.clone()))
    }

    fn provider_actor(id: ProviderId) -> Actor {
        Actor::Provider {
            provider: id,
            user: "scenario".to_owned(),
        }
    }

    fn next_due_timer(&self, until: Timestamp) -> Option<(Timestamp, HopId, DeadlineKind)> {
        self.traceback
            .hops
            .iter()
            .filter_map(|hop| hop.request.map(|request| (hop, request)))
            .flat_map(|(hop, request)| {
                let mut due = Vec::new();
                if hop.state.is_awaiting_answer() {
                    due.push((
                        request.missed_at(DeadlineKind::RespondBy),
                        hop.id,
                        DeadlineKind::RespondBy,
                    ));
                }
                if hop.state == tracehop_core::traceback::HopState::Open && !hop.start_by_missed {
                    due.push((
                        request.missed_at(DeadlineKind::StartBy),
                        hop.id,
                        DeadlineKind::StartBy,
                    ));
                }
                due
            })
            .filter(|(at, hop, kind)| *at <= until && !self.fired.contains(&(*hop, *kind, *at)))
            .min()
    }
}

impl World for EngineWorld {
    async fn advance_to(&mut self, at: Timestamp) -> Result<(), String> {
        while let Some((due, hop, deadline)) = self.next_due_timer(at) {
            self.fired.insert((hop, deadline, due));
            self.now = self.now.max(due);
            self.run(Command::new(
                Actor::System,
                CoreAction::DeadlineElapsed { hop, deadline },
            ))
            .map_err(|r| r.0)?;
        }
        self.now = self.now.max(at);
        Ok(())
    }

    async fn act(&mut self, action: &Action) -> Result<Result<(), Refusal>, String> {
        Ok(self.act_now(action))
    }

    async fn observe(&mut self) -> Result<Observed, String> {
        let aliases = &self.aliases;
        Ok(observe(&self.traceback, |id| {
            aliases.get(id).cloned().unwrap_or_else(|| id.to_string())
        }))
    }
}

impl EngineWorld {
    fn act_now(&mut self, action: &Action) -> Result<(), Refusal> {
        let command = match action {
            Action::Acknowledge { provider } => {
                let (hop, id) = self.latest_hop(provider)?;
                Command::new(Self::provider_actor(id), CoreAction::Acknowledge { hop })
            }
            Action::Respond { provider, reply } => {
                let (hop, id) = self.latest_hop(provider)?;
                let reply = match reply {
                    ReplySpec::Upstream { provider: upstream } => {
                        let upstream = self.profiles.get(upstream).cloned().ok_or_else(|| {
                            Refusal(format!("{upstream} is not a known provider"))
                        })?;
                        Reply::Upstream {
                            upstream,
                            evidence: Evidence::default(),
                            supplied: None,
                        }
                    }
                    ReplySpec::UpstreamNew { contact } => {
                        let (alias, supplied) = supplied_contact(contact).map_err(Refusal)?;
                        let slug: String = alias
                            .chars()
                            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                            .take(60)
                            .collect();
                        let id = provider_id(&format!("new-{slug}")).map_err(Refusal)?;
                        let profile = ProviderProfile::standalone(
                            id.clone(),
                            supplied.provider_name.clone(),
                            supplied.country,
                        );
                        self.profiles.insert(alias.clone(), profile.clone());
                        self.aliases.insert(id, alias);
                        Reply::Upstream {
                            upstream: profile,
                            evidence: Evidence::default(),
                            supplied: Some(supplied),
                        }
                    }
                    terminal => terminal_reply(terminal)
                        .map_err(Refusal)?
                        .ok_or_else(|| Refusal("unsupported answer".to_owned()))?,
                };
                Command::new(
                    Self::provider_actor(id),
                    CoreAction::Answer {
                        hop,
                        reply: Box::new(reply),
                    },
                )
            }
            Action::Dispute { provider, grounds } => {
                let (hop, id) = self.latest_hop(provider)?;
                Command::new(
                    Self::provider_actor(id),
                    CoreAction::Dispute {
                        hop,
                        grounds: grounds.clone(),
                    },
                )
            }
            Action::Comment {
                provider,
                hop,
                text,
                shared,
            } => {
                let visibility = if *shared {
                    Visibility::HopParties
                } else {
                    Visibility::StaffOnly
                };
                match provider {
                    Some(provider) => {
                        let (hop, id) = self.latest_hop(provider)?;
                        Command::new(
                            Self::provider_actor(id),
                            CoreAction::Comment {
                                hop: Some(hop),
                                text: text.clone(),
                                visibility,
                            },
                        )
                    }
                    None => {
                        let hop = hop
                            .as_deref()
                            .map(|alias| self.latest_hop(alias).map(|(hop, _)| hop))
                            .transpose()?;
                        Command::new(
                            staff(),
                            CoreAction::Comment {
                                hop,
                                text: text.clone(),
                                visibility,
                            },
                        )
                    }
                }
            }
            Action::Staff(staff_action) => Command::new(staff(), self.staff_action(staff_action)?),
        };
        self.run(command)
    }

    fn staff_action(&self, action: &StaffAction) -> Result<CoreAction, Refusal> {
        Ok(match action {
            StaffAction::ReviewDispute { provider, accept } => {
                let (_, id) = self.latest_hop(provider)?;
                let dispute = self
                    .traceback
                    .disputes
                    .iter()
                    .rev()
                    .find(|d| d.provider == id && d.review.is_none())
                    .ok_or_else(|| Refusal(format!("{provider} has no dispute awaiting review")))?;
                CoreAction::ReviewDispute {
                    dispute: dispute.id,
                    accept: *accept,
                    note: "reviewed in scenario".to_owned(),
                }
            }
            StaffAction::MarkStrikeExempt { reason, category } => CoreAction::MarkStrikeExempt {
                reason: strike_exempt_reason(category.as_deref(), reason),
                note: reason.clone(),
            },
            StaffAction::Extend { provider, to } => {
                let (hop, _) = self.latest_hop(provider)?;
                CoreAction::Extend {
                    hop,
                    respond_by: *to,
                    reason: "extended in scenario".to_owned(),
                }
            }
            StaffAction::Redirect { provider } => {
                let (hop, _) = self.latest_hop(provider)?;
                CoreAction::Redirect {
                    hop,
                    reason: "redirected in scenario".to_owned(),
                }
            }
            StaffAction::Close { reason } => CoreAction::Close {
                reason: reason.clone(),
            },
            StaffAction::Reopen => CoreAction::Reopen {
                reason: "reopened in scenario".to_owned(),
            },
        })
    }
}
