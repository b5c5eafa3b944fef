//! `tracehop demo` builds its world and serves it.

use crate::support::{Server, http_get, run};

#[tokio::test]
async fn the_demo_serves_and_its_log_verifies() {
    let dir = std::env::temp_dir().join(format!("tracehop-demo-test-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let dir_text = dir.to_str().unwrap().to_owned();
    let server = Server::start(&["demo", "--dir", &dir_text, "--port", "0"], &[]);

    let health = http_get(&format!("{}/healthz", server.base)).await;
    assert_eq!(health.status(), 200);
    let ready = http_get(&format!("{}/readyz", server.base)).await;
    assert_eq!(ready.status(), 200);
    let metrics = http_get(&format!("{}/metrics", server.base)).await.text().await.unwrap();
    for status in ["open", "needs_review", "closed"] {
        assert!(
            metrics.contains(&format!("tracehop_tracebacks{{state=\"{status}\"}}")),
            "{status} missing from {metrics}"
        );
    }
    let accounts = std::fs::read_to_string(dir.join("accounts.txt")).unwrap();
    assert!(accounts.contains("admin") && accounts.contains("provider bigwire"), "{accounts}");

    // The world was built through the intake services: vetted candidates started the tracebacks,
    // some wait in the queue or were rejected, and campaigns count their tracebacks.
    let staff_token = accounts
        .lines()
        .find_map(|line| line.trim().strip_prefix("token staff"))
        .map(str::trim)
        .expect("a staff token in accounts.txt")
        .to_owned();
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", server.base)).bearer_auth(&staff_token).send();
    let candidates: serde_json::Value = get("/api/v1/candidates?limit=200").await.unwrap().json().await.unwrap();
    let statuses: Vec<&str> =
        candidates["items"].as_array().unwrap().iter().filter_map(|c| c["status"].as_str()).collect();
    let count = |status: &str| statuses.iter().filter(|s| **s == status).count();
    let tracebacks: serde_json::Value = get("/api/v1/tracebacks?limit=200").await.unwrap().json().await.unwrap();
    assert_eq!(count("started"), tracebacks["items"].as_array().unwrap().len(), "{candidates}");
    assert!(count("pending") >= 1 && count("rejected") >= 1, "{statuses:?}");
    let campaigns: serde_json::Value = get("/api/v1/campaigns").await.unwrap().json().await.unwrap();
    let counted: i64 = campaigns
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["traceback_counts"].as_object().unwrap().values())
        .flat_map(|by_status| by_status.as_object().unwrap().values())
        .filter_map(serde_json::Value::as_i64)
        .sum();
    assert_eq!(usize::try_from(counted).unwrap(), count("started"), "every traceback is in a campaign");
    // Demo campaigns have ids an incident file can name.
    let medicare: serde_json::Value =
        get("/api/v1/campaigns/medicare-card-renewal").await.unwrap().json().await.unwrap();
    assert_eq!(medicare["name"], "Medicare card renewal", "{medicare}");
    let foreign: serde_json::Value =
        get("/api/v1/tracebacks?category=foreign_law_enforcement").await.unwrap().json().await.unwrap();
    assert!(!foreign["items"].as_array().unwrap().is_empty(), "a foreign law-enforcement request");

    let url = format!("sqlite://{}", dir.join("tracehop.db").display());
    let audit = run(&["audit", "verify", "--database-url", &url]);
    assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stdout));
    server.kill();
    std::fs::remove_dir_all(&dir).ok();
}
