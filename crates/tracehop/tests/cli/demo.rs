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

    let url = format!("sqlite://{}", dir.join("tracehop.db").display());
    let audit = run(&["audit", "verify", "--database-url", &url]);
    assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stdout));
    server.kill();
    std::fs::remove_dir_all(&dir).ok();
}
