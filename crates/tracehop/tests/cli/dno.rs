//! `tracehop dno`: screening on standard input, verifying signed registry files, keygen.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use tracehop_dno::snapshot::{Action, Document, Entry, Kind, binary, keys, text};

use crate::support::{run, tracehop};

fn nanpa() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../tracehop-dno/tests/data/npa_report-2018-10-04.csv").to_owned()
}

fn check(args: &[&str], input: &str) -> Output {
    let mut child = tracehop()
        .args(["dno", "check"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_blocks_unassigned_area_codes_and_passes_assigned_ones() {
    let input = "+1 202 234 5678\n(212) 234-5678\n1-800-234-5678\n200 234 5678\n263-234-5678\n\
                 375.234.5678\n211-234-5678\n202-555-0123\n";
    let output = check(&["--nanpa", &nanpa()], input);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        stdout(&output),
        "+12022345678 allow\n+12122345678 allow\n+18002345678 allow\n+12002345678 block unassigned_npa\n\
         +12632345678 block unassigned_npa\n+13752345678 block unassigned_npa\n+12112345678 block invalid_nanp\n\
         +12025550123 block invalid_nanp\n"
    );
}

#[test]
fn unparseable_lines_give_errors_and_the_stream_goes_on() {
    let output = check(&[], "2022345678\nnot a number\n\n+44 20 7946 0000\n202234567\n2022345679\n");
    assert!(output.status.success());
    assert_eq!(
        stdout(&output),
        "+12022345678 allow\nnot a number error unexpected character 'n'\n\
         +44 20 7946 0000 error country code is not 1 (not a NANP number)\n\
         202234567 error expected 10 digits, or 11 starting with 1; found 9 digits\n+12022345679 allow\n"
    );
}

#[test]
fn check_with_exchanges_blocks_and_unused_numbers() {
    let dir = tempdir("dno-files");
    std::fs::write(dir.join("nxx.csv"), "NPA,NXX\n202,234\n").unwrap();
    std::fs::write(dir.join("blocks.tsv"), "NPA-NXX\tX\n202-234\t5\n").unwrap();
    std::fs::write(dir.join("unused.txt"), "# ours\n2022345500..2022345599\n").unwrap();
    let output = check(
        &[
            "--nxx",
            dir.join("nxx.csv").to_str().unwrap(),
            "--blocks",
            dir.join("blocks.tsv").to_str().unwrap(),
            "--unused",
            dir.join("unused.txt").to_str().unwrap(),
        ],
        "2022345678\n2022355678\n2022346678\n2022345501\n",
    );
    assert_eq!(
        stdout(&output),
        "+12022345678 allow\n+12022355678 block unassigned_nxx\n+12022346678 block unassigned_block\n\
         +12022345501 block unused_number\n"
    );
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tracehop-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn document(kind: Kind, version: u64, base: u64, entries: &[(u64, Action)]) -> Document {
    let mut document = Document {
        kind,
        version,
        base,
        created: "2026-12-01T00:00:00Z".into(),
        entries: entries
            .iter()
            .map(|&(number, action)| Entry { number, action, government: false, volume: 10 })
            .collect(),
    };
    document.order_by_protective_value();
    document
}

fn keygen(dir: &Path, name: &str) -> (String, PathBuf) {
    let secret = dir.join(format!("{name}.key"));
    let output = run(&["dno", "keygen", secret.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let public = dir.join(format!("{name}.pub"));
    std::fs::write(&public, &output.stdout).unwrap();
    (std::fs::read_to_string(&secret).unwrap(), public)
}

#[test]
fn registry_files_are_verified_and_screened() {
    let dir = tempdir("dno-registry");
    let (secret, public) = keygen(&dir, "registry");
    let signing = keys::signing_key(&secret).unwrap();
    let snapshot = document(Kind::Snapshot, 3, 0, &[(2_022_345_601, Action::Add), (2_022_345_602, Action::Add)]);
    let delta = document(Kind::Delta, 4, 3, &[(2_022_345_602, Action::Remove), (2_022_345_603, Action::Add)]);
    std::fs::write(dir.join("snapshot-3.bin"), binary::write(&snapshot, &signing).unwrap()).unwrap();
    std::fs::write(dir.join("delta-4.csv"), text::write(&delta, &signing).unwrap()).unwrap();
    let public_arg = public.to_str().unwrap();

    let verified = run(&["dno", "verify", dir.join("delta-4.csv").to_str().unwrap(), "--public-key", public_arg]);
    assert!(verified.status.success());
    assert!(stdout(&verified).contains("verified CSV delta version 4 (base 3)"), "{}", stdout(&verified));

    let snapshot_arg = dir.join("snapshot-3.bin");
    let delta_arg = dir.join("delta-4.csv");
    let registry = [
        "--snapshot",
        snapshot_arg.to_str().unwrap(),
        "--delta",
        delta_arg.to_str().unwrap(),
        "--public-key",
        public_arg,
    ];
    let output = check(&registry, "2022345601\n2022345602\n2022345603\n");
    assert_eq!(stdout(&output), "+12022345601 block registry\n+12022345602 allow\n+12022345603 block registry\n");

    // One changed number: refused by verify and by check.
    let tampered = String::from_utf8(std::fs::read(dir.join("delta-4.csv")).unwrap())
        .unwrap()
        .replace("+12022345603", "+12022345604");
    std::fs::write(dir.join("delta-4.csv"), tampered).unwrap();
    let refused = run(&["dno", "verify", dir.join("delta-4.csv").to_str().unwrap(), "--public-key", public_arg]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stdout(&refused).contains("refused: signature does not verify"), "{}", stdout(&refused));
    let output = check(&registry, "2022345601\n");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("delta-4.csv refused"));

    // Signed by another key: refused.
    let (_, other) = keygen(&dir, "other");
    let wrong = run(&["dno", "verify", snapshot_arg.to_str().unwrap(), "--public-key", other.to_str().unwrap()]);
    assert_eq!(wrong.status.code(), Some(1));

    // A keygen never overwrites a key.
    let again = run(&["dno", "keygen", dir.join("registry.key").to_str().unwrap()]);
    assert!(!again.status.success());
    std::fs::remove_dir_all(&dir).ok();
}
