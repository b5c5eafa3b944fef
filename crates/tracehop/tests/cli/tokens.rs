//! `tracehop token create`: the operator's tool, with no issuing token above it.

use jiff::SignedDuration;
use tracehop_store::testing::TestDatabase;

use crate::support::{add_provider, app_with_deadline, run};

#[tokio::test]
async fn the_operator_issues_any_token_and_it_records_the_operator() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let app = app_with_deadline(&store, SignedDuration::from_hours(24));
    add_provider(&app, "cli-token-t").await;
    let url = db.url_string();
    let create = |owner: &[&str], scopes: &str| {
        let mut args = vec!["token", "create", "--database-url", &url, "--name", "issued at the console"];
        args.extend_from_slice(owner);
        args.extend_from_slice(&["--scopes", scopes, "--expires-in-days", "30"]);
        let output = run(&args);
        let printed = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        assert!(output.status.success(), "{printed} {}", String::from_utf8_lossy(&output.stderr));
        printed
    };
    let admin = create(&["--staff-role", "admin"], "tokens:manage,hops:read,hops:answer,tracebacks:read");
    let provider = create(&["--provider", "cli-token-t"], "hops:read,hops:answer,tokens:manage");
    for token in [&admin, &provider] {
        let prefix = token.rsplit_once('_').unwrap().0;
        let record = store.token_by_prefix(prefix).await.unwrap().expect("stored");
        assert_eq!(record.created_by, "operator-cli");
        assert_eq!(record.issued_by, None, "no token issued it");
        assert_eq!(record.minted_by_staff.as_deref(), Some("operator-cli"));
    }
    let refused = run(&[
        "token",
        "create",
        "--database-url",
        &url,
        "--name",
        "n",
        "--provider",
        "cli-token-t",
        "--scopes",
        "tracebacks:read",
    ]);
    assert!(!refused.status.success());
}
