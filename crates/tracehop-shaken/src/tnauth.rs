//! The TNAuthList certificate extension (RFC 8226 §9, OID 1.3.6.1.5.5.7.1.26), as profiled by
//! ATIS-1000080 for SHAKEN:
//!
//! ```text
//! TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
//! TNEntry ::= CHOICE {
//!   spc   [0] ServiceProviderCode,           -- IA5String: the OCN or SPC of the signer
//!   range [1] TelephoneNumberRange,          -- SEQUENCE { start TelephoneNumber, count INTEGER }
//!   one   [2] TelephoneNumber }              -- IA5String, digits, '#', '*'
//! ```
//!
//! The module uses explicit tags; implicitly tagged entries are read too. A bare IA5String in
//! place of the list (libstirshaken's test certificates put a URL there) is kept as a reference.

use serde::Serialize;

/// The TNAuthList extension's OID.
pub const TN_AUTH_LIST_OID: &str = "1.3.6.1.5.5.7.1.26";

/// What a TNAuthList authorises.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TnAuthList {
    /// Service provider codes (SHAKEN: the signer's OCN-like SPC).
    pub spc: Vec<String>,
    /// Telephone number ranges.
    pub ranges: Vec<TnRange>,
    /// Single telephone numbers.
    pub tns: Vec<String>,
    /// Not a list but a string (a URL in libstirshaken's certificates): nothing is authorised by
    /// value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// `count` numbers from `start`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TnRange {
    pub start: String,
    pub count: u64,
}

impl TnAuthList {
    /// Whether a telephone number (digits) is listed, by range or by itself.
    pub fn authorises_tn(&self, digits: &str) -> bool {
        self.tns.iter().any(|tn| tn == digits)
            || self.ranges.iter().any(|range| {
                range.start.len() == digits.len()
                    && match (range.start.parse::<u128>(), digits.parse::<u128>()) {
                        (Ok(start), Ok(n)) => n >= start && n - start < u128::from(range.count),
                        _ => false,
                    }
            })
    }

    /// Parses the extension's value (the DER inside the extension's OCTET STRING).
    pub fn from_der(bytes: &[u8]) -> Result<Self, String> {
        let mut outer = Reader(bytes);
        let (tag, content) = outer.next()?;
        if !outer.0.is_empty() {
            return Err("trailing bytes after the TNAuthList".into());
        }
        match tag {
            IA5_STRING => Ok(TnAuthList { reference: Some(ia5(content)?), ..TnAuthList::default() }),
            SEQUENCE => {
                let mut list = TnAuthList::default();
                let mut entries = Reader(content);
                while !entries.0.is_empty() {
                    let (tag, content) = entries.next()?;
                    match tag {
                        0xA0 => list.spc.push(explicit_string(content)?),
                        0x80 => list.spc.push(ia5(content)?),
                        0xA1 => list.ranges.push(range(content, true)?),
                        0xA2 => list.tns.push(tn(&explicit_string(content)?)?),
                        0x82 => list.tns.push(tn(&ia5(content)?)?),
                        other => return Err(format!("unknown TNEntry tag 0x{other:02x}")),
                    }
                }
                if list.spc.is_empty() && list.ranges.is_empty() && list.tns.is_empty() {
                    return Err("an empty TNAuthList".into());
                }
                Ok(list)
            }
            other => Err(format!("a TNAuthList is a SEQUENCE, not tag 0x{other:02x}")),
        }
    }
}

const IA5_STRING: u8 = 0x16;
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;

/// `[n] EXPLICIT IA5String`.
fn explicit_string(content: &[u8]) -> Result<String, String> {
    let mut inner = Reader(content);
    let (tag, value) = inner.next()?;
    if tag != IA5_STRING || !inner.0.is_empty() {
        return Err("a TNEntry does not hold one IA5String".into());
    }
    ia5(value)
}

