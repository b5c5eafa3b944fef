//! Migrations: applied once, idempotent, safe when several processes start together.

use tracehop_store::testing::TestDatabase;
use tracehop_store::{ConnectOptions, Store};

use crate::support::{count, t0};

fn options() -> ConnectOptions {
    ConnectOptions { max_connections: 3, sqlite_full_sync: false }
}

#[tokio::test]
async fn migrating_twice_applies_nothing_the_second_time() {
    let db = TestDatabase::new().await;
    let store = Store::connect(&db.url, &options()).await.unwrap();
    assert_eq!(
        store.migrate().await.unwrap(),
        tracehop_store::migration_versions(),
        "a fresh database gets every migration"
    );
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    store.close().await;

    // Opening again (as every process start does) migrates nothing and keeps the data.
    let store = Store::open(&db.url, &options()).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_counter("traceback").await.unwrap(), 1);
    tx.commit().await.unwrap();
    store.close().await;

    let store = Store::open(&db.url, &options()).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM schema_migrations").await,
        i64::try_from(tracehop_store::migration_versions().len()).unwrap()
    );
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_counter("traceback").await.unwrap(), 2, "data survives reopening");
    tx.commit().await.unwrap();
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrators_both_succeed_and_apply_once() {
    // Several rounds, each on a fresh database: the race is at the very first statements.
    for round in 0..3 {
        let db = TestDatabase::new().await;
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(Store::connect(&db.url, &options()).await.unwrap());
        }
        let tasks: Vec<_> = stores
            .iter()
            .map(|store| {
                let store = store.clone();
                tokio::spawn(async move { store.migrate().await })
            })
            .collect();
        let mut applied = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(versions) => applied.extend(versions),
                Err(error) => panic!("round {round}: a concurrent migrate failed: {error}"),
            }
        }
        // Different migrators may apply different versions; each exactly once.
        applied.sort_unstable();
        assert_eq!(
            applied,
            tracehop_store::migration_versions(),
            "round {round}: exactly one migrator applies each version"
        );
        assert_eq!(
            count(&stores[0], "SELECT COUNT(*) FROM schema_migrations").await,
            i64::try_from(tracehop_store::migration_versions().len()).unwrap()
        );

        // Every handle works on the migrated schema.
        for store in &stores {
            let mut tx = store.begin().await.unwrap();
            tx.next_counter("migrated").await.unwrap();
            tx.commit().await.unwrap();
            assert!(store.job_counts(t0()).await.is_ok());
        }
        assert_eq!(count(&stores[1], "SELECT value FROM counters WHERE name = 'migrated'").await, 4);
        for store in &stores {
            store.close().await;
        }
    }
}
