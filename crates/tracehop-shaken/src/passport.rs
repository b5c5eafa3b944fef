//! PASSporT (RFC 8225) with the SHAKEN extension (RFC 8588), `div` (RFC 8946) and `rcd`.
//!
//! A token in the full form carries its JOSE header and claims (`header.claims.signature`, each
//! base64url); in the compact form both are empty (`..signature`) and must be rebuilt from the SIP
//! message. `orig`, `dest` and `div` are read in the standard object form (`{"tn": "..."}`,
//! `{"tn": ["..."]}`, `{"uri": ...}`) and in the legacy forms older signers emit: a plain string,
//! or a string holding the JSON object (`"{\"tn\":\"...\"}"`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ParseError;

/// A decoded PASSporT token.
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    /// The full form: header and claims present.
    Full(Box<Passport>),
    /// The compact form: only the signature (64 bytes for ES256, unchecked here).
    Compact { signature: Vec<u8> },
}

/// A full-form PASSporT, decoded but not verified.
#[derive(Clone, Debug, PartialEq)]
pub struct Passport {
    pub header: Header,
    pub claims: Claims,
    /// `base64url(header) "." base64url(claims)`: what the signature covers.
    pub signing_input: String,
    /// The raw signature bytes (R ‖ S for ES256).
    pub signature: Vec<u8>,
}

/// The JOSE header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub alg: String,
    pub typ: Option<String>,
    pub ppt: Option<String>,
    pub x5u: Option<String>,
}

/// SHAKEN attestation level (RFC 8588 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Attestation {
    /// Full: the signer knows the customer and that it may use the calling number.
    A,
    /// Partial: the signer knows the customer, not its right to the number.
    B,
    /// Gateway: the signer only knows where it received the call.
    C,
}

impl Attestation {
    pub fn as_str(self) -> &'static str {
        match self {
            Attestation::A => "A",
            Attestation::B => "B",
            Attestation::C => "C",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "A" => Some(Attestation::A),
            "B" => Some(Attestation::B),
            "C" => Some(Attestation::C),
            _ => None,
        }
    }
}

/// An identity claim: telephone numbers and/or URIs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Party {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tn: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uri: Vec<String>,
}

impl Party {
    /// The first telephone number, else the first URI.
    pub fn first(&self) -> Option<&str> {
        self.tn.first().or(self.uri.first()).map(String::as_str)
    }

    /// Every telephone number, then every URI.
    pub fn all(&self) -> Vec<String> {
        self.tn.iter().chain(&self.uri).cloned().collect()
    }
}

/// The claims tracehop reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    pub orig: Party,
    pub dest: Party,
    /// Issued-at, seconds since the Unix epoch.
    pub iat: i64,
    pub attest: Option<Attestation>,
    pub origid: Option<String>,
    /// RFC 8946: the diverting party.
    pub div: Option<Party>,
    /// Rich call data (`rcd`), as given.
    pub rcd: Option<Value>,
}

impl Claims {
    /// The caller's display name from `rcd.nam`, when present.
    pub fn rcd_name(&self) -> Option<&str> {
        self.rcd.as_ref()?.get("nam")?.as_str()
    }
}

/// Longest value kept of a string claim.
const MAX_CLAIM_LEN: usize = 256;

/// Decodes a PASSporT token (JWS compact serialization).
pub fn decode_token(token: &str) -> Result<Token, ParseError> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadToken("a PASSporT has three parts separated by '.'".into()));
    };
    let signature = b64(signature, "signature")?;
    if signature.is_empty() {
        return Err(ParseError::Missing("signature"));
    }
    if header.is_empty() && claims.is_empty() {
        return Ok(Token::Compact { signature });
    }
    let header_json = object(&b64(header, "header")?, "header")?;
    let claims_json = object(&b64(claims, "claims")?, "claims")?;
    let header_fields = read_header(&header_json)?;
    let claims = read_claims(&claims_json, header_fields.ppt.as_deref())?;
    Ok(Token::Full(Box::new(Passport {
        header: header_fields,
        claims,
        signing_input: token.rsplit_once('.').map_or_else(String::new, |(input, _)| input.to_owned()),
        signature,
    })))
}

fn b64(part: &str, name: &'static str) -> Result<Vec<u8>, ParseError> {
    URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| ParseError::BadBase64 { part: name })
}

fn object(bytes: &[u8], part: &'static str) -> Result<Map<String, Value>, ParseError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ParseError::BadJson { part, message: "not an object".into() }),
        Err(error) => Err(ParseError::BadJson { part, message: error.to_string() }),
    }
}

