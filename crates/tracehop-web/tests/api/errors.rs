//! Errors through the real server: RFC 9457 problem+json with a stable type per kind, 401 and 403
//! for tokens, 404 that tells nothing (ACC-2), problem+json for unknown routes and methods,
//! validation errors naming the fields, conflicts, and a page for every problem type.

use jiff::SignedDuration;
use serde_json::{Value, json};
use tracehop_app::access::tokens::Scope;
use tracehop_core::provider::ProviderId;
use tracehop_store::providers::IdentifierKind;
use tracehop_web::api::problem::KINDS;
use tracehop_web::testing::TestApp;

use crate::support::{
    MONDAY_10AM_NY, answer_path, at, expect_invalid, expect_json, expect_problem, hop_path, originated_answer,
    staff_detail, start_body, start_traceback, upstream_answer, without,
};

const MISSING: &str = "0197a000-0000-7000-8000-0000000000aa";

struct Setup {
    t: TestApp,
    staff: String,
    /// hops:read, hops:answer, tokens:manage
    terminating: String,
    transit: String,
    bystander: String,
    id: String,
}

/// A traceback whose terminating provider named `transit`; `bystander` has no hop in it.
async fn setup() -> Setup {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let scopes = [Scope::HopsRead, Scope::HopsAnswer, Scope::TokensManage];
    let terminating = t.provider("terminating", "US", &[(IdentifierKind::Frn, "0031000001")]).await;
    let transit = t.provider("transit", "US", &[]).await;
    let bystander = t.provider("bystander", "US", &[]).await;
    let terminating = t.provider_token(&terminating, &scopes).await;
    let transit = t.provider_token(&transit, &scopes).await;
    let bystander = t.provider_token(&bystander, &scopes).await;
    let staff = t.staff_token(&[Scope::TracebacksManage, Scope::TracebacksRead, Scope::TokensManage]).await;
    let id = start_traceback(&t, &staff, "terminating").await;
    expect_json(t.post(&terminating, &answer_path(&t, &id, 0).await, &upstream_answer("transit")).await, 200).await;
    Setup { t, staff, terminating, transit, bystander, id }
}

async fn expect_unauthorized(response: reqwest::Response, detail: &str) {
    let challenge =
        response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned).unwrap_or_default();
    let problem = expect_problem(response, 401, "unauthorized").await;
    assert_eq!(challenge, "Bearer realm=\"tracehop\"", "{problem}");
    assert_eq!(problem["title"], "Authentication required");
    assert_eq!(problem["detail"], detail);
}

#[tokio::test]
async fn missing_malformed_revoked_and_expired_tokens_are_401_problems() {
    let Setup { t, terminating, .. } = setup().await;
    let hops = t.url("/api/v1/provider/hops");
    let no_token = "send a token: Authorization: Bearer <token>";
    let not_valid = "the bearer token is not valid";
    expect_unauthorized(t.http.get(&hops).send().await.unwrap(), no_token).await;
    expect_unauthorized(t.http.get(&hops).basic_auth("terminating", Some("password")).send().await.unwrap(), no_token)
        .await;
    let answer = t.url(&answer_path(&t, MISSING, 0).await);
    expect_unauthorized(t.http.post(&answer).json(&upstream_answer("transit")).send().await.unwrap(), no_token).await;
    for malformed in ["garbage", "thp_", "thp_nosuchprefix0_secret", "Bearer", "thp_x_y z"] {
        expect_unauthorized(t.get(malformed, "/api/v1/provider/hops").await, not_valid).await;
    }
    // A real token with one character of its secret changed.
    let mut forged = terminating.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'a' { 'b' } else { 'a' });
    expect_unauthorized(t.get(&forged, "/api/v1/provider/hops").await, not_valid).await;

    // Revoked: works until it is revoked, then never again.
    let created = expect_json(
        t.post(&terminating, "/api/v1/tokens", &json!({"name": "robot", "scopes": ["hops:read"]})).await,
        201,
    )
    .await;
    let robot = created["token"].as_str().unwrap().to_owned();
    expect_json(t.get(&robot, "/api/v1/provider/hops").await, 200).await;
    let revoked = t
        .http
        .delete(t.url(&format!("/api/v1/tokens/{}", created["id"].as_str().unwrap())))
        .bearer_auth(&terminating)
        .send()
        .await
        .unwrap();
    let revoked = expect_json(revoked, 200).await;
    assert_eq!(revoked["revoked_at"], MONDAY_10AM_NY);
    expect_unauthorized(t.get(&robot, "/api/v1/provider/hops").await, "this token has been revoked").await;
    expect_unauthorized(t.get(&robot, "/api/v1/me").await, "this token has been revoked").await;

    // Expired: valid until its expiry, refused from that instant.
    let created = expect_json(
        t.post(
            &terminating,
            "/api/v1/tokens",
            &json!({"name": "short", "scopes": ["hops:read"], "expires_at": "2026-03-02T16:00:00Z"}),
        )
        .await,
        201,
    )
    .await;
    let short = created["token"].as_str().unwrap().to_owned();
    t.advance(SignedDuration::from_hours(1) - SignedDuration::from_secs(1)).await;
    expect_json(t.get(&short, "/api/v1/provider/hops").await, 200).await;
    t.advance(SignedDuration::from_secs(1)).await;
    expect_unauthorized(t.get(&short, "/api/v1/provider/hops").await, "this token has expired").await;
}

