//! Incident data through the real server (INC-1..3): single submissions, CSV and JSON Lines
//! imports read as they arrive, with per-row errors by line and nothing accepted lost;
//! idempotency by (submitter, external id); recordings with a size limit, a type and SHA-256;
//! and who may do what.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracehop_app::access::principal::StaffRole;
use tracehop_app::access::tokens::{NewToken, Scope, TokenOwner};
use tracehop_app::intake::recordings::{Recordings, RecordingsConfig};
use tracehop_app::{AppError, Principal, Settings};
use tracehop_core::intake::SourceKind;
use tracehop_web::testing::TestApp;

use crate::support::{MONDAY_10AM_NY, at, expect_invalid, expect_json, expect_problem};

struct Setup {
    t: TestApp,
    /// intake:manage and incidents:submit.
    staff: String,
    /// The submitter `acme`, with incidents:submit.
    acme: String,
    /// The submitter `globex`, with incidents:submit.
    globex: String,
}

fn operator() -> Principal {
    Principal::Staff { user: "test-operator".to_owned(), role: StaffRole::Admin, minted_by: None }
}

async fn submitter_token(t: &TestApp, submitter: &str, scopes: &[Scope]) -> String {
    let new = NewToken {
        name: format!("{submitter} systems"),
        owner: TokenOwner::Submitter(submitter.to_owned()),
        scopes: scopes.iter().copied().collect(),
        expires_at: None,
        rate_limit_per_minute: Some(100_000),
    };
    t.app.issue_token(&operator(), None, new).await.unwrap().token
}

async fn setup() -> Setup {
    setup_on(TestApp::start(at(MONDAY_10AM_NY)).await).await
}

async fn setup_on(t: TestApp) -> Setup {
    for (id, name) in [("acme", "Acme Call Analytics"), ("globex", "Globex Robocall Labs")] {
        t.app.create_submitter(&operator(), id, name, SourceKind::AnalyticsProvider, None).await.unwrap();
    }
    let acme = submitter_token(&t, "acme", &[Scope::IncidentsSubmit]).await;
    let globex = submitter_token(&t, "globex", &[Scope::IncidentsSubmit]).await;
    let staff = t.staff_token(&[Scope::IntakeManage, Scope::IncidentsSubmit]).await;
    Setup { t, staff, acme, globex }
}

