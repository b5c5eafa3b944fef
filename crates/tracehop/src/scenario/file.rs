//! The scenario file format (DESIGN.md "Scenario files").

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value};
use tracehop_core::calendar::BusinessHoursSpec;

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub providers: Vec<ProviderSpec>,
    pub start: StartSpec,
    #[serde(default)]
    pub steps: Vec<Map<String, Value>>,
    #[serde(default)]
    pub expect: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    pub id: String,
    pub name: String,
    pub country: String,
    /// Overrides the flag derived from the country.
    #[serde(default)]
    pub foreign: Option<bool>,
    #[serde(default)]
    pub affiliates: Vec<String>,
    #[serde(default)]
    pub separate_treatment: bool,
    #[serde(default)]
    pub business_hours: Option<BusinessHoursSpec>,
    #[serde(default)]
    pub deemed_receipt_next_business_day: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSpec {
    pub at: Timestamp,
    pub terminating: String,
    #[serde(default = "domestic")]
    pub category: String,
    pub calling: String,
    pub called: String,
    pub call_time: Timestamp,
    #[serde(default)]
    pub call_id: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub basis: Option<String>,
}

fn domestic() -> String {
    "domestic".to_owned()
}

/// A step, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// When the step happens.
    pub at: Timestamp,
    pub action: Option<Action>,
    /// The platform must refuse the action.
    pub refused: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Acknowledge { provider: String },
    Respond { provider: String, reply: ReplySpec },
    Dispute { provider: String, grounds: String },
    Comment { provider: Option<String>, hop: Option<String>, text: String, shared: bool },
    Staff(StaffAction),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReplySpec {
    Upstream { provider: String },
    UpstreamNew { contact: Map<String, Value> },
    Originated { details: Map<String, Value> },
    NotFound { reason: String, explanation: Option<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum StaffAction {
    ReviewDispute { provider: String, accept: bool },
    MarkStrikeExempt { reason: String, category: Option<String> },
    Extend { provider: String, to: Timestamp },
    Redirect { provider: String },
    Close { reason: String },
    Reopen,
}

/// Reads `+1h`, `+25h`, `+30m`, `+1h30m`, `+2d`, `+45s`.
pub fn parse_offset(text: &str) -> Result<SignedDuration, String> {
    let bad = || format!("offset {text:?}: expected e.g. \"+1h\", \"+30m\", \"+1h30m\", \"+2d\"");
    let body = text.trim().strip_prefix('+').ok_or_else(bad)?;
    if body.is_empty() {
        return Err(bad());
    }
    let mut total = SignedDuration::ZERO;
    let mut digits = String::new();
    for c in body.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let amount: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let unit = match c {
            'd' => SignedDuration::from_hours(24),
            'h' => SignedDuration::from_hours(1),
            'm' => SignedDuration::from_mins(1),
            's' => SignedDuration::from_secs(1),
            _ => return Err(bad()),
        };
        total = unit
            .checked_mul(i32::try_from(amount).map_err(|_| bad())?)
            .and_then(|d| total.checked_add(d))
            .ok_or_else(bad)?;
    }
    if digits.is_empty() { Ok(total) } else { Err(bad()) }
}

fn text(value: &Value, what: &str) -> Result<String, String> {
    value.as_str().map(str::to_owned).ok_or_else(|| format!("{what}: expected a string"))
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    value.as_object().ok_or_else(|| format!("{what}: expected an object"))
}

fn single_key<'a>(map: &'a Map<String, Value>, what: &str) -> Result<(&'a str, &'a Value), String> {
    let mut entries = map.iter();
    match (entries.next(), entries.next()) {
        (Some((key, value)), None) => Ok((key.as_str(), value)),
        _ => Err(format!("{what}: expected exactly one key")),
    }
}

impl Scenario {
    /// The steps with absolute times: offsets count from the previous step, the first from
    /// `start.at`.
    pub fn timed_steps(&self) -> Result<Vec<Step>, String> {
        let mut clock = self.start.at;
        self.steps
            .iter()
            .enumerate()
            .map(|(index, raw)| {
                let step = read_step(raw, &mut clock).map_err(|e| format!("step {}: {e}", index + 1))?;
                Ok(step)
            })
            .collect()
    }
}

fn read_step(raw: &Map<String, Value>, clock: &mut Timestamp) -> Result<Step, String> {
    let mut fields: BTreeMap<&str, &Value> = raw.iter().map(|(k, v)| (k.as_str(), v)).collect();
    if let Some(after) = fields.remove("after") {
        let offset = parse_offset(&text(after, "after")?)?;
        *clock = clock.checked_add(offset).map_err(|e| e.to_string())?;
    }
    if let Some(at) = fields.remove("at") {
        *clock = text(at, "at")?.parse().map_err(|e| format!("at: {e}"))?;
    }
    let refused = match fields.remove("refused") {
        Some(value) => value.as_bool().ok_or("refused: expected true or false")?,
        None => false,
    };
    for note in ["note", "description", "comment_"] {
        fields.remove(note);
    }
    let provider = match fields.remove("hop") {
        Some(value) => Some(text(value, "hop")?),
        None => None,
    };
    let need_provider = |kind: &str| provider.clone().ok_or_else(|| format!("{kind} needs \"hop\""));
    let mut actions = Vec::new();
    for (key, value) in fields {
        let action = match key {
            "acknowledge" => Action::Acknowledge { provider: need_provider(key)? },
            "respond" => Action::Respond { provider: need_provider(key)?, reply: read_reply(value)? },
            "dispute" => {
                let grounds = match value {
                    Value::String(grounds) => grounds.clone(),
                    other => {
                        object(other, key)?.get("grounds").map(|g| text(g, "grounds")).transpose()?.unwrap_or_default()
                    }
                };
                Action::Dispute { provider: need_provider(key)?, grounds }
            }
            "comment" => {
                let (text_value, shared, on) = match value {
                    Value::String(t) => (t.clone(), false, None),
                    other => {
                        let map = object(other, key)?;
                        let t = map.get("text").map(|t| text(t, "text")).transpose()?.unwrap_or_default();
                        let visibility = map.get("visibility").and_then(Value::as_str).unwrap_or("staff_only");
                        let on = map.get("hop").map(|h| text(h, "comment.hop")).transpose()?;
                        (t, visibility == "hop_parties", on)
                    }
                };
                Action::Comment { provider: provider.clone(), hop: on, text: text_value, shared }
            }
            "staff" => Action::Staff(read_staff(value)?),
            other => return Err(format!("unknown step key {other:?}")),
        };
        actions.push(action);
    }
    if actions.len() > 1 {
        return Err("a step does one thing".to_owned());
    }
    Ok(Step { at: *clock, action: actions.pop(), refused })
}

