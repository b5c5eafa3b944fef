//! Read models: the traceback row with its snapshot, and hop rows whose labels and call path
//! agree with the core after every command; lists with filters and keyset paging.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use tracehop_core::deadline::DeadlineKind;
use tracehop_core::provider::ProviderProfile;
use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::{
    Actor, Category, Command, HopId, StrikeExemptReason, Traceback, Visibility, apply, decide,
};
use tracehop_store::tracebacks::{HopFilter, HopRecord, TracebackFilter, TracebackRecord};
use tracehop_store::{Store, StoreError};

use crate::support::{
    Flow, abroad, assert_stored, at, chicago_hours, expected_hop, expected_record, fresh, hours, minutes,
    not_found_answer, originated_answer, record_of, staff, start, t0, tb_id, upstream_answer, us, us_of,
};

/// Which rows a filter should keep, said in Rust.
type Keep<T> = Box<dyn Fn(&T) -> bool>;

fn labels(row: &HopRecord) -> Vec<&str> {
    row.labels.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn save_traceback_inserts_then_updates_and_refuses_stale_writers() {
    let (_db, store) = fresh().await;
    let (term, alpha) = (us("T"), us("A"));
    let mut flow = Flow::start(&store, start(tb_id(1), &term), t0()).await;
    assert_eq!(flow.number, 1);
    assert_stored(&store, &flow).await;
    let inserted = record_of(&store, &flow).await;
    assert_eq!((inserted.status.as_str(), inserted.version, inserted.hop_count), ("open", 3, 1));
    assert_eq!(inserted.frontier_provider.as_deref(), Some("T"));
    assert_eq!(store.traceback_id_by_number(1).await.unwrap(), Some(flow.id().to_string()));
    assert_eq!(store.traceback_id_by_number(2).await.unwrap(), None);

    let stale = flow.clone();
    flow.name(&store, 0, &alpha, at(t0(), hours(1))).await;
    assert_stored(&store, &flow).await;
    let updated = record_of(&store, &flow).await;
    assert_eq!((updated.version, updated.hop_count), (6, 2));
    assert_eq!(updated.frontier_provider.as_deref(), Some("A"));
    assert_eq!(updated.started_at, inserted.started_at);
    assert_eq!(updated.updated_at, at(t0(), hours(1)));

    // A writer that read version 3 saves over version 6.
    let now = at(t0(), hours(2));
    let command = Command::new(staff(), Action::Close { reason: "test call".into() });
    let events = decide(&stale.state, command, now).unwrap();
    let next = events.iter().fold(stale.state.clone(), apply);
    let mut tx = store.begin().await.unwrap();
    let result = tx.save_traceback(stale.number, &next, Some(stale.version()), "x", &events, now).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    tx.rollback().await.unwrap();

    // Inserting the same traceback again is a conflict too.
    let mut tx = store.begin().await.unwrap();
    let result = tx.save_traceback(99, &stale.state, None, &stale.head, &stale.events, now).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    tx.rollback().await.unwrap();

    // Saving a traceback that never started is refused.
    let mut tx = store.begin().await.unwrap();
    let result = tx.save_traceback(100, &Traceback::default(), None, "x", &[], now).await;
    assert!(result.is_err());
    tx.rollback().await.unwrap();

    assert_stored(&store, &flow).await;
}

#[tokio::test]
async fn the_snapshot_round_trips_the_folded_traceback() {
    let (_db, store) = fresh().await;
    let hours_of_c =
        ProviderProfile { business_hours: chicago_hours(), deemed_receipt_next_business_day: true, ..us("C") };
    let mut s = start(tb_id(4), &us("T"));
    s.category = Category::ForeignLawEnforcement;
    s.campaign = Some("camp-9".into());
    s.candidate = Some("cand-3".into());
    let mut flow = Flow::start(&store, s, t0()).await;
    flow.name(&store, 0, &hours_of_c, at(t0(), hours(5))).await;
    let command = Command::new(
        flow.provider_of(1),
        Action::Comment {
            hop: Some(HopId(1)),
            text: "looking — \"quoted\" ünïcode".into(),
            visibility: Visibility::HopParties,
        },
    );
    flow.run(&store, command, at(t0(), hours(6))).await;
    flow.run(
        &store,
        Command::new(flow.provider_of(1), Action::Dispute { hop: HopId(1), grounds: "lawful caller".into() }),
        at(t0(), hours(7)),
    )
    .await;
    flow.staff(
        &store,
        Action::ReviewDispute { dispute: tracehop_core::traceback::DisputeId(0), accept: true, note: String::new() },
        at(t0(), hours(8)),
    )
    .await;
    let extend_to = at(flow.hop(1).request.unwrap().respond_by, hours(48));
    flow.staff(
        &store,
        Action::Extend { hop: HopId(1), respond_by: extend_to, reason: "holiday".into() },
        at(t0(), hours(9)),
    )
    .await;
    flow.run(
        &store,
        Command::new(
            Actor::System,
            Action::RecordReminder { hop: HopId(1), deadline: DeadlineKind::RespondBy, due: None },
        ),
        at(t0(), hours(10)),
    )
    .await;
    flow.originated(&store, 1, at(t0(), hours(11))).await;

    let snapshot = store.traceback_snapshot(flow.id()).await.unwrap().unwrap();
    assert_eq!(snapshot.state, flow.state);
    assert_eq!(
        snapshot.state,
        Traceback::fold(
            &store
                .load_events(&flow.id().to_string())
                .await
                .unwrap()
                .iter()
                .map(|e| e.event.clone())
                .collect::<Vec<_>>()
        )
    );
    let mut tx = store.begin().await.unwrap();
    let inside = tx.load_snapshot(flow.id()).await.unwrap().unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        (inside.state, inside.version, inside.head_hash, inside.number),
        (flow.state.clone(), flow.version(), flow.head.clone(), flow.number)
    );
    assert!(store.traceback_snapshot(tb_id(5)).await.unwrap().is_none());

    let record = record_of(&store, &flow).await;
    assert_eq!(record.category, "foreign_law_enforcement");
    assert_eq!(record.campaign_id.as_deref(), Some("camp-9"));
    assert_eq!(
        (record.status.as_str(), record.outcome.as_deref(), record.origin.as_deref()),
        ("closed", Some("origin_identified"), Some("us"))
    );
    assert!(record.strike_exempt);
    assert_eq!(record.closed_at, Some(at(t0(), hours(11))));
    assert_stored(&store, &flow).await;
}

