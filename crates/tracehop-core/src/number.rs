//! Telephone numbers as presented, and as E.164 when they parse.
//!
//! Incident data carries numbers exactly as a submitter saw them ("(202) 555-0123", "2025550123",
//! "+1 202 555 0123", sometimes garbage). We always keep that raw text; the E.164 form sits beside
//! it when libphonenumber can read it, and when it cannot, the reason is kept as a value.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::{Deserialize, Serialize};

/// Raw input longer than this is refused without parsing: no real number is this long, and it
/// bounds the work an input can cause.
const MAX_RAW_LEN: usize = 64;

/// A number as presented plus, where it parses, its E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneNumber {
    /// Exactly as presented (trimmed of surrounding whitespace).
    pub raw: String,
    /// `+` and digits, when the number parses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e164: Option<String>,
    /// libphonenumber's judgement that the parsed number is assignable in its plan.
    #[serde(default)]
    pub valid: bool,
    /// Why the number did not parse, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<NumberProblem>,
}

/// Why a presented number has no E.164 form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NumberProblem {
    Empty,
    TooLong,
    NotANumber,
    InvalidCountryCode,
    TooShort,
    /// The parser library failed internally; the raw value is still kept.
    ParserFault,
}

impl fmt::Display for NumberProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty",
            Self::TooLong => "too long to be a telephone number",
            Self::NotANumber => "not a telephone number",
            Self::InvalidCountryCode => "unknown country calling code",
            Self::TooShort => "too short",
            Self::ParserFault => "could not be parsed",
        })
    }
}

impl PhoneNumber {
    /// Reads a presented number. Numbers without a `+` are read in the North American Numbering
    /// Plan, where tracebacks terminate.
    pub fn parse(presented: &str) -> Self {
        let raw = presented.trim().to_owned();
        let outcome = parse_e164(&raw);
        match outcome {
            Ok((e164, valid)) => Self { raw, e164: Some(e164), valid, problem: None },
            Err(problem) => Self { raw, e164: None, valid: false, problem: Some(problem) },
        }
    }

    /// The E.164 form when there is one, otherwise the raw text: the best key for matching.
    pub fn best(&self) -> &str {
        self.e164.as_deref().unwrap_or(&self.raw)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.best())
    }
}

fn parse_e164(raw: &str) -> Result<(String, bool), NumberProblem> {
    if raw.is_empty() {
        return Err(NumberProblem::Empty);
    }
    if raw.len() > MAX_RAW_LEN {
        return Err(NumberProblem::TooLong);
    }
    // The parser is third-party code run on untrusted text; a fault inside it must become a value,
    // never take the caller down.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        phonenumber::parse(Some(phonenumber::country::Id::US), raw).map(|number| {
            let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
            (e164, phonenumber::is_valid(&number))
        })
    }));
    match parsed {
        Ok(Ok((e164, valid))) if is_e164_shape(&e164) => Ok((e164, valid)),
        Ok(Ok(_)) | Err(_) => Err(NumberProblem::ParserFault),
        Ok(Err(error)) => Err(match error {
            phonenumber::ParseError::InvalidCountryCode => NumberProblem::InvalidCountryCode,
            phonenumber::ParseError::TooShortNsn | phonenumber::ParseError::TooShortAfterIdd => NumberProblem::TooShort,
            phonenumber::ParseError::TooLong => NumberProblem::TooLong,
            _ => NumberProblem::NotANumber,
        }),
    }
}

fn is_e164_shape(text: &str) -> bool {
    text.strip_prefix('+')
        .is_some_and(|digits| (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_shapes_submitters_use() {
        for raw in ["+12025550123", "(202) 555-0123", "202-555-0123", "2025550123", "1 202 555 0123"] {
            let number = PhoneNumber::parse(raw);
            assert_eq!(number.e164.as_deref(), Some("+12025550123"), "{raw}");
            assert_eq!(number.raw, raw);
            assert_eq!(number.problem, None);
        }
        let foreign = PhoneNumber::parse("+44 20 7946 0958");
        assert_eq!(foreign.e164.as_deref(), Some("+442079460958"));
    }

    #[test]
    fn keeps_failures_as_values() {
        assert_eq!(PhoneNumber::parse("  ").problem, Some(NumberProblem::Empty));
        assert_eq!(PhoneNumber::parse("hello").problem, Some(NumberProblem::NotANumber));
        let long = "9".repeat(80);
        assert_eq!(PhoneNumber::parse(&long).problem, Some(NumberProblem::TooLong));
        let bad = PhoneNumber::parse("anonymous");
        assert_eq!(bad.raw, "anonymous");
        assert_eq!(bad.best(), "anonymous");
        assert!(bad.e164.is_none());
    }

    proptest! {
        #[test]
        fn never_panics_and_keeps_the_raw_text(raw in "\\PC{0,40}") {
            let number = PhoneNumber::parse(&raw);
            prop_assert_eq!(number.raw.as_str(), raw.trim());
            prop_assert!(number.e164.is_some() != number.problem.is_some());
        }

        #[test]
        fn digit_strings_never_panic(raw in "[+0-9 ()#*.-]{0,30}") {
            let number = PhoneNumber::parse(&raw);
            if let Some(e164) = &number.e164 {
                prop_assert!(is_e164_shape(e164));
            }
        }
    }
}
