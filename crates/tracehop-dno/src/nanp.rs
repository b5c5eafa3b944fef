//! The North American Numbering Plan's structure rules (no data files needed).
//!
//! A number is NPA-NXX-XXXX. Rules applied, each a reason for `invalid_nanp`:
//! - the area code (NPA) and the exchange (NXX) start with 2–9 (`NXX` format: a leading 0 or
//!   1 is never dialable as a code);
//! - N11 codes (211, 311, …, 911) are service codes, never an NPA or an NXX;
//! - NPAs of the form N9X (a 9 in the middle) are reserved for expanding the plan and are
//!   never assigned;
//! - in the 555 exchange of any area code, lines 0100–0199 are reserved for fictitious use
//!   (film, books, examples) and 1212 is directory assistance: neither is a subscriber's
//!   caller ID. Other 555 lines were once assignable as 555 services, so they are left to the
//!   registry and to NANPA data rather than blocked by structure.
//!
//! Area codes that are merely unassigned (37X, 96X, ERCs not in use, …) are the business of
//! NANPA's report (`unassigned_npa`), not of these rules.

use crate::number::{line, npa, nxx};

/// Which structure rule a number breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    NpaLeadingDigit,
    NpaN11,
    NpaExpansion,
    NxxLeadingDigit,
    NxxN11,
    Fictitious555,
    DirectoryAssistance,
}

impl Violation {
    pub fn describe(self) -> &'static str {
        match self {
            Self::NpaLeadingDigit => "area code starts with 0 or 1",
            Self::NpaN11 => "area code is an N11 service code",
            Self::NpaExpansion => "area code N9X is reserved for expansion",
            Self::NxxLeadingDigit => "exchange starts with 0 or 1",
            Self::NxxN11 => "exchange is an N11 service code",
            Self::Fictitious555 => "555-01XX is reserved for fictitious use",
            Self::DirectoryAssistance => "555-1212 is directory assistance",
        }
    }
}

fn is_n11(code: u16) -> bool {
    code % 100 == 11
}

/// The first structure rule a ten-digit number breaks, if any.
pub fn violation(number: u64) -> Option<Violation> {
    let (a, x, l) = (npa(number), nxx(number), line(number));
    if a < 200 {
        return Some(Violation::NpaLeadingDigit);
    }
    if is_n11(a) {
        return Some(Violation::NpaN11);
    }
    if a / 10 % 10 == 9 {
        return Some(Violation::NpaExpansion);
    }
    if x < 200 {
        return Some(Violation::NxxLeadingDigit);
    }
    if is_n11(x) {
        return Some(Violation::NxxN11);
    }
    if x == 555 && (100..200).contains(&l) {
        return Some(Violation::Fictitious555);
    }
    if x == 555 && l == 1212 {
        return Some(Violation::DirectoryAssistance);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::Violation::*;
    use super::*;

    #[test]
    fn structure_table() {
        let table: &[(u64, Option<Violation>)] = &[
            (2_025_550_123, Some(Fictitious555)),
            (2_022_345_678, None),
            (9_092_345_678, None), // a 9 first is fine
            (8_002_345_678, None), // toll free
            (2_015_551_212, Some(DirectoryAssistance)),
            (2_015_550_200, None), // other 555 lines are left to data
            (2_015_550_099, None),
            (2_015_550_100, Some(Fictitious555)),
            (2_015_550_199, Some(Fictitious555)),
            (234_567_890, Some(NpaLeadingDigit)), // NPA 023
            (1_234_567_890, Some(NpaLeadingDigit)),
            (2_110_000_000 + 2_345_678, Some(NpaN11)),
            (9_112_345_678, Some(NpaN11)),
            (4_112_345_678, Some(NpaN11)),
            (2_912_345_678, Some(NpaExpansion)),
            (9_992_345_678, Some(NpaExpansion)),
            (2_020_345_678, Some(NxxLeadingDigit)),
            (2_021_345_678, Some(NxxLeadingDigit)),
            (2_029_115_678, Some(NxxN11)),
            (2_022_115_678, Some(NxxN11)),
            (2_022_125_678, None), // 212 is not N11
            (2_122_345_678, None),
        ];
        for &(number, expected) in table {
            assert_eq!(violation(number), expected, "{number}");
        }
    }
}