#[tokio::test]
async fn under_scoped_tokens_are_403_problems() {
    let Setup { t, staff, transit, id, .. } = setup().await;
    let reader = t.provider_token(&ProviderId::new("transit").unwrap(), &[Scope::HopsRead]).await;
    let response = t
        .post(&reader, &answer_path(&t, &id, 1).await, &json!({"kind": "not_found", "reason": "not_in_records"}))
        .await;
    assert!(response.headers().get("www-authenticate").is_none());
    let problem = expect_problem(response, 403, "forbidden").await;
    assert_eq!(problem["title"], "Not allowed");
    assert_eq!(problem["detail"], "this token lacks the hops:answer scope");
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["hops"][1]["state"], "open", "the refused answer was not applied");

    let answerer = t.provider_token(&ProviderId::new("transit").unwrap(), &[Scope::HopsAnswer]).await;
    let problem = expect_problem(t.get(&answerer, "/api/v1/provider/hops").await, 403, "forbidden").await;
    assert_eq!(problem["detail"], "this token lacks the hops:read scope");

    // A provider's token, with every scope a provider may hold, on staff routes.
    let full = t
        .provider_token(
            &ProviderId::new("transit").unwrap(),
            &[Scope::HopsRead, Scope::HopsAnswer, Scope::WebhooksManage, Scope::TokensManage],
        )
        .await;
    let extend = json!({"respond_by": "2026-03-05T15:00:00Z", "reason": "we would like more time"});
    for response in [
        t.get(&full, "/api/v1/tracebacks").await,
        t.get(&full, &format!("/api/v1/tracebacks/{id}")).await,
        t.get(&full, &format!("/api/v1/tracebacks/{id}/events")).await,
        t.post(&full, "/api/v1/tracebacks", &start_body(&t, "transit").await).await,
        t.post(&full, &format!("/api/v1/tracebacks/{id}/hops/1/extend"), &extend).await,
        t.post(&full, &format!("/api/v1/tracebacks/{id}/close"), &json!({"reason": "done"})).await,
    ] {
        expect_problem(response, 403, "forbidden").await;
    }
    // A staff token on a provider's routes.
    expect_problem(t.get(&staff, "/api/v1/provider/hops").await, 403, "forbidden").await;
    expect_problem(t.get(&staff, &format!("/api/v1/provider/tracebacks/{id}")).await, 403, "forbidden").await;
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["hops"][1]["request"]["respond_by"], "2026-03-03T15:00:00Z", "nothing was extended");
    assert_eq!(detail["status"], "open");
    let _ = transit;
}

