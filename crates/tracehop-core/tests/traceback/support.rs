//! The test harness: providers, actors, replies, and a [`Run`] that drives the decider with a
//! manual clock, applying each accepted command's events the way the application would.

use tracehop_core::calendar::{BusinessHours, BusinessHoursSpec, Holidays};
use tracehop_core::country::Country;
use tracehop_core::deadline::DeadlineKind;
use tracehop_core::number::PhoneNumber;
use tracehop_core::provider::{ControlFacts, ProviderId, ProviderProfile, vsp_entities};
use tracehop_core::traceback::command::{Action, Start};
use tracehop_core::traceback::event::RequestCause;
use tracehop_core::traceback::{
    Actor, CallFacts, Category, Change, Command, Customer, Event, Evidence, Hop, HopId, Label, NotFoundReason,
    ProviderView, RecordingRef, Rejection, Reply, SuppliedContact, Traceback, TracebackId, TracebackPolicy, apply,
    decide, provider_view,
};
use tracehop_core::{SignedDuration, Timestamp};
use uuid::Uuid;

// ---- time -------------------------------------------------------------------------------------

pub fn ts(text: &str) -> Timestamp {
    text.parse().expect("a valid RFC 3339 timestamp")
}

/// Monday March 2, 2026, 10:00 in New York: inside the default business hours.
pub fn t0() -> Timestamp {
    ts("2026-03-02T15:00:00Z")
}

pub fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

