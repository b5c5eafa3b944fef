//! Invariants over random command sequences: a small world of providers (U.S. and foreign, an
//! affiliate pair, a foreign affiliate, one without contact), then up to 40 commands of every kind
//! from random actors (often the wrong ones) with random time in between. After each accepted
//! command the invariants below must hold.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use tracehop_core::deadline::DeadlineKind;
use tracehop_core::provider::ProviderProfile;
use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::event::RequestCause;
use tracehop_core::traceback::{
    Actor, Answer, Attestation, Change, Customer, DisputeId, Event, Evidence, HopId, HopState, Label, Mitigation,
    MitigationAction, NotFoundReason, Rejection, Reply, StrikeExemptReason, SuppliedContact, Traceback,
    TracebackPolicy, Visibility, provider_view,
};

use crate::support::{ProfileExt, Run, abroad, answer, minutes, staff, start_action, system, us, with_entities};

// ---- the world --------------------------------------------------------------------------------

/// Everything that identifies one provider, and the secrets only it (and staff) may see.
struct Member {
    profile: ProviderProfile,
    customer: &'static str,
    trunk: &'static str,
    ip: &'static str,
}

/// Distinctive strings, none a substring of another, so that string checks mean something.
fn world() -> Vec<Member> {
    let profiles = with_entities(
        vec![
            us("prv-quetzal", "Quetzal Terminating Co"),
            us("prv-bluejay", "Bluejay Carrier"),
            us("prv-cardinal", "Cardinal Transit"),
            abroad("prv-dingo", "Dingo Gateway Pty", "AU"),
            abroad("prv-egret", "Egret Global Ltd", "GB"),
            us("prv-falcon", "Falcon Origination").not_contactable().deemed_receipt(),
        ],
        // Bluejay and Cardinal are one entity; Egret is Bluejay's foreign affiliate, so its own.
        &[("prv-bluejay", "prv-cardinal"), ("prv-bluejay", "prv-egret")],
    );
    let secrets = [
        ("Marigold Leads LLC", "TRUNK-ONYX", "198.51.100.11"),
        ("Sapphire Outreach Inc", "TRUNK-JADE", "198.51.100.12"),
        ("Tundra Marketing", "TRUNK-OPAL", "198.51.100.13"),
        ("Vortex Dialers", "TRUNK-RUBY", "198.51.100.14"),
        ("Willow Surveys", "TRUNK-TOPAZ", "198.51.100.15"),
        ("Yarrow Holdings", "TRUNK-AMBER", "198.51.100.16"),
    ];
    profiles
        .into_iter()
        .zip(secrets)
        .map(|(profile, (customer, trunk, ip))| Member { profile, customer, trunk, ip })
        .collect()
}

const STAFF_ONLY_MEMO: &str = "staff-only memo";

// ---- generated commands -----------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Who {
    /// Whoever normally issues the command: the provider of the hop for its answers,
    /// acknowledgements, comments and disputes; the platform for timers; staff otherwise.
    Natural,
    Staff,
    System,
    Provider(usize),
}

#[derive(Debug, Clone)]
enum HopPick {
    Frontier,
    /// May not exist.
    Index(u32),
}

#[derive(Debug, Clone)]
enum ReplyPick {
    Upstream(usize),
    UpstreamNew(usize),
    Originated,
    NotFound(bool),
}

#[derive(Debug, Clone)]
enum Act {
    Start {
        terminating: usize,
        hop_limit: u32,
        close_on_no_response: bool,
    },
    Notify(HopPick),
    Acknowledge(HopPick),
    Answer(HopPick, ReplyPick),
    Comment(Option<HopPick>, bool),
    Dispute(HopPick),
    ReviewDispute(u32, bool),
    MarkStrikeExempt,
    Extend(HopPick, i64),
    Redirect(HopPick),
    Close,
    Reopen,
    /// Optionally moves the clock just past the deadline first.
    Deadline(HopPick, DeadlineKind, bool),
    Reminder(HopPick, DeadlineKind),
    Share(bool),
}

#[derive(Debug, Clone)]
struct Step {
    advance_minutes: i64,
    who: Who,
    act: Act,
}

