//! Bounded fuzzing with proptest: arbitrary bytes and mutated valid headers never panic, and a
//! mutation of the signed token never verifies.

use proptest::prelude::*;
use tracehop_shaken::{Call, TnAuthList, decode_token, parse_certificates, parse_identity_headers};

use crate::support::{at, good, verifier};

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}", bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let lossy = String::from_utf8_lossy(&bytes);
        let v = verifier("sp-chain.pem");
        for input in [text.as_str(), &lossy] {
            let _ = parse_identity_headers(input);
            let _ = decode_token(input);
            let outcome = v.verify_all(input, Call { at: at(), calling: Some(input) });
            prop_assert!(!outcome.valid);
            prop_assert!(outcome.reason.is_some());
        }
        let _ = TnAuthList::from_der(&bytes);
        let _ = parse_certificates(&bytes);
    }

    #[test]
    fn mutated_headers_never_panic_and_a_changed_token_never_verifies(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, proptest::char::range(' ', '~')), 1..4)
    ) {
        let original = good();
        let token = original.split(';').next().unwrap().to_owned();
        let mut chars: Vec<char> = original.chars().collect();
        for (index, kind, c) in edits {
            let i = index.index(chars.len().max(1));
            let len = chars.len();
            match kind {
                0 if len > 0 => chars[i.min(len - 1)] = c,
                1 => chars.insert(i.min(len), c),
                _ if len > 0 => { chars.remove(i.min(len - 1)); }
                _ => {}
            }
        }
        let mutated: String = chars.into_iter().collect();
        let outcome = verifier("sp-chain.pem").verify_all(&mutated, Call { at: at(), calling: None });
        prop_assert_eq!(outcome.valid, outcome.reason.is_none());
        if outcome.valid {
            prop_assert!(mutated.contains(&token), "a changed token verified: {}", mutated);
        }
    }
}
