//! `tracehop import rmd FILE`: the Robocall Mitigation Database export into the directory, each
//! failed row by line, then exactly `created C, updated U, unchanged N, failed F`.

use std::sync::Arc;

use tracehop_app::access::principal::StaffRole;
use tracehop_app::{App, Principal, Settings, SystemClock};
use tracehop_core::provider::ProviderId;
use tracehop_store::affiliations::{SuggestionFilter, SuggestionStatus};
use tracehop_store::providers::IdentifierKind;
use tracehop_store::testing::TestDatabase;

use crate::support::run;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/rmd/rmd-sample.csv");

fn stdout_lines(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn the_sample_export_imports_then_reimports_unchanged() {
    let db = TestDatabase::new().await;
    let url = db.url_string();
    let args = ["import", "rmd", SAMPLE, "--database-url", &url];

    let first = run(&args);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let lines = stdout_lines(&first);
    assert_eq!(lines.last().map(String::as_str), Some("created 6, updated 1, unchanged 0, failed 4"), "{lines:?}");
    let failed: Vec<&str> = lines.iter().filter(|l| !l.contains("note:")).filter_map(|l| l.split(':').next()).collect();
    assert_eq!(failed[..4], ["line 8", "line 10", "line 12", "line 13"], "{lines:?}");

    let again = run(&args);
    assert!(again.status.success());
    assert_eq!(stdout_lines(&again).last().map(String::as_str), Some("created 0, updated 0, unchanged 7, failed 4"));

    // What went in: the directory knows the providers by RMD number and FRN, with RMD's foreign
    // flag, and their filed contact.
    let app = App::new(db.store().await, Arc::new(SystemClock), Settings::default());
    let store = app.store();
    let mut tx = store.begin().await.unwrap();
    let by_rmd = tx.provider_by_identifier(tracehop_store::providers::IdentifierKind::Rmd, "RMD0009003").await.unwrap();
    let by_frn = tx.provider_by_identifier(tracehop_store::providers::IdentifierKind::Frn, "31000005").await.unwrap();
    tx.rollback().await.unwrap();
    let lumen: ProviderId = by_rmd.expect("RMD0009003 is in the directory");
    assert_eq!(by_frn.as_ref(), Some(&lumen));
    let record = store.provider(&lumen).await.unwrap().unwrap();
    assert_eq!((record.foreign, record.foreign_source.name()), (true, "rmd"));
    let contacts = store.contacts(&lumen).await.unwrap();
    assert!(contacts.iter().any(|c| c.name.contains("Weiß")), "{contacts:?}");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let output = run(&["import", "rmd", "/nonexistent/rmd.csv", "--database-url", "sqlite::memory:"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/rmd.csv"));
}

const PATTERNS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/rmd/rmd-patterns.csv");

fn pid(id: &str) -> ProviderId {
    ProviderId::new(id).unwrap()
}

async fn holder(store: &tracehop_store::Store, kind: IdentifierKind, value: &str) -> Option<ProviderId> {
    let mut tx = store.begin().await.unwrap();
    let found = tx.provider_by_identifier(kind, value).await.unwrap();
    tx.rollback().await.unwrap();
    found
}

async fn suggestions(app: &App) -> Vec<(String, String, String, &'static str)> {
    let filter = SuggestionFilter { limit: 100, ..SuggestionFilter::default() };
    let staff = Principal::Staff { user: "analyst-1".into(), role: StaffRole::Analyst, minted_by: None };
    let mut pairs: Vec<_> = app
        .affiliation_suggestions(&staff, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.provider_a.to_string(), s.provider_b.to_string(), s.frn, s.status.name()))
        .collect();
    pairs.sort();
    pairs
}

/// Affiliates naming each other's FRNs (both ways, older and newer filings), space- and
/// slash-separated FRNs, free text, DBAs with commas, blank foreign flags, two filings with one
/// FRN, and unterminated quotes mid-file and on the last line but one.
#[tokio::test]
async fn each_filing_is_its_own_provider_and_shared_frns_become_suggestions() {
    let db = TestDatabase::new().await;
    let url = db.url_string();
    let args = ["import", "rmd", PATTERNS, "--database-url", &url];

    let first = run(&args);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let lines = stdout_lines(&first);
    // 11 physical data lines: 8 filings go in, lines 7 and 11 open quotes that never close,
    // line 9's foreign flag is "Maybe".
    assert_eq!(lines.last().map(String::as_str), Some("created 8, updated 0, unchanged 0, failed 3"), "{lines:?}");
    let failed: Vec<&str> = lines.iter().filter(|l| !l.contains("note:")).filter_map(|l| l.split(':').next()).collect();
    assert_eq!(failed[..3], ["line 7", "line 9", "line 11"], "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("line 7: unterminated quote")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("line 4: note: other_frns: \"see list in attached RMP\"")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("line 5: note: other_frns: \"(No FRN)\"")), "{lines:?}");

    let again = run(&args);
    assert!(again.status.success());
    assert_eq!(stdout_lines(&again).last().map(String::as_str), Some("created 0, updated 0, unchanged 8, failed 3"));

    let app = App::new(db.store().await, Arc::new(SystemClock), Settings::default());
    let store = app.store();
    // One provider per filing, each holding its own main FRN, whatever order they came in.
    let providers = store.list_providers().await.unwrap();
    let ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "rmd0100001",
            "rmd0100002",
            "rmd0100003",
            "rmd0100004",
            "rmd0100005",
            "rmd0100007",
            "rmd0100009",
            "rmd0100011"
        ]
    );
    for (frn, owner) in [
        ("0031100001", "rmd0100001"),
        ("31100002", "rmd0100002"),
        ("0031100003", "rmd0100003"),
        ("0031100004", "rmd0100004"),
        ("31100009", "rmd0100009"),
    ] {
        assert_eq!(holder(store, IdentifierKind::Frn, frn).await, Some(pid(owner)), "{frn}");
    }
    assert_eq!(holder(store, IdentifierKind::Rmd, "RMD0100007").await, Some(pid("rmd0100007")));
    let ohio = store.provider(&pid("rmd0100002")).await.unwrap().unwrap();
    assert_eq!(ohio.name, "Northwind of Ohio, LLC");
    // Blank foreign flags follow the country.
    let solo = store.provider(&pid("rmd0100004")).await.unwrap().unwrap();
    assert_eq!((solo.foreign, solo.foreign_source.name()), (false, "country"));
    assert_eq!(solo.details["rmd"]["other_dba_names"], serde_json::json!(["AtLink Services, LLC"]));
    let maple = store.provider(&pid("rmd0100005")).await.unwrap().unwrap();
    assert_eq!((maple.foreign, maple.foreign_source.name()), (true, "country"));
    let parent = store.provider(&pid("rmd0100001")).await.unwrap().unwrap();
    assert_eq!(parent.details["rmd"]["other_frns"], serde_json::json!(["0031100002", "0031100003"]));
    assert_eq!(parent.details["rmd"]["other_dba_names"], serde_json::json!(["Northwind Voice, LLC", "NW Tel, Inc."]));

    let expected = vec![
        ("rmd0100001".to_owned(), "rmd0100002".to_owned(), "0031100002".to_owned(), "open"),
        ("rmd0100001".to_owned(), "rmd0100003".to_owned(), "0031100003".to_owned(), "open"),
        ("rmd0100001".to_owned(), "rmd0100009".to_owned(), "0031100001".to_owned(), "open"),
        ("rmd0100002".to_owned(), "rmd0100009".to_owned(), "0031100002".to_owned(), "open"),
        ("rmd0100004".to_owned(), "rmd0100007".to_owned(), "0031100004".to_owned(), "open"),
    ];
    assert_eq!(suggestions(&app).await, expected);

    // Staff confirm one (one VSP entity), dismiss another, and link two providers themselves.
    let staff = Principal::Staff { user: "analyst-1".into(), role: StaffRole::Analyst, minted_by: None };
    let all = app
        .affiliation_suggestions(&staff, &SuggestionFilter { limit: 100, ..SuggestionFilter::default() })
        .await
        .unwrap();
    let id_of =
        |a: &str, b: &str| all.iter().find(|s| s.provider_a.as_str() == a && s.provider_b.as_str() == b).unwrap().id;
    app.decide_affiliation(&staff, id_of("rmd0100001", "rmd0100002"), SuggestionStatus::Confirmed, None).await.unwrap();
    let no_reason =
        app.decide_affiliation(&staff, id_of("rmd0100004", "rmd0100007"), SuggestionStatus::Dismissed, None);
    assert!(no_reason.await.is_err(), "dismissing needs a reason");
    app.decide_affiliation(
        &staff,
        id_of("rmd0100004", "rmd0100007"),
        SuggestionStatus::Dismissed,
        Some("different owners; the FRN was mistyped".into()),
    )
    .await
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.add_affiliate(&pid("rmd0100009"), &pid("rmd0100011")).await.unwrap();
    tx.recompute_entities().await.unwrap();
    tx.commit().await.unwrap();

    let third = run(&args);
    assert_eq!(stdout_lines(&third).last().map(String::as_str), Some("created 0, updated 0, unchanged 8, failed 3"));
    let mut after = expected.clone();
    after[0].3 = "confirmed";
    after[4].3 = "dismissed";
    assert_eq!(suggestions(&app).await, after, "a decided pair is never suggested again");
    let entity = |id: &str| {
        let id = pid(id);
        async move { store.provider(&id).await.unwrap().unwrap().entity_id }
    };
    assert_eq!(entity("rmd0100001").await, entity("rmd0100002").await, "confirmed: one VSP entity");
    assert_eq!(entity("rmd0100009").await, entity("rmd0100011").await, "a staff-made link stays");
    assert_ne!(entity("rmd0100004").await, entity("rmd0100007").await);
    assert_eq!(store.affiliates(&pid("rmd0100001")).await.unwrap(), [pid("rmd0100002")]);
}

