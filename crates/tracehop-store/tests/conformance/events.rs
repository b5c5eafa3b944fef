//! The event log: hash chains from GENESIS, optimistic appends, exact round trips, and
//! `verify_chains` naming the first broken link whatever was tampered with.

use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::{Command, HopId, Traceback, decide};
use tracehop_store::events::{BrokenLink, GENESIS, chain_hash, encode};
use tracehop_store::{Store, StoreError, with_read, with_tx};

use crate::support::{Flow, abroad, assert_stored, at, fresh, hours, start, t0, tb_id, us};

/// Two tracebacks with a few events each: the second has at least eight.
async fn two_streams(store: &Store) -> (Flow, Flow) {
    let (term, alpha, gateway, foreign) = (us("T"), us("A"), us("G"), abroad("F", "GB"));
    let mut first = Flow::start(store, start(tb_id(1), &term), t0()).await;
    first.acknowledge(store, 0, at(t0(), hours(1))).await;
    first.name(store, 0, &alpha, at(t0(), hours(2))).await;

    let mut second = Flow::start(store, start(tb_id(2), &term), t0()).await;
    second.name(store, 0, &alpha, at(t0(), hours(1))).await;
    second.name(store, 1, &gateway, at(t0(), hours(2))).await;
    second.acknowledge(store, 2, at(t0(), hours(3))).await;
    second.name(store, 2, &foreign, at(t0(), hours(4))).await;
    second.originated(store, 3, at(t0(), hours(5))).await;
    assert!(second.events.len() >= 8, "{}", second.events.len());
    (first, second)
}

/// The stored rows of a stream: (seq, prev_hash, hash, payload).
async fn rows(store: &Store, stream: &str) -> Vec<(i64, String, String, String)> {
    with_read!(store, pool => {
        sqlx::query_as::<_, (i64, String, String, String)>(
            "SELECT seq, prev_hash, hash, payload FROM events WHERE stream_id = $1 ORDER BY seq",
        )
        .bind(stream)
        .fetch_all(pool)
        .await
    })
    .unwrap()
}

/// Runs one tampering statement binding (text, stream, seq); exactly one row must change.
async fn tamper(store: &Store, sql: &'static str, text: &str, stream: &str, seq: i64) {
    let mut tx = store.begin().await.unwrap();
    let changed = with_tx!(tx, conn => {
        sqlx::query(sql).bind(text).bind(stream).bind(seq).execute(conn).await.map(|r| r.rows_affected())
    })
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(changed, 1, "{sql}");
}

async fn delete_event(store: &Store, stream: &str, seq: i64) {
    let mut tx = store.begin().await.unwrap();
    let changed = with_tx!(tx, conn => {
        sqlx::query("DELETE FROM events WHERE stream_id = $1 AND seq = $2")
            .bind(stream)
            .bind(seq)
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
    })
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(changed, 1);
}

async fn broken(store: &Store) -> BrokenLink {
    let report = store.verify_chains().await.unwrap();
    match report.broken {
        Some(link) => link,
        None => panic!("tampering went unnoticed: {} streams, {} events", report.streams, report.events),
    }
}

/// The same text with one byte changed, inside a JSON string value so it stays valid JSON.
fn flip_one_byte(payload: &str) -> String {
    let position = payload.find("Telecom").or_else(|| payload.find("analyst")).unwrap() + 1;
    let mut bytes = payload.as_bytes().to_vec();
    bytes[position] = if bytes[position] == b'x' { b'y' } else { b'x' };
    let changed = String::from_utf8(bytes).unwrap();
    assert_eq!(changed.len(), payload.len());
    assert_eq!(changed.bytes().zip(payload.bytes()).filter(|(a, b)| a != b).count(), 1);
    serde_json::from_str::<serde_json::Value>(&changed).unwrap();
    changed
}