/// A request with a body that is not JSON (an upload).
async fn upload(
    t: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    t.http
        .request(method, t.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn import(
    t: &TestApp,
    token: &str,
    query: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    upload(t, reqwest::Method::POST, &format!("/api/v1/incidents/import{query}"), token, content_type, body).await
}

/// A submitter's incidents as staff list them, by external id.
async fn incidents_of(t: &TestApp, staff: &str, submitter: &str) -> HashMap<String, Value> {
    let page =
        expect_json(t.get(staff, &format!("/api/v1/incidents?submitter={submitter}&limit=200")).await, 200).await;
    assert!(page.get("next_cursor").is_none(), "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["external_id"].as_str().unwrap().to_owned(), i.clone()))
        .collect()
}

fn errors(summary: &Value) -> Vec<(u64, String)> {
    summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
            (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap().to_owned())
        })
        .collect()
}

const CSV: &str = "external_id,calling,called,call_time,sip_anomalies,call_volume,cdr,transcript\n\
A-1,(202) 555-0123,312-555-0199,2026-03-01T18:22:05Z,PAI missing;From not E.164,12,\"{\"\"duration_s\"\":31}\",\"Press 1\n\
to speak to an agent\"\n\
A-2,anonymous,+1 415 555 0142,2026-03-01T18:23:00Z,,,,\n\
A-3,(202) 555-0123,,2026-03-01T18:24:00Z,,,,\n\
A-4,2025550123,3125550199,not a time,,-4,,\n\
A-5,2025550123,3125550199,2026-03-01T18:25:00Z,,,plain text cdr,\n\
A-6,2025550123,3125550199,2026-03-01T18:25:00Z,,,,,one too many\n";

#[tokio::test]
async fn a_csv_import_keeps_the_good_rows_and_names_the_bad_ones_by_line() {
    let Setup { t, staff, acme, .. } = setup().await;
    let summary = expect_json(import(&t, &acme, "", "text/csv", CSV).await, 200).await;
    assert_eq!(
        (summary["accepted"].as_u64(), summary["duplicates"].as_u64(), summary["failed"].as_u64()),
        (Some(3), Some(0), Some(3)),
        "{summary}"
    );
    // A-1's quoted transcript spans lines 2 and 3, so A-3 is on line 5.
    assert_eq!(
        errors(&summary),
        [(5, "called".into()), (6, "call_time".into()), (6, "call_volume".into()), (8, "record".into())]
    );
    assert_eq!(summary["errors_not_listed"], 0);
    assert_eq!(summary["interrupted"], Value::Null);

    let stored = incidents_of(&t, &staff, "acme").await;
    assert_eq!(stored.len(), 3, "{stored:?}");
    let first = &stored["A-1"];
    assert_eq!(first["submitter_id"], "acme");
    assert_eq!(first["calling"], json!({"raw": "(202) 555-0123", "e164": "+12025550123"}));
    assert_eq!(first["called"], json!({"raw": "312-555-0199", "e164": "+13125550199"}));
    assert_eq!(first["call_time"], "2026-03-01T18:22:05Z");
    assert_eq!(first["sip_anomalies"], json!(["PAI missing", "From not E.164"]));
    assert_eq!(first["call_volume"], 12);
    assert_eq!(first["cdr"], json!({"duration_s": 31}));
    assert_eq!(first["transcript"], "Press 1\nto speak to an agent");
    assert_eq!(first["recording"], Value::Null);
    assert_eq!(first["created_at"], MONDAY_10AM_NY);
    // A number that does not parse is kept as presented.
    assert_eq!(stored["A-2"]["calling"], json!({"raw": "anonymous", "e164": null}));
    assert_eq!(stored["A-2"]["called"]["e164"], "+14155550142");
    assert_eq!(stored["A-5"]["cdr"], "plain text cdr");

    // Staff read one by id; so does its submitter.
    let id = first["id"].as_str().unwrap();
    assert_eq!(&expect_json(t.get(&staff, &format!("/api/v1/incidents/{id}")).await, 200).await, first);
    assert_eq!(&expect_json(t.get(&acme, &format!("/api/v1/incidents/{id}")).await, 200).await, first);
}

#[tokio::test]
async fn a_json_lines_import_reports_lines_unknown_fields_and_reads_identity_headers() {
    let Setup { t, staff, acme, .. } = setup().await;
    let passport = "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUvc3AucGVtIn0\
.eyJhdHRlc3QiOiJBIiwiZGVzdCI6eyJ0biI6WyIxMzEyNTU1MDE5OSJdfSwiaWF0IjoxNzcyMzg5MzI1LCJvcmlnIjp7InRuIjoiMTIwMjU1NTAxMjMifSwib3JpZ2lkIjoiMTIzZTQ1NjcifQ\
.c2lnbmF0dXJl;info=<https://cert.example/sp.pem>;alg=ES256;ppt=shaken";
    let lines = [
        json!({"external_id": "J-1", "calling": "+12025550123", "called": "(312) 555-0199",
               "local_time": "2026-03-01T13:22:05", "local_zone": "America/New_York",
               "identity_header": passport, "sip_anomalies": ["Diversion header present"],
               "cdr": {"trunk": "T9", "duration_s": 12}, "originating_ip": "2001:db8::10",
               "originating_point_code": "245-016-000", "sip_call_id": "a84b4c76e66710@pc33.example",
               "basis": "Consumer complaints about IRS impersonation", "campaign_id": "irs-2026"})
        .to_string(),
        String::new(),
        json!({"external_id": "J-2", "calling": "2025550123", "called": "3125550199",
               "call_time": "2026-03-01T18:22:05Z", "colour": "red"})
        .to_string(),
        "not json".to_owned(),
        json!({"external_id": 3, "calling": "2025550123", "called": "3125550199",
               "call_time": "2026-03-01T18:22:05Z", "call_volume": "7", "identity_header": "garbage"})
        .to_string(),
        "[1, 2]".to_owned(),
        json!({"external_id": "J-7", "calling": "2025550123", "called": "3125550199",
               "call_time": "2026-03-01T18:22:05Z", "campaign_id": "irs-2025"})
        .to_string(),
    ];
    let campaign = json!({"id": "irs-2026", "name": "IRS impersonation 2026"});
    expect_json(t.post(&staff, "/api/v1/campaigns", &campaign).await, 201).await;
    expect_problem(t.post(&staff, "/api/v1/campaigns", &campaign).await, 409, "conflict").await;
    let body = lines.join("\n");
    let summary = expect_json(import(&t, &acme, "", "application/x-ndjson", body).await, 200).await;
    assert_eq!((summary["accepted"].as_u64(), summary["failed"].as_u64()), (Some(2), Some(4)), "{summary}");
    assert_eq!(
        errors(&summary),
        [(3, "colour".into()), (4, "line".into()), (6, "line".into()), (7, "campaign_id".into())]
    );

    let stored = incidents_of(&t, &staff, "acme").await;
    let first = &stored["J-1"];
    assert_eq!(first["call_time"], "2026-03-01T18:22:05Z", "from the local time in New York");
    assert_eq!(
        (first["local_time"].as_str(), first["local_zone"].as_str()),
        (Some("2026-03-01T13:22:05"), Some("America/New_York"))
    );
    assert_eq!(first["identity_header"], passport);
    assert_eq!(first["identity"]["header"]["alg"], "ES256");
    assert_eq!(first["identity"]["payload"]["attest"], "A");
    assert_eq!(first["identity"]["payload"]["orig"]["tn"], "12025550123");
    assert_eq!(first["identity"]["params"]["info"], "https://cert.example/sp.pem");
    assert!(first["identity"].get("errors").is_none(), "{first}");
    assert_eq!(first["cdr"], json!({"trunk": "T9", "duration_s": 12}));
    assert_eq!(first["originating_ip"], "2001:db8::10");
    assert_eq!(first["originating_point_code"], "245-016-000");
    assert_eq!(first["campaign_id"], "irs-2026");
    let third = &stored["3"];
    assert_eq!(third["call_volume"], 7);
    assert!(third["identity"]["errors"].as_array().is_some_and(|e| !e.is_empty()), "kept, with what did not read");
}

#[tokio::test]
async fn importing_again_changes_nothing_and_counts_duplicates() {
    let Setup { t, staff, acme, .. } = setup().await;
    let first = "external_id,calling,called,call_time,transcript\n\
                 R-1,2025550123,3125550199,2026-03-01T18:22:05Z,original\n\
                 R-2,2025550124,3125550199,2026-03-01T18:22:06Z,original\n";
    let summary = expect_json(import(&t, &acme, "", "text/csv", first).await, 200).await;
    assert_eq!((summary["accepted"].as_u64(), summary["duplicates"].as_u64()), (Some(2), Some(0)));
    let before = incidents_of(&t, &staff, "acme").await;

    let again = expect_json(import(&t, &acme, "", "text/csv", first).await, 200).await;
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64(), again["failed"].as_u64()),
        (Some(0), Some(2), Some(0))
    );
    // Changed content under the same external ids changes nothing; a repeat within the file is a
    // duplicate too.
    let changed = "transcript,external_id,called,calling,call_time\n\
                   changed,R-1,3125550100,2025550100,2026-03-01T19:00:00Z\n\
                   new,R-3,3125550199,2025550125,2026-03-01T18:22:07Z\n\
                   again,R-3,3125550199,2025550125,2026-03-01T18:22:07Z\n";
    let summary = expect_json(import(&t, &acme, "", "text/csv", changed).await, 200).await;
    assert_eq!((summary["accepted"].as_u64(), summary["duplicates"].as_u64()), (Some(1), Some(2)), "{summary}");
    let after = incidents_of(&t, &staff, "acme").await;
    assert_eq!(after["R-1"], before["R-1"]);
    assert_eq!(after["R-2"], before["R-2"]);
    assert_eq!(after["R-3"]["transcript"], "new");
    // The same external id from another submitter is another incident.
    let staff_import = expect_json(import(&t, &staff, "?submitter=globex", "text/csv", first).await, 200).await;
    assert_eq!(staff_import["accepted"], 2);
}