const PROVIDERS: usize = 6;

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        6 => Just(Who::Natural),
        2 => Just(Who::Staff),
        1 => Just(Who::System),
        2 => (0..PROVIDERS).prop_map(Who::Provider),
    ]
}

fn hop_pick() -> impl Strategy<Value = HopPick> {
    prop_oneof![
        3 => Just(HopPick::Frontier),
        2 => (0u32..5).prop_map(HopPick::Index),
    ]
}

fn reply_pick() -> impl Strategy<Value = ReplyPick> {
    prop_oneof![
        6 => (0..PROVIDERS).prop_map(ReplyPick::Upstream),
        1 => (0..PROVIDERS).prop_map(ReplyPick::UpstreamNew),
        1 => Just(ReplyPick::Originated),
        1 => any::<bool>().prop_map(ReplyPick::NotFound),
    ]
}

fn deadline_kind() -> impl Strategy<Value = DeadlineKind> {
    prop_oneof![Just(DeadlineKind::StartBy), Just(DeadlineKind::RespondBy)]
}

fn start() -> impl Strategy<Value = Act> {
    (0..PROVIDERS, 1u32..6, any::<bool>()).prop_map(|(terminating, hop_limit, close_on_no_response)| Act::Start {
        terminating,
        hop_limit,
        close_on_no_response,
    })
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        1 => start(),
        1 => hop_pick().prop_map(Act::Notify),
        2 => hop_pick().prop_map(Act::Acknowledge),
        8 => (hop_pick(), reply_pick()).prop_map(|(h, r)| Act::Answer(h, r)),
        2 => (proptest::option::of(hop_pick()), any::<bool>())
            .prop_map(|(h, shared)| Act::Comment(h, shared)),
        1 => hop_pick().prop_map(Act::Dispute),
        2 => (0u32..2, any::<bool>()).prop_map(|(d, a)| Act::ReviewDispute(d, a)),
        1 => Just(Act::MarkStrikeExempt),
        1 => (hop_pick(), -2i64..30).prop_map(|(h, n)| Act::Extend(h, n)),
        1 => hop_pick().prop_map(Act::Redirect),
        1 => Just(Act::Close),
        2 => Just(Act::Reopen),
        3 => (hop_pick(), deadline_kind(), prop::bool::weighted(0.7))
            .prop_map(|(h, k, jump)| Act::Deadline(h, k, jump)),
        2 => (hop_pick(), deadline_kind()).prop_map(|(h, k)| Act::Reminder(h, k)),
        1 => any::<bool>().prop_map(Act::Share),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let advance = prop_oneof![
        3 => Just(0i64),
        2 => 1i64..120,
        1 => 120i64..2_000,
    ];
    (advance, who(), act()).prop_map(|(advance_minutes, who, act)| Step { advance_minutes, who, act })
}

/// Usually a staff start first, then 1..40 random commands.
fn scenario() -> impl Strategy<Value = (Option<Act>, Vec<Step>)> {
    (proptest::option::weighted(0.9, start()), proptest::collection::vec(step(), 1..40))
}

// ---- turning picks into commands --------------------------------------------------------------

struct Sim {
    world: Vec<Member>,
    run: Run,
}

impl Sim {
    fn member_of(&self, hop: HopId) -> Option<&Member> {
        let provider = &self.run.tb.hop(hop)?.provider;
        self.world.iter().find(|m| m.profile.id == provider.id)
    }

    fn hop(&self, pick: &HopPick) -> HopId {
        match pick {
            HopPick::Frontier => self.run.tb.frontier().map_or(HopId(0), |hop| hop.id),
            HopPick::Index(i) => HopId(*i),
        }
    }

    fn actor(&self, who: &Who, act: &Act, hop: Option<HopId>) -> Actor {
        let provider = |member: &Member| Actor::Provider {
            provider: member.profile.id.clone(),
            user: "api-token".into(),
            minted_by: None,
        };
        match who {
            Who::Natural => match act {
                Act::Acknowledge(_) | Act::Answer(..) | Act::Comment(..) | Act::Dispute(_) => {
                    hop.and_then(|hop| self.member_of(hop)).map_or_else(staff, provider)
                }
                Act::Deadline(..) | Act::Reminder(..) => system(),
                _ => staff(),
            },
            Who::Staff => staff(),
            Who::System => system(),
            Who::Provider(i) => provider(&self.world[*i]),
        }
    }

