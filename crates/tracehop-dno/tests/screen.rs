//! Screening against the NANPA area-code report, exchange and block files, unused numbers and
//! the registry, with a naive reference for the whole decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step is a failed test

use std::collections::BTreeSet;

use proptest::prelude::*;
use tracehop_dno::nanpa::{AreaCodes, Blocks, Exchanges};
use tracehop_dno::ranges::RangeSet;
use tracehop_dno::{NumberSet, Reason, Screener, Verdict};

fn area_codes() -> AreaCodes {
    let file =
        std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/npa_report-2018-10-04.csv")).unwrap();
    AreaCodes::read(std::io::BufReader::new(file)).unwrap()
}

fn reason(screener: &Screener, number: &str) -> Option<&'static str> {
    screener.screen_text(number).unwrap().reason.map(Reason::code)
}

#[test]
fn the_nanpa_report_blocks_unassigned_area_codes() {
    let codes = area_codes();
    assert!(codes.count() > 380, "{}", codes.count());
    let screener = Screener::new().with_area_codes(codes);
    let table = [
        ("+1 202 234 5678", None),                // Washington DC, in service
        ("212-234-5678", None),                   // New York
        ("(800) 234-5678", None),                 // toll free, in service
        ("+1 416 234 5678", None),                // Toronto: NANP, not U.S., still valid
        ("200-234-5678", Some("unassigned_npa")), // ERC, not assigned
        ("263-234-5678", Some("unassigned_npa")), // not assigned in 2018
        ("555-234-5678", Some("unassigned_npa")), // 555 is not an area code
        ("375-234-5678", Some("unassigned_npa")), // 37X reserved
        ("211-234-5678", Some("invalid_nanp")),   // N11
        ("023-234-5678", Some("invalid_nanp")),   // leading 0
        ("193-234-5678", Some("invalid_nanp")),   // leading 1
        ("292-234-5678", Some("invalid_nanp")),   // N9X
        ("202-034-5678", Some("invalid_nanp")),   // exchange leading 0
        ("202-911-5678", Some("invalid_nanp")),   // exchange N11
        ("202-555-0123", Some("invalid_nanp")),   // fictitious
    ];
    for (number, expected) in table {
        assert_eq!(reason(&screener, number), expected, "{number}");
    }
}

#[test]
fn exchanges_blocks_unused_and_precedence() {
    let exchanges = Exchanges::read("NPA,NXX\n202,234\n202,235\n".as_bytes()).unwrap();
    let blocks = Blocks::read("NPA-NXX-X\n202-235-0\n202-235-1\n".as_bytes()).unwrap();
    let unused = RangeSet::read("2022345500..2022345599\n".as_bytes()).unwrap();
    let screener = Screener::new()
        .with_registry(NumberSet::new(vec![2_022_345_501, 2_025_550_100, 2_062_345_678]))
        .with_area_codes(area_codes())
        .with_exchanges(exchanges)
        .with_blocks(blocks)
        .with_unused(unused);
    let table = [
        ("2022345678", None),
        ("2022365678", Some("unassigned_nxx")),
        ("2022352234", Some("unassigned_block")), // block 2 of a pooled exchange
        ("2022351999", None),                     // block 0
        ("2022331234", Some("unassigned_nxx")),
        ("2022345550", Some("unused_number")),
        ("2022345501", Some("registry")), // registry wins over unused
        ("2025550100", Some("registry")), // and over the structure rules
        ("2062345678", Some("registry")), // and the exchange file's scope
        ("2062345679", None),             // 206 not in the exchange file: not judged
        ("2002345678", Some("unassigned_npa")),
    ];
    for (number, expected) in table {
        assert_eq!(reason(&screener, number), expected, "{number}");
    }
    let batch = screener.screen_batch(&[2_022_345_678, 2_025_550_100]);
    assert_eq!(batch, vec![Verdict::ALLOW, Verdict { block: true, reason: Some(Reason::Registry) }]);
    assert!(screener.screen_text("not a number").is_err());
}

fn naive(registry: &BTreeSet<u64>, unused: &[(u64, u64)], n: u64) -> Option<&'static str> {
    let (npa, nxx, line) = (n / 10_000_000, n / 10_000 % 1000, n % 10_000);
    if registry.contains(&n) {
        return Some("registry");
    }
    let bad_code = |c: u64| c < 200 || c % 100 == 11;
    if bad_code(npa)
        || npa / 10 % 10 == 9
        || bad_code(nxx)
        || (nxx == 555 && ((100..200).contains(&line) || line == 1212))
    {
        return Some("invalid_nanp");
    }
    if ![201, 202, 212].contains(&npa) {
        return Some("unassigned_npa");
    }
    if unused.iter().any(|&(a, b)| a <= n && n <= b) {
        return Some("unused_number");
    }
    None
}

proptest! {
    #[test]
    fn screening_agrees_with_a_reference(
        registry in proptest::collection::vec(2_000_000_000u64..2_130_000_000, 0..300),
        unused in proptest::collection::vec((2_000_000_000u64..2_130_000_000, 0u64..50_000_000), 0..5),
        probes in proptest::collection::vec(0u64..10_000_000_000, 0..300),
        near in proptest::collection::vec(2_010_000_000u64..2_130_000_000, 0..300),
    ) {
        let unused: Vec<(u64, u64)> = unused.into_iter().map(|(a, l)| (a, a + l)).collect();
        let screener = Screener::new()
            .with_registry(NumberSet::new(registry.clone()))
            .with_area_codes(AreaCodes::from_codes([201, 202, 212]))
            .with_unused(RangeSet::new(unused.clone()));
        let reference: BTreeSet<u64> = registry.iter().copied().collect();
        for &n in probes.iter().chain(&near).chain(&registry) {
            let verdict = screener.screen(n);
            let expected = naive(&reference, &unused, n);
            prop_assert_eq!(verdict.reason.map(Reason::code), expected, "{}", n);
            prop_assert_eq!(verdict.block, expected.is_some());
        }
    }
}