#[tokio::test]
async fn an_endless_record_stops_the_import_after_keeping_the_rows_before_it() {
    let Setup { t, acme, .. } = setup().await;
    let long = "x".repeat(200_000);
    let endless = "y".repeat(2 * 1024 * 1024);
    let csv = format!(
        "{STREAM_HEADER}{}{}S-long,2025550123,3125550199,2026-03-01T18:22:05Z,{long}\n{}\
         S-endless,2025550123,3125550199,2026-03-01T18:22:05Z,{endless}\n{}",
        stream_row(1),
        stream_row(2),
        stream_row(3),
        stream_row(4)
    );
    let summary = expect_json(import(&t, &acme, "", "text/csv", csv).await, 200).await;
    assert_eq!((summary["accepted"].as_u64(), summary["failed"].as_u64()), (Some(3), Some(1)), "{summary}");
    assert_eq!(errors(&summary), [(4, "transcript".into())]);
    let interrupted = summary["interrupted"].as_str().unwrap();
    assert!(interrupted.contains("line 6") && interrupted.contains("longer than 1024 KiB"), "{interrupted}");

    let lines = format!(
        "{}\n{}\n",
        json!({"external_id": "J-1", "calling": "2025550123", "called": "3125550199",
        "call_time": "2026-03-01T18:22:05Z"}),
        json!({"external_id": "J-2", "transcript": endless})
    );
    let summary = expect_json(import(&t, &acme, "", "application/x-ndjson", lines).await, 200).await;
    assert_eq!(summary["accepted"], 1, "{summary}");
    assert!(summary["interrupted"].as_str().unwrap().contains("line 2"), "{summary}");
}

