//! Do Not Originate screening for providers, usable on its own.
//!
//! A [`Screener`] answers whether a caller ID must not originate, and why: numbers in the
//! consortium's DNO registry (loaded from a signed, verified snapshot plus deltas, see
//! [`snapshot`] and [`registry`]), and the FCC's "reasonable DNO" categories: numbers that
//! break the numbering plan's structure ([`nanp`]), area codes, exchanges and
//! thousands-blocks that NANPA has not assigned ([`nanpa`]), and the provider's own unused
//! numbers ([`ranges`]). Registry numbers live in a [`NumberSet`], under three bytes a number.

pub mod nanp;
pub mod nanpa;
pub mod number;
pub mod ranges;
pub mod registry;
pub mod screen;
pub mod set;
pub mod snapshot;

pub use number::{ParseError, parse};
pub use registry::{LoadError, RegistryLoader, assemble};
pub use screen::{Reason, Screener, Verdict};
pub use set::NumberSet;

/// A problem in a data file, with its line (1-based; 0 when the file could not be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DataError {
    pub line: usize,
    pub message: String,
}

impl DataError {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        Self { line, message: message.into() }
    }
}
