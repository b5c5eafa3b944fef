//! `tracehop demo` builds its world and serves it.

use crate::support::{Server, http_get, run};

#[tokio::test]
async fn the_demo_serves_and_its_log_verifies() {
    let dir = std::env::temp_dir().join(format!("tracehop-demo-test-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let dir_text = dir.to_str().unwrap().to_owned();
    let server = Server::start(&["demo", "--dir", &dir_text, "--port", "0", "--metrics-port", "0"], &[]);

    let health = http_get(&format!("{}/healthz", server.base)).await;
    assert_eq!(health.status(), 200);
    let ready = http_get(&format!("{}/readyz", server.base)).await;
    assert_eq!(ready.status(), 200);
    // Metrics are served on their own loopback address, not on the API's port.
    assert_eq!(http_get(&format!("{}/metrics", server.base)).await.status(), 404);
    let metrics_base = server.printed_origin("metrics");
    assert_ne!(metrics_base, server.base);
    let metrics = http_get(&format!("{metrics_base}/metrics")).await.text().await.unwrap();
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

#[tokio::test]
async fn serve_puts_metrics_on_their_own_address_and_not_on_the_api_port() {
    let db = tracehop_store::testing::TestDatabase::new().await;
    let url = db.url_string();
    let server = Server::start(&["serve", "--database-url", &url, "--bind", "127.0.0.1:0"], &[]);
    let metrics_base = server.printed_origin("metrics");
    assert!(metrics_base.starts_with("http://127.0.0.1:"), "{metrics_base}");
    assert_ne!(metrics_base, server.base);
    assert_eq!(http_get(&format!("{}/metrics", server.base)).await.status(), 404);
    let metrics = http_get(&format!("{metrics_base}/metrics")).await;
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("tracehop_jobs"));
    assert_eq!(http_get(&format!("{metrics_base}/api/v1/me")).await.status(), 404, "only metrics there");
}