#[tokio::test]
async fn repeats_across_batches_are_duplicates_too() {
    let Setup { t, acme, .. } = setup().await;
    // Batches are 5,000 rows and two may commit at once: a key repeated from the batch before,
    // or from one long committed, is a duplicate either way.
    let mut rows: Vec<String> = (0..12_000).map(stream_row).collect();
    rows.insert(5_001, stream_row(4_999));
    rows.insert(10_500, stream_row(100));
    let body = format!("{STREAM_HEADER}{}", rows.concat());
    let summary = expect_json(import(&t, &acme, "", "text/csv", body.clone()).await, 200).await;
    assert_eq!((summary["accepted"].as_u64(), summary["duplicates"].as_u64()), (Some(12_000), Some(2)), "{summary}");
    let again = expect_json(import(&t, &acme, "", "text/csv", body).await, 200).await;
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(12_002)), "{again}");
    assert_eq!(t.app.store().count_incidents(Some("acme")).await.unwrap(), 12_000);
}

#[tokio::test]
async fn single_incidents_are_created_once_and_validated_field_by_field() {
    let Setup { t, acme, staff, .. } = setup().await;
    let body = json!({"external_id": "S-1", "calling": "+1 (202) 555-0123", "called": "312.555.0199",
                      "call_time": "2026-03-01T13:22:05-05:00", "call_volume": 40});
    let response = t.post(&acme, "/api/v1/incidents", &body).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created = expect_json(response, 201).await;
    assert_eq!(location, format!("/api/v1/incidents/{}", created["id"].as_str().unwrap()));
    assert_eq!(created["call_time"], "2026-03-01T18:22:05Z");
    assert_eq!(created["calling"], json!({"raw": "+1 (202) 555-0123", "e164": "+12025550123"}));
    let mut changed = body.clone();
    changed["call_volume"] = json!(99);
    let again = expect_json(t.post(&acme, "/api/v1/incidents", &changed).await, 200).await;
    assert_eq!(again, created, "the second submission changes nothing");

    let bad = json!({"external_id": "S-2", "calling": "2025550123", "called": "3125550199",
                     "call_time": "yesterday", "originating_ip": "10.0.0.300", "local_zone": "Mars/Olympus"});
    let problem = expect_invalid(t.post(&acme, "/api/v1/incidents", &bad).await, "call_time").await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["call_time", "local_zone", "local_time", "originating_ip"], "{problem}");
    expect_invalid(t.post(&acme, "/api/v1/incidents", &json!({"external_id": "S-3", "calling": "1"})).await, "called")
        .await;
    // Staff name the submitter.
    expect_invalid(t.post(&staff, "/api/v1/incidents", &body).await, "submitter").await;
    expect_json(t.post(&staff, "/api/v1/incidents?submitter=globex", &body).await, 201).await;
}

#[tokio::test]
async fn submitters_import_for_themselves_and_staff_for_the_one_they_name() {
    let Setup { t, staff, acme, globex } = setup().await;
    let rows = "external_id,calling,called,call_time\nW-1,2025550123,3125550199,2026-03-01T18:22:05Z\n";
    let url = t.url("/api/v1/incidents/import");

    let anonymous = t.http.post(&url).header("content-type", "text/csv").body(rows).send().await.unwrap();
    expect_problem(anonymous, 401, "unauthorized").await;
    let provider = t.provider("carrier", "US", &[]).await;
    let provider = t.provider_token(&provider, &[Scope::HopsRead]).await;
    expect_problem(import(&t, &provider, "", "text/csv", rows).await, 403, "forbidden").await;
    let candidates_only = submitter_token(&t, "acme", &[Scope::CandidatesSubmit]).await;
    expect_problem(import(&t, &candidates_only, "", "text/csv", rows).await, 403, "forbidden").await;
    let reader = t.staff_token(&[Scope::IntakeManage]).await;
    expect_problem(import(&t, &reader, "?submitter=acme", "text/csv", rows).await, 403, "forbidden").await;
    // A submitter cannot import under another's name.
    expect_problem(import(&t, &acme, "?submitter=globex", "text/csv", rows).await, 403, "forbidden").await;
    expect_invalid(import(&t, &staff, "", "text/csv", rows).await, "submitter").await;
    expect_invalid(import(&t, &staff, "?submitter=nobody", "text/csv", rows).await, "submitter").await;
    expect_problem(import(&t, &acme, "", "application/json", rows).await, 415, "unsupported-media-type").await;
    let unknown = "external_id,calling,called,call_time,colour\nW-9,2025550123,3125550199,2026-03-01T18:22:05Z,red\n";
    let problem = expect_invalid(import(&t, &acme, "", "text/csv", unknown).await, "header").await;
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("colour"), "{problem}");
    assert!(incidents_of(&t, &staff, "acme").await.is_empty(), "nothing of the refused imports is stored");

    expect_json(import(&t, &acme, "?submitter=acme", "text/csv", rows).await, 200).await;
    let ours = incidents_of(&t, &staff, "acme").await;
    let id = ours["W-1"]["id"].as_str().unwrap().to_owned();
    assert!(incidents_of(&t, &staff, "globex").await.is_empty());

    // Reading: the list is for staff; an incident is visible to staff and its own submitter.
    expect_problem(t.get(&acme, "/api/v1/incidents").await, 403, "forbidden").await;
    expect_problem(t.get(&globex, &format!("/api/v1/incidents/{id}")).await, 404, "not-found").await;
    expect_problem(t.get(&provider, &format!("/api/v1/incidents/{id}")).await, 403, "forbidden").await;
    expect_problem(t.get(&candidates_only, &format!("/api/v1/incidents/{id}")).await, 403, "forbidden").await;
    expect_json(t.get(&acme, &format!("/api/v1/incidents/{id}")).await, 200).await;
    expect_problem(t.get(&staff, "/api/v1/incidents/0197a000-0000-7000-8000-0000000000aa").await, 404, "not-found")
        .await;
}

