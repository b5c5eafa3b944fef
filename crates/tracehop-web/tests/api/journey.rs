//! A whole traceback through the API: an analytics provider submits the incident and the
//! candidate, staff vet and start it, and six providers answer with their own tokens.

use serde_json::json;
use tracehop_app::access::tokens::Scope;
use tracehop_store::providers::IdentifierKind;
use tracehop_web::testing::TestApp;

use crate::support::{at, expect_invalid, expect_json, expect_problem, labels};

#[tokio::test]
async fn six_providers_answer_by_api_to_an_international_origin() {
    let t = TestApp::start(at("2026-03-02T15:00:00Z")).await;
    // Terminating (US) → transit (US) → gateway (US POE) → foreign (MX, departure) → foreign (CO)
    // → foreign originator (CO).
    let chain = [
        ("terminating", "US", None),
        ("transit", "US", Some((IdentifierKind::Frn, "0031000002"))),
        ("gateway", "US", Some((IdentifierKind::Rmd, "RMD0009003"))),
        ("departure", "MX", None),
        ("relay", "CO", None),
        ("origin", "CO", None),
    ];
    let mut tokens = Vec::new();
    for (id, country, identifier) in &chain {
        let provider = t.provider(id, country, identifier.as_slice()).await;
        tokens.push(t.provider_token(&provider, &[Scope::HopsRead, Scope::HopsAnswer]).await);
    }
    let staff = t
        .staff_token(&[
            Scope::TracebacksManage,
            Scope::TracebacksRead,
            Scope::IntakeManage,
            Scope::TokensManage,
            Scope::IncidentsSubmit,
            Scope::CandidatesSubmit,
        ])
        .await;

    // An analytics provider is registered and given a token; it submits an incident and a
    // candidate resting on it.
    let submitter = json!({"id": "signalwatch", "name": "SignalWatch Analytics", "kind": "analytics_provider"});
    expect_json(t.post(&staff, "/api/v1/submitters", &submitter).await, 201).await;
    let grant = json!({"name": "signalwatch intake", "submitter_id": "signalwatch",
                       "scopes": ["incidents:submit", "candidates:submit"]});
    let analytics =
        expect_json(t.post(&staff, "/api/v1/tokens", &grant).await, 201).await["token"].as_str().unwrap().to_owned();
    let campaign =
        expect_json(t.post(&staff, "/api/v1/campaigns", &json!({"name": "Medicare card renewal"})).await, 201).await;
    let incident = json!({"external_id": "sw-2026-0001", "calling": "+1 202-555-0123", "called": "(312) 555-0199",
                          "call_time": "2026-03-01T18:22:05Z", "basis": "Analytics flagged a Medicare impersonation campaign."});
    let incident = expect_json(t.post(&analytics, "/api/v1/incidents", &incident).await, 201).await;
    let candidate = json!({"incident_id": incident["id"], "campaign_id": campaign["id"],
                           "summary": "41,000 calls a day with a prerecorded Medicare impersonation message."});
    let candidate = expect_json(t.post(&analytics, "/api/v1/candidates", &candidate).await, 201).await;
    assert_eq!(
        (candidate["status"].as_str(), candidate["source_kind"].as_str()),
        (Some("pending"), Some("analytics_provider"))
    );
    let candidate_path = format!("/api/v1/candidates/{}", candidate["id"].as_str().unwrap());

    // Only an approved candidate starts a traceback (SRC-3): staff record the due diligence and
    // the legal basis, then approve.
    let start = json!({"candidate_id": candidate["id"], "terminating_provider": "terminating"});
    expect_invalid(t.post(&staff, "/api/v1/tracebacks", &start).await, "candidate_id").await;
    let diligence = json!({"due_diligence": {"credible_source": true, "verifiable": true, "nature": "fraudulent",
                           "nature_note": "Medicare impersonation in the recording", "burden_balanced": true},
                           "legal_basis": "protect_users"});
    expect_json(t.post(&staff, &format!("{candidate_path}/due-diligence"), &diligence).await, 200).await;
    let approved = expect_json(t.post(&staff, &format!("{candidate_path}/approve"), &json!({})).await, 200).await;
    assert_eq!(approved["status"], "approved");
    let started = t.post(&staff, "/api/v1/tracebacks", &start).await;
    let detail = expect_json(started, 201).await;
    let id = detail["id"].as_str().unwrap().to_owned();
    assert_eq!(detail["hops"][0]["request"]["respond_by"], "2026-03-03T15:00:00Z");

    // Each provider finds its request in its list and answers, naming the next by id, FRN or RMD.
    let answers = [
        json!({"kind": "upstream", "upstream": {"frn": "31000002"}, "evidence": {"sip_call_id": "abc@sbc", "attestation_received": "A"}}),
        json!({"kind": "upstream", "upstream": {"rmd_number": "RMD0009003"}}),
        json!({"kind": "upstream", "upstream": {"provider_id": "departure"}, "evidence": {"ingress_trunk": "INTL-7"}}),
        json!({"kind": "upstream", "upstream": {"provider_id": "relay"}}),
        json!({"kind": "upstream", "upstream": {"provider_id": "origin"}}),
        json!({"kind": "originated", "customer": {"name": "Call Centre Pacífico SAS", "country": "CO", "business_nature": "outbound sales"},
               "mitigation": {"action": "terminated"}, "attestation": "A"}),
    ];
    for (index, answer) in answers.iter().enumerate() {
        t.advance(jiff::SignedDuration::from_mins(30)).await;
        let token = &tokens[index];
        let list = expect_json(t.get(token, "/api/v1/provider/hops").await, 200).await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{} sees its one open request: {list}", chain[index].0);
        assert_eq!(items[0]["traceback_id"], id.as_str());
        let hop = items[0]["hop"].as_str().unwrap();
        let path = format!("/api/v1/provider/tracebacks/{id}/hops/{hop}/answer");
        let view = expect_json(t.post(token, &path, answer).await, 200).await;
        assert_eq!(view["hops"][0]["state"], "answered", "{view}");
    }

    let detail = expect_json(t.get(&staff, &format!("/api/v1/tracebacks/{id}")).await, 200).await;
    assert_eq!(detail["status"], "closed");
    assert_eq!(detail["outcome"], json!({"outcome": "origin_identified", "origin": "international"}));
    assert_eq!(detail["hop_count"], 6);
    let expected: Vec<(String, Vec<String>)> = [
        ("terminating", vec![]),
        ("transit", vec![]),
        ("gateway", vec!["us_point_of_entry"]),
        ("departure", vec!["foreign_point_of_departure"]),
        ("relay", vec![]),
        ("origin", vec!["international_origin"]),
    ]
    .into_iter()
    .map(|(p, l)| (p.to_owned(), l.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(labels(&detail), expected);

    // The transit provider sees its own hop and, of its upstream, only the limited role.
    let view = expect_json(t.get(&tokens[1], &format!("/api/v1/provider/tracebacks/{id}")).await, 200).await;
    assert_eq!(view["hops"][0]["named_by"]["id"], "terminating");
    assert_eq!(
        view["hops"][0]["upstream"],
        json!({"provider": {"id": "gateway", "name": "gateway Communications"}, "role": "trace_continued"})
    );
    let text = view.to_string();
    for hidden in ["Call Centre Pacífico", "origin Communications", "departure", "INTL-7"] {
        assert!(!text.contains(hidden), "the transit provider's view shows {hidden}: {text}");
    }
    assert_eq!(view["closed"], true);

    // The candidate records the traceback it started; its submitter sees that it started, not
    // which traceback. The campaign counts the closed domestic traceback.
    let candidate = expect_json(t.get(&staff, &candidate_path).await, 200).await;
    assert_eq!(
        (candidate["status"].as_str(), candidate["traceback_id"].as_str()),
        (Some("started"), Some(id.as_str()))
    );
    let own = expect_json(t.get(&analytics, &candidate_path).await, 200).await;
    assert_eq!((own["status"].as_str(), own["traceback_id"].as_str()), (Some("started"), None));
    expect_problem(t.get(&analytics, &format!("/api/v1/tracebacks/{id}")).await, 403, "forbidden").await;
    let campaign =
        expect_json(t.get(&staff, &format!("/api/v1/campaigns/{}", campaign["id"].as_str().unwrap())).await, 200).await;
    assert_eq!(campaign["traceback_counts"], json!({"domestic": {"closed": 1}}), "{campaign}");
}
