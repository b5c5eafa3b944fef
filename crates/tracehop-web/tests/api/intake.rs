//! Candidates under the sourcing policy and campaigns through the API: sources submit with their
//! own tokens and see only their own; staff record due diligence and a legal basis, approve or
//! reject with a reason; only an approved candidate starts a traceback, once; foreign
//! law-enforcement requests stay a category of their own; campaigns count their tracebacks.

use object_store::ObjectStoreExt as _;
use serde_json::{Value, json};
use tracehop_app::access::tokens::Scope;
use tracehop_web::testing::TestApp;

use crate::support::{MONDAY_10AM_NY, at, expect_invalid, expect_json, expect_problem};

const COMPLETE: &str = r#"{"due_diligence": {"credible_source": true, "verifiable": true, "nature": "abusive",
    "nature_note": "repeated calls to the same numbers", "burden_balanced": true}, "legal_basis": "protect_providers"}"#;

struct Intake {
    t: TestApp,
    staff: String,
}

impl Intake {
    async fn new() -> Self {
        let t = TestApp::start(at(MONDAY_10AM_NY)).await;
        t.provider("terminating", "US", &[]).await;
        let staff = t
            .staff_token(&[
                Scope::IntakeManage,
                Scope::TokensManage,
                Scope::TracebacksManage,
                Scope::TracebacksRead,
                Scope::CandidatesSubmit,
                Scope::IncidentsSubmit,
            ])
            .await;
        Self { t, staff }
    }

    /// Registers a submitter and returns a token for it.
    async fn submitter(&self, id: &str, kind: &str) -> String {
        let body = json!({"id": id, "name": format!("{id} org"), "kind": kind});
        expect_json(self.t.post(&self.staff, "/api/v1/submitters", &body).await, 201).await;
        let grant = json!({"name": id, "submitter_id": id, "scopes": ["incidents:submit", "candidates:submit"]});
        let issued = expect_json(self.t.post(&self.staff, "/api/v1/tokens", &grant).await, 201).await;
        issued["token"].as_str().unwrap().to_owned()
    }

    /// An incident from the token's submitter; returns its id.
    async fn incident(&self, token: &str, external_id: &str) -> String {
        let body = json!({"external_id": external_id, "calling": "+1 202-555-0142", "called": "+1 312-555-0177",
                          "call_time": "2026-03-01T14:00:00Z"});
        let incident = expect_json(self.t.post(token, "/api/v1/incidents", &body).await, 201).await;
        incident["id"].as_str().unwrap().to_owned()
    }

    async fn candidate(&self, token: &str, body: &Value) -> Value {
        expect_json(self.t.post(token, "/api/v1/candidates", body).await, 201).await
    }

    async fn approve(&self, id: &str) -> Value {
        let diligence: Value = serde_json::from_str(COMPLETE).unwrap();
        let path = format!("/api/v1/candidates/{id}");
        expect_json(self.t.post(&self.staff, &format!("{path}/due-diligence"), &diligence).await, 200).await;
        expect_json(self.t.post(&self.staff, &format!("{path}/approve"), &json!({})).await, 200).await
    }
}

