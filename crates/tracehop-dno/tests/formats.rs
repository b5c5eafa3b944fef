//! Golden files for the snapshot formats, signature refusal, and registry loading against a
//! naive reference.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step is a failed test

use std::collections::BTreeSet;
use std::path::PathBuf;

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use tracehop_dno::snapshot::{Action, Document, Entry, FormatError, Kind, binary, keys, text, verify};
use tracehop_dno::{LoadError, RegistryLoader, assemble};

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[8; 32])
}

fn entry(number: u64, action: Action, government: bool, volume: u64) -> Entry {
    Entry { number, action, government, volume }
}

fn snapshot() -> Document {
    let mut document = Document {
        kind: Kind::Snapshot,
        version: 7,
        base: 0,
        created: "2026-12-01T00:00:00Z".into(),
        entries: vec![
            entry(2_025_550_101, Action::Add, false, 900),
            entry(2_025_550_100, Action::Add, true, 120_000),
            entry(2_025_550_102, Action::Add, false, 45_000),
            entry(2_025_550_103, Action::Add, true, 10),
        ],
    };
    document.order_by_protective_value();
    document
}

fn delta() -> Document {
    let mut document = Document {
        kind: Kind::Delta,
        version: 8,
        base: 7,
        created: "2026-12-02T00:00:00Z".into(),
        entries: vec![entry(2_025_550_104, Action::Add, false, 300), entry(2_025_550_101, Action::Remove, false, 0)],
    };
    document.order_by_protective_value();
    document
}

fn golden(name: &str, bytes: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    let expected =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(expected == bytes, "{name} differs from its golden file");
}

#[test]
fn protective_value_order() {
    let numbers: Vec<u64> = snapshot().entries.iter().map(|e| e.number).collect();
    assert_eq!(numbers, vec![2_025_550_100, 2_025_550_103, 2_025_550_102, 2_025_550_101]);
    assert_eq!(delta().entries[0].action, Action::Remove);
}

#[test]
fn golden_files() {
    golden("snapshot-v7.csv", &text::write(&snapshot(), &key()).unwrap());
    golden("delta-v8.csv", &text::write(&delta(), &key()).unwrap());
    golden("snapshot-v7.bin", &binary::write(&snapshot(), &key()).unwrap());
    golden("delta-v8.bin", &binary::write(&delta(), &key()).unwrap());
    golden("public-key.txt", format!("{}\n", keys::public_key_text(&key().verifying_key())).as_bytes());
}

#[test]
fn round_trips() {
    let public = key().verifying_key();
    for document in [snapshot(), delta()] {
        assert_eq!(verify(&text::write(&document, &key()).unwrap(), &public).unwrap(), document);
        assert_eq!(verify(&binary::write(&document, &key()).unwrap(), &public).unwrap(), document);
    }
}

#[test]
fn binary_is_compact() {
    let csv = text::write(&snapshot(), &key()).unwrap();
    let bin = binary::write(&snapshot(), &key()).unwrap();
    assert!(bin.len() * 2 < csv.len(), "{} vs {}", bin.len(), csv.len());
}

#[test]
fn tampering_and_wrong_keys_are_refused() {
    let public = key().verifying_key();
    let csv = text::write(&snapshot(), &key()).unwrap();
    let tampered = String::from_utf8(csv.clone()).unwrap().replace("+12025550103", "+12025550109");
    assert_eq!(verify(tampered.as_bytes(), &public), Err(FormatError::Signature));
    let bin = binary::write(&snapshot(), &key()).unwrap();
    for i in [8, 20, bin.len() / 2, bin.len() - 65, bin.len() - 1] {
        let mut flipped = bin.clone();
        flipped[i] ^= 1;
        assert!(verify(&flipped, &public).is_err(), "byte {i}");
    }
    let wrong = other_key().verifying_key();
    assert_eq!(verify(&csv, &wrong), Err(FormatError::Signature));
    assert_eq!(verify(&bin, &wrong), Err(FormatError::Signature));
    let mut truncated = csv.clone();
    truncated.truncate(csv.len() - 20);
    assert!(verify(&truncated, &public).is_err());
    assert!(matches!(verify(b"number\n+12025550100\n", &public), Err(FormatError::Unrecognised(_))));
    // A row removed (signature line intact) no longer verifies.
    let text = String::from_utf8(csv).unwrap();
    let without: String = text.lines().filter(|l| !l.starts_with("+12025550102")).map(|l| format!("{l}\n")).collect();
    assert_eq!(verify(without.as_bytes(), &public), Err(FormatError::Signature));
}