#[tokio::test]
async fn staff_lists_filter_and_page() {
    let Setup { t, staff, acme, globex } = setup().await;
    let campaign = json!({"id": "irs", "name": "IRS impersonation"});
    expect_json(t.post(&staff, "/api/v1/campaigns", &campaign).await, 201).await;
    let mut csv = String::from("external_id,calling,called,call_time,campaign_id\n");
    for n in 0..7 {
        csv.push_str(&format!(
            "L-{n},(202) 555-01{n:02},(312) 555-0199,2026-03-01T1{n}:00:00Z,{}\n",
            if n < 3 { "irs" } else { "" }
        ));
    }
    expect_json(import(&t, &acme, "", "text/csv", csv.clone()).await, 200).await;
    expect_json(import(&t, &globex, "", "text/csv", csv).await, 200).await;
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| format!("{}/{}", i["submitter_id"].as_str().unwrap(), i["external_id"].as_str().unwrap()))
            .collect()
    };
    let list = |query: &str| {
        let (t, staff, query) = (&t, &staff, query.to_owned());
        async move { expect_json(t.get(staff, &format!("/api/v1/incidents{query}")).await, 200).await }
    };
    assert_eq!(ids(&list("?submitter=acme&campaign_id=irs").await).len(), 3);
    // Ids follow the clock, which the test holds still: compare sets.
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(sorted(ids(&list("?number=2025550104").await)), ["acme/L-4", "globex/L-4"]);
    let window = list("?submitter=acme&since=2026-03-01T15:00:00Z&until=2026-03-01T17:00:00Z").await;
    assert_eq!(sorted(ids(&window)), ["acme/L-5", "acme/L-6"], "since inclusive, until exclusive");
    let mut seen = Vec::new();
    let mut query = "?limit=4".to_owned();
    loop {
        let page = list(&query).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 14);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 14, "no incident twice");
    expect_invalid(t.get(&staff, "/api/v1/incidents?since=yesterday").await, "since").await;
    expect_invalid(t.get(&staff, "/api/v1/incidents?cursor=nonsense").await, "cursor").await;
}

/// A CSV row of the streaming tests.
fn stream_row(n: usize) -> String {
    format!("S-{n:06},(202) 555-01{:02},312-555-0199,2026-03-01T18:22:05Z,Press 1 to renew your warranty\n", n % 100)
}

const STREAM_HEADER: &str = "external_id,calling,called,call_time,transcript\n";

