//! `tracehop import rmd FILE`: the Robocall Mitigation Database export into the directory, each
//! failed row by line, then exactly `created C, updated U, unchanged N, failed F`.

use std::sync::Arc;

use tracehop_app::{App, Settings, SystemClock};
use tracehop_core::provider::ProviderId;
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