fn read_reply(value: &Value) -> Result<ReplySpec, String> {
    let (kind, body) = single_key(object(value, "respond")?, "respond")?;
    Ok(match kind {
        "upstream" => ReplySpec::Upstream { provider: text(body, "upstream")? },
        "upstream_new" => ReplySpec::UpstreamNew { contact: object(body, "upstream_new")?.clone() },
        "originated" => ReplySpec::Originated { details: object(body, "originated")?.clone() },
        "not_found" => {
            let map = object(body, "not_found")?;
            ReplySpec::NotFound {
                reason: map
                    .get("reason")
                    .map(|r| text(r, "reason"))
                    .transpose()?
                    .unwrap_or_else(|| "not_in_records".to_owned()),
                explanation: map.get("explanation").map(|r| text(r, "explanation")).transpose()?,
            }
        }
        other => return Err(format!("unknown answer {other:?}")),
    })
}

fn read_staff(value: &Value) -> Result<StaffAction, String> {
    let (kind, body) = single_key(object(value, "staff")?, "staff")?;
    let field = |name: &str| -> Result<String, String> {
        let map = object(body, kind)?;
        map.get(name).ok_or_else(|| format!("{kind} needs {name:?}")).and_then(|v| text(v, name))
    };
    let optional = |name: &str| body.as_object().and_then(|m| m.get(name)).and_then(Value::as_str).map(str::to_owned);
    Ok(match kind {
        "review_dispute" => StaffAction::ReviewDispute {
            provider: field("hop")?,
            accept: object(body, kind)?
                .get("accept")
                .and_then(Value::as_bool)
                .ok_or("review_dispute needs \"accept\": true or false")?,
        },
        "mark_strike_exempt" => StaffAction::MarkStrikeExempt {
            reason: match body {
                Value::String(reason) => reason.clone(),
                _ => optional("reason").unwrap_or_else(|| "marked in scenario".to_owned()),
            },
            category: optional("category"),
        },
        "extend" => StaffAction::Extend {
            provider: field("hop")?,
            to: field("to")?.parse().map_err(|e| format!("extend.to: {e}"))?,
        },
        "redirect" => StaffAction::Redirect { provider: field("hop")? },
        "close" => StaffAction::Close {
            reason: match body {
                Value::String(reason) => reason.clone(),
                _ => optional("reason").unwrap_or_else(|| "closed in scenario".to_owned()),
            },
        },
        "reopen" => StaffAction::Reopen,
        other => return Err(format!("unknown staff action {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+1h"), Ok(SignedDuration::from_hours(1)));
        assert_eq!(parse_offset("+25h"), Ok(SignedDuration::from_hours(25)));
        assert_eq!(parse_offset("+30m"), Ok(SignedDuration::from_mins(30)));
        assert_eq!(parse_offset("+1h30m"), Ok(SignedDuration::from_mins(90)));
        assert_eq!(parse_offset("+2d"), Ok(SignedDuration::from_hours(48)));
        for bad in ["1h", "+", "+h", "+1x", "+1", "-1h"] {
            assert!(parse_offset(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn steps_get_absolute_times() {
        let scenario: Scenario = serde_json::from_str(
            r#"{"name":"x","providers":[],"start":{"at":"2026-03-02T15:00:00Z","terminating":"T","calling":"1","called":"2","call_time":"2026-03-01T00:00:00Z"},
               "steps":[{"after":"+1h","hop":"T","acknowledge":true},{"after":"+25h"},{"after":"+30m","hop":"T","respond":{"upstream":"T"},"refused":true}]}"#,
        )
        .unwrap();
        let steps = scenario.timed_steps().unwrap();
        assert_eq!(steps[0].at, "2026-03-02T16:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(steps[0].action, Some(Action::Acknowledge { provider: "T".into() }));
        assert_eq!(steps[1].action, None);
        assert_eq!(steps[2].at, "2026-03-03T17:30:00Z".parse::<Timestamp>().unwrap());
        assert!(steps[2].refused);
    }

    #[test]
    fn unknown_step_keys_are_errors() {
        let scenario: Scenario = serde_json::from_str(
            r#"{"name":"x","providers":[],"start":{"at":"2026-03-02T15:00:00Z","terminating":"T","calling":"1","called":"2","call_time":"2026-03-01T00:00:00Z"},
               "steps":[{"after":"+1h","hop":"T","acknowlege":true}]}"#,
        )
        .unwrap();
        assert!(scenario.timed_steps().unwrap_err().contains("acknowlege"));
    }
}