#[tokio::test]
async fn hop_rows_carry_the_cores_labels_and_path() {
    let (_db, store) = fresh().await;
    let (term, alpha, gateway, foreign) = (us("T"), us("A"), us("G"), abroad("F", "GB"));
    let mut flow = Flow::start(&store, start(tb_id(10), &term), t0()).await;
    flow.name(&store, 0, &alpha, at(t0(), hours(1))).await;
    flow.name(&store, 1, &gateway, at(t0(), hours(2))).await;
    flow.name(&store, 2, &foreign, at(t0(), hours(3))).await;
    assert_stored(&store, &flow).await;
    let rows = store.hops_of(&flow.id().to_string()).await.unwrap();
    assert_eq!(
        rows.iter().map(labels).collect::<Vec<_>>(),
        [vec![], vec![], vec!["us_point_of_entry"], vec!["foreign_point_of_departure"]]
    );

    flow.originated(&store, 3, at(t0(), hours(4))).await;
    assert_stored(&store, &flow).await;
    let rows = store.hops_of(&flow.id().to_string()).await.unwrap();
    assert_eq!(rows[3].labels, ["international_origin", "foreign_point_of_departure"]);
    assert_eq!(rows[3].answer_kind.as_deref(), Some("originated"));
    assert!(rows.iter().all(|r| r.in_path));
    let record = record_of(&store, &flow).await;
    assert_eq!(
        (record.outcome.as_deref(), record.origin.as_deref()),
        (Some("origin_identified"), Some("international"))
    );

    // Staff redirect the gateway: the foreign hop leaves the path and the point of entry goes.
    flow.staff(&store, Action::Redirect { hop: HopId(2), reason: "wrong trunk".into() }, at(t0(), hours(5))).await;
    assert_stored(&store, &flow).await;
    let rows = store.hops_of(&flow.id().to_string()).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.in_path).collect::<Vec<_>>(), [true, true, true, false]);
    assert_eq!(rows.iter().map(labels).collect::<Vec<_>>(), [Vec::<&str>::new(), vec![], vec![], vec![]]);
    assert_eq!((rows[2].state.as_str(), rows[2].requests), ("open", 2));
    assert_eq!(record_of(&store, &flow).await.status, "open");

    // The gateway names a U.S. carrier that never answers.
    flow.name(&store, 2, &us("D"), at(t0(), hours(6))).await;
    flow.expire(&store, 4).await;
    assert_stored(&store, &flow).await;
    let rows = store.hops_of(&flow.id().to_string()).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.in_path).collect::<Vec<_>>(), [true, true, true, false, true]);
    assert_eq!(rows[4].labels, ["no_response"]);
    assert_eq!(rows[4].state, "expired");
    let record = record_of(&store, &flow).await;
    assert_eq!(
        (record.status.as_str(), record.outcome.as_deref(), record.frontier_provider.as_deref()),
        ("closed", Some("non_responsive"), Some("D"))
    );
    assert_eq!(record.hop_count, 5);

    // Reopened at the frontier: asked again, no longer labelled.
    flow.staff(&store, Action::Reopen { reason: "new contact".into() }, at(t0(), hours(40))).await;
    assert_stored(&store, &flow).await;
    let rows = store.hops_of(&flow.id().to_string()).await.unwrap();
    assert!(rows[4].labels.is_empty());
    assert_eq!((rows[4].state.as_str(), rows[4].requests), ("open", 2));
}