#[test]
fn snapshot_then_delta() {
    let public = key().verifying_key();
    let mut loader = RegistryLoader::new();
    loader.load(&binary::write(&snapshot(), &key()).unwrap(), &public).unwrap();
    loader.load(&text::write(&delta(), &key()).unwrap(), &public).unwrap();
    assert_eq!(loader.version(), Some(8));
    let set = loader.build();
    assert_eq!(set.iter().collect::<Vec<_>>(), vec![2_025_550_100, 2_025_550_102, 2_025_550_103, 2_025_550_104]);

    let mut out_of_order = RegistryLoader::new();
    let err = out_of_order.load(&text::write(&delta(), &key()).unwrap(), &public).unwrap_err();
    assert!(matches!(err, LoadError::DeltaFirst));
    let mut skipped = RegistryLoader::new();
    skipped.load(&text::write(&snapshot(), &key()).unwrap(), &public).unwrap();
    let mut later = delta();
    later.base = 8;
    later.version = 9;
    let err = skipped.load(&text::write(&later, &key()).unwrap(), &public).unwrap_err();
    assert_eq!(err.to_string(), "the delta applies to version 8, but the registry is at version 7");
}

#[test]
fn assembling_in_any_order() {
    let mut next = delta();
    next.base = 8;
    next.version = 9;
    next.entries = vec![entry(2_025_550_100, Action::Remove, false, 0)];
    let mut old = delta();
    old.base = 6;
    old.version = 7;
    let loader = assemble(vec![next.clone(), delta(), snapshot(), old], None).unwrap();
    assert_eq!(loader.version(), Some(9));
    assert_eq!(loader.build().iter().collect::<Vec<_>>(), vec![2_025_550_102, 2_025_550_103, 2_025_550_104]);
    assert!(matches!(assemble(vec![delta()], None), Err(LoadError::NoSnapshot)));
    let err = assemble(vec![snapshot(), next], None).unwrap_err();
    assert!(matches!(err, LoadError::Chain { base: 8, current: 7 }), "{err}");
}

#[test]
fn a_prefix_keeps_the_most_protective() {
    let mut loader = RegistryLoader::with_limit(2);
    loader.apply(snapshot()).unwrap();
    assert_eq!(loader.build().iter().collect::<Vec<_>>(), vec![2_025_550_100, 2_025_550_103]);
}

#[test]
fn invalid_documents_are_not_written() {
    let mut bad = snapshot();
    bad.entries.push(entry(2_025_550_105, Action::Remove, false, 0));
    assert!(text::write(&bad, &key()).is_err());
    let mut bad = delta();
    bad.version = 7;
    assert!(binary::write(&bad, &key()).is_err());
}

fn document(kind: Kind, version: u64, base: u64, changes: &[(u64, bool)]) -> Document {
    Document {
        kind,
        version,
        base,
        created: "2026-12-01T00:00:00Z".into(),
        entries: changes
            .iter()
            .map(|&(n, add)| entry(n, if add { Action::Add } else { Action::Remove }, n % 3 == 0, n % 1000))
            .collect(),
    }
}

proptest! {
    #[test]
    fn loading_agrees_with_a_reference(
        initial in proptest::collection::vec(2_000_000_000u64..2_000_005_000, 0..200),
        deltas in proptest::collection::vec(proptest::collection::vec((2_000_000_000u64..2_000_005_000, any::<bool>()), 0..50), 0..4),
        binary_form in any::<bool>(),
    ) {
        let public = key().verifying_key();
        let encode = |d: &Document| if binary_form { binary::write(d, &key()).unwrap() } else { text::write(d, &key()).unwrap() };
        let changes: Vec<(u64, bool)> = initial.iter().map(|&n| (n, true)).collect();
        let mut reference: BTreeSet<u64> = initial.iter().copied().collect();
        let mut loader = RegistryLoader::new();
        loader.load(&encode(&document(Kind::Snapshot, 1, 0, &changes)), &public).unwrap();
        for (i, delta) in deltas.iter().enumerate() {
            let version = i as u64 + 1;
            loader.load(&encode(&document(Kind::Delta, version + 1, version, delta)), &public).unwrap();
            for &(n, add) in delta {
                if add { reference.insert(n); } else { reference.remove(&n); }
            }
        }
        let set = loader.build();
        prop_assert_eq!(set.iter().collect::<Vec<_>>(), reference.iter().copied().collect::<Vec<_>>());
    }
}
