//! The provider directory through the API: entries with contacts, affiliates and identifiers; the
//! foreign flag and its override; verifying and merging providers named by answers; the RMD
//! import; a provider keeping its own contacts.

use serde_json::{Value, json};
use tracehop_app::access::tokens::Scope;
use tracehop_web::testing::TestApp;

use crate::support::{
    MONDAY_10AM_NY, answer_path, at, expect_invalid, expect_json, expect_problem, originated_answer, provider_view,
    staff_detail, start_traceback,
};

const RMD_SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/rmd/rmd-sample.csv");

async fn directory_staff(t: &TestApp) -> String {
    t.staff_token(&[Scope::DirectoryManage, Scope::TracebacksManage, Scope::TracebacksRead]).await
}

fn entry(id: &str, country: &str) -> Value {
    json!({
        "id": id,
        "name": format!("{id} Networks"),
        "country": country,
        "dba_names": ["Example Voice"],
        "business_hours": {"tz": "America/Chicago", "days": "Mon-Fri", "open": "07:00", "close": "16:00"},
        "contacts": [
            {"role": "primary", "name": "Jordan Example", "title": "Fraud Manager", "email": format!("fraud@{id}.example"),
             "phone": "+1 312-555-0140"},
            {"role": "backup", "name": "Casey Example", "email": format!("noc@{id}.example")}
        ],
        "identifiers": [{"kind": "frn", "value": "31000777"}, {"kind": "ocn", "value": "9a1b"}]
    })
}

#[tokio::test]
async fn staff_keep_entries_with_contacts_affiliates_and_identifiers() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let staff = directory_staff(&t).await;

    let created = t.post(&staff, "/api/v1/providers", &entry("lakeshore", "US")).await;
    assert_eq!(created.headers()["location"], "/api/v1/providers/lakeshore");
    let created = expect_json(created, 201).await;
    assert_eq!(created["foreign"], false);
    assert_eq!(created["foreign_source"], "country");
    assert_eq!(created["dba_names"], json!(["Example Voice"]));
    assert_eq!(created["business_hours"]["tz"], "America/Chicago");
    assert_eq!(created["contacts"].as_array().unwrap().len(), 2, "{created}");
    assert_eq!(
        created["identifiers"],
        json!([{"kind": "frn", "value": "0031000777"}, {"kind": "ocn", "value": "9A1B"}]),
        "identifiers are kept in their normal form"
    );
    expect_problem(t.post(&staff, "/api/v1/providers", &entry("lakeshore", "US")).await, 409, "conflict").await;
    // Another provider cannot claim the same FRN.
    expect_problem(t.post(&staff, "/api/v1/providers", &entry("harbor", "US")).await, 409, "conflict").await;
    expect_problem(t.get(&staff, "/api/v1/providers/harbor").await, 404, "not-found").await;

    // A foreign affiliate keeps its own entity; a domestic one joins (PRV-3).
    let mut harbor = entry("harbor", "US");
    harbor["identifiers"] = json!([]);
    harbor["affiliates"] = json!(["lakeshore"]);
    let harbor = expect_json(t.post(&staff, "/api/v1/providers", &harbor).await, 201).await;
    assert_eq!(harbor["entity_members"], json!(["lakeshore"]), "{harbor}");
    let mut overseas = entry("overseas", "GB");
    overseas["identifiers"] = json!([]);
    overseas["affiliates"] = json!(["lakeshore"]);
    let overseas = expect_json(t.post(&staff, "/api/v1/providers", &overseas).await, 201).await;
    assert_eq!((overseas["foreign"].as_bool(), overseas["entity_members"].clone()), (Some(true), json!([])));
    // Separate treatment takes harbor out of the entity.
    let mut apart = entry("harbor", "US");
    apart["identifiers"] = json!([]);
    apart["affiliates"] = json!(["lakeshore"]);
    apart["separate_treatment"] = json!(true);
    let apart = expect_json(t.put(&staff, "/api/v1/providers/harbor", &apart).await, 200).await;
    assert_eq!(apart["entity_members"], json!([]), "{apart}");

    // Bad input names its field; nothing is half-saved.
    let cases = [
        (json!({"country": "ZZZ"}), "country"),
        (json!({"contacts": [{"role": "primary", "name": "No Reach"}]}), "contacts[0].email"),
        (json!({"contacts": [{"role": "boss", "name": "X", "email": "x@y.example"}]}), "contacts[0].role"),
        (json!({"affiliates": ["nobody-here"]}), "affiliates[0]"),
        (
            json!({"business_hours": {"tz": "Mars/Olympus", "days": "Mon-Fri", "open": "08:00", "close": "17:00"}}),
            "business_hours",
        ),
        (json!({"identifiers": [{"kind": "iban", "value": "x"}]}), "identifiers[0].kind"),
    ];
    for (change, field) in cases {
        let mut body = entry("lakeshore", "US");
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        expect_invalid(t.put(&staff, "/api/v1/providers/lakeshore", &body).await, field).await;
    }
    let unchanged = expect_json(t.get(&staff, "/api/v1/providers/lakeshore").await, 200).await;
    assert_eq!(unchanged["country"], "US");
    assert_eq!(unchanged["contacts"].as_array().unwrap().len(), 2);

    // Lists filter and page.
    let page = expect_json(t.get(&staff, "/api/v1/providers?limit=2").await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = expect_json(t.get(&staff, &format!("/api/v1/providers?limit=2&cursor={cursor}")).await, 200).await;
    assert_eq!(rest["items"][0]["id"], "overseas", "{rest}");
    let foreign = expect_json(t.get(&staff, "/api/v1/providers?foreign=true").await, 200).await;
    assert_eq!(foreign["items"].as_array().unwrap().len(), 1);
    let found = expect_json(t.get(&staff, "/api/v1/providers?q=LAKE").await, 200).await;
    assert_eq!(found["items"][0]["id"], "lakeshore");

    // Without directory:manage, nothing.
    let reader = t.staff_token(&[Scope::TracebacksRead]).await;
    expect_problem(t.get(&reader, "/api/v1/providers").await, 403, "forbidden").await;
}

