//! Incident data: bulk inserts idempotent by (submitter, external id) on both engines — through
//! `COPY` and through multi-row `INSERT` on PostgreSQL — exact round trips of awkward text,
//! keyset lists, and recording metadata.

use jiff::{SignedDuration, Timestamp};
use tracehop_store::incidents::{IncidentFilter, IncidentRow, RecordingRecord};
use tracehop_store::{Engine, StoreError};

use crate::support::{count, fresh, t0, ts};

/// A row with every optional field empty; ids sort by `n`.
fn row(submitter: &str, n: u32, call_time: Timestamp) -> IncidentRow {
    IncidentRow {
        id: format!("0190aaaa-0000-7000-8000-{n:012}"),
        submitter_id: submitter.to_owned(),
        external_id: format!("EXT-{n}"),
        calling_raw: "(202) 555-0123".to_owned(),
        calling_e164: Some("+12025550123".to_owned()),
        called_raw: "312 555 0199".to_owned(),
        called_e164: Some("+13125550199".to_owned()),
        call_time,
        local_time: None,
        local_zone: None,
        originating_ip: None,
        called_ip: None,
        originating_point_code: None,
        called_point_code: None,
        sip_call_id: None,
        sip_anomalies: None,
        identity_header: None,
        identity_parsed: None,
        call_volume: None,
        cdr: None,
        transcript: None,
        basis: None,
        campaign_id: None,
        created_at: t0(),
    }
}

fn rows(submitter: &str, range: std::ops::Range<u32>) -> Vec<IncidentRow> {
    range.map(|n| row(submitter, n, t0() - SignedDuration::from_secs(i64::from(n)))).collect()
}

#[tokio::test]
async fn a_second_insert_of_a_key_changes_nothing_and_counts_as_duplicate() {
    let (_db, store) = fresh().await;
    assert_eq!(store.insert_incidents(&rows("acme", 0..3)).await.unwrap(), 3);

    let mut again = rows("acme", 0..4);
    for r in &mut again {
        r.id = format!("{}-again", r.id);
        r.calling_raw = "changed".to_owned();
        r.transcript = Some("changed".to_owned());
    }
    // The same external ids from another submitter are other incidents.
    let mut other = rows("globex", 0..2);
    for r in &mut other {
        r.id = format!("{}-globex", r.id);
    }
    again.extend(other);
    assert_eq!(store.insert_incidents(&again).await.unwrap(), 3, "EXT-3 for acme and two for globex");

    let kept = store.incident_by_external_id("acme", "EXT-1").await.unwrap().unwrap();
    assert_eq!(kept.row, row("acme", 1, t0() - SignedDuration::from_secs(1)), "the first submission stands");
    assert_eq!(kept.recording, None);
    assert_eq!(store.count_incidents(Some("acme")).await.unwrap(), 4);
    assert_eq!(store.count_incidents(Some("globex")).await.unwrap(), 2);
    assert_eq!(store.count_incidents(None).await.unwrap(), 6);
    assert!(store.incident("0190aaaa-0000-7000-8000-000000000001-again").await.unwrap().is_none());
}

#[tokio::test]
async fn large_batches_insert_whole_and_skip_duplicates_within_and_across_them() {
    let (_db, store) = fresh().await;
    // More rows than one INSERT statement holds; on PostgreSQL, the COPY path.
    assert_eq!(store.insert_incidents(&rows("acme", 0..2500)).await.unwrap(), 2500);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM incidents").await, 2500);

    // A batch with one stored key and one key twice: on PostgreSQL the COPY fails on the key and
    // the batch goes again as INSERT … ON CONFLICT DO NOTHING; nothing of the failed COPY stays.
    let mut batch = rows("acme", 2499..5000);
    let mut twice = row("acme", 4000, t0());
    twice.id = "twice".to_owned();
    batch.push(twice);
    for r in &mut batch[..1] {
        r.id = format!("{}-again", r.id);
    }
    assert_eq!(store.insert_incidents(&batch).await.unwrap(), 2500);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM incidents").await, 5000);
    assert!(store.incident("twice").await.unwrap().is_none(), "the first of a repeated key wins");
    assert_eq!(
        store.incident_by_external_id("acme", "EXT-4000").await.unwrap().unwrap().row.call_time,
        t0() - SignedDuration::from_secs(4000)
    );
}

#[tokio::test]
async fn a_batch_rolled_back_leaves_nothing() {
    let (_db, store) = fresh().await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.insert_incidents(&rows("acme", 0..200)).await.unwrap(), 200);
    tx.rollback().await.unwrap();
    assert_eq!(store.count_incidents(None).await.unwrap(), 0);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.insert_incidents(&rows("acme", 0..200)).await.unwrap(), 200);
    tx.commit().await.unwrap();
    assert_eq!(store.count_incidents(None).await.unwrap(), 200);
}

