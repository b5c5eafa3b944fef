//! Fixtures shared by the suite: a fresh database per test, times, providers, raw SQL for
//! tampering, and [`Flow`], which drives one traceback through the core decider and persists each
//! accepted command the way the application does (append the events, save the read models, one
//! transaction).

use jiff::{SignedDuration, Timestamp};
use tracehop_core::calendar::{BusinessHours, BusinessHoursSpec, Holidays};
use tracehop_core::country::Country;
use tracehop_core::deadline::DeadlineKind;
use tracehop_core::number::PhoneNumber;
use tracehop_core::provider::{ProviderId, ProviderProfile};
use tracehop_core::traceback::command::{Action, Start};
use tracehop_core::traceback::{
    Actor, CallFacts, Category, Command, Customer, Event, Evidence, Hop, HopId, NotFoundReason, Rejection, Reply,
    Traceback, TracebackId, TracebackPolicy, apply, decide,
};
use tracehop_store::events::GENESIS;
use tracehop_store::testing::TestDatabase;
use tracehop_store::tracebacks::{HopRecord, TracebackFilter, TracebackRecord, category_name};
use tracehop_store::{Store, micros, with_read};
use uuid::Uuid;

// ---- databases --------------------------------------------------------------------------------

/// A throwaway database of the engine the environment chooses, opened and migrated.
pub async fn fresh() -> (TestDatabase, Store) {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    (db, store)
}

/// Counts rows with a raw query that takes no parameters.
pub async fn count(store: &Store, sql: &'static str) -> i64 {
    with_read!(store, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).unwrap()
}

// ---- time -------------------------------------------------------------------------------------

pub fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Monday March 2, 2026, 10:00 in New York: inside default business hours.
pub fn t0() -> Timestamp {
    ts("2026-03-02T15:00:00Z")
}

pub fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

pub fn minutes(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

pub fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

pub fn at(base: Timestamp, offset: SignedDuration) -> Timestamp {
    base.checked_add(offset).unwrap()
}

// ---- providers --------------------------------------------------------------------------------

pub fn pid(id: &str) -> ProviderId {
    ProviderId::new(id).unwrap()
}

/// A U.S. provider, its own VSP entity, default business hours, reachable.
pub fn us(id: &str) -> ProviderProfile {
    ProviderProfile::standalone(pid(id), format!("{id} Telecom"), Country::US)
}

/// A provider based in `country`, foreign by its country.
pub fn abroad(id: &str, country: &str) -> ProviderProfile {
    let profile = ProviderProfile::standalone(pid(id), format!("{id} Carrier"), Country::parse(country).unwrap());
    assert!(profile.foreign);
    profile
}

pub fn chicago_hours() -> BusinessHours {
    BusinessHours::try_from(BusinessHoursSpec {
        tz: "America/Chicago".into(),
        days: "Mon-Fri".into(),
        open: "07:30".into(),
        close: "18:00".into(),
        holidays: Holidays::None,
    })
    .unwrap()
}

// ---- tracebacks -------------------------------------------------------------------------------

/// A traceback id whose text order has nothing to do with `n`'s order.
pub fn tb_id(n: u128) -> TracebackId {
    TracebackId(Uuid::from_u128(n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) ^ 0x5A5A))
}

pub fn staff() -> Actor {
    Actor::Staff { user: "analyst".into(), minted_by: None }
}

/// The command that starts a domestic traceback at `terminating`.
pub fn start(id: TracebackId, terminating: &ProviderProfile) -> Start {
    Start {
        id,
        category: Category::Domestic,
        call: CallFacts {
            calling: PhoneNumber::parse("+1 202 555 0123"),
            called: PhoneNumber::parse("(312) 555-0199"),
            call_time: ts("2026-03-01T18:22:05Z"),
            sip_call_id: Some("a84b4c76e66710@pc33.example".into()),
            campaign_label: Some("Auto warranty".into()),
            basis_summary: Some("Consumer complaints, 14 calls".into()),
            recording: None,
        },
        terminating: terminating.clone(),
        policy: TracebackPolicy::default(),
        candidate: None,
        incident: Some("inc-1".into()),
        view_key: Some(uuid::Uuid::from_u128(0x0b5c_0de0)),
        campaign: None,
    }
}

/// One traceback as the application keeps it: its events, folded state and head.
#[derive(Debug, Clone)]
pub struct Flow {
    pub number: i64,
    pub state: Traceback,
    pub events: Vec<Event>,
    pub head: String,
    pub updated_at: Timestamp,
    /// The clock of the last accepted command.
    pub now: Timestamp,
}