#[tokio::test]
async fn sources_submit_candidates_and_see_only_their_own() {
    let i = Intake::new().await;
    let analytics = i.submitter("signalwatch", "analytics_provider").await;
    let agency = i.submitter("state-ag", "state_enforcement").await;
    let incident = i.incident(&analytics, "sw-1").await;

    let mine = i.candidate(&analytics, &json!({"incident_id": incident, "summary": "calls spoofing a bank"})).await;
    assert_eq!(
        (&mine["status"], &mine["source_kind"], &mine["submitter_id"], &mine["category"]),
        (&json!("pending"), &json!("analytics_provider"), &json!("signalwatch"), &json!("domestic"))
    );
    // Another source's incident is as if it did not exist; so is its candidate.
    expect_invalid(
        i.t.post(&agency, "/api/v1/candidates", &json!({"incident_id": incident, "summary": "x"})).await,
        "incident_id",
    )
    .await;
    let theirs = i.candidate(&agency, &json!({"summary": "complaints of arrest threats"})).await;
    let path = |c: &Value| format!("/api/v1/candidates/{}", c["id"].as_str().unwrap());
    expect_problem(i.t.get(&analytics, &path(&theirs)).await, 404, "not-found").await;
    let listed = expect_json(i.t.get(&analytics, "/api/v1/candidates").await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    // Staff see both; a source cannot review.
    let all = expect_json(i.t.get(&i.staff, "/api/v1/candidates?status=pending").await, 200).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    expect_problem(i.t.post(&analytics, &format!("{}/approve", path(&mine)), &json!({})).await, 403, "forbidden").await;
    // A source speaks for itself only.
    let body = json!({"submitter_id": "state-ag", "summary": "x"});
    expect_invalid(i.t.post(&analytics, "/api/v1/candidates", &body).await, "submitter_id").await;
    expect_invalid(i.t.post(&analytics, "/api/v1/candidates", &json!({"summary": "  "})).await, "summary").await;
    // Staff entering a candidate name its source (a steering member, a community referral…).
    expect_invalid(i.t.post(&i.staff, "/api/v1/candidates", &json!({"summary": "x"})).await, "source_kind").await;
    let referral =
        i.candidate(&i.staff, &json!({"source_kind": "community_referral", "summary": "forum reports"})).await;
    assert_eq!(referral["source_kind"], "community_referral");
}

#[tokio::test]
async fn approval_needs_complete_due_diligence_and_a_legal_basis() {
    let i = Intake::new().await;
    let analytics = i.submitter("signalwatch", "analytics_provider").await;
    let incident = i.incident(&analytics, "sw-1").await;
    let candidate = i.candidate(&analytics, &json!({"incident_id": incident, "summary": "bank spoofing"})).await;
    let path = format!("/api/v1/candidates/{}", candidate["id"].as_str().unwrap());

    let problem = expect_invalid(
        i.t.post(&i.staff, &format!("{path}/approve"), &json!({})).await,
        "due_diligence.credible_source",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("before approval"), "{problem}");
    let partial = json!({"due_diligence": {"credible_source": true, "verifiable": true, "nature": "fraudulent",
                         "nature_note": "bank impersonation", "burden_balanced": true}});
    let recorded = expect_json(i.t.post(&i.staff, &format!("{path}/due-diligence"), &partial).await, 200).await;
    assert_eq!(recorded["due_diligence"]["nature"], "fraudulent");
    expect_invalid(i.t.post(&i.staff, &format!("{path}/approve"), &json!({})).await, "legal_basis").await;
    expect_invalid(
        i.t.post(&i.staff, &format!("{path}/due-diligence"), &json!({"due_diligence": {}, "legal_basis": "because"}))
            .await,
        "legal_basis",
    )
    .await;

    // Not approved yet: it starts nothing.
    let start = json!({"candidate_id": candidate["id"], "terminating_provider": "terminating"});
    expect_invalid(i.t.post(&i.staff, "/api/v1/tracebacks", &start).await, "candidate_id").await;

    let approved = i.approve(candidate["id"].as_str().unwrap()).await;
    assert_eq!((&approved["status"], &approved["legal_basis"]), (&json!("approved"), &json!("protect_providers")));
    assert!(approved["decided_by"].is_string() && approved["decided_at"].is_string(), "{approved}");
    expect_problem(i.t.post(&i.staff, &format!("{path}/approve"), &json!({})).await, 409, "conflict").await;

    // It starts one traceback, from its incident, and then is started.
    let detail = expect_json(i.t.post(&i.staff, "/api/v1/tracebacks", &start).await, 201).await;
    assert_eq!(detail["call"]["calling"]["e164"], "+12025550142", "{detail}");
    assert_eq!(detail["call"]["call_time"], "2026-03-01T14:00:00Z");
    let started = expect_json(i.t.get(&i.staff, &path).await, 200).await;
    assert_eq!((&started["status"], &started["traceback_id"]), (&json!("started"), &detail["id"]));
    expect_problem(i.t.post(&i.staff, "/api/v1/tracebacks", &start).await, 409, "conflict").await;
}

#[tokio::test]
async fn a_rejection_is_kept_with_its_reason_and_starts_nothing() {
    let i = Intake::new().await;
    let analytics = i.submitter("signalwatch", "analytics_provider").await;
    let incident = i.incident(&analytics, "sw-1").await;
    let candidate = i.candidate(&analytics, &json!({"incident_id": incident, "summary": "one call"})).await;
    let path = format!("/api/v1/candidates/{}", candidate["id"].as_str().unwrap());
    expect_invalid(i.t.post(&i.staff, &format!("{path}/reject"), &json!({"reason": " "})).await, "reason").await;
    let rejected = expect_json(
        i.t.post(&i.staff, &format!("{path}/reject"), &json!({"reason": "a single unverifiable report"})).await,
        200,
    )
    .await;
    assert_eq!(
        (&rejected["status"], &rejected["rejection_reason"]),
        (&json!("rejected"), &json!("a single unverifiable report"))
    );
    // The source sees the decision and its reason.
    let seen = expect_json(i.t.get(&analytics, &path).await, 200).await;
    assert_eq!(seen["rejection_reason"], "a single unverifiable report");
    let start = json!({"candidate_id": candidate["id"], "terminating_provider": "terminating"});
    expect_invalid(i.t.post(&i.staff, "/api/v1/tracebacks", &start).await, "candidate_id").await;
    expect_problem(i.t.post(&i.staff, &format!("{path}/approve"), &json!({})).await, 409, "conflict").await;
    let rejected_list = expect_json(i.t.get(&i.staff, "/api/v1/candidates?status=rejected").await, 200).await;
    assert_eq!(rejected_list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn foreign_law_enforcement_requests_stay_a_category_of_their_own() {
    let i = Intake::new().await;
    let agency = i.submitter("example-kingdom", "foreign_enforcement").await;
    let analytics = i.submitter("signalwatch", "analytics_provider").await;
    let label = expect_json(
        i.t.post(&i.staff, "/api/v1/campaign-labels", &json!({"name": "Government impersonation"})).await,
        201,
    )
    .await;
    expect_invalid(
        i.t.post(&i.staff, "/api/v1/campaign-labels", &json!({"name": "Government impersonation"})).await,
        "name",
    )
    .await;
    let campaign = json!({"name": "Tax refund", "label_id": label["id"]});
    let campaign = expect_json(i.t.post(&i.staff, "/api/v1/campaigns", &campaign).await, 201).await;
    assert_eq!(campaign["label"]["name"], "Government impersonation");
    expect_invalid(
        i.t.post(&i.staff, "/api/v1/campaigns", &json!({"name": "x", "label_id": "nope"})).await,
        "label_id",
    )
    .await;
    expect_invalid(i.t.post(&i.staff, "/api/v1/campaigns", &json!({"id": "tax refund", "name": "x"})).await, "id")
        .await;
    let path = format!("/api/v1/campaigns/{}", campaign["id"].as_str().unwrap());
    expect_invalid(i.t.put(&i.staff, &path, &json!({"id": "other", "name": "Tax refund"})).await, "id").await;
    let rename = json!({"name": "Tax refund 2026", "label_id": label["id"]});
    let renamed = expect_json(i.t.put(&i.staff, &path, &rename).await, 200).await;
    assert_eq!((&renamed["id"], renamed["name"].as_str()), (&campaign["id"], Some("Tax refund 2026")));
    assert_eq!(renamed["label"]["name"], "Government impersonation");

    for (token, external_id) in [(&agency, "ek-1"), (&analytics, "sw-1"), (&analytics, "sw-2")] {
        let incident = i.incident(token, external_id).await;
        let body = json!({"incident_id": incident, "campaign_id": campaign["id"], "summary": "tax refund calls"});
        let candidate = i.candidate(token, &body).await;
        i.approve(candidate["id"].as_str().unwrap()).await;
        let start = json!({"candidate_id": candidate["id"], "terminating_provider": "terminating"});
        let detail = expect_json(i.t.post(&i.staff, "/api/v1/tracebacks", &start).await, 201).await;
        let expected = if token == &agency { "foreign_law_enforcement" } else { "domestic" };
        assert_eq!(detail["category"], expected, "{detail}");
        assert_eq!(detail["call"]["campaign_label"], "Government impersonation", "{detail}");
    }
    let foreign =
        expect_json(i.t.get(&i.staff, "/api/v1/tracebacks?category=foreign_law_enforcement").await, 200).await;
    assert_eq!(foreign["items"].as_array().unwrap().len(), 1);
    let candidates =
        expect_json(i.t.get(&i.staff, "/api/v1/candidates?category=foreign_law_enforcement").await, 200).await;
    assert_eq!(candidates["items"].as_array().unwrap().len(), 1);

    let path = format!("/api/v1/campaigns/{}", campaign["id"].as_str().unwrap());
    let counted = expect_json(i.t.get(&i.staff, &path).await, 200).await;
    assert_eq!(counted["traceback_counts"], json!({"domestic": {"open": 2}, "foreign_law_enforcement": {"open": 1}}));
    let by_label = expect_json(
        i.t.get(&i.staff, &format!("/api/v1/campaigns?label_id={}", label["id"].as_str().unwrap())).await,
        200,
    )
    .await;
    assert_eq!(by_label.as_array().unwrap().len(), 1);
    let renamed =
        expect_json(i.t.put(&i.staff, &path, &json!({"name": "Tax refund 2026", "label_id": label["id"]})).await, 200)
            .await;
    assert_eq!(renamed["name"], "Tax refund 2026");
    let campaign_tracebacks = expect_json(
        i.t.get(&i.staff, &format!("/api/v1/tracebacks?campaign_id={}", campaign["id"].as_str().unwrap())).await,
        200,
    )
    .await;
    assert_eq!(campaign_tracebacks["items"].as_array().unwrap().len(), 3);
    // Campaigns are staff business.
    expect_problem(i.t.get(&analytics, "/api/v1/campaigns").await, 403, "forbidden").await;
}

/// Puts a recording on an incident with `token`.
async fn put_recording(t: &TestApp, token: &str, incident: &str, bytes: &'static [u8]) -> Value {
    let response = t
        .http
        .put(t.url(&format!("/api/v1/incidents/{incident}/recording")))
        .bearer_auth(token)
        .header("content-type", "audio/wav")
        .body(bytes)
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await
}

#[tokio::test]
async fn a_used_incidents_recording_is_kept_and_a_correction_is_a_new_version() {
    let i = Intake::new().await;
    let analytics = i.submitter("signalwatch", "analytics_provider").await;
    let incident = i.incident(&analytics, "sw-rec").await;
    // Before any traceback uses it, a new recording simply replaces the old.
    put_recording(&i.t, &analytics, &incident, b"RIFF-draft-WAVE").await;
    let first = put_recording(&i.t, &analytics, &incident, b"RIFF-first-WAVE").await;
    assert!(i.t.app.store().recording_versions(&incident).await.unwrap().is_empty());
    let candidate = i.candidate(&analytics, &json!({"incident_id": incident, "summary": "bank spoofing"})).await;
    i.approve(candidate["id"].as_str().unwrap()).await;
    let start = json!({"candidate_id": candidate["id"], "terminating_provider": "terminating"});
    let detail = expect_json(i.t.post(&i.staff, "/api/v1/tracebacks", &start).await, 201).await;
    assert_eq!(detail["call"]["recording"]["sha256"], first["recording"]["sha256"]);

    // Now a correction is a new version; the traceback's recording is kept, byte for byte.
    let corrected = put_recording(&i.t, &analytics, &incident, b"RIFF-corrected-WAVE").await;
    assert_ne!(corrected["recording"]["sha256"], first["recording"]["sha256"]);
    let versions = i.t.app.store().recording_versions(&incident).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].version, 1);
    assert_eq!(json!(versions[0].recording.sha256), first["recording"]["sha256"]);
    let key = object_store::path::Path::from(versions[0].recording.key.as_str());
    let kept = i.t.app.recordings().objects().get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(kept.as_ref(), b"RIFF-first-WAVE");
    let id = detail["id"].as_str().unwrap();
    let still = expect_json(i.t.get(&i.staff, &format!("/api/v1/tracebacks/{id}")).await, 200).await;
    assert_eq!(still["call"]["recording"], detail["call"]["recording"]);
}

#[tokio::test]
async fn submitters_do_not_see_staff_notes_deciders_or_tracebacks_of_their_candidates() {
    let i = Intake::new().await;
    let analytics = i.submitter("signalwatch", "analytics_provider").await;
    let incident = i.incident(&analytics, "sw-2").await;
    let candidate = i.candidate(&analytics, &json!({"incident_id": incident, "summary": "bank spoofing"})).await;
    let id = candidate["id"].as_str().unwrap().to_owned();
    i.approve(&id).await;
    let start = json!({"candidate_id": id, "terminating_provider": "terminating"});
    expect_json(i.t.post(&i.staff, "/api/v1/tracebacks", &start).await, 201).await;
    let staff_sees = expect_json(i.t.get(&i.staff, &format!("/api/v1/candidates/{id}")).await, 200).await;
    assert!(staff_sees["due_diligence"].is_object() && staff_sees["decided_by"].is_string());
    assert!(staff_sees["traceback_id"].is_string());
    let own = expect_json(i.t.get(&analytics, &format!("/api/v1/candidates/{id}")).await, 200).await;
    let listed = expect_json(i.t.get(&analytics, "/api/v1/candidates").await, 200).await;
    for seen in [&own, &listed["items"][0]] {
        assert_eq!(seen["status"], "started", "{seen}");
        for hidden in ["due_diligence", "decided_by", "traceback_id", "legal_basis"] {
            assert_eq!(seen[hidden], Value::Null, "{hidden}: {seen}");
        }
        assert!(!seen.to_string().contains("nature_note"), "{seen}");
    }
}
