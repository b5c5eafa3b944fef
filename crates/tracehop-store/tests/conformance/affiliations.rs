//! Suggested affiliations: one per pair whatever its status, none for linked providers;
//! decisions; identifiers that move; finding providers by the numbers they are known by.

use tracehop_core::country::Country;
use tracehop_store::affiliations::{SuggestionFilter, SuggestionSource, SuggestionStatus};
use tracehop_store::providers::{IdentifierKind, ProviderFilter, ProviderInput};

use crate::support::{fresh, pid, t0};

#[tokio::test]
async fn a_pair_is_suggested_once_and_a_decision_stays() {
    let (_db, store) = fresh().await;
    let mut tx = store.begin().await.unwrap();
    for id in ["north", "ohio", "iowa", "solo"] {
        tx.upsert_provider(&ProviderInput::new(pid(id), format!("{id} Voice"), Country::US), t0()).await.unwrap();
    }
    let source = SuggestionSource { frn: "0031100002", rmd: "RMD0100002", line: 3 };
    assert!(tx.suggest_affiliation(&pid("ohio"), &pid("north"), &source, t0()).await.unwrap());
    assert!(!tx.suggest_affiliation(&pid("north"), &pid("ohio"), &source, t0()).await.unwrap(), "either way round");
    assert!(!tx.suggest_affiliation(&pid("solo"), &pid("solo"), &source, t0()).await.unwrap());
    tx.add_affiliate(&pid("iowa"), &pid("north")).await.unwrap();
    assert!(!tx.suggest_affiliation(&pid("north"), &pid("iowa"), &source, t0()).await.unwrap(), "already linked");
    let other = SuggestionSource { frn: "0031100004", rmd: "RMD0100007", line: 8 };
    assert!(tx.suggest_affiliation(&pid("solo"), &pid("ohio"), &other, t0()).await.unwrap());
    tx.commit().await.unwrap();

    let open = SuggestionFilter { status: Some(SuggestionStatus::Open), limit: 10, ..SuggestionFilter::default() };
    let listed = store.affiliation_suggestions(&open).await.unwrap();
    assert_eq!(listed.len(), 2);
    let first = &listed[0];
    assert_eq!((first.provider_a.as_str(), first.provider_b.as_str()), ("north", "ohio"));
    assert_eq!((first.frn.as_str(), first.source_rmd.as_str(), first.source_line), ("0031100002", "RMD0100002", 3));
    let page =
        store.affiliation_suggestions(&SuggestionFilter { after: Some(first.id), ..open.clone() }).await.unwrap();
    assert_eq!(page.len(), 1);
    let naming = SuggestionFilter { provider: Some(pid("solo")), ..open.clone() };
    assert_eq!(store.affiliation_suggestions(&naming).await.unwrap()[0].provider_b.as_str(), "solo");

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.decide_affiliation_suggestion(first.id, SuggestionStatus::Dismissed, Some("no"), "analyst-1", t0())
            .await
            .unwrap()
    );
    assert!(
        !tx.decide_affiliation_suggestion(first.id, SuggestionStatus::Confirmed, None, "analyst-1", t0())
            .await
            .unwrap()
    );
    assert!(!tx.suggest_affiliation(&pid("north"), &pid("ohio"), &source, t0()).await.unwrap(), "dismissed");
    let decided = tx.affiliation_suggestion(first.id).await.unwrap().unwrap();
    assert_eq!(
        (decided.status, decided.reason.as_deref(), decided.decided_by.as_deref()),
        (SuggestionStatus::Dismissed, Some("no"), Some("analyst-1"))
    );
    assert_eq!(decided.decided_at, Some(t0()));
    tx.commit().await.unwrap();
    assert_eq!(store.affiliation_suggestions(&open).await.unwrap().len(), 1);
}

#[tokio::test]
async fn providers_are_found_by_rmd_number_frn_or_ocn_exactly() {
    let (_db, store) = fresh().await;
    let mut tx = store.begin().await.unwrap();
    for id in ["harbor", "cove", "bay"] {
        tx.upsert_provider(&ProviderInput::new(pid(id), format!("{id} Networks"), Country::US), t0()).await.unwrap();
    }
    tx.add_identifiers(
        &pid("harbor"),
        &[
            (IdentifierKind::Rmd, "RMD0000123".into()),
            (IdentifierKind::Frn, "31000777".into()),
            (IdentifierKind::Ocn, "9a1b".into()),
        ],
    )
    .await
    .unwrap();
    // A filing whose FRN another holds is found through the suggestion the clash made.
    let source = SuggestionSource { frn: "0031000777", rmd: "RMD0000124", line: 3 };
    tx.suggest_affiliation(&pid("harbor"), &pid("cove"), &source, t0()).await.unwrap();
    // An identifier moves to the provider it belongs to.
    tx.move_identifier(IdentifierKind::Frn, "0031000888", &pid("bay")).await.unwrap();
    tx.add_identifiers(&pid("cove"), &[(IdentifierKind::Frn, "31000999".into())]).await.unwrap();
    tx.move_identifier(IdentifierKind::Frn, "31000999", &pid("bay")).await.unwrap();
    assert_eq!(tx.provider_by_identifier(IdentifierKind::Frn, "0031000999").await.unwrap(), Some(pid("bay")));
    assert_eq!(tx.provider_by_identifier(IdentifierKind::Frn, "31000888").await.unwrap(), Some(pid("bay")));
    tx.commit().await.unwrap();

    let find = |q: &str| {
        let filter = ProviderFilter { query: Some(q.to_owned()), limit: 10, ..ProviderFilter::default() };
        let store = store.clone();
        async move { store.find_providers(&filter).await.unwrap().into_iter().map(|p| p.id.to_string()).collect::<Vec<_>>() }
    };
    assert_eq!(find("rmd0000123").await, ["harbor"]);
    assert_eq!(find("31000777").await, ["cove", "harbor"]);
    assert_eq!(find("0031000777").await, ["cove", "harbor"]);
    assert_eq!(find("9A1B").await, ["harbor"]);
    assert_eq!(find("31000999").await, ["bay"]);
    assert_eq!(find("harb").await, ["harbor"], "names and ids still match in part");
    assert!(find("3100077").await.is_empty(), "identifiers match exactly");
}