/// The children's filings first, then the parent naming their FRNs: the same directory.
#[tokio::test]
async fn affiliates_in_the_other_order_give_the_same_directory() {
    let text = std::fs::read_to_string(PATTERNS).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let reordered = [lines[0], lines[2], lines[3], lines[1], lines[9]].join("\n");
    let file = std::env::temp_dir().join(format!("tracehop-rmd-reordered-{}.csv", std::process::id()));
    std::fs::write(&file, reordered).unwrap();
    let db = TestDatabase::new().await;
    let url = db.url_string();
    let args = ["import", "rmd", file.to_str().unwrap(), "--database-url", &url];
    let first = run(&args);
    assert_eq!(stdout_lines(&first).last().map(String::as_str), Some("created 4, updated 0, unchanged 0, failed 0"));
    let again = run(&args);
    assert_eq!(stdout_lines(&again).last().map(String::as_str), Some("created 0, updated 0, unchanged 4, failed 0"));
    std::fs::remove_file(&file).unwrap();

    let app = App::new(db.store().await, Arc::new(SystemClock), Settings::default());
    for (frn, owner) in [("0031100001", "rmd0100001"), ("0031100002", "rmd0100002"), ("0031100003", "rmd0100003")] {
        assert_eq!(holder(app.store(), IdentifierKind::Frn, frn).await, Some(pid(owner)), "{frn}");
    }
    let pairs: Vec<(String, String)> = suggestions(&app).await.into_iter().map(|(a, b, _, _)| (a, b)).collect();
    let expected: Vec<(String, String)> = [
        ("rmd0100001", "rmd0100002"),
        ("rmd0100001", "rmd0100003"),
        ("rmd0100001", "rmd0100009"),
        ("rmd0100002", "rmd0100009"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(pairs, expected);
}
