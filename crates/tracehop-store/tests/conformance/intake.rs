//! Candidates, campaigns and directory merges, the same on both engines.

use tracehop_core::country::Country;
use tracehop_store::Store;
use tracehop_store::StoreError;
use tracehop_store::campaigns::{CampaignRecord, LabelRecord};
use tracehop_store::candidates::{CandidateFilter, CandidateRecord};
use tracehop_store::providers::{Contact, ContactRole, IdentifierKind, ProviderInput};

use crate::support::{fresh, minutes, pid, t0};

fn candidate(id: &str, minutes_after: i64, category: &str) -> CandidateRecord {
    let at = t0() + minutes(minutes_after);
    CandidateRecord {
        id: id.to_owned(),
        source_kind: "analytics_provider".to_owned(),
        submitter_id: None,
        submitted_by: "analyst".to_owned(),
        category: category.to_owned(),
        incident_id: None,
        campaign_id: None,
        summary: format!("candidate {id}"),
        status: "pending".to_owned(),
        due_diligence: None,
        legal_basis: None,
        decided_by: None,
        decided_at: None,
        rejection_reason: None,
        traceback_id: None,
        created_at: at,
        updated_at: at,
    }
}

async fn save(store: &Store, record: &CandidateRecord) {
    let mut tx = store.begin().await.unwrap();
    tx.save_candidate(record).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn candidates_list_newest_first_by_keyset_and_start_once() {
    let (_db, store) = fresh().await;
    for (index, category) in ["domestic", "foreign_law_enforcement", "domestic"].into_iter().enumerate() {
        save(&store, &candidate(&format!("c{index}"), i64::try_from(index).unwrap(), category)).await;
    }
    let all = |before, limit| CandidateFilter { before, limit, ..CandidateFilter::default() };
    let first: Vec<String> = store.list_candidates(&all(None, 2)).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(first, ["c2", "c1"]);
    let last = store.candidate("c1").await.unwrap().unwrap();
    let rest = store.list_candidates(&all(Some((last.created_at.as_microsecond(), last.id)), 2)).await.unwrap();
    assert_eq!(rest.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c0"]);
    let foreign =
        CandidateFilter { category: Some("foreign_law_enforcement".into()), limit: 10, ..CandidateFilter::default() };
    assert_eq!(store.list_candidates(&foreign).await.unwrap().len(), 1);

    // Only an approved candidate is marked started, and only once.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.mark_candidate_started("c0", "tb-1", t0()).await.unwrap(), "pending");
    tx.commit().await.unwrap();
    save(&store, &CandidateRecord { status: "approved".into(), ..candidate("c0", 0, "domestic") }).await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.mark_candidate_started("c0", "tb-1", t0()).await.unwrap());
    assert!(!tx.mark_candidate_started("c0", "tb-2", t0()).await.unwrap(), "already started");
    tx.commit().await.unwrap();
    let started = store.candidate("c0").await.unwrap().unwrap();
    assert_eq!((started.status.as_str(), started.traceback_id.as_deref()), ("started", Some("tb-1")));
}

#[tokio::test]
async fn label_names_are_unique_and_campaigns_list_by_label() {
    let (_db, store) = fresh().await;
    let label =
        LabelRecord { id: "l1".into(), name: "Government impersonation".into(), description: None, created_at: t0() };
    let mut tx = store.begin().await.unwrap();
    tx.insert_label(&label).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let again = tx.insert_label(&LabelRecord { id: "l2".into(), ..label.clone() }).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    tx.rollback().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    for (id, name, label_id) in [("k1", "Tax refund", Some("l1")), ("k2", "Auto warranty", None)] {
        let campaign = CampaignRecord {
            id: id.into(),
            name: name.into(),
            description: None,
            label_id: label_id.map(str::to_owned),
            created_at: t0(),
            updated_at: t0(),
        };
        tx.insert_campaign(&campaign).await.unwrap();
    }
    tx.commit().await.unwrap();
    let names = |list: Vec<CampaignRecord>| list.into_iter().map(|c| c.name).collect::<Vec<_>>();
    assert_eq!(names(store.campaigns(None).await.unwrap()), ["Auto warranty", "Tax refund"]);
    assert_eq!(names(store.campaigns(Some("l1")).await.unwrap()), ["Tax refund"]);

    let mut tx = store.begin().await.unwrap();
    let mut renamed = tx.campaign("k1").await.unwrap().unwrap();
    let taken = tx.insert_campaign(&renamed).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    tx.rollback().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    renamed.name = "Tax refund 2026".into();
    renamed.label_id = None;
    tx.update_campaign(&renamed).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.campaigns(Some("l1")).await.unwrap().is_empty());
    assert_eq!(store.campaign("k1").await.unwrap().map(|c| c.name).as_deref(), Some("Tax refund 2026"));
}

fn contact(role: ContactRole, email: &str) -> Contact {
    Contact { role, name: "Desk".into(), title: None, email: Some(email.into()), phone: None, business_hours: None }
}

#[tokio::test]
async fn a_merged_provider_is_reached_and_resolved_through_the_one_it_was_merged_into() {
    let (_db, store) = fresh().await;
    let mut tx = store.begin().await.unwrap();
    for id in ["stand-in", "real", "other"] {
        tx.upsert_provider(&ProviderInput::new(pid(id), id, Country::US), t0()).await.unwrap();
    }
    tx.set_contact(&pid("stand-in"), &contact(ContactRole::Primary, "ops@stand-in.example"), t0()).await.unwrap();
    tx.set_contact(&pid("real"), &contact(ContactRole::Primary, "fraud@real.example"), t0()).await.unwrap();
    tx.add_identifiers(&pid("stand-in"), &[(IdentifierKind::Frn, "31000999".into())]).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    tx.merge_provider(&pid("stand-in"), &pid("real"), t0()).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let profile = tx.provider_profile(&pid("stand-in")).await.unwrap().unwrap();
    assert_eq!(profile.id, pid("real"), "answers naming the stand-in reach the real provider");
    assert_eq!(tx.provider_by_identifier(IdentifierKind::Frn, "31000999").await.unwrap(), Some(pid("real")));
    let targets = tx.notification_targets(&["stand-in"]).await.unwrap();
    assert_eq!(targets["stand-in"].emails, ["fraud@real.example"], "its hop requests go to the real provider");
    // Identifiers are replaced as a set; one another provider holds is a conflict.
    tx.set_identifiers(&pid("other"), &[(IdentifierKind::Ocn, "1a2b".into())]).await.unwrap();
    let taken = tx.set_identifiers(&pid("other"), &[(IdentifierKind::Frn, "0031000999".into())]).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    tx.rollback().await.unwrap();
    assert_eq!(store.merged_into(&pid("real")).await.unwrap(), [pid("stand-in")]);
    assert_eq!(store.identifiers(&pid("other")).await.unwrap(), []);
    // Read outside a transaction, as STIR/SHAKEN signers are mapped to providers.
    assert_eq!(store.find_provider_by_identifier(IdentifierKind::Frn, "31000999").await.unwrap(), Some(pid("real")));
    let mut tx = store.begin().await.unwrap();
    tx.add_identifiers(&pid("other"), &[(IdentifierKind::Spc, "555a".into())]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.find_provider_by_identifier(IdentifierKind::Spc, "555A").await.unwrap(), Some(pid("other")));
    assert_eq!(store.find_provider_by_identifier(IdentifierKind::Ocn, "555A").await.unwrap(), None);

    let mut tx = store.begin().await.unwrap();
    tx.remove_contact(&pid("real"), ContactRole::Primary).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.contacts(&pid("real")).await.unwrap().is_empty());
}