impl Flow {
    /// Decides the start and persists it with the next traceback number.
    pub async fn start(store: &Store, start: Start, now: Timestamp) -> Self {
        let command = Command::new(staff(), Action::Start(Box::new(start)));
        let events = decide(&Traceback::default(), command, now).unwrap();
        let state = Traceback::fold(&events);
        let mut tx = store.begin().await.unwrap();
        let number = tx.next_counter("traceback").await.unwrap();
        let id = state.header.as_ref().unwrap().id.to_string();
        let head = tx.append_events(&id, 0, GENESIS, &events, now).await.unwrap();
        tx.save_traceback(number, &state, None, &head, &events, now).await.unwrap();
        tx.commit().await.unwrap();
        Self { number, state, events, head, updated_at: now, now }
    }

    pub fn id(&self) -> TracebackId {
        self.state.header.as_ref().unwrap().id
    }

    pub fn hop(&self, hop: u32) -> &Hop {
        self.state.hop(HopId(hop)).unwrap()
    }

    pub fn version(&self) -> i64 {
        i64::try_from(self.state.version).unwrap()
    }

    /// Decides `command` at `now`; an accepted one is stored in one transaction.
    pub async fn try_run(&mut self, store: &Store, command: Command, now: Timestamp) -> Result<Vec<Event>, Rejection> {
        let events = decide(&self.state, command, now)?;
        if events.is_empty() {
            return Ok(events);
        }
        let next = events.iter().fold(self.state.clone(), apply);
        let id = self.id().to_string();
        let mut tx = store.begin().await.unwrap();
        let head = tx.append_events(&id, self.version(), &self.head, &events, now).await.unwrap();
        tx.save_traceback(self.number, &next, Some(self.version()), &head, &events, now).await.unwrap();
        tx.commit().await.unwrap();
        self.state = next;
        self.events.extend(events.iter().cloned());
        self.head = head;
        self.updated_at = now;
        self.now = now;
        Ok(events)
    }

    pub async fn run(&mut self, store: &Store, command: Command, now: Timestamp) -> Vec<Event> {
        match self.try_run(store, command, now).await {
            Ok(events) => events,
            Err(rejection) => panic!("rejected: {rejection:?}"),
        }
    }

    /// The actor of a hop's provider.
    pub fn provider_of(&self, hop: u32) -> Actor {
        Actor::Provider { provider: self.hop(hop).provider.id.clone(), user: "noc".into(), minted_by: None }
    }

    pub async fn acknowledge(&mut self, store: &Store, hop: u32, now: Timestamp) {
        let command = Command::new(self.provider_of(hop), Action::Acknowledge { hop: HopId(hop) });
        self.run(store, command, now).await;
    }

    /// The provider of `hop` names `upstream`.
    pub async fn name(&mut self, store: &Store, hop: u32, upstream: &ProviderProfile, now: Timestamp) {
        let command = Command::new(self.provider_of(hop), upstream_answer(hop, upstream));
        self.run(store, command, now).await;
    }

    pub async fn originated(&mut self, store: &Store, hop: u32, now: Timestamp) {
        let command = Command::new(self.provider_of(hop), originated_answer(hop));
        self.run(store, command, now).await;
    }

    /// The platform's respond-by timer of `hop` fires just after the deadline.
    pub async fn expire(&mut self, store: &Store, hop: u32) {
        let due = self.hop(hop).request.unwrap().missed_at(DeadlineKind::RespondBy);
        let command =
            Command::new(Actor::System, Action::DeadlineElapsed { hop: HopId(hop), deadline: DeadlineKind::RespondBy });
        self.run(store, command, due).await;
    }

    pub async fn staff(&mut self, store: &Store, action: Action, now: Timestamp) {
        self.run(store, Command::new(staff(), action), now).await;
    }
}

pub fn upstream_answer(hop: u32, upstream: &ProviderProfile) -> Action {
    Action::Answer {
        hop: HopId(hop),
        reply: Box::new(Reply::Upstream {
            upstream: upstream.clone(),
            evidence: Evidence {
                ingress_trunk: Some("tg-17".into()),
                ingress_ip: Some("192.0.2.10".into()),
                ..Evidence::default()
            },
            supplied: None,
        }),
    }
}