#[tokio::test]
async fn affiliates_and_unreachable_providers_in_hop_rows() {
    let (_db, store) = fresh().await;
    let bravo = us("B");
    let bravo2 = ProviderProfile { entity: bravo.entity.clone(), ..us("B2") };
    let unreachable = ProviderProfile { contactable: false, ..us("N") };
    let mut flow = Flow::start(&store, start(tb_id(11), &us("T")), t0()).await;
    flow.name(&store, 0, &bravo, at(t0(), hours(1))).await;
    flow.name(&store, 1, &bravo2, at(t0(), hours(2))).await;
    flow.name(&store, 2, &unreachable, at(t0(), hours(3))).await;
    assert_stored(&store, &flow).await;
    let rows = store.hops_of(&flow.id().to_string()).await.unwrap();
    assert_eq!(rows[2].entity_id, "B", "an affiliate continues its entity");
    assert_eq!(record_of(&store, &flow).await.hop_count, 3, "and does not count as a hop");
    assert_eq!((rows[3].requests, rows[3].notified_at, rows[3].respond_by), (0, None, None));

    flow.staff(&store, Action::Notify { hop: HopId(3) }, at(t0(), hours(4))).await;
    assert_stored(&store, &flow).await;
    let row = store.hops_of(&flow.id().to_string()).await.unwrap().remove(3);
    assert_eq!((row.requests, row.notified_at), (1, Some(at(t0(), hours(4)))));
    assert_eq!(row.respond_by, Some(at(t0(), hours(28))));
}

// ---- a random walk ----------------------------------------------------------------------------

/// xorshift64*: a fixed sequence, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

