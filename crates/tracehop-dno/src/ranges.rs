//! A provider's own unused numbers: single numbers and inclusive ranges.
//!
//! File layout, one entry a line: a number in any form `parse` accepts, or a range
//! `FROM..TO` or `FROM,TO` (inclusive, both ends numbers). Blank lines and lines starting
//! with `#` are skipped.

use std::io::BufRead;

use crate::DataError;
use crate::number::parse;

/// Sorted, merged, inclusive ranges of numbers.
#[derive(Debug, Clone, Default)]
pub struct RangeSet {
    ranges: Vec<(u64, u64)>,
}

impl RangeSet {
    /// Builds a set from inclusive ranges in any order (overlaps merge; reversed ends swap).
    pub fn new(mut ranges: Vec<(u64, u64)>) -> Self {
        for r in &mut ranges {
            if r.0 > r.1 {
                *r = (r.1, r.0);
            }
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (from, to) in ranges {
            match merged.last_mut() {
                Some(last) if from <= last.1.saturating_add(1) => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        Self { ranges: merged }
    }

    /// Reads the unused-numbers file layout described above.
    pub fn read<R: BufRead>(reader: R) -> Result<Self, DataError> {
        let mut ranges = Vec::new();
        for (index, line) in reader.lines().enumerate() {
            let number = index + 1;
            let line = line.map_err(|e| DataError::new(number, e.to_string()))?;
            let text = line.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let split = text.split_once("..").or_else(|| text.split_once(','));
            let range = match split {
                Some((a, b)) => {
                    let from = parse(a).map_err(|e| DataError::new(number, format!("range start: {e}")))?;
                    let to = parse(b).map_err(|e| DataError::new(number, format!("range end: {e}")))?;
                    if from > to {
                        return Err(DataError::new(number, "range ends before it starts"));
                    }
                    (from, to)
                }
                None => {
                    let n = parse(text).map_err(|e| DataError::new(number, e.to_string()))?;
                    (n, n)
                }
            };
            ranges.push(range);
        }
        Ok(Self::new(ranges))
    }

    pub fn contains(&self, number: u64) -> bool {
        let i = self.ranges.partition_point(|r| r.1 < number);
        self.ranges.get(i).is_some_and(|r| r.0 <= number)
    }

    /// The merged ranges.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    /// How many numbers the ranges cover.
    pub fn count(&self) -> u64 {
        self.ranges.iter().map(|r| r.1 - r.0 + 1).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_numbers_and_ranges() {
        let text = "# ours, unused\n+1 202 555 0150\n\n2025550160..2025550169\n12025550170,12025550171\n";
        let set = RangeSet::read(text.as_bytes()).unwrap();
        assert_eq!(set.count(), 13);
        assert!(set.contains(2_025_550_150));
        assert!(!set.contains(2_025_550_151));
        assert!(set.contains(2_025_550_165));
        assert!(set.contains(2_025_550_171));
        assert!(!set.contains(2_025_550_172));
        assert_eq!(set.ranges().len(), 2);
    }

    #[test]
    fn errors_name_the_line() {
        let err = RangeSet::read("2025550150\nnot a number\n".as_bytes()).unwrap_err();
        assert_eq!(err.line, 2);
        let err = RangeSet::read("2025550169..2025550160\n".as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "line 1: range ends before it starts");
    }

    proptest! {
        #[test]
        fn agrees_with_naive(ranges in proptest::collection::vec((0u64..500, 0u64..20), 0..20), probes in proptest::collection::vec(0u64..540, 0..100)) {
            let ranges: Vec<(u64, u64)> = ranges.into_iter().map(|(a, l)| (a, a + l)).collect();
            let set = RangeSet::new(ranges.clone());
            for p in probes {
                prop_assert_eq!(set.contains(p), ranges.iter().any(|r| r.0 <= p && p <= r.1));
            }
        }
    }
}