fn read_header(json: &Map<String, Value>) -> Result<Header, ParseError> {
    Ok(Header {
        alg: string(json, "alg")?.ok_or(ParseError::Missing("alg"))?,
        typ: string(json, "typ")?,
        ppt: string(json, "ppt")?,
        x5u: string(json, "x5u")?,
    })
}

fn read_claims(json: &Map<String, Value>, ppt: Option<&str>) -> Result<Claims, ParseError> {
    let orig = party(json.get("orig").ok_or(ParseError::Missing("orig"))?, "orig")?;
    if orig.tn.len() + orig.uri.len() != 1 {
        return Err(ParseError::BadClaim { name: "orig", message: "must name exactly one identity".into() });
    }
    let dest = party(json.get("dest").ok_or(ParseError::Missing("dest"))?, "dest")?;
    let iat = match json.get("iat") {
        None => return Err(ParseError::Missing("iat")),
        Some(value) => value
            .as_i64()
            .filter(|t| *t >= 0)
            .ok_or_else(|| ParseError::BadClaim { name: "iat", message: "not a non-negative integer".into() })?,
    };
    let attest = match string(json, "attest")? {
        None => None,
        Some(text) => Some(Attestation::parse(&text).ok_or_else(|| ParseError::BadClaim {
            name: "attest",
            message: format!("{:?} is not A, B or C", crate::identity::truncate(&text)),
        })?),
    };
    let origid = string(json, "origid")?;
    if ppt == Some("shaken") {
        if attest.is_none() {
            return Err(ParseError::Missing("attest"));
        }
        if origid.is_none() {
            return Err(ParseError::Missing("origid"));
        }
    }
    let div = json.get("div").map(|v| party(v, "div")).transpose()?;
    if ppt == Some("div") && div.is_none() {
        return Err(ParseError::Missing("div"));
    }
    let rcd = match json.get("rcd") {
        None => None,
        Some(value @ Value::Object(_)) => Some(value.clone()),
        Some(_) => return Err(ParseError::BadClaim { name: "rcd", message: "not an object".into() }),
    };
    Ok(Claims { orig, dest, iat, attest, origid, div, rcd })
}

/// A string member, if present; another type is an error.
fn string(json: &Map<String, Value>, name: &'static str) -> Result<Option<String>, ParseError> {
    match json.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => checked(text, name).map(Some),
        Some(_) => Err(ParseError::BadClaim { name, message: "not a string".into() }),
    }
}

fn checked(text: &str, name: &'static str) -> Result<String, ParseError> {
    if text.is_empty() || text.len() > MAX_CLAIM_LEN || text.chars().any(char::is_control) {
        return Err(ParseError::BadClaim { name, message: "empty, too long or with control characters".into() });
    }
    Ok(text.to_owned())
}

/// `orig`, `dest`, `div`: the object form, or a legacy string (a JSON object in a string, or a
/// bare number or URI).
fn party(value: &Value, name: &'static str) -> Result<Party, ParseError> {
    match value {
        Value::Object(map) => party_object(map, name),
        Value::String(text) => {
            let text = text.trim();
            if text.starts_with('{') {
                match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(map)) => party_object(&map, name),
                    _ => Err(ParseError::BadClaim { name, message: "a string that is not a JSON object".into() }),
                }
            } else if text.contains(':') {
                Ok(Party { tn: Vec::new(), uri: vec![checked(text, name)?] })
            } else {
                Ok(Party { tn: vec![tn(text, name)?], uri: Vec::new() })
            }
        }
        _ => Err(ParseError::BadClaim { name, message: "neither an object nor a string".into() }),
    }
}

fn party_object(map: &Map<String, Value>, name: &'static str) -> Result<Party, ParseError> {
    let mut party = Party::default();
    for (key, value) in map {
        let values: Vec<&Value> = match value {
            Value::Array(items) if !items.is_empty() && items.len() <= 16 => items.iter().collect(),
            Value::Array(_) => {
                return Err(ParseError::BadClaim { name, message: format!("`{key}` is an empty or overlong list") });
            }
            other => vec![other],
        };
        for value in values {
            let Value::String(text) = value else {
                return Err(ParseError::BadClaim { name, message: format!("`{key}` is not a string") });
            };
            match key.as_str() {
                "tn" => party.tn.push(tn(text, name)?),
                "uri" => party.uri.push(checked(text, name)?),
                _ => {}
            }
        }
    }
    if party.tn.is_empty() && party.uri.is_empty() {
        return Err(ParseError::BadClaim { name, message: "has neither `tn` nor `uri`".into() });
    }
    Ok(party)
}

/// A telephone number as signers write it: digits, optionally `+`, `#`, `*`, and the visual
/// separators some legacy signers keep.
fn tn(text: &str, name: &'static str) -> Result<String, ParseError> {
    let text = text.trim();
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    if digits == 0 || text.len() > 32 || !text.bytes().all(|b| b.is_ascii_digit() || b"+#*-.() ".contains(&b)) {
        return Err(ParseError::BadClaim {
            name,
            message: format!("{:?} is not a telephone number", crate::identity::truncate(text)),
        });
    }
    Ok(text.to_owned())
}

