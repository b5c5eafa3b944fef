//! The Do Not Originate registry's tables, the same on both engines: entries own their
//! numbers exclusively, the listing holds active entries only, versions are unique, registry
//! users are one per provider or submitter, downloads filter by user.

use tracehop_store::StoreError;
use tracehop_store::dno::{DnoEntryRecord, DnoVersionFiles, DnoVersionRecord, ListedNumber};
use tracehop_store::dno_users::{DnoDownloadRecord, DnoUserRecord};

use crate::support::{fresh, minutes, t0};

fn entry(id: &str, numbers: &[i64], government: bool, status: &str) -> DnoEntryRecord {
    DnoEntryRecord {
        id: id.to_owned(),
        recipient_name: format!("recipient {id}"),
        numbers: numbers.to_vec(),
        authorised_on: "2026-02-20".to_owned(),
        government_issued: government,
        volume: 42,
        status: status.to_owned(),
        implementations: r#"[{"member":"steering-one","implemented_on":"2026-02-27"}]"#.to_owned(),
        last_confirmed_on: None,
        created_by: "staff".to_owned(),
        created_at: t0(),
        updated_at: t0(),
    }
}

#[tokio::test]
async fn entries_and_the_listing() {
    let (_db, store) = fresh().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_dno_entry(&entry("a", &[2_025_550_140, 2_025_550_141], true, "active")).await.unwrap();
    tx.insert_dno_entry(&entry("b", &[2_025_550_150], false, "active")).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let taken = tx.insert_dno_entry(&entry("c", &[2_025_550_160, 2_025_550_141], false, "active")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    drop(tx);
    assert!(store.dno_entry("c").await.unwrap().is_none(), "the refused entry is not half-written");

    let mut b = store.dno_entry("b").await.unwrap().unwrap();
    assert_eq!(b, entry("b", &[2_025_550_150], false, "active"));
    b.status = "removal".to_owned();
    b.numbers = vec![2_025_550_151, 2_025_550_150];
    b.updated_at = t0() + minutes(5);
    let mut tx = store.begin().await.unwrap();
    tx.update_dno_entry(&b).await.unwrap();
    let missing = tx.update_dno_entry(&entry("zz", &[1], false, "active")).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));
    tx.commit().await.unwrap();

    let listing = store.dno_listing().await.unwrap();
    assert_eq!(
        listing,
        vec![
            ListedNumber { number: 2_025_550_140, government_issued: true, volume: 42 },
            ListedNumber { number: 2_025_550_141, government_issued: true, volume: 42 },
        ]
    );
    let all = store.list_dno_entries().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].numbers, vec![2_025_550_150, 2_025_550_151]);
    assert_eq!(all[1].status, "removal");
}

#[tokio::test]
async fn versions_are_numbered_once() {
    let (_db, store) = fresh().await;
    assert!(store.dno_version_files(None).await.unwrap().is_none());
    let files = |version: i64, delta: bool| DnoVersionFiles {
        record: DnoVersionRecord {
            version,
            published_at: t0() + minutes(version),
            published_by: "staff".to_owned(),
            numbers: 3,
            added: 1,
            removed: 0,
        },
        snapshot_csv: b"csv".to_vec(),
        snapshot_bin: vec![0, 1, 2, 255],
        delta_csv: delta.then(|| b"delta".to_vec()),
        delta_bin: delta.then(|| vec![9]),
    };
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.latest_dno_version_number().await.unwrap(), 0);
    tx.insert_dno_version(&files(1, false)).await.unwrap();
    tx.insert_dno_version(&files(2, true)).await.unwrap();
    assert_eq!(tx.latest_dno_version_number().await.unwrap(), 2);
    assert!(matches!(tx.insert_dno_version(&files(2, true)).await, Err(StoreError::Conflict(_))));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    tx.insert_dno_version(&files(1, false)).await.unwrap();
    tx.insert_dno_version(&files(2, true)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.dno_version_files(None).await.unwrap(), Some(files(2, true)));
    assert_eq!(store.dno_version_files(Some(1)).await.unwrap(), Some(files(1, false)));
    assert!(store.dno_version_files(Some(3)).await.unwrap().is_none());
    let versions: Vec<i64> = store.list_dno_versions().await.unwrap().iter().map(|v| v.version).collect();
    assert_eq!(versions, vec![2, 1]);
}

fn user(id: &str, provider: Option<&str>, submitter: Option<&str>) -> DnoUserRecord {
    DnoUserRecord {
        id: id.to_owned(),
        provider_id: provider.map(str::to_owned),
        submitter_id: submitter.map(str::to_owned),
        eligibility: "us_provider".to_owned(),
        terms_version: Some("1".to_owned()),
        subscription_active: true,
        usage_start: Some("2026-03-01".to_owned()),
        status: "active".to_owned(),
        lapsed_at: None,
        deletion_attested_at: None,
        deletion_attested_by: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

#[tokio::test]
async fn registry_users_and_downloads() {
    let (_db, store) = fresh().await;
    let mut tx = store.begin().await.unwrap();
    tx.save_dno_user(&user("u1", Some("p1"), None)).await.unwrap();
    tx.save_dno_user(&user("u2", None, Some("s1"))).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.save_dno_user(&user("u3", Some("p1"), None)).await, Err(StoreError::Conflict(_))));
    drop(tx);

    let mut lapsed = user("u1", Some("p1"), None);
    lapsed.status = "lapsed".to_owned();
    lapsed.lapsed_at = Some(t0() + minutes(1));
    lapsed.deletion_attested_at = Some(t0() + minutes(2));
    lapsed.deletion_attested_by = Some("p1-user".to_owned());
    let mut tx = store.begin().await.unwrap();
    tx.save_dno_user(&lapsed).await.unwrap();
    for (i, who) in [(1, Some("u1")), (2, Some("u2")), (3, None)] {
        tx.log_dno_download(&DnoDownloadRecord {
            id: format!("d{i}"),
            user_id: who.map(str::to_owned),
            actor: "someone".to_owned(),
            version: 1,
            kind: "snapshot".to_owned(),
            format: "csv".to_owned(),
            at: t0() + minutes(i),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    assert_eq!(store.dno_user("u1").await.unwrap(), Some(lapsed));
    assert_eq!(store.dno_user_for(None, Some("s1")).await.unwrap().map(|u| u.id), Some("u2".to_owned()));
    assert_eq!(store.dno_user_for(Some("p9"), None).await.unwrap(), None);
    assert_eq!(store.list_dno_users().await.unwrap().len(), 2);
    let ids = |rows: Vec<DnoDownloadRecord>| rows.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_dno_downloads(None).await.unwrap()), vec!["d3", "d2", "d1"]);
    assert_eq!(ids(store.list_dno_downloads(Some("u2")).await.unwrap()), vec!["d2"]);
}
