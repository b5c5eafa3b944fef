//! The RMD import's suggested affiliations through the API, and finding a provider by the
//! numbers it is known by.

use serde_json::{Value, json};
use tracehop_app::access::tokens::Scope;
use tracehop_web::testing::TestApp;

use crate::support::{MONDAY_10AM_NY, at, expect_invalid, expect_json, expect_problem};

const RMD_PATTERNS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/rmd/rmd-patterns.csv");

async fn import(t: &TestApp, token: &str) -> Value {
    let bytes = std::fs::read(RMD_PATTERNS).unwrap();
    let response = t
        .http
        .post(t.url("/api/v1/providers/rmd-import"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(bytes)
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn staff_confirm_or_dismiss_the_affiliations_an_import_suggests() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let staff = t.staff_token(&[Scope::DirectoryManage]).await;
    let report = import(&t, &staff).await;
    assert_eq!(report["summary"], "created 8, updated 0, unchanged 0, failed 3", "{report}");
    let lines: Vec<i64> = report["errors"].as_array().unwrap().iter().map(|e| e["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [7, 9, 11], "{report}");

    // Paged, oldest first.
    let first = expect_json(t.get(&staff, "/api/v1/directory/affiliation-suggestions?limit=2").await, 200).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest =
        expect_json(t.get(&staff, &format!("/api/v1/directory/affiliation-suggestions?cursor={cursor}")).await, 200)
            .await;
    let all: Vec<Value> =
        first["items"].as_array().unwrap().iter().chain(rest["items"].as_array().unwrap()).cloned().collect();
    assert_eq!(all.len(), 5, "{all:?}");
    let find = |a: &str, b: &str| all.iter().find(|s| s["provider_a"] == a && s["provider_b"] == b).unwrap().clone();
    let shared = find("rmd0100004", "rmd0100007");
    assert_eq!(
        (&shared["frn"], &shared["source_rmd"], &shared["source_line"], &shared["status"]),
        (&json!("0031100004"), &json!("RMD0100007"), &json!(8), &json!("open"))
    );

    let path = |s: &Value, action: &str| format!("/api/v1/directory/affiliation-suggestions/{}/{action}", s["id"]);
    let parent_ohio = find("rmd0100001", "rmd0100002");
    let confirmed = expect_json(t.post(&staff, &path(&parent_ohio, "confirm"), &json!({})).await, 200).await;
    assert_eq!(confirmed["status"], "confirmed", "{confirmed}");
    expect_problem(t.post(&staff, &path(&parent_ohio, "confirm"), &json!({})).await, 409, "conflict").await;
    let entry = expect_json(t.get(&staff, "/api/v1/providers/rmd0100002").await, 200).await;
    assert_eq!(entry["entity_id"], "rmd0100001", "{entry}");
    assert_eq!(entry["affiliates"], json!(["rmd0100001"]));

    expect_invalid(t.post(&staff, &path(&shared, "dismiss"), &json!({})).await, "reason").await;
    let dismissed =
        expect_json(t.post(&staff, &path(&shared, "dismiss"), &json!({"reason": "different owners"})).await, 200).await;
    assert_eq!((&dismissed["status"], &dismissed["reason"]), (&json!("dismissed"), &json!("different owners")));
    expect_problem(
        t.post(&staff, "/api/v1/directory/affiliation-suggestions/999/dismiss", &json!({"reason": "x"})).await,
        404,
        "not-found",
    )
    .await;

    // A re-import suggests nothing new and leaves the decisions alone.
    let again = import(&t, &staff).await;
    assert_eq!(again["summary"], "created 0, updated 0, unchanged 8, failed 3", "{again}");
    let open = expect_json(t.get(&staff, "/api/v1/directory/affiliation-suggestions").await, 200).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 3, "{open}");
    let decided = expect_json(
        t.get(&staff, "/api/v1/directory/affiliation-suggestions?status=all&provider=rmd0100004").await,
        200,
    )
    .await;
    assert_eq!(decided["items"][0]["status"], "dismissed", "{decided}");
    expect_invalid(t.get(&staff, "/api/v1/directory/affiliation-suggestions?status=maybe").await, "status").await;

    // Staff only.
    let provider = t.provider("lakeshore", "US", &[]).await;
    let provider_token = t.provider_token(&provider, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    expect_problem(t.get(&provider_token, "/api/v1/directory/affiliation-suggestions").await, 403, "forbidden").await;
    expect_problem(t.post(&provider_token, &path(&shared, "confirm"), &json!({})).await, 403, "forbidden").await;
}

#[tokio::test]
async fn the_directory_finds_a_provider_by_rmd_number_frn_or_ocn() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let staff = t.staff_token(&[Scope::DirectoryManage]).await;
    import(&t, &staff).await;
    let created = t
        .post(
            &staff,
            "/api/v1/providers",
            &json!({
                "id": "harbor", "name": "Harbor Networks", "country": "US",
                "identifiers": [{"kind": "ocn", "value": "9a1b"}]
            }),
        )
        .await;
    expect_json(created, 201).await;
    let search = |q: &str| {
        let path = format!("/api/v1/providers?q={q}");
        let t = &t;
        let staff = &staff;
        async move { ids(&expect_json(t.get(staff, &path).await, 200).await) }
    };
    assert_eq!(search("rmd0100007").await, ["rmd0100007"]);
    assert_eq!(search("RMD0100003").await, ["rmd0100003"]);
    assert_eq!(search("31100011").await, ["rmd0100011"], "an FRN without its leading zeros");
    assert_eq!(search("0031100011").await, ["rmd0100011"]);
    // Two filings with one FRN: both, though only the first holds it.
    assert_eq!(search("0031100004").await, ["rmd0100004", "rmd0100007"]);
    assert_eq!(search("9A1B").await, ["harbor"]);
    assert_eq!(search("northwind").await, ["rmd0100001", "rmd0100002", "rmd0100003"]);
    assert!(search("0031100099").await.is_empty());

    // The directory list stays staff-only.
    let provider = t.provider("lakeshore", "US", &[]).await;
    let provider_token = t.provider_token(&provider, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    expect_problem(t.get(&provider_token, "/api/v1/providers?q=rmd0100007").await, 403, "forbidden").await;
}