/// `[1] TelephoneNumberRange`: explicitly tagged (a SEQUENCE inside) or implicitly (the
/// SEQUENCE's members directly).
fn range(content: &[u8], explicit: bool) -> Result<TnRange, String> {
    let mut reader = Reader(content);
    if explicit && content.first() == Some(&SEQUENCE) {
        let (_, members) = reader.next()?;
        if !reader.0.is_empty() {
            return Err("trailing bytes after a TN range".into());
        }
        return range(members, false);
    }
    let (tag, start) = reader.next()?;
    if tag != IA5_STRING {
        return Err("a TN range does not start with a number".into());
    }
    let start = tn(&ia5(start)?)?;
    let (tag, count) = reader.next()?;
    if tag != INTEGER || count.is_empty() || count.len() > 8 || count[0] & 0x80 != 0 {
        return Err("a TN range's count is not a positive integer".into());
    }
    let count = count.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
    if count < 2 {
        return Err("a TN range counts fewer than two numbers".into());
    }
    Ok(TnRange { start, count })
}

fn tn(text: &str) -> Result<String, String> {
    if text.is_empty() || text.len() > 15 || !text.bytes().all(|b| b.is_ascii_digit() || b == b'#' || b == b'*') {
        return Err(format!("{text:?} is not a TelephoneNumber"));
    }
    Ok(text.to_owned())
}

fn ia5(bytes: &[u8]) -> Result<String, String> {
    if bytes.is_empty() || bytes.len() > 256 || !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err("an IA5String that is empty, long or not printable".into());
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// A DER reader of single-byte tags and definite lengths.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<(u8, &'a [u8]), String> {
        let short = || "truncated DER".to_owned();
        let (&tag, rest) = self.0.split_first().ok_or_else(short)?;
        if tag & 0x1f == 0x1f {
            return Err("multi-byte DER tags are not used in a TNAuthList".into());
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(short)?;
        let length = if first < 0x80 {
            usize::from(first)
        } else {
            let octets = usize::from(first & 0x7f);
            if octets == 0 || octets > 3 || rest.len() < octets {
                return Err("bad DER length".into());
            }
            let (length, after) = rest.split_at(octets);
            rest = after;
            length.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
        };
        if rest.len() < length {
            return Err(short());
        }
        let (content, after) = rest.split_at(length);
        self.0 = after;
        Ok((tag, content))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atis_spc_example() {
        // ATIS-1000080's example: SPC "709J", explicit tagging.
        let list = TnAuthList::from_der(&[0x30, 0x08, 0xA0, 0x06, 0x16, 0x04, b'7', b'0', b'9', b'J']).unwrap();
        assert_eq!(list.spc, vec!["709J"]);
        let implicit = TnAuthList::from_der(&[0x30, 0x06, 0x80, 0x04, b'7', b'0', b'9', b'J']).unwrap();
        assert_eq!(implicit.spc, vec!["709J"]);
    }

    #[test]
    fn ranges_and_single_numbers() {
        let mut der = vec![0x30, 0x00, 0xA1, 0x00, 0x30, 0x00, 0x16, 0x0A];
        der.extend_from_slice(b"2025550100");
        der.extend_from_slice(&[0x02, 0x01, 100, 0xA2, 0x0C, 0x16, 0x0A]);
        der.extend_from_slice(b"3125550199");
        der[5] = 0x0F;
        der[3] = 0x11;
        der[1] = u8::try_from(der.len() - 2).unwrap();
        let list = TnAuthList::from_der(&der).unwrap();
        assert_eq!(list.ranges, vec![TnRange { start: "2025550100".into(), count: 100 }]);
        assert!(list.authorises_tn("2025550150"));
        assert!(!list.authorises_tn("2025550200"));
        assert!(list.authorises_tn("3125550199"));
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        for junk in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0xA0],
            &[0x30, 0x00],
            &[0x04, 0x00],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x1f, 0x00],
        ] {
            assert!(TnAuthList::from_der(junk).is_err(), "{junk:?}");
        }
        let url = TnAuthList::from_der(b"\x16\x05a.b/c").unwrap();
        assert_eq!(url.reference.as_deref(), Some("a.b/c"));
    }
}