#[tokio::test]
async fn the_foreign_flag_follows_its_source_until_staff_override_it_with_a_reason() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let staff = directory_staff(&t).await;
    expect_json(t.post(&staff, "/api/v1/providers", &entry("lakeshore", "US")).await, 201).await;
    let path = "/api/v1/providers/lakeshore/foreign";
    expect_invalid(t.put(&staff, path, &json!({"foreign": true})).await, "reason").await;
    let overridden =
        expect_json(t.put(&staff, path, &json!({"foreign": true, "reason": "traffic terminates abroad"})).await, 200)
            .await;
    assert_eq!(
        (&overridden["foreign"], &overridden["foreign_source"], &overridden["foreign_override_reason"]),
        (&json!(true), &json!("staff"), &json!("traffic terminates abroad"))
    );
    // Editing the entry keeps the override.
    let kept = expect_json(t.put(&staff, "/api/v1/providers/lakeshore", &entry("lakeshore", "US")).await, 200).await;
    assert_eq!(kept["foreign_source"], "staff");
    let restored = expect_json(t.put(&staff, path, &json!({"foreign": null})).await, 200).await;
    assert_eq!((&restored["foreign"], &restored["foreign_source"]), (&json!(false), &json!("country")));
}

#[tokio::test]
async fn the_rmd_export_imports_through_the_api_with_line_numbered_failures() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let staff = directory_staff(&t).await;
    let bytes = std::fs::read(RMD_SAMPLE).unwrap();
    let import = |bytes: Vec<u8>| {
        t.http
            .post(t.url("/api/v1/providers/rmd-import"))
            .bearer_auth(&staff)
            .header("content-type", "text/csv")
            .body(bytes)
            .send()
    };
    let first = expect_json(import(bytes.clone()).await.unwrap(), 200).await;
    assert_eq!(first["summary"], "created 6, updated 1, unchanged 0, failed 4", "{first}");
    let lines: Vec<i64> = first["errors"].as_array().unwrap().iter().map(|e| e["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [8, 10, 12, 13], "{first}");
    let again = expect_json(import(bytes).await.unwrap(), 200).await;
    assert_eq!(again["summary"], "created 0, updated 0, unchanged 7, failed 4", "{again}");

    // RMD is the source of the foreign flag.
    let found = expect_json(t.get(&staff, "/api/v1/providers?q=lumen").await, 200).await;
    assert_eq!((&found["items"][0]["foreign"], &found["items"][0]["foreign_source"]), (&json!(true), &json!("rmd")));
    // Not an export at all.
    expect_invalid(import(b"name,age\nx,1\n".to_vec()).await.unwrap(), "file").await;
    let provider = t.provider("lakeshore", "US", &[]).await;
    let provider_token = t.provider_token(&provider, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let forbidden = t
        .http
        .post(t.url("/api/v1/providers/rmd-import"))
        .bearer_auth(&provider_token)
        .header("content-type", "text/csv")
        .body("number\n")
        .send()
        .await
        .unwrap();
    expect_problem(forbidden, 403, "forbidden").await;
}

#[tokio::test]
async fn a_provider_named_by_contact_details_is_merged_and_the_real_one_answers_its_hop() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let terminating = t.provider("terminating", "US", &[]).await;
    let real = t.provider("shadyvoip", "US", &[]).await;
    let terminating_token = t.provider_token(&terminating, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let real_token = t.provider_token(&real, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let staff = directory_staff(&t).await;
    let id = start_traceback(&t, &staff, "terminating").await;

    // The terminating provider names an upstream the directory does not know (PRV-5).
    let named = json!({"kind": "upstream_new", "upstream": {"provider_name": "Shady VoIP", "country": "US",
                       "email": "ops@shady-voip.example", "contact_name": "Ops desk"}});
    expect_json(t.post(&terminating_token, &answer_path(&t, &id, 0).await, &named).await, 200).await;
    let unverified = expect_json(t.get(&staff, "/api/v1/providers?verified=false").await, 200).await;
    let items = unverified["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{unverified}");
    let stand_in = items[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(items[0]["name"], "Shady VoIP");

    // Staff see it is shadyvoip and merge it; shadyvoip now finds and answers the hop.
    expect_invalid(
        t.post(&staff, &format!("/api/v1/providers/{stand_in}/merge"), &json!({"into": stand_in})).await,
        "into",
    )
    .await;
    let merged = expect_json(
        t.post(&staff, &format!("/api/v1/providers/{stand_in}/merge"), &json!({"into": "shadyvoip"})).await,
        200,
    )
    .await;
    assert_eq!(merged["merged_providers"], json!([stand_in]));
    let list = expect_json(t.get(&real_token, "/api/v1/provider/hops").await, 200).await;
    assert_eq!(list["items"][0]["traceback_id"], id.as_str(), "{list}");
    let view = provider_view(&t, &real_token, &id).await;
    assert_eq!(view["hops"][0]["hop"], t.hop_ref(&id, 1).await, "{view}");
    let answered =
        expect_json(t.post(&real_token, &answer_path(&t, &id, 1).await, &originated_answer()).await, 200).await;
    assert_eq!(answered["hops"][0]["state"], "answered", "{answered}");

    // The history still names the provider as the traceback knew it.
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["status"], "closed");
    assert_eq!(detail["hops"][1]["provider"]["id"], stand_in.as_str());
    let old = expect_json(t.get(&staff, &format!("/api/v1/providers/{stand_in}")).await, 200).await;
    assert_eq!(old["merged_into"], "shadyvoip");
    // Merged providers leave the list unless asked for.
    let all = expect_json(t.get(&staff, "/api/v1/providers").await, 200).await;
    assert!(all["items"].as_array().unwrap().iter().all(|p| p["id"] != stand_in.as_str()), "{all}");
    let with_merged = expect_json(t.get(&staff, "/api/v1/providers?include_merged=true").await, 200).await;
    assert!(with_merged["items"].as_array().unwrap().iter().any(|p| p["id"] == stand_in.as_str()));
}

#[tokio::test]
async fn an_unverified_provider_is_verified_by_staff() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let terminating = t.provider("terminating", "US", &[]).await;
    let token = t.provider_token(&terminating, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let staff = directory_staff(&t).await;
    let id = start_traceback(&t, &staff, "terminating").await;
    let named = json!({"kind": "upstream_new", "upstream": {"provider_name": "New Carrier", "country": "US",
                       "email": "ops@new-carrier.example"}});
    expect_json(t.post(&token, &answer_path(&t, &id, 0).await, &named).await, 200).await;
    let unverified = expect_json(t.get(&staff, "/api/v1/providers?verified=false").await, 200).await;
    let stand_in = unverified["items"][0]["id"].as_str().unwrap().to_owned();
    let verified =
        expect_json(t.post(&staff, &format!("/api/v1/providers/{stand_in}/verify"), &json!({})).await, 200).await;
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["details"]["supplied"]["email"], "ops@new-carrier.example", "{verified}");
    let none = expect_json(t.get(&staff, "/api/v1/providers?verified=false").await, 200).await;
    assert_eq!(none["items"], json!([]));
    expect_problem(t.post(&staff, "/api/v1/providers/nobody/verify", &json!({})).await, 404, "not-found").await;
}

#[tokio::test]
async fn a_provider_keeps_its_own_contacts_and_hop_requests_follow_them() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let terminating = t.provider("terminating", "US", &[]).await;
    let answering = t.provider_token(&terminating, &[Scope::HopsRead, Scope::HopsAnswer]).await;
    let token = t.provider_token(&terminating, &[Scope::HopsRead, Scope::ProfileManage]).await;
    let own = expect_json(t.get(&token, "/api/v1/provider/profile").await, 200).await;
    assert_eq!(own["id"], "terminating");
    assert_eq!(own["contacts"].as_array().unwrap().len(), 2);
    // Where requests go is changed with its own scope: answering hops is not enough.
    let moved = json!({"contacts": [{"role": "primary", "name": "Mallory", "email": "mallory@elsewhere.example"}]});
    expect_problem(t.put(&answering, "/api/v1/provider/contacts", &moved).await, 403, "forbidden").await;

    expect_invalid(
        t.put(
            &token,
            "/api/v1/provider/contacts",
            &json!({"contacts": [{"role": "backup", "name": "Only Backup", "email": "b@terminating.example"}]}),
        )
        .await,
        "contacts",
    )
    .await;
    let contacts = json!({"contacts": [
        {"role": "primary", "name": "Riley New", "title": "Fraud Lead", "email": "fraud-desk@terminating.example",
         "business_hours": {"tz": "America/Denver", "days": "Mon-Fri", "open": "08:00", "close": "17:00"}}
    ]});
    let saved = expect_json(t.put(&token, "/api/v1/provider/contacts", &contacts).await, 200).await;
    assert_eq!(saved.as_array().unwrap().len(), 1, "the backup was removed: {saved}");

    let staff = directory_staff(&t).await;
    start_traceback(&t, &staff, "terminating").await;
    t.work().await;
    let recipients: Vec<String> = t.smtp.messages().iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(recipients, ["fraud-desk@terminating.example"]);
}
