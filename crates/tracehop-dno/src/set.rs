//! A compact, read-only set of ten-digit numbers.
//!
//! Numbers are bucketed by their high bits: `offsets[b]..offsets[b + 1]` is the slice of
//! sorted low parts whose number has high part `b`. With a shift of 16 the low parts are
//! `u16` (two bytes a number) and the offsets array has one `u32` per 65,536 numbers of the
//! plan (about 153,000 buckets, 0.6 MB, so under 0.7 bytes a number at a million numbers).
//! A lookup reads one offset pair and scans a handful of `u16`s, two cache lines in all,
//! where a hash set touches its control bytes and a slot of eight-byte keys.
//!
//! Small sets pick a larger shift so the offsets array stays proportionate, storing their
//! low parts as `u32`.

use crate::number::MAX_NUMBER;

#[derive(Debug, Clone)]
enum Lows {
    Short(Vec<u16>),
    Wide(Vec<u32>),
}

/// An immutable set of numbers in `0..=MAX_NUMBER`.
#[derive(Debug, Clone)]
pub struct NumberSet {
    shift: u32,
    offsets: Vec<u32>,
    lows: Lows,
}

/// Below this many entries a bucket is scanned linearly.
const LINEAR: usize = 32;

#[allow(clippy::needless_bitwise_bool)] // deliberate: `|` keeps the scan free of branches
fn find<T: Ord + Copy>(slice: &[T], key: T) -> bool {
    // Buckets hold a handful of entries: a scan without early exit has no branch to mispredict
    // and vectorises.
    if slice.len() <= LINEAR {
        slice.iter().fold(false, |found, &v| found | (v == key))
    } else {
        slice.binary_search(&key).is_ok()
    }
}

impl NumberSet {
    /// Builds a set; numbers above `MAX_NUMBER` are ignored, duplicates collapse.
    pub fn new(mut numbers: Vec<u64>) -> Self {
        numbers.retain(|&n| n <= MAX_NUMBER);
        numbers.sort_unstable();
        numbers.dedup();
        Self::from_sorted_unique(&numbers)
    }

    fn from_sorted_unique(numbers: &[u64]) -> Self {
        // The smallest shift (at least 16) whose bucket count does not exceed the count of
        // numbers, so the offsets never outweigh the low parts.
        let count = numbers.len().max(1) as u64;
        let mut shift = 16;
        while (MAX_NUMBER >> shift) + 1 > count && shift < 34 {
            shift += 1;
        }
        let buckets = usize::try_from((MAX_NUMBER >> shift) + 1).unwrap_or(usize::MAX);
        let mut offsets = vec![0u32; buckets + 1];
        for &n in numbers {
            let b = usize::try_from(n >> shift).unwrap_or(0);
            offsets[b + 1] += 1;
        }
        for b in 0..buckets {
            offsets[b + 1] += offsets[b];
        }
        let mask = (1u64 << shift) - 1;
        let lows = if shift == 16 {
            Lows::Short(numbers.iter().map(|&n| u16::try_from(n & mask).unwrap_or(0)).collect())
        } else {
            Lows::Wide(numbers.iter().map(|&n| u32::try_from(n & mask).unwrap_or(0)).collect())
        };
        Self { shift, offsets, lows }
    }

    /// Whether `number` is in the set.
    #[inline]
    pub fn contains(&self, number: u64) -> bool {
        let Ok(b) = usize::try_from(number >> self.shift) else {
            return false;
        };
        let (Some(&start), Some(&end)) = (self.offsets.get(b), self.offsets.get(b + 1)) else {
            return false;
        };
        let range = start as usize..end as usize;
        let low = number & ((1u64 << self.shift) - 1);
        match &self.lows {
            Lows::Short(lows) => lows.get(range).is_some_and(|s| find(s, u16::try_from(low).unwrap_or(0))),
            Lows::Wide(lows) => lows.get(range).is_some_and(|s| find(s, u32::try_from(low).unwrap_or(0))),
        }
    }

    /// How many numbers the set holds.
    pub fn len(&self) -> usize {
        match &self.lows {
            Lows::Short(l) => l.len(),
            Lows::Wide(l) => l.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held by the set.
    pub fn heap_bytes(&self) -> usize {
        let lows = match &self.lows {
            Lows::Short(l) => l.len() * 2,
            Lows::Wide(l) => l.len() * 4,
        };
        self.offsets.len() * 4 + lows
    }

    /// The numbers in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let shift = self.shift;
        self.offsets.windows(2).enumerate().flat_map(move |(b, w)| {
            let high = (b as u64) << shift;
            (w[0] as usize..w[1] as usize).map(move |i| {
                high | match &self.lows {
                    Lows::Short(l) => u64::from(l[i]),
                    Lows::Wide(l) => u64::from(l[i]),
                }
            })
        })
    }
}

impl FromIterator<u64> for NumberSet {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        Self::new(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn empty_and_edges() {
        let empty = NumberSet::new(vec![]);
        assert!(empty.is_empty());
        assert!(!empty.contains(0));
        assert!(!empty.contains(MAX_NUMBER));
        assert!(!empty.contains(u64::MAX));
        let edges = NumberSet::new(vec![0, MAX_NUMBER, MAX_NUMBER + 1, 5, 5]);
        assert_eq!(edges.len(), 3);
        assert!(edges.contains(0) && edges.contains(5) && edges.contains(MAX_NUMBER));
        assert!(!edges.contains(MAX_NUMBER + 1) && !edges.contains(4));
        assert_eq!(edges.iter().collect::<Vec<_>>(), vec![0, 5, MAX_NUMBER]);
    }

    #[test]
    fn dense_bucket_uses_binary_search() {
        let numbers: Vec<u64> = (2_025_550_000..2_025_560_000).step_by(3).collect();
        let set = NumberSet::new(numbers.clone());
        for n in 2_025_549_990..2_025_560_010 {
            assert_eq!(set.contains(n), numbers.contains(&n), "{n}");
        }
    }

    #[test]
    fn a_million_numbers_take_under_three_bytes_each() {
        let numbers: Vec<u64> = (0..1_000_000u64).map(|i| 2_000_000_000 + i * 7_919).collect();
        let set = NumberSet::new(numbers);
        assert_eq!(set.len(), 1_000_000);
        assert!(set.heap_bytes() < 3_000_000, "{}", set.heap_bytes());
    }

    proptest! {
        #[test]
        fn agrees_with_btreeset(
            numbers in proptest::collection::vec(0..=MAX_NUMBER, 0..400),
            clustered in proptest::collection::vec(2_025_550_000u64..2_025_560_000, 0..400),
            probes in proptest::collection::vec(0..=MAX_NUMBER + 10, 0..200),
        ) {
            let all: Vec<u64> = numbers.iter().chain(&clustered).copied().collect();
            let reference: BTreeSet<u64> = all.iter().copied().collect();
            let set = NumberSet::new(all.clone());
            prop_assert_eq!(set.len(), reference.len());
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), reference.iter().copied().collect::<Vec<_>>());
            for n in probes.iter().chain(&all).chain(clustered.iter().map(|n| n + 1).collect::<Vec<_>>().iter()) {
                prop_assert_eq!(set.contains(*n), reference.contains(n));
            }
        }
    }
}
