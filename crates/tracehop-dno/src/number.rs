//! Reading a caller ID as a ten-digit NANP number.
//!
//! Numbers are kept as `u64` holding the ten national digits (NPA, NXX, line), so
//! `+1 (202) 555-0123` is `2_025_550_123`.

/// The largest ten-digit value; every NANP number is at most this.
pub const MAX_NUMBER: u64 = 9_999_999_999;

/// Why a line is not a NANP number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty input")]
    Empty,
    #[error("unexpected character {0:?}")]
    Character(char),
    #[error("expected 10 digits, or 11 starting with 1; found {0} digits")]
    Length(usize),
    #[error("country code is not 1 (not a NANP number)")]
    NotNanp,
}

/// Parses `+1XXXXXXXXXX`, `1XXXXXXXXXX` or ten digits, with spaces, dashes, dots, slashes
/// and parentheses as punctuation. Structure (NPA and NXX rules) is not checked here: a
/// well-formed but impossible number parses, and screening calls it `invalid_nanp`.
pub fn parse(input: &str) -> Result<u64, ParseError> {
    let text = input.trim();
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut value: u64 = 0;
    let mut digits = 0usize;
    let mut first = None;
    for c in rest.chars() {
        match c {
            '0'..='9' => {
                let d = u64::from(c as u8 - b'0');
                if first.is_none() {
                    first = Some(d);
                }
                digits += 1;
                if digits <= 11 {
                    value = value * 10 + d;
                }
            }
            ' ' | '-' | '.' | '(' | ')' | '/' | '\t' => {}
            other => return Err(ParseError::Character(other)),
        }
    }
    if digits == 0 {
        return Err(ParseError::Empty);
    }
    if plus && first != Some(1) {
        return Err(ParseError::NotNanp);
    }
    match digits {
        10 if !plus => Ok(value),
        11 if first == Some(1) => Ok(value - 10_000_000_000),
        _ => Err(ParseError::Length(digits)),
    }
}

/// The area code (NPA) of a ten-digit number.
pub fn npa(number: u64) -> u16 {
    u16::try_from(number / 10_000_000 % 1000).unwrap_or(0)
}

/// The exchange (NXX) of a ten-digit number.
pub fn nxx(number: u64) -> u16 {
    u16::try_from(number / 10_000 % 1000).unwrap_or(0)
}

/// The line number (last four digits).
pub fn line(number: u64) -> u16 {
    u16::try_from(number % 10_000).unwrap_or(0)
}

/// Formats a ten-digit number as E.164 (`+1` and ten digits).
pub fn e164(number: u64) -> String {
    format!("+1{number:010}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        for input in [
            "+12025550123",
            "12025550123",
            "2025550123",
            "(202) 555-0123",
            "+1 202.555.0123",
            " 1-202-555-0123 ",
            "202/555 0123",
        ] {
            assert_eq!(parse(input), Ok(2_025_550_123), "{input}");
        }
    }

    #[test]
    fn refused_forms() {
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert_eq!(parse("  "), Err(ParseError::Empty));
        assert_eq!(parse("202555012"), Err(ParseError::Length(9)));
        assert_eq!(parse("22025550123"), Err(ParseError::Length(11)));
        assert_eq!(parse("+2025550123"), Err(ParseError::NotNanp));
        assert_eq!(parse("+442079460000"), Err(ParseError::NotNanp));
        assert_eq!(parse("+1202555012"), Err(ParseError::Length(10)));
        assert_eq!(parse("202555O123"), Err(ParseError::Character('O')));
        assert_eq!(parse("1202555012345678901234"), Err(ParseError::Length(22)));
    }

    #[test]
    fn parts() {
        let n = 2_025_550_123;
        assert_eq!((npa(n), nxx(n), line(n)), (202, 555, 123));
        assert_eq!(e164(n), "+12025550123");
        assert_eq!(e164(2_000_000_001), "+12000000001");
    }
}
