//! What a scenario observed, and how it compares with what the file expects.

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use serde_json::{Map, Value};
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::Traceback;

#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub status: String,
    pub outcome: Option<String>,
    pub origin: Option<String>,
    pub strike_exempt: bool,
    pub hop_count: usize,
    pub category: String,
    pub hops: Vec<ObservedHop>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedHop {
    /// The provider as the scenario names it.
    pub provider: String,
    pub labels: Vec<String>,
    pub respond_by: Option<Timestamp>,
    pub start_by: Option<Timestamp>,
    pub state: String,
    pub notified: u32,
}

/// Reads the observable facts off a traceback; `alias` maps directory ids to scenario names.
pub fn observe(traceback: &Traceback, alias: impl Fn(&ProviderId) -> String) -> Observed {
    let outcome = traceback.outcome();
    Observed {
        status: traceback.status().name().to_owned(),
        outcome: outcome.map(|o| o.name().to_owned()),
        origin: outcome.and_then(|o| match o {
            tracehop_core::traceback::Outcome::OriginIdentified { origin } => Some(
                match origin {
                    tracehop_core::traceback::Origin::Us => "us",
                    tracehop_core::traceback::Origin::International => "international",
                }
                .to_owned(),
            ),
            _ => None,
        }),
        strike_exempt: traceback.strike_exempt.is_some(),
        hop_count: traceback.hop_count(),
        category: traceback
            .header
            .as_ref()
            .map_or("none", |h| match h.category {
                tracehop_core::traceback::Category::Domestic => "domestic",
                tracehop_core::traceback::Category::ForeignLawEnforcement => "foreign_law_enforcement",
            })
            .to_owned(),
        hops: traceback
            .hops
            .iter()
            .map(|hop| ObservedHop {
                provider: alias(&hop.provider.id),
                labels: traceback.labels(hop.id).into_iter().map(|l| l.name().to_owned()).collect(),
                respond_by: hop.request.map(|r| r.respond_by),
                start_by: hop.request.map(|r| r.start_by),
                state: hop.state.name().to_owned(),
                notified: hop.requests,
            })
            .collect(),
    }
}

/// One way in which what happened differs from what the scenario expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Position and provider of the hop, for hop fields.
    pub hop: Option<(usize, String)>,
    pub field: String,
    pub expected: String,
    pub actual: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((index, provider)) = &self.hop {
            write!(f, "hop {index} ({provider}): ")?;
        }
        write!(f, "{}: expected {}, actual {}", self.field, self.expected, self.actual)
    }
}

fn difference(
    hop: Option<(usize, String)>,
    field: &str,
    expected: impl fmt::Display,
    actual: impl fmt::Display,
) -> Difference {
    Difference { hop, field: field.to_owned(), expected: expected.to_string(), actual: actual.to_string() }
}

/// A JSON value as people write it: strings without quotes.
fn show_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "none".to_owned(),
        other => other.to_string(),
    }
}

fn show_option<T: fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

fn show_labels(labels: &BTreeSet<String>) -> String {
    format!("[{}]", labels.iter().cloned().collect::<Vec<_>>().join(", "))
}

/// Compares every expectation the file gives; keys it leaves out are not checked.
pub fn compare(expect: &Map<String, Value>, observed: &Observed) -> Vec<Difference> {
    let mut differences = Vec::new();
    for (key, value) in expect {
        let mut check_text = |actual: Option<&str>| {
            if value.as_str() != actual {
                differences.push(difference(None, key, show_value(value), show_option(actual)));
            }
        };
        match key.as_str() {
            "status" => check_text(Some(&observed.status)),
            "outcome" => check_text(observed.outcome.as_deref()),
            "origin" => check_text(observed.origin.as_deref()),
            "category" => check_text(Some(&observed.category)),
            "strike_exempt" => {
                if value.as_bool() != Some(observed.strike_exempt) {
                    differences.push(difference(None, key, show_value(value), observed.strike_exempt));
                }
            }
            "hop_count" => {
                if value.as_u64() != u64::try_from(observed.hop_count).ok() {
                    differences.push(difference(None, key, show_value(value), observed.hop_count));
                }
            }
            "hops" => compare_hops(value, &observed.hops, &mut differences),
            other => differences.push(difference(
                None,
                other,
                "a known expectation",
                "an expectation this runner cannot check",
            )),
        }
    }
    differences
}

