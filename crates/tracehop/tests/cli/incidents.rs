//! `tracehop import incidents FILE`: each failed row by line, then the summary; idempotent;
//! CSV or JSON Lines by name or `--format`; a file it cannot import at all is an error.

use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;

use tracehop_app::{App, Settings, SystemClock};
use tracehop_core::intake::SourceKind;
use tracehop_store::testing::TestDatabase;

use crate::support::{Server, run, staff, tracehop};

const CSV: &str = "external_id,calling,called,call_time,transcript\n\
C-1,(202) 555-0123,312-555-0199,2026-03-01T18:22:05Z,\"Your warranty,\n\
press 1\"\n\
C-2,2025550124,,2026-03-01T18:23:00Z,\n\
C-3,anonymous,3125550199,2026-03-01T18:24:00Z,\n\
C-4,2025550125,3125550199,soon,\n";

fn stdout_lines(output: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn import_incidents_prints_failed_rows_then_the_summary_and_repeats_safely() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let app = App::new(store.clone(), Arc::new(SystemClock), Settings::default());
    app.create_submitter(&staff(), "acme", "Acme Call Analytics", SourceKind::AnalyticsProvider, None).await.unwrap();
    let dir = std::env::temp_dir().join(format!("tracehop-cli-incidents-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("calls.csv");
    std::fs::write(&csv, CSV).unwrap();
    let url = db.url_string();
    let args = ["import", "incidents", csv.to_str().unwrap(), "--submitter", "acme", "--database-url", &url];

    let first = run(&args);
    let lines = stdout_lines(&first);
    assert!(first.status.success(), "{lines:?} {}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(lines.len(), 3, "{lines:?}");
    // C-1's quoted transcript spans lines 2 and 3.
    assert!(lines[0].starts_with("row 4: called: "), "{lines:?}");
    assert!(lines[1].starts_with("row 6: call_time: "), "{lines:?}");
    assert_eq!(lines[2], "accepted 2, duplicates 0, failed 2");
    let stored = store.incident_by_external_id("acme", "C-1").await.unwrap().unwrap().row;
    assert_eq!((stored.calling_raw.as_str(), stored.calling_e164.as_deref()), ("(202) 555-0123", Some("+12025550123")));
    assert_eq!(stored.transcript.as_deref(), Some("Your warranty,\npress 1"));
    let anonymous = store.incident_by_external_id("acme", "C-3").await.unwrap().unwrap().row;
    assert_eq!((anonymous.calling_raw.as_str(), anonymous.calling_e164), ("anonymous", None));

    let again = run(&args);
    assert!(again.status.success());
    assert_eq!(stdout_lines(&again).last().unwrap(), "accepted 0, duplicates 2, failed 2");
    assert_eq!(store.count_incidents(Some("acme")).await.unwrap(), 2);

    // JSON Lines by the file's name, and from standard input with --format.
    let jsonl = dir.join("calls.jsonl");
    std::fs::write(
        &jsonl,
        "{\"external_id\":\"J-1\",\"calling\":\"2025550126\",\"called\":\"3125550199\",\"local_time\":\"2026-03-01T13:22:05\",\"local_zone\":\"America/New_York\"}\n\n{\"external_id\":\"J-2\"}\n",
    )
    .unwrap();
    let lines_of_jsonl =
        run(&["import", "incidents", jsonl.to_str().unwrap(), "--submitter", "acme", "--database-url", &url]);
    let lines = stdout_lines(&lines_of_jsonl);
    assert!(lines_of_jsonl.status.success(), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("row 3: calling: ")), "{lines:?}");
    assert_eq!(lines.last().unwrap(), "accepted 1, duplicates 0, failed 1");
    let from_local = store.incident_by_external_id("acme", "J-1").await.unwrap().unwrap().row;
    assert_eq!(from_local.call_time.to_string(), "2026-03-01T18:22:05Z");

    let mut piped = tracehop()
        .args(["import", "incidents", "-", "--format", "jsonl", "--submitter", "acme", "--database-url", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    piped
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"external_id\":\"P-1\",\"calling\":\"2025550127\",\"called\":\"3125550199\",\"call_time\":\"2026-03-01T18:22:05Z\"}\n")
        .unwrap();
    let piped = piped.wait_with_output().unwrap();
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));
    assert_eq!(stdout_lines(&piped), ["accepted 1, duplicates 0, failed 0"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn files_that_cannot_be_imported_are_errors() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let app = App::new(store.clone(), Arc::new(SystemClock), Settings::default());
    app.create_submitter(&staff(), "acme", "Acme Call Analytics", SourceKind::AnalyticsProvider, None).await.unwrap();
    let dir = std::env::temp_dir().join(format!("tracehop-cli-incidents-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = db.url_string();
    let import = |file: &str, submitter: &str, extra: &[&str]| {
        let mut args = vec!["import", "incidents", file, "--submitter", submitter, "--database-url", &url];
        args.extend_from_slice(extra);
        let output = run(&args);
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };

    let unknown_columns = dir.join("odd.csv");
    std::fs::write(
        &unknown_columns,
        "external_id,calling,called,call_time,colour\nX-1,2025550123,3125550199,2026-03-01T18:22:05Z,red\n",
    )
    .unwrap();
    let (code, stderr) = import(unknown_columns.to_str().unwrap(), "acme", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("unknown columns: colour"), "{stderr}");

    let good = dir.join("good.csv");
    std::fs::write(&good, "external_id,calling,called,call_time\nX-1,2025550123,3125550199,2026-03-01T18:22:05Z\n")
        .unwrap();
    let (code, stderr) = import(good.to_str().unwrap(), "nobody", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no submitter nobody"), "{stderr}");
    let (code, stderr) = import(good.to_str().unwrap(), "acme", &["--format", "xml"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("csv or jsonl"), "{stderr}");
    let (code, stderr) = import(dir.join("missing.csv").to_str().unwrap(), "acme", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("missing.csv"), "{stderr}");
    assert_eq!(store.count_incidents(None).await.unwrap(), 0, "nothing was imported");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn serve_keeps_recordings_in_the_configured_directory() {
    let db = TestDatabase::new().await;
    let store = db.store().await;
    let app = App::new(store.clone(), Arc::new(SystemClock), Settings::default());
    app.create_submitter(&staff(), "acme", "Acme Call Analytics", SourceKind::AnalyticsProvider, None).await.unwrap();
    let url = db.url_string();
    let dir = std::env::temp_dir().join(format!("tracehop-cli-recordings-{}", std::process::id()));
    let recordings = dir.join("recordings");
    let token = run(&[
        "token",
        "create",
        "--database-url",
        &url,
        "--name",
        "intake desk",
        "--staff-role",
        "admin",
        "--scopes",
        "incidents:submit,intake:manage",
    ]);
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let server = Server::start(
        &["serve", "--database-url", &url, "--bind", "127.0.0.1:0"],
        &[
            ("TRACEHOP_RECORDINGS__DIRECTORY", recordings.to_str().unwrap()),
            ("TRACEHOP_RECORDINGS__MAX_BYTES", "1000"),
            ("TRACEHOP_WORKER", "false"),
        ],
    );
    tracehop_app::install_tls_provider();
    let client = reqwest::Client::new();
    let incident = serde_json::json!({"external_id": "R-1", "calling": "2025550123", "called": "3125550199",
                                      "call_time": "2026-03-01T18:22:05Z"});
    let created = client
        .post(format!("{}/api/v1/incidents?submitter=acme", server.base))
        .bearer_auth(&token)
        .json(&incident)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    // The submitter's own systems get a token of their own, and submit for themselves.
    let issue = |submitter: &str| {
        run(&[
            "token",
            "create",
            "--database-url",
            &url,
            "--name",
            "acme systems",
            "--submitter",
            submitter,
            "--scopes",
            "incidents:submit",
        ])
    };
    let refused = issue("nobody");
    assert!(!refused.status.success(), "no submitter nobody");
    let acme = issue("acme");
    assert!(acme.status.success(), "{}", String::from_utf8_lossy(&acme.stderr));
    let acme = String::from_utf8_lossy(&acme.stdout).trim().to_owned();
    let own = serde_json::json!({"external_id": "R-2", "calling": "2025550123", "called": "3125550199",
                                 "call_time": "2026-03-01T18:22:05Z"});
    let submitted =
        client.post(format!("{}/api/v1/incidents", server.base)).bearer_auth(&acme).json(&own).send().await.unwrap();
    assert_eq!(submitted.status().as_u16(), 201);
    assert_eq!(submitted.json::<serde_json::Value>().await.unwrap()["submitter_id"], "acme");
    let put = |body: Vec<u8>| {
        client
            .put(format!("{}/api/v1/incidents/{id}/recording", server.base))
            .bearer_auth(&token)
            .header("content-type", "audio/wav")
            .body(body)
            .send()
    };
    // The configured limit holds.
    assert_eq!(put(vec![7; 1001]).await.unwrap().status().as_u16(), 413);
    let stored = put(vec![7; 1000]).await.unwrap();
    assert_eq!(stored.status().as_u16(), 200);
    let sha256 = stored.json::<serde_json::Value>().await.unwrap()["recording"]["sha256"].as_str().unwrap().to_owned();
    let file = recordings.join("incidents").join(&id).join(&sha256);
    assert_eq!(std::fs::read(&file).unwrap(), vec![7; 1000], "in the configured directory");
    let download = client
        .get(format!("{}/api/v1/incidents/{id}/recording", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), vec![7; 1000].as_slice());
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}