/// A request whose body is whatever is sent on the returned channel, and its response.
fn streamed_import(
    t: &TestApp,
    token: &str,
) -> (
    tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
) {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let request = t
        .http
        .post(t.url("/api/v1/incidents/import"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(reqwest::Body::wrap_stream(body));
    (sender, tokio::spawn(request.send()))
}

async fn wait_for_count(t: &TestApp, at_least: i64) -> i64 {
    for _ in 0..600 {
        let stored = t.app.store().count_incidents(Some("acme")).await.unwrap();
        if stored >= at_least {
            return stored;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {at_least} incidents were stored in time");
}

#[tokio::test]
async fn a_large_upload_is_imported_while_it_arrives() {
    let Setup { t, acme, .. } = setup().await;
    let (sender, response) = streamed_import(&t, &acme);
    let rows: Vec<String> = (0..60_000).map(stream_row).collect();
    sender.send(Ok(Bytes::from(STREAM_HEADER))).await.unwrap();
    for chunk in rows[..12_000].chunks(500) {
        sender.send(Ok(Bytes::from(chunk.concat()))).await.unwrap();
    }
    // The first batches are committed before the rest of the body exists: nothing waits for the
    // whole upload.
    let early = wait_for_count(&t, 10_000).await;
    assert!(early <= 12_000, "{early}");
    for chunk in rows[12_000..].chunks(500) {
        sender.send(Ok(Bytes::from(chunk.concat()))).await.unwrap();
    }
    drop(sender);
    let summary = expect_json(response.await.unwrap().unwrap(), 200).await;
    assert_eq!((summary["accepted"].as_u64(), summary["failed"].as_u64()), (Some(60_000), Some(0)), "{summary}");
    let size: usize = STREAM_HEADER.len() + rows.iter().map(String::len).sum::<usize>();
    assert!(size > 4 * 1024 * 1024, "more than any buffered body limit: {size}");
    assert_eq!(t.app.store().count_incidents(Some("acme")).await.unwrap(), 60_000);
}

#[tokio::test]
async fn an_upload_that_breaks_off_keeps_every_accepted_row() {
    let Setup { t, staff, acme, .. } = setup().await;
    let (sender, response) = streamed_import(&t, &acme);
    let rows: Vec<String> = (0..7_000).map(stream_row).collect();
    sender.send(Ok(Bytes::from(STREAM_HEADER))).await.unwrap();
    for chunk in rows.chunks(500) {
        sender.send(Ok(Bytes::from(chunk.concat()))).await.unwrap();
    }
    wait_for_count(&t, 5_000).await;
    // A last row cut short inside its transcript would still read as a valid row: it must not
    // be stored from a body that never finished.
    sender
        .send(Ok(Bytes::from("S-999999,(202) 555-0100,312-555-0199,2026-03-01T18:22:05Z,Press 1 to re")))
        .await
        .unwrap();
    sender.send(Err(std::io::Error::other("the client went away"))).await.unwrap();
    drop(sender);
    assert!(response.await.unwrap().is_err(), "the client sees its upload fail");
    // Every complete row that reached the server is committed (when the upload stalls or
    // breaks, without waiting for a full batch); a repeat of the whole file adds nothing.
    let kept = wait_for_count(&t, 7_000).await;
    assert_eq!(kept, 7_000);
    let whole = format!("{STREAM_HEADER}{}", rows.concat());
    let summary = expect_json(import(&t, &acme, "", "text/csv", whole).await, 200).await;
    assert_eq!(summary["accepted"].as_i64().unwrap() + summary["duplicates"].as_i64().unwrap(), 7_000, "{summary}");
    assert_eq!(summary["duplicates"].as_i64().unwrap(), kept, "{summary}");
    assert_eq!(t.app.store().count_incidents(Some("acme")).await.unwrap(), 7_000);
    let truncated = expect_json(t.get(&staff, "/api/v1/incidents?external_id=S-999999").await, 200).await;
    assert_eq!(truncated["items"], json!([]), "the cut-off row was not stored");
}

#[tokio::test]
async fn a_stalled_upload_is_cut_off_and_keeps_the_rows_it_delivered() {
    let t = TestApp::with_body_idle_timeout(at(MONDAY_10AM_NY), Settings::default(), Duration::from_millis(700)).await;
    let Setup { t, acme, .. } = setup_on(t).await;
    let (sender, response) = streamed_import(&t, &acme);
    let rows: String = (0..300).map(stream_row).collect();
    sender.send(Ok(Bytes::from(format!("{STREAM_HEADER}{rows}")))).await.unwrap();
    // The client goes quiet without ending its body; the server does not wait for ever.
    let response = tokio::time::timeout(Duration::from_secs(30), response).await.expect("the server answered");
    let summary = expect_json(response.unwrap().unwrap(), 200).await;
    assert_eq!(summary["accepted"].as_u64(), Some(300), "{summary}");
    assert!(summary["interrupted"].as_str().is_some_and(|why| why.contains("broke off")), "{summary}");
    assert_eq!(t.app.store().count_incidents(Some("acme")).await.unwrap(), 300);
    drop(sender);
}

/// Bytes that look like audio to nobody but are different each time.
fn recording(size: usize, seed: u8) -> Vec<u8> {
    (0..size).map(|i| u8::try_from((i * 31 + usize::from(seed)) % 251).unwrap()).collect()
}

async fn put_recording(
    t: &TestApp,
    token: &str,
    id: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    upload(t, reqwest::Method::PUT, &format!("/api/v1/incidents/{id}/recording"), token, content_type, body).await
}

async fn one_incident(t: &TestApp, token: &str) -> String {
    let body = json!({"external_id": "V-1", "calling": "2025550123", "called": "3125550199", "call_time": "2026-03-01T18:22:05Z"});
    let created = expect_json(t.post(token, "/api/v1/incidents", &body).await, 201).await;
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn recordings_are_stored_with_type_size_and_sha256_and_read_back_by_staff() {
    let Setup { t, staff, acme, globex } = setup().await;
    let id = one_incident(&t, &acme).await;
    let audio = recording(300_000, 1);
    let stored = expect_json(put_recording(&t, &acme, &id, "audio/wav", audio.clone()).await, 200).await;
    let sha256 = hex::encode(Sha256::digest(&audio));
    assert_eq!(
        stored["recording"],
        json!({"content_type": "audio/wav", "size": 300_000, "sha256": sha256, "purged_at": null})
    );
    assert_eq!(
        expect_json(t.get(&staff, &format!("/api/v1/incidents/{id}")).await, 200).await["recording"]["sha256"],
        sha256
    );

    let download = t.get(&staff, &format!("/api/v1/incidents/{id}/recording")).await;
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(download.headers()["content-type"], "audio/wav");
    assert_eq!(download.headers()["etag"].to_str().unwrap(), format!("\"{sha256}\""));
    assert!(download.headers()["repr-digest"].to_str().unwrap().starts_with("sha-256=:"));
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(download.bytes().await.unwrap().as_ref(), audio.as_slice());

    // A new recording replaces the old.
    let voicemail = recording(1000, 2);
    let replaced =
        expect_json(put_recording(&t, &acme, &id, "audio/mpeg; codecs=mp3", voicemail.clone()).await, 200).await;
    assert_eq!(replaced["recording"]["content_type"], "audio/mpeg");
    assert_eq!(replaced["recording"]["sha256"], hex::encode(Sha256::digest(&voicemail)));
    let download = t.get(&staff, &format!("/api/v1/incidents/{id}/recording")).await;
    assert_eq!(download.bytes().await.unwrap().as_ref(), voicemail.as_slice());

    // Who may: the submitter uploads to its own incidents; only staff download.
    expect_problem(put_recording(&t, &globex, &id, "audio/wav", audio.clone()).await, 404, "not-found").await;
    expect_problem(t.get(&acme, &format!("/api/v1/incidents/{id}/recording")).await, 403, "forbidden").await;
    let anonymous = t.http.get(t.url(&format!("/api/v1/incidents/{id}/recording"))).send().await.unwrap();
    expect_problem(anonymous, 401, "unauthorized").await;
    expect_json(put_recording(&t, &staff, &id, "audio/ogg", recording(10, 3)).await, 200).await;
    let other = one_incident(&t, &globex).await;
    expect_problem(t.get(&staff, &format!("/api/v1/incidents/{other}/recording")).await, 404, "not-found").await;
}

#[tokio::test]
async fn recordings_must_be_audio_within_the_size_limit() {
    let Setup { t, staff, acme, .. } = setup().await;
    let id = one_incident(&t, &acme).await;
    expect_problem(put_recording(&t, &acme, &id, "text/plain", "hello").await, 415, "unsupported-media-type").await;
    expect_problem(put_recording(&t, &acme, &id, "audio", "hello").await, 415, "unsupported-media-type").await;
    expect_invalid(put_recording(&t, &acme, &id, "audio/wav", Vec::<u8>::new()).await, "body").await;

    // 20 MiB is the default limit: one byte more is refused, declared or streamed.
    let limit = 20 * 1024 * 1024;
    let problem = expect_problem(
        put_recording(&t, &acme, &id, "audio/wav", recording(limit + 1, 4)).await,
        413,
        "payload-too-large",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains(&limit.to_string()), "{problem}");
    let chunks =
        futures_util::stream::iter((0..21).map(|_| Ok::<_, std::io::Error>(Bytes::from(recording(1024 * 1024, 5)))));
    let streamed = put_recording(&t, &acme, &id, "audio/wav", reqwest::Body::wrap_stream(chunks)).await;
    expect_problem(streamed, 413, "payload-too-large").await;
    let incident = expect_json(t.get(&staff, &format!("/api/v1/incidents/{id}")).await, 200).await;
    assert_eq!(incident["recording"], Value::Null, "nothing stored");
    // Exactly the limit is fine.
    let full = expect_json(put_recording(&t, &acme, &id, "audio/wav", recording(limit, 6)).await, 200).await;
    assert_eq!(full["recording"]["size"], limit);
}

// ---- an S3-compatible store --------------------------------------------------------------------

type Objects = Arc<Mutex<HashMap<String, (Vec<u8>, String)>>>;

/// Enough of S3 for object_store's PUT, GET and DELETE of whole objects; records the credential
/// each request was signed with.
async fn fake_s3(objects: Objects) -> String {
    async fn handle(
        State(objects): State<Objects>,
        method: Method,
        Path(key): Path<String>,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::response::Response {
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTRACEHOP/") {
            return (StatusCode::FORBIDDEN, "unsigned").into_response();
        }
        let mut objects = objects.lock().unwrap();
        let etag = |bytes: &[u8]| format!("\"{}\"", hex::encode(&Sha256::digest(bytes)[..16]));
        match method {
            Method::PUT => {
                let tag = etag(&body);
                objects.insert(key, (body.to_vec(), authorization.to_owned()));
                (StatusCode::OK, [("etag", tag)]).into_response()
            }
            Method::GET => match objects.get(&key) {
                Some((bytes, _)) => (
                    StatusCode::OK,
                    [
                        ("etag", etag(bytes)),
                        ("last-modified", "Mon, 02 Mar 2026 15:00:00 GMT".to_owned()),
                        ("content-length", bytes.len().to_string()),
                    ],
                    bytes.clone(),
                )
                    .into_response(),
                None => (StatusCode::NOT_FOUND, "<Error><Code>NoSuchKey</Code></Error>").into_response(),
            },
            Method::DELETE => {
                objects.remove(&key);
                StatusCode::NO_CONTENT.into_response()
            }
            // DeleteObjects: `POST /bucket?delete` with the keys in XML.
            Method::POST => {
                let text = String::from_utf8_lossy(&body).into_owned();
                let mut deleted = String::new();
                for part in text.split("<Key>").skip(1) {
                    let name = part.split("</Key>").next().unwrap_or_default();
                    objects.remove(&format!("{key}/{name}"));
                    deleted.push_str(&format!("<Deleted><Key>{name}</Key></Deleted>"));
                }
                (StatusCode::OK, format!("<DeleteResult>{deleted}</DeleteResult>")).into_response()
            }
            _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new().route("/{*key}", axum::routing::any(handle)).with_state(objects);
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    format!("http://{address}")
}

#[tokio::test]
async fn recordings_go_to_an_s3_compatible_bucket_when_configured() {
    let Setup { t, acme, .. } = setup().await;
    let id = one_incident(&t, &acme).await;
    let objects: Objects = Arc::default();
    let endpoint = fake_s3(objects.clone()).await;
    let config = RecordingsConfig {
        backend: "s3".into(),
        bucket: Some("tracehop-recordings".into()),
        endpoint: Some(endpoint),
        allow_http: true,
        access_key_id: Some("AKIDTRACEHOP".into()),
        secret_access_key: Some("secret-from-a-file".into()),
        max_bytes: 4096,
        content_types: vec!["audio/wav".into()],
        ..RecordingsConfig::default()
    };
    let app = t.app.clone().with_recordings(Recordings::from_config(&config).unwrap());
    let staff = operator();
    let audio = recording(4096, 7);
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(audio.clone()))]);
    let record = app.upload_recording(&staff, &id, "audio/wav", None, body).await.unwrap();
    let sha256 = hex::encode(Sha256::digest(&audio));
    let stored = record.recording.unwrap();
    assert_eq!(stored.sha256, sha256);
    assert_eq!(stored.key, format!("incidents/{id}/{sha256}"));
    let key = format!("tracehop-recordings/incidents/{id}/{sha256}");
    assert_eq!(objects.lock().unwrap().get(&key).map(|(bytes, _)| bytes.clone()), Some(audio.clone()), "in the bucket");

    let (recording_record, bytes) = app.download_recording(&staff, &id).await.unwrap();
    assert_eq!((recording_record.size, bytes.as_ref()), (4096, audio.as_slice()));

    // The configured limits hold.
    let too_big = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(recording(4097, 8)))]);
    assert!(matches!(
        app.upload_recording(&staff, &id, "audio/wav", None, too_big).await,
        Err(tracehop_app::intake::recordings::RecordingError::TooLarge { limit: 4096 })
    ));
    let mpeg = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(recording(10, 9)))]);
    assert!(app.upload_recording(&staff, &id, "audio/mpeg", None, mpeg).await.is_err());

    // A replaced recording's object is deleted; an altered object is refused on the way out.
    let second = recording(100, 10);
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(second.clone()))]);
    app.upload_recording(&staff, &id, "audio/wav", None, body).await.unwrap();
    let second_key = format!("tracehop-recordings/incidents/{id}/{}", hex::encode(Sha256::digest(&second)));
    {
        let mut objects = objects.lock().unwrap();
        assert!(!objects.contains_key(&key), "the replaced object is gone");
        objects.get_mut(&second_key).unwrap().0[0] ^= 1;
    }
    assert!(matches!(app.download_recording(&staff, &id).await, Err(AppError::Store(_))));
}

#[tokio::test]
async fn the_documented_fields_are_the_fields_imports_take() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let document: Value = t.http.get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut documented: Vec<&str> = document["components"]["schemas"]["IncidentInput"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut fields = tracehop_app::intake::incidents::FIELDS.to_vec();
    documented.sort_unstable();
    fields.sort_unstable();
    assert_eq!(documented, fields);
    let import = &document["paths"]["/api/v1/incidents/import"]["post"]["requestBody"]["content"];
    assert!(import.get("text/csv").is_some() && import.get("application/x-ndjson").is_some(), "{import}");
}