pub fn originated_answer(hop: u32) -> Action {
    Action::Answer {
        hop: HopId(hop),
        reply: Box::new(Reply::Originated {
            customer: Customer { name: "Dialer LLC".into(), ..Customer::default() },
            mitigation: None,
            attestation: None,
            right_to_use: None,
        }),
    }
}

pub fn not_found_answer(hop: u32) -> Action {
    Action::Answer {
        hop: HopId(hop),
        reply: Box::new(Reply::NotFound { reason: NotFoundReason::NotInRecords, explanation: None }),
    }
}

// ---- what the read models should say ----------------------------------------------------------

/// A hop's row, derived from the core's state alone.
pub fn expected_hop(state: &Traceback, hop: &Hop) -> HopRecord {
    HopRecord {
        traceback_id: state.header.as_ref().unwrap().id.to_string(),
        hop: i64::from(hop.id.0),
        reference: Some(state.hop_ref(hop.id).to_string()),
        provider_id: hop.provider.id.to_string(),
        entity_id: hop.provider.entity.to_string(),
        named_by: hop.named_by.map(|h| i64::from(h.0)),
        state: hop.state.name().to_owned(),
        labels: state.labels(hop.id).into_iter().map(|l| l.name().to_owned()).collect(),
        in_path: state.in_path(hop.id),
        requests: i64::from(hop.requests),
        notified_at: hop.request.map(|r| r.notified_at),
        start_by: hop.request.map(|r| r.start_by),
        respond_by: hop.request.map(|r| r.respond_by),
        answered_at: hop.answer.as_ref().map(|a| a.at),
        answer_kind: hop.answer.as_ref().map(|a| a.answer.kind().to_owned()),
        opened_at: hop.opened_at,
    }
}

/// A traceback's list row, derived from the core's state alone.
pub fn expected_record(flow: &Flow) -> TracebackRecord {
    let state = &flow.state;
    let header = state.header.as_ref().unwrap();
    let outcome = state.outcome();
    TracebackRecord {
        id: header.id.to_string(),
        number: flow.number,
        category: category_name(header.category).to_owned(),
        status: state.status().name().to_owned(),
        outcome: outcome.map(|o| o.name().to_owned()),
        origin: match outcome {
            Some(tracehop_core::traceback::Outcome::OriginIdentified { origin }) => Some(
                match origin {
                    tracehop_core::traceback::Origin::Us => "us",
                    tracehop_core::traceback::Origin::International => "international",
                }
                .to_owned(),
            ),
            _ => None,
        },
        campaign_id: header.campaign.clone(),
        terminating_provider: state.hops[0].provider.id.to_string(),
        frontier_provider: state.frontier().map(|h| h.provider.id.to_string()),
        hop_count: i64::try_from(state.hop_count()).unwrap(),
        strike_exempt: state.strike_exempt.is_some(),
        started_at: header.started_at,
        closed_at: state.closure.as_ref().map(|c| c.at),
        updated_at: flow.updated_at,
        version: flow.version(),
    }
}

pub async fn record_of(store: &Store, flow: &Flow) -> TracebackRecord {
    let all = store.list_tracebacks(&TracebackFilter { limit: 1000, ..TracebackFilter::default() }).await.unwrap();
    let id = flow.id().to_string();
    all.into_iter().find(|r| r.id == id).unwrap()
}

/// Everything the store keeps about `flow` agrees with the core: the log, the snapshot, the
/// traceback row and every hop row.
pub async fn assert_stored(store: &Store, flow: &Flow) {
    let id = flow.id();
    let stored: Vec<Event> = store.load_events(&id.to_string()).await.unwrap().into_iter().map(|e| e.event).collect();
    assert_eq!(stored, flow.events, "event log of {id}");

    let snapshot = store.traceback_snapshot(id).await.unwrap().unwrap();
    assert_eq!(snapshot.state, flow.state, "snapshot of {id}");
    assert_eq!(snapshot.state, Traceback::fold(&flow.events));
    assert_eq!(snapshot.version, flow.version());
    assert_eq!(snapshot.head_hash, flow.head);
    assert_eq!(snapshot.number, flow.number);

    assert_eq!(record_of(store, flow).await, expected_record(flow), "traceback row of {id}");

    let rows = store.hops_of(&id.to_string()).await.unwrap();
    let expected: Vec<HopRecord> = flow.state.hops.iter().map(|hop| expected_hop(&flow.state, hop)).collect();
    assert_eq!(rows, expected, "hop rows of {id} after {} events", flow.events.len());
}

/// Microseconds, as cursors take them.
pub fn us_of(at: Timestamp) -> i64 {
    micros(at)
}
