//! The Do Not Originate registry through the API: staff keep entries and publish signed
//! versions; registry users in good standing download them (each download logged) and screen
//! numbers; everyone else is refused or finds nothing.

use serde_json::{Value, json};
use tracehop_app::Settings;
use tracehop_app::access::tokens::Scope;
use tracehop_dno::snapshot::{Action, Kind, keys, verify};
use tracehop_web::testing::TestApp;

use crate::support::{MONDAY_10AM_NY, at, expect_invalid, expect_json, expect_problem};

/// A fixed, fictional signing key for the tests.
const SEED: &str = "0707070707070707070707070707070707070707070707070707070707070707";

async fn app() -> TestApp {
    let mut settings = Settings::default();
    settings.dno.signing_key = Some(SEED.to_owned());
    "2026-1".clone_into(&mut settings.dno.terms_version);
    TestApp::with_settings(at(MONDAY_10AM_NY), settings).await
}

fn entry(name: &str, numbers: &[&str], government: bool, volume: u64) -> Value {
    json!({
        "recipient_name": name,
        "numbers": numbers,
        "authorised_on": "2026-02-20",
        "government_issued": government,
        "volume": volume,
        "implementations": [{"member": "steering-one", "implemented_on": "2026-02-27"}],
    })
}

async fn download(t: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let response = t.get(token, path).await;
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn entries_publication_downloads_and_screening() {
    let t = app().await;
    let staff = t.staff_token(&[Scope::DnoManage, Scope::DnoRead]).await;

    let created = expect_json(
        t.post(
            &staff,
            "/api/v1/dno/entries",
            &entry("Example Revenue Agency", &["+1 202 555 0140", "2025550141"], true, 9000),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["numbers"], json!(["+12025550140", "+12025550141"]));
    assert_eq!(created["government_issued"], true);
    assert_eq!(created["status"], "active");
    assert_eq!(created["implementations"][0]["member"], "steering-one");
    let bank = expect_json(
        t.post(&staff, "/api/v1/dno/entries", &entry("Example Bank", &["2025550150"], false, 300)).await,
        201,
    )
    .await;
    // A number already listed elsewhere, and one that is not a number.
    expect_invalid(
        t.post(&staff, "/api/v1/dno/entries", &entry("Copycat", &["2025550140"], false, 1)).await,
        "numbers",
    )
    .await;
    expect_invalid(t.post(&staff, "/api/v1/dno/entries", &entry("Typo", &["202555014"], false, 1)).await, "numbers[0]")
        .await;

    let v1 = expect_json(t.post(&staff, "/api/v1/dno/versions", &json!({})).await, 201).await;
    assert_eq!((v1["version"].as_i64(), v1["numbers"].as_i64(), v1["added"].as_i64()), (Some(1), Some(3), Some(3)));

    // The bank's entry becomes a removal instruction; a new number joins.
    let id = bank["id"].as_str().unwrap();
    let mut removal = entry("Example Bank", &["2025550150"], false, 300);
    removal["status"] = json!("removal");
    let updated = expect_json(t.put(&staff, &format!("/api/v1/dno/entries/{id}"), &removal).await, 200).await;
    assert_eq!(updated["status"], "removal");
    expect_json(
        t.post(&staff, "/api/v1/dno/entries", &entry("Example Utility", &["2025550160"], false, 50)).await,
        201,
    )
    .await;
    let v2 = expect_json(t.post(&staff, "/api/v1/dno/versions", &json!({})).await, 201).await;
    assert_eq!((v2["numbers"].as_i64(), v2["added"].as_i64(), v2["removed"].as_i64()), (Some(3), Some(1), Some(1)));

    // A registry user in good standing.
    let provider = t.provider("dno-user", "US", &[]).await;
    let user_token = t.provider_token(&provider, &[Scope::DnoRead]).await;
    let user = expect_json(
        t.post(
            &staff,
            "/api/v1/dno/users",
            &json!({"provider_id": "dno-user", "eligibility": "us_provider", "terms_version": "2026-1",
                    "subscription_active": true, "usage_start": "2026-03-01"}),
        )
        .await,
        201,
    )
    .await;

    let key = keys::public_key(
        expect_json(t.get(&user_token, "/api/v1/dno/public-key").await, 200).await["public_key"].as_str().unwrap(),
    )
    .unwrap();
    let snapshot = verify(&download(&t, &user_token, "/api/v1/dno/files/snapshot").await, &key).unwrap();
    assert_eq!((snapshot.kind, snapshot.version), (Kind::Snapshot, 2));
    let numbers: Vec<u64> = snapshot.entries.iter().map(|e| e.number).collect();
    assert_eq!(numbers, vec![2_025_550_140, 2_025_550_141, 2_025_550_160], "government-issued first");
    let delta =
        verify(&download(&t, &user_token, "/api/v1/dno/files/delta?version=2&format=binary").await, &key).unwrap();
    assert_eq!(delta.base, 1);
    assert!(delta.entries.iter().any(|e| e.number == 2_025_550_150 && e.action == Action::Remove));
    expect_problem(t.get(&user_token, "/api/v1/dno/files/delta?version=1").await, 404, "not-found").await;

    let screened = expect_json(
        t.post(
            &user_token,
            "/api/v1/dno/screen",
            &json!({"numbers": ["+1 202 555 0140", "2025550150", "2022345678", "0123456789", "nope"]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(screened["version"], 2);
    let verdicts: Vec<(String, String)> = screened["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["verdict"].as_str().unwrap().to_owned(), v["reason"].as_str().unwrap_or("").to_owned()))
        .collect();
    let expected =
        [("block", "registry"), ("block", "invalid_nanp"), ("allow", ""), ("block", "invalid_nanp"), ("error", "")];
    assert_eq!(verdicts, expected.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec());

    // Every download is logged against the user.
    let user_id = user["id"].as_str().unwrap();
    let log = expect_json(t.get(&staff, &format!("/api/v1/dno/downloads?user_id={user_id}")).await, 200).await;
    let mut kinds: Vec<(&str, &str)> =
        log.as_array().unwrap().iter().map(|d| (d["kind"].as_str().unwrap(), d["format"].as_str().unwrap())).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, vec![("delta", "binary"), ("snapshot", "csv")], "the refused delta of version 1 is not logged");
    assert!(log.as_array().unwrap().iter().all(|d| d["version"] == 2));

    // Lapse: access ends, deletion is attested by the user.
    expect_json(t.post(&staff, &format!("/api/v1/dno/users/{user_id}/lapse"), &json!({})).await, 200).await;
    expect_problem(t.get(&user_token, "/api/v1/dno/files/snapshot").await, 403, "forbidden").await;
    let attested = expect_json(
        t.post(&user_token, &format!("/api/v1/dno/users/{user_id}/deletion-attestation"), &json!({})).await,
        200,
    )
    .await;
    assert!(attested["deletion_attested_at"].is_string());
}

#[tokio::test]
async fn access_is_for_staff_and_registry_users_in_good_standing() {
    let t = app().await;
    let staff = t.staff_token(&[Scope::DnoManage]).await;
    expect_json(t.post(&staff, "/api/v1/dno/entries", &entry("Example Agency", &["2025550170"], true, 10)).await, 201)
        .await;
    expect_json(t.post(&staff, "/api/v1/dno/versions", &json!({})).await, 201).await;

    // A provider that is not a registry user finds nothing; without the scope it is refused.
    let outsider = t.provider("outsider", "US", &[]).await;
    let outsider_token = t.provider_token(&outsider, &[Scope::DnoRead]).await;
    expect_problem(t.get(&outsider_token, "/api/v1/dno/files/snapshot").await, 404, "not-found").await;
    expect_problem(
        t.post(&outsider_token, "/api/v1/dno/screen", &json!({"numbers": ["2025550170"]})).await,
        404,
        "not-found",
    )
    .await;
    let hops_only = t.provider_token(&outsider, &[Scope::HopsRead]).await;
    expect_problem(t.get(&hops_only, "/api/v1/dno/files/snapshot").await, 403, "forbidden").await;
    expect_problem(t.get(&outsider_token, "/api/v1/dno/entries").await, 403, "forbidden").await;

    // A registry user whose terms are out of date, or without a usage start, is refused.
    let member = t.provider("member", "US", &[]).await;
    let member_token = t.provider_token(&member, &[Scope::DnoRead]).await;
    let body = json!({"provider_id": "member", "eligibility": "us_provider", "terms_version": "2025-9", "subscription_active": true, "usage_start": "2026-03-01"});
    let user = expect_json(t.post(&staff, "/api/v1/dno/users", &body).await, 201).await;
    let problem = expect_problem(t.get(&member_token, "/api/v1/dno/files/snapshot").await, 403, "forbidden").await;
    assert!(problem["detail"].as_str().unwrap().contains("terms"), "{problem}");
    let path = format!("/api/v1/dno/users/{}", user["id"].as_str().unwrap());
    let no_start = json!({"eligibility": "us_provider", "terms_version": "2026-1", "subscription_active": true});
    expect_json(t.put(&staff, &path, &no_start).await, 200).await;
    let problem = expect_problem(t.get(&member_token, "/api/v1/dno/files/snapshot").await, 403, "forbidden").await;
    assert!(problem["detail"].as_str().unwrap().contains("usage start"), "{problem}");
    let good = json!({"eligibility": "us_provider", "terms_version": "2026-1", "subscription_active": true, "usage_start": "2026-03-02"});
    expect_json(t.put(&staff, &path, &good).await, 200).await;
    assert_eq!(t.get(&member_token, "/api/v1/dno/files/snapshot").await.status().as_u16(), 200);
    // Registry users do not manage: entries and publication stay with staff.
    expect_problem(t.post(&member_token, "/api/v1/dno/versions", &json!({})).await, 403, "forbidden").await;
    // A second registry user for the same provider is a conflict.
    expect_problem(t.post(&staff, "/api/v1/dno/users", &body).await, 409, "conflict").await;
}

#[tokio::test]
async fn publishing_needs_a_signing_key() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let staff = t.staff_token(&[Scope::DnoManage]).await;
    expect_problem(t.post(&staff, "/api/v1/dno/versions", &json!({})).await, 409, "conflict").await;
    expect_problem(t.get(&staff, "/api/v1/dno/public-key").await, 409, "conflict").await;
}