    /// The reply, with the secrets of the hop's own provider.
    fn reply(&self, hop: HopId, pick: &ReplyPick) -> Reply {
        let own = self.member_of(hop).unwrap_or(&self.world[0]);
        let evidence = Evidence {
            ingress_trunk: Some(own.trunk.into()),
            ingress_ip: Some(own.ip.into()),
            attestation_received: Some(Attestation::B),
            ..Evidence::default()
        };
        match pick {
            ReplyPick::Upstream(i) => {
                Reply::Upstream { upstream: self.world[*i].profile.clone(), evidence, supplied: None }
            }
            ReplyPick::UpstreamNew(i) => {
                let named = &self.world[*i].profile;
                Reply::Upstream {
                    upstream: named.clone(),
                    evidence,
                    supplied: Some(SuppliedContact {
                        provider_name: named.name.clone(),
                        country: named.country,
                        contact_name: Some("Pat Doe".into()),
                        email: Some("noc@unlisted.example".into()),
                        phone: None,
                        notes: None,
                    }),
                }
            }
            ReplyPick::Originated => Reply::Originated {
                customer: Customer { name: own.customer.into(), ..Customer::default() },
                mitigation: Some(Mitigation { action: MitigationAction::Warned, note: None }),
                attestation: Some(Attestation::A),
                right_to_use: None,
            },
            ReplyPick::NotFound(wrong) => Reply::NotFound {
                reason: if *wrong { NotFoundReason::NotOurCall } else { NotFoundReason::NotInRecords },
                explanation: None,
            },
        }
    }

    fn command(&mut self, step: &Step) -> (Actor, Action) {
        let hop_of = |pick: &HopPick| self.hop(pick);
        let (hop, action) = match &step.act {
            Act::Start { terminating, hop_limit, close_on_no_response } => (
                None,
                start_action(
                    &self.world[*terminating].profile,
                    TracebackPolicy {
                        hop_limit: *hop_limit,
                        close_on_no_response: *close_on_no_response,
                        ..TracebackPolicy::default()
                    },
                ),
            ),
            Act::Notify(pick) => {
                let hop = hop_of(pick);
                (Some(hop), Action::Notify { hop })
            }
            Act::Acknowledge(pick) => {
                let hop = hop_of(pick);
                (Some(hop), Action::Acknowledge { hop })
            }
            Act::Answer(pick, reply) => {
                let hop = hop_of(pick);
                (Some(hop), answer(hop, self.reply(hop, reply)))
            }
            Act::Comment(pick, shared) => {
                let hop = pick.as_ref().map(hop_of);
                let visibility = if *shared { Visibility::HopParties } else { Visibility::StaffOnly };
                let actor = self.actor(&step.who, &step.act, hop);
                let n = self.run.tb.comments.len();
                let text = match (&actor, shared) {
                    (Actor::Provider { provider, .. }, _) => {
                        let name = self
                            .world
                            .iter()
                            .find(|m| &m.profile.id == provider)
                            .map_or("someone", |m| m.profile.name.as_str());
                        let kind = if *shared { "shared" } else { "private" };
                        format!("{name} {kind} note {n}")
                    }
                    (_, false) => format!("{STAFF_ONLY_MEMO} {n}"),
                    (_, true) => format!("staff notice {n}"),
                };
                return (actor, Action::Comment { hop, text, visibility });
            }
            Act::Dispute(pick) => {
                let hop = hop_of(pick);
                (Some(hop), Action::Dispute { hop, grounds: "the basis is mistaken".into() })
            }
            Act::ReviewDispute(dispute, accept) => {
                (None, Action::ReviewDispute { dispute: DisputeId(*dispute), accept: *accept, note: "reviewed".into() })
            }
            Act::MarkStrikeExempt => {
                (None, Action::MarkStrikeExempt { reason: StrikeExemptReason::Testing, note: "test traffic".into() })
            }
            Act::Extend(pick, hours) => {
                let hop = hop_of(pick);
                let base = self.run.tb.hop(hop).and_then(|h| h.request).map_or(self.run.now, |r| r.respond_by);
                let respond_by = base + tracehop_core::SignedDuration::from_hours(*hours);
                (Some(hop), Action::Extend { hop, respond_by, reason: "asked for more time".into() })
            }
            Act::Redirect(pick) => {
                let hop = hop_of(pick);
                (Some(hop), Action::Redirect { hop, reason: "upstream denies".into() })
            }
            Act::Close => (None, Action::Close { reason: "withdrawn".into() }),
            Act::Reopen => (None, Action::Reopen { reason: "more to do".into() }),
            Act::Deadline(pick, deadline, jump) => {
                let hop = hop_of(pick);
                if *jump {
                    let due = self.run.tb.hop(hop).and_then(|h| h.request).map(|r| r.missed_at(*deadline));
                    if let Some(due) = due.filter(|due| *due > self.run.now) {
                        self.run.set_now(due);
                    }
                }
                (Some(hop), Action::DeadlineElapsed { hop, deadline: *deadline })
            }
            Act::Reminder(pick, deadline) => {
                let hop = hop_of(pick);
                (Some(hop), Action::RecordReminder { hop, deadline: *deadline, due: None })
            }
            Act::Share(shared) => (None, Action::ShareRecording { shared: *shared }),
        };
        (self.actor(&step.who, &step.act, hop), action)
    }
}