fn compare_hops(expected: &Value, observed: &[ObservedHop], differences: &mut Vec<Difference>) {
    let Some(expected) = expected.as_array() else {
        differences.push(difference(None, "hops", "a list", show_value(expected)));
        return;
    };
    if expected.len() != observed.len() {
        let names = |hops: Vec<String>| format!("{} hops [{}]", hops.len(), hops.join(", "));
        differences.push(difference(
            None,
            "hops",
            names(
                expected.iter().map(|h| h.get("provider").and_then(Value::as_str).unwrap_or("?").to_owned()).collect(),
            ),
            names(observed.iter().map(|h| h.provider.clone()).collect()),
        ));
    }
    for (index, (want, got)) in expected.iter().zip(observed).enumerate() {
        let hop = Some((index, got.provider.clone()));
        let Some(want) = want.as_object() else {
            differences.push(difference(hop, "hop", "an object", show_value(want)));
            continue;
        };
        for (key, value) in want {
            match key.as_str() {
                "provider" => {
                    if value.as_str() != Some(got.provider.as_str()) {
                        differences.push(difference(hop.clone(), key, show_value(value), &got.provider));
                    }
                }
                "labels" => {
                    let wanted: Option<BTreeSet<String>> = value
                        .as_array()
                        .map(|labels| labels.iter().map(|l| l.as_str().unwrap_or_default().to_owned()).collect());
                    let actual: BTreeSet<String> = got.labels.iter().cloned().collect();
                    match wanted {
                        Some(wanted) if wanted == actual => {}
                        Some(wanted) => {
                            differences.push(difference(hop.clone(), key, show_labels(&wanted), show_labels(&actual)));
                        }
                        None => differences.push(difference(hop.clone(), key, show_value(value), show_labels(&actual))),
                    }
                }
                "respond_by" | "start_by" => {
                    let actual = if key == "respond_by" { got.respond_by } else { got.start_by };
                    let wanted = value.as_str().and_then(|t| t.parse::<Timestamp>().ok());
                    if wanted.is_none() && !value.is_null() {
                        differences.push(difference(
                            hop.clone(),
                            key,
                            format!("{value} (not an RFC 3339 time)"),
                            show_option(actual),
                        ));
                    } else if wanted != actual {
                        differences.push(difference(hop.clone(), key, show_option(wanted), show_option(actual)));
                    }
                }
                "state" => {
                    if value.as_str() != Some(got.state.as_str()) {
                        differences.push(difference(hop.clone(), key, show_value(value), &got.state));
                    }
                }
                "notified" => {
                    if value.as_u64() != Some(u64::from(got.notified)) {
                        differences.push(difference(hop.clone(), key, show_value(value), got.notified));
                    }
                }
                other => differences.push(difference(
                    hop.clone(),
                    other,
                    "a known hop expectation",
                    "an expectation this runner cannot check",
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed() -> Observed {
        Observed {
            status: "closed".into(),
            outcome: Some("non_responsive".into()),
            origin: None,
            strike_exempt: false,
            hop_count: 2,
            category: "domestic".into(),
            hops: vec![
                ObservedHop {
                    provider: "T".into(),
                    labels: vec![],
                    respond_by: Some("2026-03-03T15:00:00Z".parse().unwrap()),
                    start_by: None,
                    state: "answered".into(),
                    notified: 1,
                },
                ObservedHop {
                    provider: "F".into(),
                    labels: vec!["foreign_point_of_departure".into(), "no_response".into()],
                    respond_by: None,
                    start_by: None,
                    state: "expired".into(),
                    notified: 1,
                },
            ],
        }
    }

    fn expect(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn matching_expectations_give_no_difference() {
        let expectations = expect(
            r#"{"status":"closed","outcome":"non_responsive","strike_exempt":false,"hop_count":2,
                "hops":[{"provider":"T","labels":[],"respond_by":"2026-03-03T15:00:00Z","notified":1},
                        {"provider":"F","labels":["no_response","foreign_point_of_departure"],"state":"expired"}]}"#,
        );
        assert_eq!(compare(&expectations, &observed()), vec![]);
    }

    #[test]
    fn each_mismatch_is_reported_with_hop_field_expected_and_actual() {
        let expectations = expect(
            r#"{"status":"open","hop_count":3,"outcome":null,
                "hops":[{"provider":"T","respond_by":"2026-03-03T16:00:00Z"},{"provider":"G","labels":["us_point_of_entry"]}]}"#,
        );
        let found: Vec<String> = compare(&expectations, &observed()).iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            vec![
                "hop_count: expected 3, actual 2",
                "hop 0 (T): respond_by: expected 2026-03-03T16:00:00Z, actual 2026-03-03T15:00:00Z",
                "hop 1 (F): labels: expected [us_point_of_entry], actual [foreign_point_of_departure, no_response]",
                "hop 1 (F): provider: expected G, actual F",
                "outcome: expected none, actual non_responsive",
                "status: expected open, actual closed",
            ]
        );
    }

    #[test]
    fn unknown_expectations_fail_rather_than_pass_silently() {
        let found = compare(&expect(r#"{"stauts":"closed"}"#), &observed());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "stauts");
    }
}