/// Digits only, with a NANP country code `1` dropped from 11-digit numbers: the form two
/// telephone numbers are compared in.
pub fn normalize_tn(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix('1') {
        Some(rest) if digits.len() == 11 => rest.to_owned(),
        _ => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims),
            URL_SAFE_NO_PAD.encode([7u8; 64])
        )
    }

    #[test]
    fn shaken_claims_in_object_and_legacy_forms() {
        let header = r#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example/sp.pem"}"#;
        for (orig, dest) in [
            (r#"{"tn":"12025550123"}"#, r#"{"tn":["13125550199"]}"#),
            (r#""12025550123""#, r#""13125550199""#),
            (r#""{\"tn\":\"12025550123\"}""#, r#""{\"tn\":[\"13125550199\"]}""#),
        ] {
            let claims = format!(
                r#"{{"attest":"A","dest":{dest},"iat":1767225600,"orig":{orig},"origid":"0b9ad8f7-52e2-4a4e-8a54-2f7bd2d1b1d0"}}"#
            );
            let Token::Full(p) = decode_token(&encode(header, &claims)).unwrap() else { panic!("full form") };
            assert_eq!(p.claims.orig.tn, vec!["12025550123"]);
            assert_eq!(p.claims.dest.tn, vec!["13125550199"]);
            assert_eq!(p.claims.attest, Some(Attestation::A));
            assert_eq!(p.header.x5u.as_deref(), Some("https://cert.example/sp.pem"));
        }
    }

    #[test]
    fn div_and_rcd_and_compact_form() {
        let header = r#"{"alg":"ES256","ppt":"div","typ":"passport","x5u":"https://cert.example/sp.pem"}"#;
        let claims = r#"{"dest":{"tn":["13125550199"]},"div":{"tn":"13125550100"},"iat":1,"orig":{"tn":"12025550123"},"rcd":{"nam":"Fictional Pharmacy"}}"#;
        let Token::Full(p) = decode_token(&encode(header, claims)).unwrap() else { panic!("full form") };
        assert_eq!(p.claims.div.as_ref().unwrap().tn, vec!["13125550100"]);
        assert_eq!(p.claims.rcd_name(), Some("Fictional Pharmacy"));
        let compact = format!("..{}", URL_SAFE_NO_PAD.encode([1u8; 64]));
        assert!(matches!(decode_token(&compact), Ok(Token::Compact { signature }) if signature.len() == 64));
    }

    #[test]
    fn bad_claims_are_typed_errors() {
        let header = r#"{"alg":"ES256","ppt":"shaken","x5u":"https://cert.example/sp.pem"}"#;
        for (claims, expected) in [
            (r#"{"attest":"D","dest":{"tn":"1"},"iat":1,"orig":{"tn":"2"},"origid":"x"}"#, "attest"),
            (r#"{"attest":"A","dest":{"tn":"1"},"iat":1,"orig":{"tn":"2"}}"#, "origid"),
            (r#"{"attest":"A","dest":{"tn":"1"},"iat":"1","orig":{"tn":"2"},"origid":"x"}"#, "iat"),
            (r#"{"attest":"A","dest":{"tn":"1"},"iat":1,"orig":{"tn":["2","3"]},"origid":"x"}"#, "orig"),
            (r#"{"attest":"A","dest":{"tn":"1"},"iat":1,"orig":"not a number","origid":"x"}"#, "orig"),
            (r#"{"attest":"A","dest":{},"iat":1,"orig":{"tn":"2"},"origid":"x"}"#, "dest"),
        ] {
            let error = decode_token(&encode(header, claims)).unwrap_err();
            assert!(error.to_string().contains(expected), "{claims}: {error}");
        }
        assert_eq!(
            decode_token(&encode("[]", "{}")).unwrap_err(),
            ParseError::BadJson { part: "header", message: "not an object".into() }
        );
        assert_eq!(decode_token("e30.e30.!!").unwrap_err(), ParseError::BadBase64 { part: "signature" });
    }

    #[test]
    fn numbers_compare_without_formatting_or_nanp_prefix() {
        assert_eq!(normalize_tn("+1 (202) 555-0123"), "2025550123");
        assert_eq!(normalize_tn("12025550123"), "2025550123");
        assert_eq!(normalize_tn("2025550123"), "2025550123");
        assert_eq!(normalize_tn("01256789999"), "01256789999");
        assert_eq!(normalize_tn("+442079460123"), "442079460123");
    }
}
