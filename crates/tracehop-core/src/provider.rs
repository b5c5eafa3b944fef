//! Voice service providers as the traceback engine sees them, and VSP entities formed by common
//! control (PRV-3, Art. II).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::calendar::BusinessHours;
use crate::country::Country;

const MAX_ID_LEN: usize = 64;

/// A provider's stable identifier in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct ProviderId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("provider id {0:?}: expected 1 to 64 letters, digits, '.', '_', ':' or '-'")]
pub struct BadProviderId(pub String);

impl ProviderId {
    pub fn new(text: impl Into<String>) -> Result<Self, BadProviderId> {
        let text = text.into();
        let fine = !text.is_empty()
            && text.len() <= MAX_ID_LEN
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if fine { Ok(Self(text)) } else { Err(BadProviderId(text)) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ProviderId {
    type Error = BadProviderId;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(text)
    }
}

impl From<ProviderId> for String {
    fn from(id: ProviderId) -> Self {
        id.0
    }
}

/// A VSP entity: the providers treated as one for labels, hop counts, metrics, status and scores.
/// Named by its lowest member id, so it is stable while membership is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct EntityId(pub ProviderId);

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the engine needs to know about a provider when it enters a traceback. Recorded in the
/// event that opens its hop, so labels and deadlines stay as they were at the time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderProfile {
    pub id: ProviderId,
    pub name: String,
    pub country: Country,
    /// Foreign for labels (U.S. point of entry, foreign point of departure, origin).
    pub foreign: bool,
    pub entity: EntityId,
    #[serde(default)]
    pub business_hours: BusinessHours,
    /// Requests received outside business hours count from the next opening.
    #[serde(default)]
    pub deemed_receipt_next_business_day: bool,
    /// Whether a request can reach it now (a contact or an automated channel on file). A hop for
    /// a provider that cannot be reached waits for staff to notify it.
    #[serde(default = "reachable")]
    pub contactable: bool,
}

fn reachable() -> bool {
    true
}

impl ProviderProfile {
    /// A provider that is its own entity, with default hours, foreign by its country.
    pub fn standalone(id: ProviderId, name: impl Into<String>, country: Country) -> Self {
        Self {
            entity: EntityId(id.clone()),
            id,
            name: name.into(),
            foreign: country.is_foreign(),
            country,
            business_hours: BusinessHours::default(),
            deemed_receipt_next_business_day: false,
            contactable: true,
        }
    }
}

/// The facts about one provider that decide its VSP entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlFacts {
    pub id: ProviderId,
    pub foreign: bool,
    /// The provider asked to be treated on its own.
    pub separate_treatment: bool,
    /// Providers it controls, is controlled by or shares control with (either direction suffices).
    pub affiliates: Vec<ProviderId>,
}

/// Groups providers into VSP entities (PRV-3). Common control is transitive, so the affiliate
/// links form groups; within a group the U.S. providers that did not ask for separate treatment
/// form one entity. A foreign provider, or one treated separately, is always its own entity, even
/// while it still links the others of its group. Providers named only as affiliates are included.
pub fn vsp_entities(facts: &[ControlFacts]) -> BTreeMap<ProviderId, EntityId> {
    let mut links: BTreeMap<&ProviderId, BTreeSet<&ProviderId>> = BTreeMap::new();
    for fact in facts {
        links.entry(&fact.id).or_default();
        for affiliate in &fact.affiliates {
            links.entry(&fact.id).or_default().insert(affiliate);
            links.entry(affiliate).or_default().insert(&fact.id);
        }
    }
    let stands_alone: BTreeSet<&ProviderId> =
        facts.iter().filter(|f| f.foreign || f.separate_treatment).map(|f| &f.id).collect();

    let mut entities = BTreeMap::new();
    let mut seen: BTreeSet<&ProviderId> = BTreeSet::new();
    for &start in links.keys() {
        if !seen.insert(start) {
            continue;
        }
        let mut group = vec![start];
        let mut index = 0;
        while let Some(&member) = group.get(index) {
            index += 1;
            for &next in links.get(member).into_iter().flatten() {
                if seen.insert(next) {
                    group.push(next);
                }
            }
        }
        let merged: BTreeSet<&ProviderId> = group.iter().copied().filter(|id| !stands_alone.contains(id)).collect();
        if let Some(&lead) = merged.first() {
            for &member in &merged {
                entities.insert(member.clone(), EntityId(lead.clone()));
            }
        }
        for &alone in group.iter().filter(|id| stands_alone.contains(*id)) {
            entities.insert(alone.clone(), EntityId(alone.clone()));
        }
    }
    entities
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> ProviderId {
        ProviderId::new(text).unwrap()
    }

    fn facts(name: &str, foreign: bool, separate: bool, affiliates: &[&str]) -> ControlFacts {
        ControlFacts {
            id: id(name),
            foreign,
            separate_treatment: separate,
            affiliates: affiliates.iter().map(|a| id(a)).collect(),
        }
    }

    fn entity_of(map: &BTreeMap<ProviderId, EntityId>, name: &str) -> String {
        map[&id(name)].to_string()
    }

    #[test]
    fn common_control_forms_one_entity_except_foreign_and_separate() {
        let map = vsp_entities(&[
            facts("G", false, false, &["G2", "GF"]),
            facts("G2", false, false, &[]),
            facts("GF", true, false, &["G3"]),
            facts("G3", false, false, &[]),
            facts("S", false, true, &["G"]),
            facts("A", false, false, &[]),
        ]);
        // G, G2 and G3 (linked through the foreign GF) are one entity named by its lowest id.
        assert_eq!(entity_of(&map, "G"), "G");
        assert_eq!(entity_of(&map, "G2"), "G");
        assert_eq!(entity_of(&map, "G3"), "G");
        // The foreign affiliate and the one that asked for separate treatment stand alone.
        assert_eq!(entity_of(&map, "GF"), "GF");
        assert_eq!(entity_of(&map, "S"), "S");
        assert_eq!(entity_of(&map, "A"), "A");
    }

    #[test]
    fn affiliates_named_only_by_others_are_included() {
        let map = vsp_entities(&[facts("B", false, false, &["C"])]);
        assert_eq!(entity_of(&map, "C"), "B");
    }

    #[test]
    fn provider_ids_are_validated() {
        assert!(ProviderId::new("prv_01H-abc.2:x").is_ok());
        assert!(ProviderId::new("").is_err());
        assert!(ProviderId::new("has space").is_err());
        assert!(ProviderId::new("x".repeat(65)).is_err());
    }
}