pub fn minutes(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

// ---- providers --------------------------------------------------------------------------------

pub fn pid(id: &str) -> ProviderId {
    ProviderId::new(id).expect("a valid provider id")
}

/// A U.S. provider, its own VSP entity, default business hours.
pub fn us(id: &str, name: &str) -> ProviderProfile {
    ProviderProfile::standalone(pid(id), name, Country::US)
}

/// A provider based in `country` (an ISO code), foreign by its country.
pub fn abroad(id: &str, name: &str, country: &str) -> ProviderProfile {
    let country = Country::parse(country).expect("a known country");
    let profile = ProviderProfile::standalone(pid(id), name, country);
    assert!(profile.foreign, "{country} should be foreign");
    profile
}

/// Fluent changes to a provider profile.
pub trait ProfileExt: Sized {
    /// Joins `other`'s VSP entity (common control, PRV-3).
    fn affiliate_of(self, other: &ProviderProfile) -> Self;
    fn hours(self, tz: &str, days: &str, open: &str, close: &str) -> Self;
    /// Requests outside business hours count from the next opening (TB-5).
    fn deemed_receipt(self) -> Self;
    /// No contact on file: its hop waits for staff to notify it.
    fn not_contactable(self) -> Self;
    /// Staff override of the foreign flag (PRV-4).
    fn foreign_flag(self, foreign: bool) -> Self;
}

impl ProfileExt for ProviderProfile {
    fn affiliate_of(mut self, other: &ProviderProfile) -> Self {
        self.entity = other.entity.clone();
        self
    }

    fn hours(mut self, tz: &str, days: &str, open: &str, close: &str) -> Self {
        self.business_hours = BusinessHours::try_from(BusinessHoursSpec {
            tz: tz.into(),
            days: days.into(),
            open: open.into(),
            close: close.into(),
            holidays: Holidays::UsFederal,
        })
        .expect("valid business hours");
        self
    }

    fn deemed_receipt(mut self) -> Self {
        self.deemed_receipt_next_business_day = true;
        self
    }

    fn not_contactable(mut self) -> Self {
        self.contactable = false;
        self
    }

    fn foreign_flag(mut self, foreign: bool) -> Self {
        self.foreign = foreign;
        self
    }
}

/// Assigns VSP entities the way the directory does (`vsp_entities`), from affiliate links.
pub fn with_entities(mut profiles: Vec<ProviderProfile>, links: &[(&str, &str)]) -> Vec<ProviderProfile> {
    let facts: Vec<ControlFacts> = profiles
        .iter()
        .map(|p| ControlFacts {
            id: p.id.clone(),
            foreign: p.foreign,
            separate_treatment: false,
            affiliates: links.iter().filter(|(a, _)| *a == p.id.as_str()).map(|(_, b)| pid(b)).collect(),
        })
        .collect();
    let entities = vsp_entities(&facts);
    for profile in &mut profiles {
        profile.entity = entities[&profile.id].clone();
    }
    profiles
}

/// The providers most rule tests use.
pub struct Cast {
    /// U.S., terminating.
    pub term: ProviderProfile,
    pub alpha: ProviderProfile,
    pub bravo: ProviderProfile,
    /// U.S. affiliate of `bravo`: the same VSP entity.
    pub bravo2: ProviderProfile,
    pub charlie: ProviderProfile,
    pub delta: ProviderProfile,
    /// Foreign (United Kingdom).
    pub albion: ProviderProfile,
    /// Foreign (Canada).
    pub maple: ProviderProfile,
    /// Foreign (Mexico).
    pub tango: ProviderProfile,
    /// Never part of any traceback.
    pub outsider: ProviderProfile,
}

impl Cast {
    pub fn new() -> Self {
        let bravo = us("bravo", "Bravo Long Distance");
        Self {
            term: us("term", "Terminus Wireless"),
            alpha: us("alpha", "Alpha Transit"),
            bravo2: us("bravo-2", "Bravo Wholesale").affiliate_of(&bravo),
            bravo,
            charlie: us("charlie", "Charlie Voice"),
            delta: us("delta", "Delta Telecom"),
            albion: abroad("albion", "Albion Gateway", "GB"),
            maple: abroad("maple", "Maple Interconnect", "CA"),
            tango: abroad("tango", "Tango Carrier", "MX"),
            outsider: us("outsider", "Outsider Networks"),
        }
    }
}

// ---- actors and replies -----------------------------------------------------------------------

pub fn staff() -> Actor {
    Actor::Staff { user: "analyst".into(), minted_by: None }
}

pub fn system() -> Actor {
    Actor::System
}

pub fn by(provider: &ProviderProfile) -> Actor {
    Actor::Provider { provider: provider.id.clone(), user: "noc".into(), minted_by: None }
}

pub fn evidence(trunk: &str) -> Evidence {
    Evidence { ingress_trunk: Some(trunk.into()), ..Evidence::default() }
}

pub fn upstream(provider: &ProviderProfile) -> Reply {
    Reply::Upstream { upstream: provider.clone(), evidence: evidence("trunk-7"), supplied: None }
}

/// An `upstream_new` answer: the provider named is not yet known and comes with contact details.
pub fn upstream_new(provider: &ProviderProfile, email: &str) -> Reply {
    Reply::Upstream {
        upstream: provider.clone(),
        evidence: evidence("trunk-9"),
        supplied: Some(SuppliedContact {
            provider_name: provider.name.clone(),
            country: provider.country,
            contact_name: Some("Pat Doe".into()),
            email: Some(email.into()),
            phone: None,
            notes: None,
        }),
    }
}

pub fn originated(customer: &str) -> Reply {
    Reply::Originated {
        customer: Customer { name: customer.into(), ..Customer::default() },
        mitigation: None,
        attestation: None,
        right_to_use: None,
    }
}

pub fn not_found(reason: NotFoundReason) -> Reply {
    Reply::NotFound { reason, explanation: None }
}

pub fn answer(hop: HopId, reply: Reply) -> Action {
    Action::Answer { hop, reply: Box::new(reply) }
}

pub fn elapsed(hop: HopId, deadline: DeadlineKind) -> Action {
    Action::DeadlineElapsed { hop, deadline }
}

pub fn reason(text: &str) -> String {
    text.to_owned()
}

// ---- the call ---------------------------------------------------------------------------------

pub fn call() -> CallFacts {
    CallFacts {
        calling: PhoneNumber::parse("+1 202 555 0147"),
        called: PhoneNumber::parse("(415) 555-0199"),
        call_time: ts("2026-02-27T18:04:05Z"),
        sip_call_id: Some("a84b4c76e66710@pc33.example.net".into()),
        campaign_label: Some("Vehicle warranty".into()),
        basis_summary: Some("Prerecorded impersonation of an auto dealer".into()),
        recording: Some(RecordingRef {
            key: "voicemail/2026/0147.wav".into(),
            content_type: "audio/wav".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            size: 48_000,
        }),
    }
}

pub fn start_action(terminating: &ProviderProfile, policy: TracebackPolicy) -> Action {
    Action::Start(Box::new(Start {
        id: TracebackId(Uuid::from_u128(0x7ace_bac0)),
        category: Category::Domestic,
        call: call(),
        terminating: terminating.clone(),
        policy,
        candidate: Some("cand-1".into()),
        incident: Some("inc-1".into()),
        campaign: Some("camp-1".into()),
        view_key: Some(Uuid::from_u128(0x5ec2_e7ee_d0c0_ffee)),
    }))
}

// ---- the run ----------------------------------------------------------------------------------

/// A traceback under test: the state, every event so far, and the clock.
pub struct Run {
    pub tb: Traceback,
    pub events: Vec<Event>,
    pub now: Timestamp,
}

impl Run {
    /// A traceback that has not started, at [`t0`].
    pub fn unstarted() -> Self {
        Self { tb: Traceback::default(), events: Vec::new(), now: t0() }
    }

    /// Started by staff at [`t0`] under the default policy.
    pub fn start(terminating: &ProviderProfile) -> Self {
        Self::start_with(terminating, TracebackPolicy::default())
    }

    pub fn start_with(terminating: &ProviderProfile, policy: TracebackPolicy) -> Self {
        Self::start_at(terminating, policy, t0())
    }

    pub fn start_at(terminating: &ProviderProfile, policy: TracebackPolicy, at: Timestamp) -> Self {
        let mut run = Self::unstarted();
        run.now = at;
        run.ok(staff(), start_action(terminating, policy));
        run
    }

    /// Decides without applying.
    pub fn decide(&self, actor: Actor, action: Action) -> Result<Vec<Event>, Rejection> {
        decide(&self.tb, Command::new(actor, action), self.now)
    }

    /// Decides and, when accepted, applies the events.
    pub fn try_do(&mut self, actor: Actor, action: Action) -> Result<Vec<Event>, Rejection> {
        let events = self.decide(actor, action)?;
        for event in &events {
            self.tb = apply(std::mem::take(&mut self.tb), event);
        }
        self.events.extend(events.iter().cloned());
        Ok(events)
    }

    /// A command that must be accepted.
    #[track_caller]
    pub fn ok(&mut self, actor: Actor, action: Action) -> Vec<Event> {
        let described = format!("{action:?}");
        match self.try_do(actor, action) {
            Ok(events) => events,
            Err(rejection) => panic!("{described} was refused: {rejection}"),
        }
    }

    /// A command that must be refused; checks that nothing changed.
    #[track_caller]
    pub fn refused(&mut self, actor: Actor, action: Action) -> Rejection {
        let before = self.tb.clone();
        let count = self.events.len();
        let described = format!("{action:?}");
        match self.try_do(actor, action) {
            Ok(events) => panic!("{described} was accepted: {:?}", kinds(&events)),
            Err(rejection) => {
                assert_eq!(self.tb, before, "a refused command changed the state");
                assert_eq!(self.events.len(), count);
                rejection
            }
        }
    }

    pub fn advance(&mut self, by: SignedDuration) {
        self.now = self.now.checked_add(by).expect("time in range");
    }

    pub fn set_now(&mut self, at: Timestamp) {
        assert!(at >= self.now, "the clock does not go back");
        self.now = at;
    }

    /// The most recent hop of `provider`.
    #[track_caller]
    pub fn hop_of(&self, provider: &ProviderProfile) -> HopId {
        self.tb.latest_hop_of(&provider.id).unwrap_or_else(|| panic!("{} has no hop", provider.id)).id
    }

    #[track_caller]
    pub fn hop(&self, hop: HopId) -> &Hop {
        self.tb.hop(hop).unwrap_or_else(|| panic!("no hop {hop}"))
    }

    /// The most recent hop of `provider`, as state.
    #[track_caller]
    pub fn hop_for(&self, provider: &ProviderProfile) -> &Hop {
        self.hop(self.hop_of(provider))
    }

    /// `provider` answers its most recent hop.
    #[track_caller]
    pub fn answers(&mut self, provider: &ProviderProfile, reply: Reply) -> Vec<Event> {
        let hop = self.hop_of(provider);
        self.ok(by(provider), answer(hop, reply))
    }

    /// `provider` names `next` as its upstream.
    #[track_caller]
    pub fn names(&mut self, provider: &ProviderProfile, next: &ProviderProfile) -> Vec<Event> {
        self.answers(provider, upstream(next))
    }

    /// Each provider of `path` names the next, starting with the terminating provider.
    #[track_caller]
    pub fn trace(&mut self, path: &[&ProviderProfile]) {
        for pair in path.windows(2) {
            self.names(pair[0], pair[1]);
        }
    }

    /// Moves the clock just past the respond-by of `provider`'s hop and fires its timer.
    #[track_caller]
    pub fn let_expire(&mut self, provider: &ProviderProfile) -> Vec<Event> {
        let hop = self.hop_of(provider);
        let missed_at = self.hop(hop).request.expect("notified").missed_at(DeadlineKind::RespondBy);
        self.set_now(missed_at);
        self.ok(system(), elapsed(hop, DeadlineKind::RespondBy))
    }

    pub fn labels_of(&self, provider: &ProviderProfile) -> Vec<Label> {
        self.tb.labels(self.hop_of(provider))
    }

    pub fn view_of(&self, provider: &ProviderProfile) -> Option<ProviderView> {
        provider_view(&self.tb, &provider.id)
    }

    /// The provider ids along the call path.
    pub fn path_ids(&self) -> Vec<String> {
        self.tb.path().iter().map(|hop| hop.provider.id.to_string()).collect()
    }
}

/// The event types, in order.
pub fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.change.name()).collect()
}

/// The requests sent by these events: (hop, cause).
pub fn requests(events: &[Event]) -> Vec<(HopId, RequestCause)> {
    events
        .iter()
        .filter_map(|e| match &e.change {
            Change::HopNotified { hop, cause, .. } => Some((*hop, *cause)),
            _ => None,
        })
        .collect()
}