// ---- the invariants ---------------------------------------------------------------------------

/// (a) A hop is notified once on its own; any further request is a staff redirect or reopen, and
/// the hop's request count is exactly its notifications.
fn requests_are_not_repeated(tb: &Traceback, events: &[Event]) -> Result<(), TestCaseError> {
    let mut first = vec![0u32; tb.hops.len()];
    let mut total = vec![0u32; tb.hops.len()];
    for event in events {
        if let Change::HopNotified { hop, cause, .. } = &event.change {
            total[hop.index()] += 1;
            match cause {
                RequestCause::First => first[hop.index()] += 1,
                RequestCause::Redirect | RequestCause::Reopen => {
                    prop_assert!(event.actor.is_staff(), "{cause:?} of hop {hop} by {:?}", event.actor);
                }
            }
        }
    }
    for hop in &tb.hops {
        let i = hop.id.index();
        prop_assert!(first[i] <= 1, "hop {} notified {} times", hop.id, first[i]);
        prop_assert_eq!(total[i], hop.requests, "requests of hop {}", hop.id);
    }
    Ok(())
}

/// The call path rebuilt from the events alone, with the foreign flags as recorded.
struct Shadow {
    foreign: Vec<bool>,
    named_by: Vec<Option<usize>>,
    upstream: Vec<Option<usize>>,
    superseded: Vec<bool>,
}

impl Shadow {
    fn from(events: &[Event]) -> Self {
        let mut shadow =
            Self { foreign: Vec::new(), named_by: Vec::new(), upstream: Vec::new(), superseded: Vec::new() };
        for event in events {
            match &event.change {
                Change::HopOpened { hop, provider, named_by, .. } => {
                    assert_eq!(hop.index(), shadow.foreign.len(), "hops numbered in order");
                    shadow.foreign.push(provider.foreign);
                    shadow.named_by.push(named_by.map(HopId::index));
                    shadow.upstream.push(None);
                    shadow.superseded.push(false);
                    if let Some(downstream) = named_by {
                        shadow.upstream[downstream.index()] = Some(hop.index());
                    }
                }
                Change::HopNotified { hop, cause, .. } if *cause != RequestCause::First => {
                    shadow.upstream[hop.index()] = None;
                    shadow.superseded[hop.index()] = false;
                }
                Change::HopRedirected { superseded, .. } => {
                    for hop in superseded {
                        shadow.superseded[hop.index()] = true;
                    }
                }
                _ => {}
            }
        }
        shadow
    }