#[tokio::test]
async fn another_providers_traceback_or_hop_is_404_like_one_that_does_not_exist() {
    let Setup { t, staff, transit, bystander, id, .. } = setup().await;
    let not_found = |body: Value, hidden: &str| without(&body, hidden);

    // A provider without a hop cannot tell the traceback exists.
    let theirs =
        expect_problem(t.get(&bystander, &format!("/api/v1/provider/tracebacks/{id}")).await, 404, "not-found").await;
    let none =
        expect_problem(t.get(&bystander, &format!("/api/v1/provider/tracebacks/{MISSING}")).await, 404, "not-found")
            .await;
    assert_eq!(not_found(theirs.clone(), &id), not_found(none, MISSING));
    assert_eq!(theirs["detail"], format!("traceback {id} not found"));

    let posts: [(&str, Value); 4] = [
        ("answer", upstream_answer("transit")),
        ("acknowledge", json!({})),
        ("comments", json!({"text": "is this ours?"})),
        ("dispute", json!({"grounds": "not our traffic"})),
    ];
    for (action, body) in &posts {
        for (token, hop) in [(&bystander, 0), (&bystander, 1), (&transit, 0), (&transit, 7)] {
            let theirs = t.post(token, &hop_path(&t, &id, hop, action).await, body).await;
            let theirs = without(&expect_problem(theirs, 404, "not-found").await, &t.hop_ref(&id, hop).await);
            let none = t.post(token, &hop_path(&t, MISSING, hop, action).await, body).await;
            let none = without(&expect_problem(none, 404, "not-found").await, &t.hop_ref(MISSING, hop).await);
            assert_eq!(not_found(theirs, &id), not_found(none, MISSING), "{action} on hop {hop}");
        }
    }
    // The transit provider sees its own hop only.
    let view = expect_json(t.get(&transit, &format!("/api/v1/provider/tracebacks/{id}")).await, 200).await;
    assert_eq!(
        view["hops"].as_array().unwrap().iter().map(|h| h["hop"].clone()).collect::<Vec<_>>(),
        [t.hop_ref(&id, 1).await]
    );
    // Nothing happened to the traceback.
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["hops"][0]["state"], "answered");
    assert_eq!(detail["hops"][1]["state"], "open");
    assert_eq!(detail["comments"], json!([]));
    assert_eq!(detail["disputes"], json!([]));

    // Closing it changes nothing of that: an outsider does not learn it is closed.
    expect_json(t.post(&staff, &format!("/api/v1/tracebacks/{id}/close"), &json!({"reason": "withdrawn"})).await, 200)
        .await;
    for (token, hop) in [(&bystander, 0), (&transit, 0)] {
        let theirs = t.post(token, &answer_path(&t, &id, hop).await, &upstream_answer("transit")).await;
        let theirs = without(&expect_problem(theirs, 404, "not-found").await, &t.hop_ref(&id, hop).await);
        let none = t.post(token, &answer_path(&t, MISSING, hop).await, &upstream_answer("transit")).await;
        let none = without(&expect_problem(none, 404, "not-found").await, &t.hop_ref(MISSING, hop).await);
        assert_eq!(not_found(theirs, &id), not_found(none, MISSING));
    }
    let own = t.post(&transit, &answer_path(&t, &id, 1).await, &upstream_answer("terminating")).await;
    expect_problem(own, 409, "traceback-closed").await;

    // Staff asking for a traceback that does not exist; ids that are not ids.
    let problem = expect_problem(t.get(&staff, &format!("/api/v1/tracebacks/{MISSING}")).await, 404, "not-found").await;
    assert_eq!(problem["detail"], format!("traceback {MISSING} not found"));
    expect_problem(t.get(&staff, "/api/v1/tracebacks/not-a-uuid").await, 404, "not-found").await;
    expect_problem(t.get(&bystander, "/api/v1/provider/tracebacks/not-a-uuid").await, 404, "not-found").await;
    expect_problem(
        t.post(&transit, &format!("/api/v1/provider/tracebacks/{id}/hops/-1/answer"), &json!({})).await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_under_api_v1_are_problems() {
    let Setup { t, terminating, .. } = setup().await;
    for path in ["/api/v1/nothing-here", "/api/v1/provider/hops/extra/segments", "/api/v2/provider/hops"] {
        let problem = expect_problem(t.get(&terminating, path).await, 404, "route-not-found").await;
        assert_eq!(problem["detail"], format!("no API operation at {path}"));
        assert_eq!(problem["title"], "No such route");
        let anonymous = t.http.get(t.url(path)).send().await.unwrap();
        expect_problem(anonymous, 404, "route-not-found").await;
    }
    let wrong = [
        (reqwest::Method::DELETE, "/api/v1/provider/hops", ["GET"].as_slice()),
        (reqwest::Method::PUT, "/api/v1/tracebacks", &["GET", "POST"]),
        (
            reqwest::Method::GET,
            "/api/v1/provider/tracebacks/0197a000-0000-7000-8000-000000000000/hops/0/answer",
            &["POST"],
        ),
        (reqwest::Method::POST, "/api/v1/me", &["GET"]),
    ];
    for (method, path, allowed) in wrong {
        let response = t.http.request(method.clone(), t.url(path)).bearer_auth(&terminating).send().await.unwrap();
        let allow = response.headers().get("allow").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let mut allow: Vec<&str> = allow.split(',').map(str::trim).filter(|m| *m != "HEAD").collect();
        allow.sort_unstable();
        assert_eq!(allow, allowed, "RFC 9110: a 405 says which methods the path takes ({method} {path})");
        let problem = expect_problem(response, 405, "method-not-allowed").await;
        assert_eq!(problem["detail"], format!("{path} does not take this method"), "{method} {path}");
    }
    // Outside the API, plain text.
    let page = t.http.get(t.url("/nowhere")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 404);
    assert!(!page.headers()["content-type"].to_str().unwrap().contains("problem"));
}

#[tokio::test]
async fn validation_errors_name_the_fields() {
    let Setup { t, staff, transit, id, .. } = setup().await;
    let answer = answer_path(&t, &id, 1).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"kind": "originated", "customer": {"country": "US"}}), "customer.name"),
        (json!({"kind": "originated", "customer": {"name": "  "}}), "customer.name"),
        (json!({"kind": "originated", "customer": {"name": "X", "country": "Atlantis"}}), "customer.country"),
        (json!({"kind": "not_found"}), "reason"),
        (json!({"kind": "not_found", "reason": "lost_it"}), "reason"),
        (json!({"kind": "upstream", "upstream": {"provider_id": "a", "frn": "0031000001"}}), "upstream"),
        (json!({"kind": "upstream", "upstream": {}}), "upstream"),
        (json!({"kind": "upstream", "upstream": {"frn": "0099999999"}}), "upstream.frn"),
        (json!({"kind": "upstream", "upstream": {"rmd_number": "RMD0000000"}}), "upstream.rmd_number"),
        (json!({"kind": "upstream", "upstream": {"provider_id": "nobody-we-know"}}), "upstream.provider_id"),
        (
            json!({"kind": "upstream_new", "upstream": {"provider_name": " ", "country": "US"}}),
            "upstream.provider_name",
        ),
    ];
    for (body, field) in cases {
        let problem = expect_invalid(t.post(&transit, &answer, &body).await, field).await;
        assert_eq!(problem["title"], "Invalid request", "{body}");
        assert!(problem["detail"].as_str().unwrap().starts_with(&format!("{field}: ")), "{problem}");
    }
    let problem = expect_invalid(t.post(&transit, &answer, &json!({"kind": "maybe"})).await, "kind").await;
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("maybe"), "{problem}");

    // Staff input too.
    let no_candidate = json!({"terminating_provider": "terminating"});
    expect_invalid(t.post(&staff, "/api/v1/tracebacks", &no_candidate).await, "candidate_id").await;
    let unknown = json!({"candidate_id": "no-such-candidate", "terminating_provider": "terminating"});
    expect_invalid(t.post(&staff, "/api/v1/tracebacks", &unknown).await, "candidate_id").await;
    expect_invalid(
        t.post(&staff, "/api/v1/tracebacks", &start_body(&t, "nobody-we-know").await).await,
        "terminating_provider",
    )
    .await;
    let mut extra = start_body(&t, "terminating").await;
    extra["colour"] = json!("red");
    expect_invalid(t.post(&staff, "/api/v1/tracebacks", &extra).await, "colour").await;
    let extend = format!("/api/v1/tracebacks/{id}/hops/1/extend");
    expect_invalid(
        t.post(&staff, &extend, &json!({"respond_by": "2026-03-01T00:00:00Z", "reason": "why not"})).await,
        "respond_by",
    )
    .await;
    expect_invalid(
        t.post(&staff, &extend, &json!({"respond_by": "2026-03-09T00:00:00Z", "reason": " "})).await,
        "reason",
    )
    .await;

    // Query parameters.
    for (query, field) in [
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=eyJ4IjoxfQ", "cursor"),
        ("state=sleeping", "state"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
    ] {
        expect_invalid(t.get(&transit, &format!("/api/v1/provider/hops?{query}")).await, field).await;
    }
    for (query, field) in [("status=paused", "status"), ("category=galactic", "category"), ("cursor=AAAA", "cursor")] {
        expect_invalid(t.get(&staff, &format!("/api/v1/tracebacks?{query}")).await, field).await;
    }
    let problem = expect_invalid(t.get(&transit, "/api/v1/provider/hops?colour=red").await, "colour").await;
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("unknown field"), "{problem}");
    expect_invalid(t.get(&transit, "/api/v1/provider/hops?limit=ten").await, "limit").await;
    expect_invalid(t.get(&transit, "/api/v1/provider/hops?due_before=tomorrow").await, "due_before").await;

    // Bodies that are not JSON.
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request =
            t.http.post(t.url(&answer)).bearer_auth(&transit).body(r#"{"kind":"not_found","reason":"no_record"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let problem = expect_problem(request.send().await.unwrap(), 415, "unsupported-media-type").await;
        assert_eq!(problem["title"], "Unsupported media type");
    }
    let broken =
        t.http.post(t.url(&answer)).bearer_auth(&transit).header("content-type", "application/json").body("{\"kind\":");
    expect_problem(broken.send().await.unwrap(), 400, "malformed-body").await;
    let detail = staff_detail(&t, &staff, &id).await;
    assert_eq!(detail["hops"][1]["state"], "open", "no refused answer was applied");
    assert_eq!(detail["hops"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn answering_twice_is_409_and_naming_oneself_is_422() {
    let Setup { t, staff, terminating, transit, id, .. } = setup().await;
    // Hop 0 was answered in setup.
    let problem = expect_problem(
        t.post(&terminating, &answer_path(&t, &id, 0).await, &upstream_answer("transit")).await,
        409,
        "already-answered",
    )
    .await;
    assert_eq!(problem["title"], "Already answered");
    expect_problem(
        t.post(&terminating, &answer_path(&t, &id, 0).await, &originated_answer()).await,
        409,
        "already-answered",
    )
    .await;
    let acknowledge = hop_path(&t, &id, 1, "acknowledge").await;
    expect_json(t.post(&transit, &acknowledge, &json!({})).await, 200).await;
    expect_problem(t.post(&transit, &acknowledge, &json!({})).await, 409, "already-acknowledged").await;

    // Naming oneself, by id or by an identifier, is refused and leaves the hop waiting.
    let own = start_traceback(&t, &staff, "terminating").await;
    let problem = expect_problem(
        t.post(&terminating, &answer_path(&t, &own, 0).await, &upstream_answer("terminating")).await,
        422,
        "self-naming",
    )
    .await;
    assert_eq!(problem["title"], "A provider cannot name itself");
    let by_frn = json!({"kind": "upstream", "upstream": {"frn": "0031000001"}});
    expect_problem(t.post(&terminating, &answer_path(&t, &own, 0).await, &by_frn).await, 422, "self-naming").await;
    let detail = staff_detail(&t, &staff, &own).await;
    assert_eq!(detail["hops"].as_array().unwrap().len(), 1);
    assert_eq!(detail["hops"][0]["state"], "open");

    // A closed traceback takes no answers.
    expect_json(t.post(&transit, &answer_path(&t, &id, 1).await, &originated_answer()).await, 200).await;
    expect_problem(
        t.post(&transit, &answer_path(&t, &id, 1).await, &originated_answer()).await,
        409,
        "traceback-closed",
    )
    .await;
}

#[tokio::test]
async fn every_problem_type_resolves_to_its_page() {
    let t = TestApp::start(at(MONDAY_10AM_NY)).await;
    let index = t.http.get(t.url("/api/v1/problems")).send().await.unwrap();
    assert_eq!(index.status().as_u16(), 200);
    assert!(index.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let index = index.text().await.unwrap();
    let kinds: Vec<&str> = KINDS.iter().map(|(kind, ..)| *kind).collect();
    for expected in [
        "unauthorized",
        "forbidden",
        "not-found",
        "route-not-found",
        "method-not-allowed",
        "unsupported-media-type",
        "malformed-body",
        "validation",
        "idempotency-key-reused",
        "already-answered",
        "self-naming",
    ] {
        assert!(kinds.contains(&expected), "{expected} is documented");
    }
    for (kind, status, title, _) in KINDS {
        let href = format!("href=\"/api/v1/problems/{kind}\"");
        assert!(index.contains(&href), "the index links {kind}");
        let page = t.http.get(t.url(&format!("/api/v1/problems/{kind}"))).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200, "{kind}");
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let page = page.text().await.unwrap();
        assert!(page.contains(&format!("HTTP {status}")), "{kind}: {page}");
        assert!(page.contains(&format!("<h1>{}</h1>", title.replace('&', "&amp;"))), "{kind}: {page}");
    }
    let index_links = index.matches("href=\"/api/v1/problems/").count();
    assert_eq!(index_links, KINDS.len(), "the index lists exactly the kinds");
    let unknown = t.http.get(t.url("/api/v1/problems/no-such-kind")).send().await.unwrap();
    expect_problem(unknown, 404, "not-found").await;
}
