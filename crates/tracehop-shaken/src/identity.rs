//! The SIP `Identity` header field (RFC 8224 §4.1):
//!
//! ```text
//! Identity = "Identity" HCOLON signed-identity-digest SEMI ident-info *( SEMI ident-info-params )
//! ident-info = "info" EQUAL ident-info-uri        ; LAQUOT absoluteURI RAQUOT
//! ident-info-params = "alg" EQUAL token / "ppt" EQUAL token / generic-param
//! ```
//!
//! Read leniently where signers differ in practice: parameters in any order, values quoted or
//! not, `info` with or without its angle brackets, an optional `Identity:` (or compact `y:`)
//! prefix, and several header values on one line separated by commas. Anything else is a typed
//! [`ParseError`].

use crate::error::ParseError;

/// Longest header value read; a PASSporT with a few claims is well under 1 KiB.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// One `Identity` header value, split into its parts; the token is not decoded yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityHeader {
    /// The signed-identity-digest: a PASSporT in JWS compact serialization, either full
    /// (`header.claims.signature`) or compact (`..signature`).
    pub token: String,
    /// The `info` parameter: the URI of the signer's certificate, without angle brackets.
    pub info: Option<String>,
    /// The `alg` parameter, when given.
    pub alg: Option<String>,
    /// The `ppt` parameter (the PASSporT extension, e.g. `shaken`), when given.
    pub ppt: Option<String>,
    /// Any other parameters, names lower-cased, in order.
    pub other: Vec<(String, String)>,
}

/// Splits a field value holding several `Identity` headers (separated by commas or line breaks,
/// as when a SIP message's header fields are joined) and parses each.
pub fn parse_identity_headers(value: &str) -> Vec<Result<IdentityHeader, ParseError>> {
    if value.len() > MAX_HEADER_LEN * 8 {
        return vec![Err(ParseError::TooLong)];
    }
    split_top_level(value, |c| c == ',' || c == '\n' || c == '\r')
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .map(parse_identity_header)
        .collect()
}

/// Parses one `Identity` header value.
pub fn parse_identity_header(value: &str) -> Result<IdentityHeader, ParseError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(ParseError::TooLong);
    }
    let text = strip_name(value.trim());
    let mut parts = split_top_level(text, |c| c == ';').into_iter();
    let token = unquote(parts.next().unwrap_or_default().trim());
    if token.is_empty() {
        return Err(ParseError::Empty);
    }
    check_token(token)?;
    let mut header = IdentityHeader { token: token.to_owned(), info: None, alg: None, ppt: None, other: Vec::new() };
    for parameter in parts {
        let parameter = parameter.trim();
        if parameter.is_empty() {
            continue;
        }
        let (name, raw) = match parameter.split_once('=') {
            Some((name, raw)) => (name.trim(), raw.trim()),
            None => (parameter, ""),
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ParseError::BadParameter(truncate(parameter)));
        }
        let name = name.to_ascii_lowercase();
        let unquoted = unquote(raw);
        let value = match name.as_str() {
            "info" => unquoted.strip_prefix('<').and_then(|v| v.strip_suffix('>')).unwrap_or(unquoted).trim(),
            _ => unquoted,
        };
        if value.is_empty() && name != "info" && name != "alg" && name != "ppt" {
            header.other.push((name, String::new()));
            continue;
        }
        if value.is_empty() || value.contains(['<', '>', '"']) || value.chars().any(char::is_control) {
            return Err(ParseError::BadParameter(truncate(parameter)));
        }
        let slot = match name.as_str() {
            "info" => &mut header.info,
            "alg" => &mut header.alg,
            "ppt" => &mut header.ppt,
            _ => {
                if header.other.iter().any(|(n, _)| *n == name) {
                    return Err(ParseError::DuplicateParameter(name));
                }
                header.other.push((name, value.to_owned()));
                continue;
            }
        };
        if slot.is_some() {
            return Err(ParseError::DuplicateParameter(name));
        }
        *slot = Some(value.to_owned());
    }
    Ok(header)
}

/// Drops a leading `Identity:` or compact `y:` header name.
fn strip_name(text: &str) -> &str {
    for name in ["identity", "y"] {
        if let Some(head) = text.get(..name.len())
            && head.eq_ignore_ascii_case(name)
            && let Some(rest) = text[name.len()..].trim_start().strip_prefix(':')
        {
            return rest.trim_start();
        }
    }
    text
}

/// A signed-identity-digest is base64url characters and exactly two dots.
fn check_token(token: &str) -> Result<(), ParseError> {
    if token.bytes().filter(|b| *b == b'.').count() != 2 {
        return Err(ParseError::BadToken("a PASSporT has three parts separated by '.'".into()));
    }
    if let Some(bad) = token.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '='))) {
        return Err(ParseError::BadToken(format!("character {bad:?} is not base64url")));
    }
    Ok(())
}

/// The RFC 3261 `token` characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Removes one pair of surrounding double quotes.
fn unquote(text: &str) -> &str {
    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text)
}

/// Splits at separators that are outside `<...>` and `"..."`.
fn split_top_level(text: &str, is_separator: impl Fn(char) -> bool) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_angle, mut in_quote, mut start) = (false, false, 0);
    for (index, c) in text.char_indices() {
        match c {
            '"' if !in_angle => in_quote = !in_quote,
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            c if !in_angle && !in_quote && is_separator(c) => {
                parts.push(&text[start..index]);
                start = index + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// At most 80 characters of an offending piece, for messages.
pub(crate) fn truncate(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_in_any_order_quoted_or_not() {
        let a = parse_identity_header("a.b.c;info=<https://cert.example/sp.pem>;alg=ES256;ppt=shaken").unwrap();
        let b = parse_identity_header(
            "Identity: a.b.c ; ppt=\"shaken\";ALG=\"ES256\" ; info=\"<https://cert.example/sp.pem>\"",
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.info.as_deref(), Some("https://cert.example/sp.pem"));
        assert_eq!(a.ppt.as_deref(), Some("shaken"));
        let c = parse_identity_header("y: a.b.c;info=https://cert.example/sp.pem;x-extra=1").unwrap();
        assert_eq!(c.info.as_deref(), Some("https://cert.example/sp.pem"));
        assert_eq!(c.other, vec![("x-extra".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn several_headers_on_one_line() {
        let all = parse_identity_headers(
            "a.b.c;info=<https://x.example/a;b,c>;ppt=shaken, d.e.f;info=<https://y.example/>\n",
        );
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].as_ref().unwrap().info.as_deref(), Some("https://x.example/a;b,c"));
        assert_eq!(all[1].as_ref().unwrap().token, "d.e.f");
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        assert_eq!(parse_identity_header("  "), Err(ParseError::Empty));
        assert!(matches!(parse_identity_header("a.b;info=<x>"), Err(ParseError::BadToken(_))));
        assert!(matches!(parse_identity_header("a.b.c d;info=<x>"), Err(ParseError::BadToken(_))));
        assert!(matches!(parse_identity_header("a.b.c;ppt=shaken;ppt=div"), Err(ParseError::DuplicateParameter(_))));
        assert!(matches!(parse_identity_header("a.b.c;info=<>"), Err(ParseError::BadParameter(_))));
        assert!(matches!(parse_identity_header("a.b.c;=x"), Err(ParseError::BadParameter(_))));
        assert_eq!(parse_identity_header(&"a".repeat(MAX_HEADER_LEN + 1)), Err(ParseError::TooLong));
    }
}
