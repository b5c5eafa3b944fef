//! `tracehop shaken verify` and `tracehop shaken cache-add`, and `tracehop bench shaken`.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tracehop_shaken::p256::ecdsa::signature::Signer;
use tracehop_shaken::p256::ecdsa::{Signature, SigningKey};
use tracehop_shaken::p256::pkcs8::DecodePrivateKey;

use crate::support::{run, tracehop};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tracehop-shaken/tests/fixtures");
const X5U: &str = "https://cert.tracehop-test.example/sp-555a.pem";
const AT: &str = "2027-03-01T18:22:05Z";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// Runs `tracehop ARGS` with `input` on standard input; the JSON lines it writes.
fn verify(args: &[&str], input: &str) -> Vec<Value> {
    let mut child = tracehop()
        .args(["shaken", "verify"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// An Identity header signed with the test SP key, iat `iat`.
fn signed(iat: i64, attest: &str) -> String {
    let pem = std::fs::read_to_string(fixture("sp.key")).unwrap();
    let (_, der) = tracehop_shaken::p256::pkcs8::der::pem::decode_vec(pem.as_bytes()).unwrap();
    let key = SigningKey::from_pkcs8_der(&der).unwrap();
    let header = json!({"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": X5U});
    let claims = json!({"attest": attest, "dest": {"tn": ["13125550199"]}, "iat": iat, "orig": {"tn": "12025550123"},
                        "origid": "5e0d3c1a-8f3b-4c55-9d0e-1f4b2a6c7d80"});
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature: Signature = key.sign(input.as_bytes());
    format!("{input}.{};info=<{X5U}>;alg=ES256;ppt=shaken", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

#[test]
fn libstirshaken_reference_verifies_from_a_file_and_from_the_cache() {
    let text = std::fs::read_to_string(fixture("libstirshaken/passport.txt")).unwrap();
    let input: String = text.lines().filter(|l| l.starts_with("eyJ")).map(|l| format!("{l}\n")).collect();
    let trust = fixture("libstirshaken/ca.pem");
    let at = "1603458131";
    let from_file = verify(&["--trust", &trust, "--at", at, "--cert", &fixture("libstirshaken/sp.pem")], &input);
    let cache = std::env::temp_dir().join(format!("tracehop-cli-shaken-{}", std::process::id()));
    let cache_str = cache.to_str().unwrap();
    let added = run(&[
        "shaken",
        "cache-add",
        "--cert-cache",
        cache_str,
        "--url",
        "http://shaken.signalwire.cloud/sp.pem",
        &fixture("libstirshaken/sp.pem"),
    ]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let from_cache =
        verify(&["--trust", &trust, "--at", at, "--cert-cache", cache_str, "--calling", "01256789999"], &input);
    std::fs::remove_dir_all(&cache).unwrap();
    for lines in [from_file, from_cache] {
        assert_eq!(lines.len(), 2);
        for line in lines {
            assert_eq!(line["valid"], true, "{line}");
            assert_eq!(line["reason"], Value::Null);
            assert_eq!(line["attest"], "A");
            assert_eq!(line["orig"], "01256789999");
            assert_eq!(line["dest"], json!(["01256500600"]));
            assert_eq!(line["iat"], 1_603_458_131);
            assert_eq!(line["origid"], "ref");
            assert_eq!(line["spc"], Value::Null);
        }
    }
}

#[test]
fn own_vectors_give_one_line_each_and_bad_lines_do_not_stop_the_stream() {
    let at: jiff::Timestamp = AT.parse().unwrap();
    let now = at.as_second();
    let input = [
        signed(now, "A"),
        "this is not an Identity header".to_owned(),
        signed(now - 3600, "B"),
        String::new(),
        format!("{}, {}", signed(now, "C"), signed(now - 5, "A")),
        "\u{0}\u{1}binary".to_owned(),
    ]
    .join("\n");
    let lines = verify(
        &["--trust", &fixture("ca.pem"), "--at", AT, "--cert", &fixture("sp-chain.pem"), "--calling", "+12025550123"],
        &input,
    );
    let got: Vec<(bool, Value, Value)> =
        lines.iter().map(|l| (l["valid"].as_bool().unwrap(), l["reason"].clone(), l["attest"].clone())).collect();
    assert_eq!(
        got,
        vec![
            (true, Value::Null, json!("A")),
            (false, json!("malformed"), Value::Null),
            (false, json!("stale_iat"), json!("B")),
            (false, json!("malformed"), Value::Null),
            (true, Value::Null, json!("A")),
            (false, json!("malformed"), Value::Null),
        ]
    );
    assert_eq!(lines[0]["spc"], "555A");
    assert_eq!(lines[0]["orig"], "12025550123");

    let mismatch = verify(
        &["--trust", &fixture("ca.pem"), "--at", AT, "--cert", &fixture("sp-chain.pem"), "--calling", "2025550199"],
        &input,
    );
    assert_eq!(mismatch[0]["reason"], "tn_mismatch");
    let no_cert = verify(&["--trust", &fixture("ca.pem"), "--at", AT], &input);
    assert_eq!(no_cert[0]["reason"], "cert_unavailable");
    let untrusted =
        verify(&["--trust", &fixture("rogue-ca.pem"), "--at", AT, "--cert", &fixture("sp-chain.pem")], &input);
    assert_eq!(untrusted[0]["reason"], "untrusted_issuer");
}

#[test]
fn bad_configuration_is_an_error_not_a_stream() {
    let missing = run(&["shaken", "verify", "--trust", &fixture("no-such.pem"), "--at", AT]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--trust"));
    let bad_time = run(&["shaken", "verify", "--trust", &fixture("ca.pem"), "--at", "yesterday"]);
    assert!(!bad_time.status.success());
    assert!(String::from_utf8_lossy(&bad_time.stderr).contains("--at"));
}

#[test]
fn bench_shaken_prints_both_rates_and_the_ratio() {
    let output = Command::new(crate::support::BIN)
        .args(["bench", "shaken", "--iterations", "20", "--fixtures", &fixture("libstirshaken")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("warm certificate cache") && text.contains("raw P-256") && text.contains("overhead"),
        "{text}"
    );
}