    fn path(&self) -> Vec<usize> {
        let mut path = Vec::new();
        let mut next = (!self.foreign.is_empty()).then_some(0);
        while let Some(hop) = next {
            if path.contains(&hop) {
                break;
            }
            path.push(hop);
            next = self.upstream[hop];
        }
        path
    }
}

/// (b) Labels agree with the path and the foreign flags recorded when each hop opened.
fn labels_follow_the_recorded_flags(tb: &Traceback, events: &[Event]) -> Result<(), TestCaseError> {
    let shadow = Shadow::from(events);
    let path = shadow.path();
    let state_path: Vec<usize> = tb.path().iter().map(|h| h.id.index()).collect();
    prop_assert_eq!(&path, &state_path, "call path");
    for hop in &tb.hops {
        let i = hop.id.index();
        let in_path = path.contains(&i);
        prop_assert!(!(in_path && shadow.superseded[i]), "hop {i} superseded in path");
        let answer = hop.answer.as_ref().map(|a| &a.answer);
        let mut expected = BTreeSet::new();
        if in_path {
            if matches!(answer, Some(Answer::Originated { .. })) {
                expected.insert(if shadow.foreign[i] { Label::InternationalOrigin } else { Label::UsOrigin });
            }
            if !shadow.foreign[i] && shadow.upstream[i].is_some_and(|u| shadow.foreign[u]) {
                expected.insert(Label::UsPointOfEntry);
            }
            if shadow.foreign[i] && shadow.named_by[i].is_some_and(|d| !shadow.foreign[d]) {
                expected.insert(Label::ForeignPointOfDeparture);
            }
        }
        if hop.state == HopState::Expired {
            expected.insert(Label::NoResponse);
        }
        if matches!(answer, Some(Answer::NotFound { .. })) {
            expected.insert(Label::NotFound);
        }
        let actual: BTreeSet<Label> = tb.labels(hop.id).into_iter().collect();
        prop_assert_eq!(actual, expected, "labels of hop {}", i);
    }
    Ok(())
}

/// (c) A closed traceback takes no answer, from anyone, for any hop.
fn closed_takes_no_answer(sim: &Sim) -> Result<(), TestCaseError> {
    let tb = &sim.run.tb;
    if !tb.is_closed() {
        return Ok(());
    }
    for hop in &tb.hops {
        let owner = Actor::Provider { provider: hop.provider.id.clone(), user: "api-token".into(), minted_by: None };
        for actor in [owner, staff()] {
            for pick in [ReplyPick::Originated, ReplyPick::Upstream(1)] {
                let reply = sim.reply(hop.id, &pick);
                let result = sim.run.decide(actor.clone(), answer(hop.id, reply));
                prop_assert_eq!(result, Err(Rejection::Closed), "answer to hop {}", hop.id);
            }
        }
    }
    Ok(())
}

/// (c') A provider without a hop is refused as "not found", whatever the state.
fn outsiders_are_told_not_found(sim: &Sim) -> Result<(), TestCaseError> {
    let tb = &sim.run.tb;
    if tb.header.is_none() {
        return Ok(());
    }
    let hop = tb.frontier().map_or(HopId(0), |h| h.id);
    for outsider in &sim.world {
        let id = &outsider.profile.id;
        if tb.hops.iter().any(|h| &h.provider.id == id) {
            continue;
        }
        let actor = Actor::Provider { provider: id.clone(), user: "api-token".into(), minted_by: None };
        let reply = sim.reply(hop, &ReplyPick::Originated);
        let result = sim.run.decide(actor, answer(hop, reply));
        prop_assert_eq!(result, Err(Rejection::NoHopInTraceback), "{} answers", id);
    }
    Ok(())
}

/// (d) The state is the fold of its events, and events (and the state) survive JSON unchanged.
fn state_is_the_fold(run: &Run, new: &[Event]) -> Result<(), TestCaseError> {
    prop_assert_eq!(&Traceback::fold(&run.events), &run.tb);
    prop_assert_eq!(run.tb.version, run.events.len() as u64);
    for event in new {
        let json = serde_json::to_string(event).expect("an event serializes");
        let back: Event = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
        prop_assert_eq!(&back, event, "{}", json);
    }
    let json = serde_json::to_string(&run.tb).expect("the state serializes");
    let back: Traceback = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
    prop_assert_eq!(&back, &run.tb);
    Ok(())
}

