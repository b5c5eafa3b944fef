//! Scenario specs turned into the engine's types.

use serde_json::{Map, Value};
use tracehop_core::calendar::BusinessHours;
use tracehop_core::country::Country;
use tracehop_core::number::PhoneNumber;
use tracehop_core::provider::{ProviderId, ProviderProfile};
use tracehop_core::traceback::{
    Attestation, CallFacts, Category, Customer, Mitigation, MitigationAction, NotFoundReason, Reply,
    StrikeExemptReason, SuppliedContact,
};

use super::file::{ProviderSpec, ReplySpec, Scenario};

pub fn provider_id(text: &str) -> Result<ProviderId, String> {
    ProviderId::new(text).map_err(|e| e.to_string())
}

pub fn provider_profile(spec: &ProviderSpec) -> Result<ProviderProfile, String> {
    let country = Country::parse(&spec.country).map_err(|e| format!("provider {}: {e}", spec.id))?;
    let mut profile = ProviderProfile::standalone(provider_id(&spec.id)?, spec.name.clone(), country);
    if let Some(foreign) = spec.foreign {
        profile.foreign = foreign;
    }
    if let Some(hours) = &spec.business_hours {
        profile.business_hours =
            BusinessHours::try_from(hours.clone()).map_err(|e| format!("provider {}: {e}", spec.id))?;
    }
    profile.deemed_receipt_next_business_day = spec.deemed_receipt_next_business_day;
    Ok(profile)
}

pub fn category(text: &str) -> Result<Category, String> {
    match text {
        "domestic" => Ok(Category::Domestic),
        "foreign_law_enforcement" => Ok(Category::ForeignLawEnforcement),
        other => Err(format!("start.category {other:?}: expected domestic or foreign_law_enforcement")),
    }
}

pub fn call_facts(scenario: &Scenario) -> CallFacts {
    let start = &scenario.start;
    CallFacts {
        calling: PhoneNumber::parse(&start.calling),
        called: PhoneNumber::parse(&start.called),
        call_time: start.call_time,
        sip_call_id: start.call_id.clone(),
        campaign_label: start.campaign.clone(),
        basis_summary: start.basis.clone(),
        recording: None,
    }
}

fn string_field(map: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| map.get(*name).and_then(Value::as_str)).map(str::to_owned)
}

/// The contact details of an `upstream_new` answer, and the name the scenario uses for it (its
/// `id` if given, else its name).
pub fn supplied_contact(contact: &Map<String, Value>) -> Result<(String, SuppliedContact), String> {
    let name =
        string_field(contact, &["name", "provider_name", "business_name"]).ok_or("upstream_new needs \"name\"")?;
    let country = match string_field(contact, &["country"]) {
        Some(text) => Country::parse(&text).map_err(|e| format!("upstream_new: {e}"))?,
        None => Country::US,
    };
    let alias = string_field(contact, &["id"]).unwrap_or_else(|| name.clone());
    Ok((
        alias,
        SuppliedContact {
            provider_name: name,
            country,
            contact_name: string_field(contact, &["contact_name", "contact"]),
            email: string_field(contact, &["email"]),
            phone: string_field(contact, &["phone"]),
            notes: string_field(contact, &["notes"]),
        },
    ))
}

/// An `originated` or `not_found` reply (upstream replies need the directory).
pub fn terminal_reply(spec: &ReplySpec) -> Result<Option<Reply>, String> {
    Ok(Some(match spec {
        ReplySpec::Originated { details } => {
            let customer: Customer = serde_json::from_value(details.get("customer").cloned().unwrap_or(Value::Null))
                .map_err(|e| format!("originated.customer: {e}"))?;
            let mitigation = match details.get("mitigation") {
                None | Some(Value::Null) => None,
                Some(Value::String(action)) => Some(Mitigation { action: mitigation_action(action)?, note: None }),
                Some(other) => {
                    Some(serde_json::from_value(other.clone()).map_err(|e| format!("originated.mitigation: {e}"))?)
                }
            };
            let attestation = match string_field(details, &["attestation"]).as_deref() {
                None => None,
                Some("A") => Some(Attestation::A),
                Some("B") => Some(Attestation::B),
                Some("C") => Some(Attestation::C),
                Some(other) => {
                    return Err(format!("originated.attestation {other:?}: expected A, B or C"));
                }
            };
            Reply::Originated {
                customer,
                mitigation,
                attestation,
                right_to_use: string_field(details, &["right_to_use"]),
            }
        }
        ReplySpec::NotFound { reason, explanation } => Reply::NotFound {
            reason: match reason.as_str() {
                "not_in_records" => NotFoundReason::NotInRecords,
                "not_our_call" => NotFoundReason::NotOurCall,
                other => {
                    return Err(format!("not_found.reason {other:?}: expected not_in_records or not_our_call"));
                }
            },
            explanation: explanation.clone(),
        },
        ReplySpec::Upstream { .. } | ReplySpec::UpstreamNew { .. } => return Ok(None),
    }))
}

fn mitigation_action(text: &str) -> Result<MitigationAction, String> {
    match text {
        "terminated" => Ok(MitigationAction::Terminated),
        "warned" => Ok(MitigationAction::Warned),
        "other" => Ok(MitigationAction::Other),
        other => Err(format!("mitigation {other:?}: expected terminated, warned or other")),
    }
}

/// A strike-exempt reason: its category if given or if the text names one, else `other`.
pub fn strike_exempt_reason(category: Option<&str>, reason: &str) -> StrikeExemptReason {
    match category.unwrap_or(reason) {
        "factual_issue" => StrikeExemptReason::FactualIssue,
        "technical_error" => StrikeExemptReason::TechnicalError,
        "testing" => StrikeExemptReason::Testing,
        "accepted_dispute" => StrikeExemptReason::AcceptedDispute,
        _ => StrikeExemptReason::Other,
    }
}