fn awkward(n: u32) -> IncidentRow {
    let mut r = row("acme", n, ts("2026-03-01T18:22:05.123456Z"));
    "anonymous".clone_into(&mut r.calling_raw);
    r.calling_e164 = None;
    r.local_time = Some("2026-03-01T13:22:05".to_owned());
    r.local_zone = Some("America/New_York".to_owned());
    r.originating_ip = Some("[2001:db8::1]:5060".to_owned());
    r.called_ip = Some("192.0.2.7".to_owned());
    r.originating_point_code = Some("245-016-000".to_owned());
    r.called_point_code = Some("1.2.3".to_owned());
    r.sip_call_id = Some("a84b4c76e66710@pc33.atlanta.example".to_owned());
    r.sip_anomalies = Some(r#"["P-Asserted-Identity missing","From \"tab\there\""]"#.to_owned());
    r.identity_header = Some("eyJhbGciOiJFUzI1NiJ9.e30.sig;info=<https://cert.example/a.pem>".to_owned());
    r.identity_parsed = Some(r#"{"header":{"alg":"ES256"},"payload":{}}"#.to_owned());
    r.call_volume = Some(1_000_000_000_000);
    r.cdr = Some(r#"{"note":"back\\slash \\N and \"quotes\"","trunk":"T-9"}"#.to_owned());
    r.transcript = Some("Line one,\nline two\twith a tab\r\nand \\N, a backslash \\ — ünïcode 📞".to_owned());
    r.basis = Some(String::new());
    r.campaign_id = Some("irs-2026".to_owned());
    r
}

#[tokio::test]
async fn awkward_text_round_trips_exactly_on_every_path() {
    let (_db, store) = fresh().await;
    // One row alone (INSERT), and the same content in a large batch (COPY on PostgreSQL).
    let single = awkward(0);
    assert_eq!(store.insert_incidents(std::slice::from_ref(&single)).await.unwrap(), 1);
    let batch: Vec<IncidentRow> = (1..=100)
        .map(|n| {
            let mut r = awkward(n);
            r.external_id = format!("EXT-{n}");
            r
        })
        .collect();
    assert_eq!(store.insert_incidents(&batch).await.unwrap(), 100);
    assert_eq!(store.incident(&single.id).await.unwrap().unwrap().row, single);
    for expected in [&batch[0], &batch[57], &batch[99]] {
        assert_eq!(&store.incident(&expected.id).await.unwrap().unwrap().row, expected);
    }
}

#[tokio::test]
async fn lists_filter_and_page_newest_first() {
    let (_db, store) = fresh().await;
    let mut all = Vec::new();
    for n in 0..7u32 {
        let submitter = if n % 2 == 0 { "acme" } else { "globex" };
        let mut r = row(submitter, n, t0() - SignedDuration::from_hours(i64::from(n)));
        r.campaign_id = (n < 3).then(|| "irs".to_owned());
        if n == 5 {
            r.called_raw = "(415) 555-0142".to_owned();
            r.called_e164 = Some("+14155550142".to_owned());
        }
        if n == 6 {
            "anonymous".clone_into(&mut r.calling_raw);
            r.calling_e164 = None;
        }
        all.push(r);
    }
    store.insert_incidents(&all).await.unwrap();
    let ids = |records: Vec<tracehop_store::incidents::IncidentRecord>| {
        records.into_iter().map(|r| r.row.external_id).collect::<Vec<_>>()
    };
    let list = |filter: IncidentFilter| {
        let store = store.clone();
        async move { ids(store.list_incidents(&IncidentFilter { limit: 50, ..filter }).await.unwrap()) }
    };
    assert_eq!(list(IncidentFilter::default()).await, ["EXT-6", "EXT-5", "EXT-4", "EXT-3", "EXT-2", "EXT-1", "EXT-0"]);
    assert_eq!(
        list(IncidentFilter { submitter_id: Some("acme".into()), ..Default::default() }).await,
        ["EXT-6", "EXT-4", "EXT-2", "EXT-0"]
    );
    assert_eq!(
        list(IncidentFilter { campaign_id: Some("irs".into()), ..Default::default() }).await,
        ["EXT-2", "EXT-1", "EXT-0"]
    );
    assert_eq!(
        list(IncidentFilter { number_e164: Some("+14155550142".into()), ..Default::default() }).await,
        ["EXT-5"]
    );
    assert_eq!(list(IncidentFilter { number_raw: Some("anonymous".into()), ..Default::default() }).await, ["EXT-6"]);
    assert_eq!(list(IncidentFilter { external_id: Some("EXT-3".into()), ..Default::default() }).await, ["EXT-3"]);
    let window = IncidentFilter {
        since: Some(t0() - SignedDuration::from_hours(4)),
        until: Some(t0() - SignedDuration::from_hours(1)),
        ..Default::default()
    };
    assert_eq!(list(window).await, ["EXT-4", "EXT-3", "EXT-2"], "since inclusive, until exclusive");

    // Pages of three by keyset, with nothing repeated or skipped.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_incidents(&IncidentFilter { before_id: before.clone(), limit: 3, ..Default::default() })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        before = page.last().map(|r| r.row.id.clone());
        seen.extend(ids(page));
    }
    assert_eq!(seen, ["EXT-6", "EXT-5", "EXT-4", "EXT-3", "EXT-2", "EXT-1", "EXT-0"]);
}

#[tokio::test]
async fn recording_metadata_is_set_replaced_and_cleared() {
    let (_db, store) = fresh().await;
    let incident = row("acme", 1, t0());
    store.insert_incidents(std::slice::from_ref(&incident)).await.unwrap();
    let first = RecordingRecord {
        key: format!("incidents/{}/aa", incident.id),
        content_type: "audio/wav".to_owned(),
        sha256: "aa".repeat(32),
        size: 48_000,
        purged_at: None,
    };
    assert_eq!(store.set_incident_recording(&incident.id, Some(&first)).await.unwrap(), None);
    assert_eq!(store.incident(&incident.id).await.unwrap().unwrap().recording.as_ref(), Some(&first));

    let second = RecordingRecord { key: "k2".into(), sha256: "bb".repeat(32), size: 1, ..first.clone() };
    assert_eq!(store.set_incident_recording(&incident.id, Some(&second)).await.unwrap(), Some(first));
    let purged = RecordingRecord { purged_at: Some(t0()), ..second.clone() };
    assert_eq!(store.set_incident_recording(&incident.id, Some(&purged)).await.unwrap(), Some(second));
    assert_eq!(store.incident(&incident.id).await.unwrap().unwrap().recording, Some(purged.clone()));
    assert_eq!(store.set_incident_recording(&incident.id, None).await.unwrap(), Some(purged));
    assert_eq!(store.incident(&incident.id).await.unwrap().unwrap().recording, None);
    assert!(matches!(store.set_incident_recording("no-such-incident", None).await, Err(StoreError::NotFound(_))));
}

#[tokio::test]
async fn copy_for_operators_is_postgres_only() {
    let (db, store) = fresh().await;
    db.execute(&store, "CREATE TABLE copied (a TEXT, b TEXT)").await;
    let data: &[u8] = b"a,b\n\"one, two\",3\n4,\n";
    let copied = store.copy_in_admin("COPY copied (a, b) FROM STDIN (FORMAT csv, HEADER true)", data).await;
    match store.engine_kind() {
        Engine::Postgres => {
            assert_eq!(copied.unwrap(), 2);
            assert_eq!(count(&store, "SELECT COUNT(*) FROM copied WHERE a = 'one, two' AND b = '3'").await, 1);
        }
        Engine::Sqlite => assert!(copied.is_err()),
    }
}

#[tokio::test]
async fn a_used_incident_keeps_the_recordings_a_correction_replaced() {
    let (_db, store) = fresh().await;
    let incident = row("acme", 1, t0());
    store.insert_incidents(std::slice::from_ref(&incident)).await.unwrap();
    let recording = |n: u8| RecordingRecord {
        key: format!("incidents/{}/{n}", incident.id),
        content_type: "audio/wav".to_owned(),
        sha256: format!("{n:02x}").repeat(32),
        size: i64::from(n) * 1000,
        purged_at: None,
    };
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.incident_used_by(&incident.id).await.unwrap(), None);
    tx.mark_incident_used(&incident.id, "tb-1").await.unwrap();
    tx.mark_incident_used(&incident.id, "tb-2").await.unwrap();
    assert_eq!(tx.incident_used_by(&incident.id).await.unwrap().as_deref(), Some("tb-1"), "the first user stays");
    assert_eq!(tx.incident_used_by("no-such-incident").await.unwrap(), None);
    assert_eq!(tx.keep_recording_version(&incident.id, &recording(1), t0()).await.unwrap(), 1);
    assert_eq!(tx.keep_recording_version(&incident.id, &recording(2), ts("2026-03-03T00:00:00Z")).await.unwrap(), 2);
    tx.commit().await.unwrap();
    let versions = store.recording_versions(&incident.id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(versions[0].recording, recording(1));
    assert_eq!(versions[1].recording, recording(2));
    assert_eq!(versions[1].replaced_at, ts("2026-03-03T00:00:00Z"));
    assert!(store.recording_versions("no-such-incident").await.unwrap().is_empty());
}