fn cast() -> Vec<ProviderProfile> {
    let bravo = us("B");
    vec![
        us("A"),
        bravo.clone(),
        ProviderProfile { entity: bravo.entity.clone(), ..us("B2") },
        ProviderProfile { business_hours: chicago_hours(), deemed_receipt_next_business_day: true, ..us("C") },
        abroad("F", "GB"),
        abroad("M", "MX"),
        ProviderProfile { contactable: false, ..us("N") },
        us("T"),
    ]
}

/// A command the walk tries next; the decider may refuse it, which the walk skips.
fn pick(rng: &mut Rng, flow: &Flow, now: &mut Timestamp) -> Command {
    let state = &flow.state;
    let hop = if rng.below(10) < 7 {
        state.frontier().unwrap().id
    } else {
        HopId(u32::try_from(rng.below(state.hops.len())).unwrap())
    };
    let provider =
        Actor::Provider { provider: state.hop(hop).unwrap().provider.id.clone(), user: "noc".into(), minted_by: None };
    let cast = cast();
    let action = match rng.below(20) {
        0..=1 => Action::Acknowledge { hop },
        2..=7 => upstream_answer(hop.0, &cast[rng.below(cast.len())]),
        8 => originated_answer(hop.0),
        9 => not_found_answer(hop.0),
        10..=11 => {
            let deadline = if rng.below(2) == 0 { DeadlineKind::RespondBy } else { DeadlineKind::StartBy };
            if let Some(request) = state.hop(hop).unwrap().request {
                *now = (*now).max(request.missed_at(deadline));
            }
            return Command::new(Actor::System, Action::DeadlineElapsed { hop, deadline });
        }
        12 => Action::Redirect { hop, reason: "asked again".into() },
        13 => Action::Close { reason: "withdrawn".into() },
        14..=15 => Action::Reopen { reason: "more to do".into() },
        16 => {
            let respond_by = state.hop(hop).unwrap().request.map_or(*now, |r| at(r.respond_by, hours(12)));
            Action::Extend { hop, respond_by, reason: "asked for time".into() }
        }
        17 => Action::Notify { hop },
        18 => Action::Dispute { hop, grounds: "not our traffic".into() },
        _ => Action::MarkStrikeExempt { reason: StrikeExemptReason::Testing, note: "test".into() },
    };
    let actor = match action {
        Action::Acknowledge { .. } | Action::Answer { .. } | Action::Dispute { .. } => provider,
        _ => staff(),
    };
    Command::new(actor, action)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_rows_follow_the_core_through_a_random_walk() {
    let (_db, store) = fresh().await;
    let mut rng = Rng(0x7AC3_B0B5_1234_5678);
    let mut kinds = BTreeSet::new();
    let mut accepted = 0;
    for n in 0..6 {
        let mut now = at(t0(), minutes(i64::try_from(n).unwrap() * 7));
        let terminating = if n % 3 == 2 { abroad("M", "MX") } else { us("T") };
        let mut flow = Flow::start(&store, start(tb_id(500 + n), &terminating), now).await;
        for _ in 0..40 {
            now = at(now, minutes(i64::try_from(rng.below(4)).unwrap() * 30));
            let command = pick(&mut rng, &flow, &mut now);
            if let Ok(events) = flow.try_run(&store, command, now).await {
                if events.is_empty() {
                    continue;
                }
                accepted += 1;
                kinds.extend(events.iter().map(|e| e.change.name()));
                assert_stored(&store, &flow).await;
            }
        }
    }
    assert!(store.verify_chains().await.unwrap().broken.is_none());
    // The walk must have reached the interesting corners, or it proves little.
    for kind in [
        "hop_redirected",
        "hop_cancelled",
        "hop_expired",
        "review_requested",
        "reopened",
        "closed",
        "deadline_extended",
        "start_by_missed",
    ] {
        assert!(kinds.contains(kind), "the walk never produced {kind}: {kinds:?}");
    }
    assert!(accepted > 60, "{accepted}");
}

// ---- lists ------------------------------------------------------------------------------------

/// Fourteen tracebacks over five start times (three share each), three campaigns, both
/// categories and every status.
async fn many_tracebacks(store: &Store) -> Vec<Flow> {
    let term = us("T");
    let campaigns = [Some("camp-1"), Some("camp-2"), None];
    let mut flows = Vec::new();
    for i in 0..14_u32 {
        let started = at(t0(), hours(i64::from(i / 3)));
        let mut s = start(tb_id(100 + u128::from(i)), &term);
        s.campaign = campaigns[(i % 3) as usize].map(Into::into);
        s.category = if i % 4 == 0 { Category::ForeignLawEnforcement } else { Category::Domestic };
        s.policy.close_on_no_response = i % 5 != 1;
        let mut flow = Flow::start(store, s, started).await;
        match i % 5 {
            1 => flow.expire(store, 0).await,
            2 => flow.originated(store, 0, at(started, hours(1))).await,
            3 => {
                flow.staff(store, Action::Close { reason: "duplicate".into() }, at(started, hours(1))).await;
            }
            4 => flow.acknowledge(store, 0, at(started, minutes(5))).await,
            _ => {}
        }
        flows.push(flow);
    }
    flows
}

fn newest_first(flows: &[Flow], keep: impl Fn(&TracebackRecord) -> bool) -> Vec<TracebackRecord> {
    let mut records: Vec<_> = flows.iter().map(expected_record).filter(|r| keep(r)).collect();
    records.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
    records
}

async fn all_pages(store: &Store, filter: &TracebackFilter, limit: i64) -> Vec<TracebackRecord> {
    let mut out: Vec<TracebackRecord> = Vec::new();
    let mut before = None;
    loop {
        let page =
            store.list_tracebacks(&TracebackFilter { before: before.clone(), limit, ..filter.clone() }).await.unwrap();
        assert!(i64::try_from(page.len()).unwrap() <= limit);
        let Some(last) = page.last() else { return out };
        before = Some((us_of(last.started_at), last.id.clone()));
        out.extend(page);
        assert!(out.len() <= 100, "paging does not end");
    }
}

#[tokio::test]
async fn list_tracebacks_filters_and_pages_without_gaps_or_repeats() {
    let (_db, store) = fresh().await;
    let flows = many_tracebacks(&store).await;
    let statuses: BTreeSet<String> = flows.iter().map(|f| f.state.status().name().to_owned()).collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");

    let everything = TracebackFilter { limit: 1000, ..TracebackFilter::default() };
    assert_eq!(store.list_tracebacks(&everything).await.unwrap(), newest_first(&flows, |_| true));

    let cases: Vec<(TracebackFilter, Keep<TracebackRecord>)> = vec![
        (TracebackFilter::default(), Box::new(|_| true)),
        (
            TracebackFilter { status: Some("closed".into()), ..TracebackFilter::default() },
            Box::new(|r| r.status == "closed"),
        ),
        (
            TracebackFilter { status: Some("needs_review".into()), ..TracebackFilter::default() },
            Box::new(|r| r.status == "needs_review"),
        ),
        (
            TracebackFilter { campaign_id: Some("camp-1".into()), ..TracebackFilter::default() },
            Box::new(|r| r.campaign_id.as_deref() == Some("camp-1")),
        ),
        (
            TracebackFilter { category: Some("foreign_law_enforcement".into()), ..TracebackFilter::default() },
            Box::new(|r| r.category == "foreign_law_enforcement"),
        ),
        (
            TracebackFilter {
                status: Some("open".into()),
                campaign_id: Some("camp-2".into()),
                category: Some("domestic".into()),
                ..TracebackFilter::default()
            },
            Box::new(|r| r.status == "open" && r.campaign_id.as_deref() == Some("camp-2") && r.category == "domestic"),
        ),
        (TracebackFilter { campaign_id: Some("nobody".into()), ..TracebackFilter::default() }, Box::new(|_| false)),
    ];
    for (filter, keep) in &cases {
        let expected = newest_first(&flows, keep);
        for limit in [1, 2, 3, 5, 1000] {
            let paged = all_pages(&store, filter, limit).await;
            assert_eq!(paged, expected, "{filter:?} in pages of {limit}");
        }
    }
    let nonempty = cases.iter().filter(|(_, keep)| flows.iter().map(expected_record).any(|r| keep(&r))).count();
    assert_eq!(nonempty, cases.len() - 1);
}

#[tokio::test]
async fn count_tracebacks_by_status_per_campaign() {
    let (_db, store) = fresh().await;
    let flows = many_tracebacks(&store).await;
    for campaign in [None, Some("camp-1"), Some("camp-2"), Some("nobody")] {
        let mut expected: BTreeMap<String, i64> = BTreeMap::new();
        for flow in &flows {
            if campaign.is_none() || flow.state.header.as_ref().unwrap().campaign.as_deref() == campaign {
                *expected.entry(flow.state.status().name().to_owned()).or_default() += 1;
            }
        }
        let counted = store.count_tracebacks_by_status(campaign).await.unwrap();
        assert_eq!(counted, expected.into_iter().collect::<Vec<_>>(), "{campaign:?}");
    }
    assert_eq!(
        store.count_tracebacks_by_status(None).await.unwrap(),
        [("closed".to_owned(), 6), ("needs_review".to_owned(), 3), ("open".to_owned(), 5)]
    );
}

/// Provider P in many states across tracebacks, with ties in opening time across tracebacks and
/// within one.
async fn hops_of_p(store: &Store) -> Vec<Flow> {
    let (term, p, q) = (us("T"), us("P"), us("Q"));
    let mut flows = Vec::new();
    for i in 0..6_u32 {
        flows.push(Flow::start(store, start(tb_id(200 + u128::from(i)), &term), t0()).await);
    }
    let h = |n| at(t0(), hours(n));
    // 0: open. 1: acknowledged, opened with 0.
    flows[0].name(store, 0, &p, h(1)).await;
    flows[1].name(store, 0, &p, h(1)).await;
    flows[1].acknowledge(store, 1, h(2)).await;
    // 2: answered.
    flows[2].name(store, 0, &p, h(2)).await;
    flows[2].name(store, 1, &q, h(3)).await;
    // 3: expired.
    flows[3].name(store, 0, &p, h(3)).await;
    flows[3].expire(store, 1).await;
    // 4: cancelled by a redirect, then named again at the same moment.
    flows[4].name(store, 0, &p, h(4)).await;
    flows[4].staff(store, Action::Redirect { hop: HopId(0), reason: "re-check".into() }, h(4)).await;
    flows[4].name(store, 0, &p, h(4)).await;
    // 5: P never involved.
    flows[5].name(store, 0, &q, h(1)).await;
    // P is the terminating provider of one more.
    flows.push(Flow::start(store, start(tb_id(300), &p), h(5)).await);
    flows
}

fn expected_hops(flows: &[Flow], provider: &str, keep: impl Fn(&HopRecord) -> bool) -> Vec<HopRecord> {
    let mut rows: Vec<HopRecord> = flows
        .iter()
        .flat_map(|f| f.state.hops.iter().map(|hop| expected_hop(&f.state, hop)))
        .filter(|r| r.provider_id == provider && keep(r))
        .collect();
    rows.sort_by(|a, b| {
        (a.opened_at, &a.traceback_id, &a.reference).cmp(&(b.opened_at, &b.traceback_id, &b.reference))
    });
    rows
}

async fn hop_pages(store: &Store, filter: &HopFilter, limit: i64) -> Vec<HopRecord> {
    let mut out: Vec<HopRecord> = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_hops(&HopFilter { after: after.clone(), limit, ..filter.clone() }).await.unwrap();
        assert!(i64::try_from(page.len()).unwrap() <= limit);
        let Some(last) = page.last() else { return out };
        after = Some((us_of(last.opened_at), last.traceback_id.clone(), last.reference.clone().unwrap()));
        out.extend(page);
        assert!(out.len() <= 100, "paging does not end");
    }
}