/// (e) A provider sees the traceback iff it has a hop, and never another provider's secrets or
/// anyone beyond its immediate neighbours.
fn views_stay_confidential(sim: &Sim) -> Result<(), TestCaseError> {
    let tb = &sim.run.tb;
    for viewer in &sim.world {
        let id = &viewer.profile.id;
        let own: Vec<_> = tb.hops.iter().filter(|h| &h.provider.id == id).collect();
        let view = provider_view(tb, id);
        prop_assert_eq!(view.is_some(), !own.is_empty(), "view of {}", id);
        let Some(view) = view else { continue };
        let json = serde_json::to_string(&view).expect("a view serializes");

        let mut neighbours = BTreeSet::from([id.clone()]);
        for hop in &own {
            if let Some(by) = hop.named_by.and_then(|d| tb.hop(d)) {
                neighbours.insert(by.provider.id.clone());
            }
            let answers = hop.answer.iter().chain(&hop.earlier_answers);
            for recorded in answers {
                if let Answer::Upstream { upstream, .. } = &recorded.answer {
                    neighbours.insert(upstream.id.clone());
                }
            }
            for named in tb.hops.iter().filter(|h| h.named_by == Some(hop.id)) {
                neighbours.insert(named.provider.id.clone());
            }
        }

        prop_assert!(!json.contains(STAFF_ONLY_MEMO), "{} sees a staff memo", id);
        for other in sim.world.iter().filter(|m| &m.profile.id != id) {
            let secrets = [other.customer, other.trunk, other.ip];
            for secret in secrets {
                prop_assert!(!json.contains(secret), "{} sees {}: {}", id, secret, json);
            }
            let private = format!("{} private", other.profile.name);
            prop_assert!(!json.contains(&private), "{} sees {}", id, private);
            if !neighbours.contains(&other.profile.id) {
                let quoted = format!("\"{}\"", other.profile.id);
                prop_assert!(!json.contains(&quoted), "{} sees {}: {}", id, quoted, json);
                prop_assert!(!json.contains(&other.profile.name), "{} sees {}: {}", id, other.profile.name, json);
            }
        }
    }
    Ok(())
}

/// (f) Only the frontier of the call path ever waits for an answer, and the outcome exists
/// exactly when the traceback is closed.
fn only_the_frontier_waits(tb: &Traceback) -> Result<(), TestCaseError> {
    let frontier = tb.frontier().map(|h| h.id);
    for hop in tb.hops.iter().filter(|h| h.state.is_awaiting_answer()) {
        prop_assert_eq!(Some(hop.id), frontier, "hop {} waits off the frontier", hop.id);
    }
    prop_assert_eq!(tb.outcome().is_some(), tb.is_closed());
    Ok(())
}

fn check(sim: &Sim, new: &[Event]) -> Result<(), TestCaseError> {
    let run = &sim.run;
    requests_are_not_repeated(&run.tb, &run.events)?;
    labels_follow_the_recorded_flags(&run.tb, &run.events)?;
    closed_takes_no_answer(sim)?;
    outsiders_are_told_not_found(sim)?;
    state_is_the_fold(run, new)?;
    views_stay_confidential(sim)?;
    only_the_frontier_waits(&run.tb)
}

fn simulate(first: Option<Act>, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut sim = Sim { world: world(), run: Run::unstarted() };
    let opening = first.map(|act| Step { advance_minutes: 0, who: Who::Staff, act });
    for step in opening.iter().chain(steps) {
        sim.run.advance(minutes(step.advance_minutes));
        let (actor, action) = sim.command(step);
        let before = sim.run.tb.clone();
        match sim.run.try_do(actor, action) {
            Ok(new) => check(&sim, &new)?,
            Err(_) => prop_assert_eq!(&sim.run.tb, &before),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_command_sequences_keep_the_invariants((first, steps) in scenario()) {
        simulate(first, &steps)?;
    }
}
