//! The provider directory: upserts, VSP entities from common control, contacts, and what a
//! provider looks like to the engine; named counters.

use tracehop_core::calendar::{BusinessHours, BusinessHoursSpec, Holidays};
use tracehop_core::country::Country;
use tracehop_core::provider::{EntityId, ProviderId, ProviderProfile};
use tracehop_store::Store;
use tracehop_store::providers::{Contact, ContactRole, ForeignSource, ProviderInput};

use crate::support::{Flow, assert_stored, at, chicago_hours, fresh, hours, pid, start, t0, tb_id};

fn input(id: &str, country: &str) -> ProviderInput {
    ProviderInput {
        id: pid(id),
        name: format!("{id} Networks"),
        country: Country::parse(country).unwrap(),
        foreign: None,
        separate_treatment: false,
        business_hours: BusinessHours::default(),
        deemed_receipt: false,
        verified: true,
        details: serde_json::json!({}),
    }
}

async fn upsert(store: &Store, inputs: &[ProviderInput], now: jiff::Timestamp) {
    let mut tx = store.begin().await.unwrap();
    for input in inputs {
        tx.upsert_provider(input, now).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn set_affiliates(store: &Store, provider: &str, affiliates: &[&str]) -> u64 {
    let mut tx = store.begin().await.unwrap();
    let ids: Vec<ProviderId> = affiliates.iter().map(|a| pid(a)).collect();
    tx.set_affiliates(&pid(provider), &ids).await.unwrap();
    let changed = tx.recompute_entities().await.unwrap();
    tx.commit().await.unwrap();
    changed
}

async fn entities(store: &Store) -> Vec<(String, String)> {
    store.list_providers().await.unwrap().into_iter().map(|p| (p.id.to_string(), p.entity_id.to_string())).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

async fn profile(store: &Store, id: &str) -> Option<ProviderProfile> {
    let mut tx = store.begin().await.unwrap();
    let profile = tx.provider_profile(&pid(id)).await.unwrap();
    tx.rollback().await.unwrap();
    profile
}

#[tokio::test]
async fn upsert_inserts_then_updates_a_provider() {
    let (_db, store) = fresh().await;
    let mut gateway = input("G", "US");
    gateway.details = serde_json::json!({"dba": ["G Voice"], "frn": "0012345678", "rmd": {"filed": true}});
    gateway.business_hours = chicago_hours();
    let mut overridden = input("R", "US");
    overridden.foreign = Some((true, ForeignSource::Rmd, Some("RMD lists a foreign address".into())));
    upsert(&store, &[gateway.clone(), input("F", "GB"), overridden], t0()).await;

    let record = store.provider(&pid("G")).await.unwrap().unwrap();
    assert_eq!((record.name.as_str(), record.country, record.foreign), ("G Networks", Country::US, false));
    assert_eq!((record.foreign_source, record.foreign_override_reason.as_deref()), (ForeignSource::Country, None));
    assert_eq!(record.entity_id, EntityId(pid("G")), "a new provider is its own entity");
    assert_eq!(record.business_hours, chicago_hours());
    assert_eq!(record.details, gateway.details);
    assert_eq!((record.created_at, record.updated_at), (t0(), t0()));
    assert_eq!(
        (record.verified, record.deemed_receipt, record.separate_treatment, record.merged_into),
        (true, false, false, None)
    );
    let foreign = store.provider(&pid("F")).await.unwrap().unwrap();
    assert!(foreign.foreign, "foreign by its country");
    let rmd = store.provider(&pid("R")).await.unwrap().unwrap();
    assert_eq!(
        (rmd.foreign, rmd.foreign_source, rmd.foreign_override_reason.as_deref()),
        (true, ForeignSource::Rmd, Some("RMD lists a foreign address"))
    );
    assert!(store.provider(&pid("nobody")).await.unwrap().is_none());

    // An update changes what it sets; the creation time and the entity stay.
    set_affiliates(&store, "F", &["G"]).await;
    let mut renamed = gateway.clone();
    renamed.name = "G Networks West".into();
    renamed.country = Country::parse("PR").unwrap();
    renamed.deemed_receipt = true;
    renamed.verified = false;
    renamed.business_hours = BusinessHours::default();
    renamed.details = serde_json::json!({"note": "merged billing"});
    let later = at(t0(), hours(5));
    upsert(&store, &[renamed.clone()], later).await;
    let record = store.provider(&pid("G")).await.unwrap().unwrap();
    assert_eq!((record.name.as_str(), record.country.code(), record.foreign), ("G Networks West", "PR", false));
    assert_eq!((record.deemed_receipt, record.verified), (true, false));
    assert_eq!(record.business_hours, BusinessHours::default());
    assert_eq!(record.details, renamed.details);
    assert_eq!((record.created_at, record.updated_at), (t0(), later));
    assert_eq!(record.entity_id, EntityId(pid("G")));

    let ids: Vec<String> = store.list_providers().await.unwrap().into_iter().map(|p| p.id.to_string()).collect();
    assert_eq!(ids, ["F", "G", "R"]);
}

#[tokio::test]
async fn common_control_groups_us_affiliates_into_one_entity() {
    let (_db, store) = fresh().await;
    let mut separate = input("S", "US");
    separate.separate_treatment = true;
    upsert(
        &store,
        &[input("G", "US"), input("G2", "US"), input("GF", "GB"), input("G3", "US"), separate, input("A", "US")],
        t0(),
    )
    .await;
    assert_eq!(set_affiliates(&store, "G", &["G2", "GF"]).await, 1, "G2 joins G");
    assert_eq!(set_affiliates(&store, "GF", &["G3"]).await, 1, "G3 joins G through the foreign GF");
    assert_eq!(set_affiliates(&store, "S", &["G"]).await, 0, "S asked to stand alone");
    assert_eq!(
        set_affiliates(&store, "A", &["UNKNOWN"]).await,
        0,
        "links to providers not in the directory do nothing"
    );
    assert_eq!(
        entities(&store).await,
        pairs(&[("A", "A"), ("G", "G"), ("G2", "G"), ("G3", "G"), ("GF", "GF"), ("S", "S")])
    );
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.recompute_entities().await.unwrap(), 0, "nothing changed");
    tx.commit().await.unwrap();

    // Links count in both directions.
    let names = |ids: Vec<ProviderId>| ids.into_iter().map(|id| id.to_string()).collect::<Vec<_>>();
    assert_eq!(names(store.affiliates(&pid("G")).await.unwrap()), ["G2", "GF", "S"]);
    assert_eq!(names(store.affiliates(&pid("G2")).await.unwrap()), ["G"]);

    // The engine sees the entity.
    let g2 = profile(&store, "G2").await.unwrap();
    assert_eq!(g2.entity, EntityId(pid("G")));
    assert_eq!(profile(&store, "GF").await.unwrap().entity, EntityId(pid("GF")));

    // set_affiliates replaces: G drops its links, and the group falls apart.
    assert_eq!(set_affiliates(&store, "G", &[]).await, 2);
    assert_eq!(
        entities(&store).await,
        pairs(&[("A", "A"), ("G", "G"), ("G2", "G2"), ("G3", "G3"), ("GF", "GF"), ("S", "S")])
    );
    assert_eq!(names(store.affiliates(&pid("G")).await.unwrap()), ["S"]);

    // A provider that turns foreign leaves its entity on the next recompute.
    set_affiliates(&store, "G2", &["G3"]).await;
    assert_eq!(entities(&store).await[2..4], pairs(&[("G2", "G2"), ("G3", "G2")])[..]);
    upsert(&store, &[input("G2", "CA")], at(t0(), hours(1))).await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.recompute_entities().await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert_eq!(entities(&store).await[2..4], pairs(&[("G2", "G2"), ("G3", "G3")])[..]);
}

#[tokio::test]
async fn contacts_round_trip_and_decide_whether_a_provider_is_contactable() {
    let (_db, store) = fresh().await;
    let mut c = input("C", "US");
    c.business_hours = chicago_hours();
    c.deemed_receipt = true;
    upsert(&store, &[c, input("D", "US")], t0()).await;
    let profile_c = profile(&store, "C").await.unwrap();
    assert_eq!(
        profile_c,
        ProviderProfile {
            id: pid("C"),
            name: "C Networks".into(),
            country: Country::US,
            foreign: false,
            entity: EntityId(pid("C")),
            business_hours: chicago_hours(),
            deemed_receipt_next_business_day: true,
            contactable: false,
        },
        "no contact on file"
    );
    assert!(profile(&store, "nobody").await.is_none());

    let set = |contact: Contact| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            tx.set_contact(&pid("C"), &contact, t0()).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let phone_only = Contact {
        role: ContactRole::Primary,
        name: "Pat Noc".into(),
        title: None,
        email: None,
        phone: Some("+13125550100".into()),
        business_hours: None,
    };
    set(Contact { email: Some(String::new()), phone: None, ..phone_only.clone() }).await;
    assert!(!profile(&store, "C").await.unwrap().contactable, "an empty email is no way to reach anyone");
    set(phone_only.clone()).await;
    assert!(profile(&store, "C").await.unwrap().contactable, "staff can phone a request through");

    let backup = Contact {
        role: ContactRole::Backup,
        name: "Robin Ops".into(),
        title: Some("Fraud lead".into()),
        email: Some("fraud@c.example".into()),
        phone: None,
        business_hours: Some(BusinessHoursSpec {
            tz: "America/Denver".into(),
            days: "Mon-Sat".into(),
            open: "06:00".into(),
            close: "20:00".into(),
            holidays: Holidays::None,
        }),
    };
    set(backup.clone()).await;
    assert!(profile(&store, "C").await.unwrap().contactable, "any contact with an email makes it reachable");
    let primary = Contact { email: Some("noc@c.example".into()), title: Some("NOC".into()), ..phone_only };
    set(primary.clone()).await;
    assert_eq!(store.contacts(&pid("C")).await.unwrap(), [primary, backup], "primary first; a second set replaces");
    assert!(store.contacts(&pid("D")).await.unwrap().is_empty());
    assert!(!profile(&store, "D").await.unwrap().contactable);

    // A traceback started from the directory's profile records it as it was.
    let flow = Flow::start(&store, start(tb_id(1), &profile(&store, "C").await.unwrap()), t0()).await;
    assert_stored(&store, &flow).await;
    assert_eq!(flow.hop(0).provider, profile(&store, "C").await.unwrap());
    assert_eq!(flow.hop(0).requests, 1);
}

#[tokio::test]
async fn counters_increase_by_one_per_name() {
    let (_db, store) = fresh().await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_counter("traceback").await.unwrap(), 1);
    assert_eq!(tx.next_counter("traceback").await.unwrap(), 2);
    assert_eq!(tx.next_counter("incident").await.unwrap(), 1);
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_counter("traceback").await.unwrap(), 3);
    tx.rollback().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.next_counter("traceback").await.unwrap(), 3, "a rolled-back number is handed out again");
    assert_eq!(tx.next_counter("incident").await.unwrap(), 2);
    tx.commit().await.unwrap();
}