#[tokio::test]
async fn appends_chain_hashes_from_genesis_with_seqs_one_to_n() {
    let (_db, store) = fresh().await;
    let (first, second) = two_streams(&store).await;
    for flow in [&first, &second] {
        let stream = flow.id().to_string();
        let stored = rows(&store, &stream).await;
        assert_eq!(stored.len(), flow.events.len());
        let mut prev = GENESIS.to_owned();
        for (index, ((seq, prev_hash, hash, payload), event)) in stored.iter().zip(&flow.events).enumerate() {
            assert_eq!(*seq, i64::try_from(index).unwrap() + 1, "seqs are 1..n");
            assert_eq!(*prev_hash, prev, "seq {seq} links to its predecessor");
            assert_eq!(*payload, encode(event).unwrap(), "the stored payload is the canonical encoding");
            assert_eq!(*hash, chain_hash(prev_hash, &stream, *seq, payload));
            assert_eq!(hash.len(), 64);
            prev.clone_from(hash);
        }
        assert_eq!(prev, flow.head, "append_events returns the last hash");
    }

    // Appending nothing changes nothing and returns the head given.
    let mut tx = store.begin().await.unwrap();
    let head = tx.append_events(&first.id().to_string(), first.version(), &first.head, &[], t0()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(head, first.head);
    assert_eq!(rows(&store, &first.id().to_string()).await.len(), first.events.len());
}

#[tokio::test]
async fn load_events_round_trips_the_core_events_exactly() {
    let (_db, store) = fresh().await;
    let (first, second) = two_streams(&store).await;
    for flow in [&first, &second] {
        let stream = flow.id().to_string();
        let loaded = store.load_events(&stream).await.unwrap();
        let events: Vec<_> = loaded.iter().map(|e| e.event.clone()).collect();
        assert_eq!(events, flow.events);
        assert_eq!(Traceback::fold(&events), flow.state);
        for (index, stored) in loaded.iter().enumerate() {
            assert_eq!(stored.stream_id, stream);
            assert_eq!(stored.seq, i64::try_from(index).unwrap() + 1);
            // Each command's events are recorded at the time of the command.
            assert_eq!(stored.recorded_at, stored.event.at);
        }
        assert_eq!(loaded.last().unwrap().hash, flow.head);

        // The same from inside a transaction.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.load_events(&stream).await.unwrap(), loaded);
        tx.rollback().await.unwrap();
    }
    assert!(store.load_events(&tb_id(99).to_string()).await.unwrap().is_empty());
}

#[tokio::test]
async fn appending_at_a_stale_version_is_a_conflict() {
    let (_db, store) = fresh().await;
    let (term, alpha) = (us("T"), us("A"));
    let mut flow = Flow::start(&store, start(tb_id(7), &term), t0()).await;
    let stale = flow.clone();
    flow.acknowledge(&store, 0, at(t0(), hours(1))).await;

    // A writer that loaded the traceback before the acknowledgement decides against old state.
    let now = at(t0(), hours(2));
    let command = Command::new(stale.provider_of(0), crate::support::upstream_answer(0, &alpha));
    let events = decide(&stale.state, command, now).unwrap();
    let stream = flow.id().to_string();
    for version in [0, stale.version()] {
        let mut tx = store.begin().await.unwrap();
        let result = tx.append_events(&stream, version, &stale.head, &events, now).await;
        assert!(matches!(result, Err(StoreError::Conflict(_))), "version {version}: {result:?}");
        tx.rollback().await.unwrap();
    }

    // The read model's version check catches the same writer, and the whole transaction goes.
    let next = events.iter().fold(stale.state.clone(), tracehop_core::traceback::apply);
    let mut tx = store.begin().await.unwrap();
    let head = tx.append_events(&stream, flow.version(), &flow.head, &events, now).await.unwrap();
    let result = tx.save_traceback(stale.number, &next, Some(stale.version()), &head, &events, now).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    tx.rollback().await.unwrap();

    assert_stored(&store, &flow).await;
    assert!(store.verify_chains().await.unwrap().broken.is_none());

    // The writer that reloads succeeds.
    flow.name(&store, 0, &alpha, now).await;
    assert_stored(&store, &flow).await;
}

#[tokio::test]
async fn a_rolled_back_command_leaves_no_trace() {
    let (_db, store) = fresh().await;
    let mut flow = Flow::start(&store, start(tb_id(3), &us("T")), t0()).await;
    let now = at(t0(), hours(1));
    let command = Command::new(flow.provider_of(0), Action::Acknowledge { hop: HopId(0) });
    let events = decide(&flow.state, command, now).unwrap();
    let next = events.iter().fold(flow.state.clone(), tracehop_core::traceback::apply);
    let mut tx = store.begin().await.unwrap();
    let head = tx.append_events(&flow.id().to_string(), flow.version(), &flow.head, &events, now).await.unwrap();
    tx.save_traceback(flow.number, &next, Some(flow.version()), &head, &events, now).await.unwrap();
    tx.rollback().await.unwrap();
    assert_stored(&store, &flow).await;

    flow.acknowledge(&store, 0, now).await;
    assert_stored(&store, &flow).await;
}

#[tokio::test]
async fn verify_chains_is_clean_on_a_good_log() {
    let (_db, store) = fresh().await;
    let empty = store.verify_chains().await.unwrap();
    assert_eq!((empty.streams, empty.events, empty.broken), (0, 0, None));

    let (first, second) = two_streams(&store).await;
    let report = store.verify_chains().await.unwrap();
    assert_eq!(report.broken, None);
    assert_eq!(report.streams, 2);
    assert_eq!(report.events, u64::try_from(first.events.len() + second.events.len()).unwrap());
}

#[tokio::test]
async fn verify_chains_names_a_changed_payload_byte() {
    let (_db, store) = fresh().await;
    let (first, second) = two_streams(&store).await;
    for flow in [&second, &first] {
        let stream = flow.id().to_string();
        let seq = 2; // the terminating provider's hop_opened: in the middle of both logs
        let (_, _, _, payload) = rows(&store, &stream).await.remove(1);
        tamper(
            &store,
            "UPDATE events SET payload = $1 WHERE stream_id = $2 AND seq = $3",
            &flip_one_byte(&payload),
            &stream,
            seq,
        )
        .await;
        let link = broken(&store).await;
        assert_eq!((link.stream_id.as_str(), link.seq), (stream.as_str(), seq), "{link}");
        assert!(link.problem.contains("altered"), "{link}");
        tamper(&store, "UPDATE events SET payload = $1 WHERE stream_id = $2 AND seq = $3", &payload, &stream, seq)
            .await;
        assert_eq!(store.verify_chains().await.unwrap().broken, None, "restored");
    }
}

#[tokio::test]
async fn verify_chains_sees_through_a_recomputed_hash() {
    let (_db, store) = fresh().await;
    let (_first, second) = two_streams(&store).await;
    let stream = second.id().to_string();
    let (seq, prev_hash, _, payload) = rows(&store, &stream).await.remove(3);
    let forged = flip_one_byte(&payload);
    tamper(&store, "UPDATE events SET payload = $1 WHERE stream_id = $2 AND seq = $3", &forged, &stream, seq).await;
    let rehashed = chain_hash(&prev_hash, &stream, seq, &forged);
    tamper(&store, "UPDATE events SET hash = $1 WHERE stream_id = $2 AND seq = $3", &rehashed, &stream, seq).await;
    let link = broken(&store).await;
    assert_eq!((link.stream_id.as_str(), link.seq), (stream.as_str(), seq + 1), "{link}");
    assert!(link.problem.contains("prev_hash"), "{link}");
}

#[tokio::test]
async fn verify_chains_names_a_removed_middle_event() {
    // A gap in the middle, and a missing first event: the broken link is the first event after
    // the gap, and the problem names the seq that is missing.
    for (which, missing) in [(1, 4), (0, 1)] {
        let (_db, store) = fresh().await;
        let (first, second) = two_streams(&store).await;
        let stream = [first, second][which].id().to_string();
        delete_event(&store, &stream, missing).await;
        let link = broken(&store).await;
        assert_eq!((link.stream_id.as_str(), link.seq), (stream.as_str(), missing + 1), "{link}");
        assert!(link.problem.contains(&format!("expected seq {missing}")), "{link}");
    }
}

#[tokio::test]
async fn verify_chains_names_a_removed_last_event() {
    for which in [1, 0] {
        let (_db, store) = fresh().await;
        let (first, second) = two_streams(&store).await;
        let flow = if which == 0 { first } else { second };
        let stream = flow.id().to_string();
        let last = flow.version();
        delete_event(&store, &stream, last).await;
        // The chain itself is intact; the head and version recorded with the traceback are not.
        let link = broken(&store).await;
        assert_eq!((link.stream_id.as_str(), link.seq), (stream.as_str(), last), "{link}");
        assert!(link.problem.contains(&format!("ends at seq {}", last - 1)), "{link}");
    }
}

#[tokio::test]
async fn verify_chains_names_a_rewritten_prev_hash() {
    let (_db, store) = fresh().await;
    let (first, second) = two_streams(&store).await;
    for (flow, seq) in [(&second, 5), (&first, 1)] {
        let stream = flow.id().to_string();
        let (_, original, _, _) = rows(&store, &stream).await.remove(usize::try_from(seq - 1).unwrap());
        let forged = "f".repeat(64);
        tamper(&store, "UPDATE events SET prev_hash = $1 WHERE stream_id = $2 AND seq = $3", &forged, &stream, seq)
            .await;
        let link = broken(&store).await;
        assert_eq!((link.stream_id.as_str(), link.seq), (stream.as_str(), seq), "{link}");
        assert!(link.problem.contains("prev_hash"), "{link}");
        tamper(&store, "UPDATE events SET prev_hash = $1 WHERE stream_id = $2 AND seq = $3", &original, &stream, seq)
            .await;
        assert_eq!(store.verify_chains().await.unwrap().broken, None);
    }
}
