//! The screening decision: must this caller ID not originate, and why.

use crate::nanpa::{AreaCodes, Blocks, Exchanges};
use crate::number::{ParseError, npa, nxx, parse};
use crate::ranges::RangeSet;
use crate::set::NumberSet;

/// Why a number is blocked. Codes are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Listed in the DNO registry.
    Registry,
    /// Breaks the numbering plan's structure rules.
    InvalidNanp,
    /// The area code is unassigned or not in service (NANPA's NPA report).
    UnassignedNpa,
    /// The exchange is not assigned (NANPA's NPA-NXX file).
    UnassignedNxx,
    /// The thousands-block is not assigned (NANPA's block file).
    UnassignedBlock,
    /// One of the provider's own unused numbers.
    UnusedNumber,
}

impl Reason {
    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Registry => "registry",
            Self::InvalidNanp => "invalid_nanp",
            Self::UnassignedNpa => "unassigned_npa",
            Self::UnassignedNxx => "unassigned_nxx",
            Self::UnassignedBlock => "unassigned_block",
            Self::UnusedNumber => "unused_number",
        }
    }
}

/// The answer for one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub block: bool,
    pub reason: Option<Reason>,
}

impl Verdict {
    pub const ALLOW: Self = Self { block: false, reason: None };

    fn blocked(reason: Reason) -> Self {
        Self { block: true, reason: Some(reason) }
    }
}

/// Everything a provider screens against. Categories not given are not judged (the
/// structure rules always are).
///
/// When several reasons apply, the first in this order is given: `registry`,
/// `invalid_nanp`, `unassigned_npa`, `unassigned_nxx`, `unassigned_block`, `unused_number`.
#[derive(Debug, Clone)]
pub struct Screener {
    registry: NumberSet,
    area_codes: Option<AreaCodes>,
    exchanges: Option<Exchanges>,
    blocks: Option<Blocks>,
    unused: RangeSet,
}

impl Default for Screener {
    fn default() -> Self {
        Self::new()
    }
}

impl Screener {
    pub fn new() -> Self {
        Self {
            registry: NumberSet::new(Vec::new()),
            area_codes: None,
            exchanges: None,
            blocks: None,
            unused: RangeSet::default(),
        }
    }

    #[must_use]
    pub fn with_registry(mut self, registry: NumberSet) -> Self {
        self.registry = registry;
        self
    }

    #[must_use]
    pub fn with_area_codes(mut self, area_codes: AreaCodes) -> Self {
        self.area_codes = Some(area_codes);
        self
    }

    #[must_use]
    pub fn with_exchanges(mut self, exchanges: Exchanges) -> Self {
        self.exchanges = Some(exchanges);
        self
    }

    #[must_use]
    pub fn with_blocks(mut self, blocks: Blocks) -> Self {
        self.blocks = Some(blocks);
        self
    }

    #[must_use]
    pub fn with_unused(mut self, unused: RangeSet) -> Self {
        self.unused = unused;
        self
    }

    /// The registry numbers loaded.
    pub fn registry(&self) -> &NumberSet {
        &self.registry
    }

    /// Screens a ten-digit number (see `number::parse`).
    #[inline]
    pub fn screen(&self, number: u64) -> Verdict {
        if self.registry.contains(number) {
            return Verdict::blocked(Reason::Registry);
        }
        if number > crate::number::MAX_NUMBER || crate::nanp::violation(number).is_some() {
            return Verdict::blocked(Reason::InvalidNanp);
        }
        if self.area_codes.as_ref().is_some_and(|a| !a.in_service(npa(number))) {
            return Verdict::blocked(Reason::UnassignedNpa);
        }
        if self.exchanges.as_ref().is_some_and(|e| !e.allows(npa(number), nxx(number))) {
            return Verdict::blocked(Reason::UnassignedNxx);
        }
        if self.blocks.as_ref().is_some_and(|b| !b.allows(number)) {
            return Verdict::blocked(Reason::UnassignedBlock);
        }
        if self.unused.contains(number) {
            return Verdict::blocked(Reason::UnusedNumber);
        }
        Verdict::ALLOW
    }

    /// Screens many numbers.
    pub fn screen_batch(&self, numbers: &[u64]) -> Vec<Verdict> {
        numbers.iter().map(|&n| self.screen(n)).collect()
    }

    /// Parses then screens a caller ID as written.
    pub fn screen_text(&self, input: &str) -> Result<Verdict, ParseError> {
        parse(input).map(|n| self.screen(n))
    }
}