#[tokio::test]
async fn list_hops_for_a_provider_filters_and_pages() {
    let (_db, store) = fresh().await;
    let flows = hops_of_p(&store).await;
    for flow in &flows {
        assert_stored(&store, flow).await;
    }
    let history = expected_hops(&flows, "P", |_| true);
    assert_eq!(history.len(), 7);
    let states: Vec<&str> = history.iter().map(|r| r.state.as_str()).collect();
    for state in ["open", "acknowledged", "answered", "expired", "cancelled"] {
        assert!(states.contains(&state), "{states:?}");
    }
    assert_eq!(history.iter().filter(|r| r.labels == ["no_response"]).count(), 1);

    let base = HopFilter { provider_id: "P".into(), ..HopFilter::default() };
    let due = at(t0(), hours(26));
    let cases: Vec<(HopFilter, Keep<HopRecord>)> = vec![
        (base.clone(), Box::new(|_| true)),
        (
            HopFilter { waiting_only: true, ..base.clone() },
            Box::new(|r| r.state == "open" || r.state == "acknowledged"),
        ),
        (HopFilter { state: Some("expired".into()), ..base.clone() }, Box::new(|r| r.state == "expired")),
        (HopFilter { state: Some("cancelled".into()), ..base.clone() }, Box::new(|r| r.state == "cancelled")),
        (
            HopFilter { due_before: Some(due), ..base.clone() },
            Box::new(move |r| r.respond_by.is_some_and(|at| at <= due)),
        ),
        (
            HopFilter { waiting_only: true, due_before: Some(due), ..base.clone() },
            Box::new(move |r| {
                (r.state == "open" || r.state == "acknowledged") && r.respond_by.is_some_and(|at| at <= due)
            }),
        ),
        (HopFilter { provider_id: "nobody".into(), ..base.clone() }, Box::new(|_| false)),
    ];
    for (filter, keep) in &cases {
        let expected = expected_hops(&flows, &filter.provider_id, keep);
        for limit in [1, 2, 3, 1000] {
            assert_eq!(hop_pages(&store, filter, limit).await, expected, "{filter:?} in pages of {limit}");
        }
    }

    // Spot checks against the scenario itself.
    let waiting = store.list_hops(&HopFilter { waiting_only: true, limit: 100, ..base.clone() }).await.unwrap();
    let waiting: Vec<(String, i64, &str)> =
        waiting.iter().map(|r| (r.traceback_id.clone(), r.hop, r.state.as_str())).collect();
    let id = |n: usize| flows[n].id().to_string();
    let mut first_two = [(id(0), 1, "open"), (id(1), 1, "acknowledged")];
    first_two.sort();
    assert_eq!(waiting[..2], first_two[..]);
    assert_eq!(waiting[2..], [(id(4), 2, "open"), (id(6), 0, "open")]);
    let soon = store.list_hops(&HopFilter { due_before: Some(due), limit: 100, ..base.clone() }).await.unwrap();
    assert_eq!(soon.len(), 3, "two waiting and one answered are due by then");
    let q = store.list_hops(&HopFilter { provider_id: "Q".into(), limit: 100, ..HopFilter::default() }).await.unwrap();
    assert_eq!(q.len(), 2);
    assert_eq!(q.iter().filter(|r| r.in_path).count(), 2);
    let cancelled = store.list_hops(&HopFilter { state: Some("cancelled".into()), limit: 100, ..base }).await.unwrap();
    assert_eq!((cancelled.len(), cancelled[0].in_path, cancelled[0].opened_at), (1, false, at(t0(), hours(4))));
}
