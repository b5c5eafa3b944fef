//! `tracehop scenario check`: exit 0 when every expectation holds, 1 with each difference.

use std::path::PathBuf;

use crate::support::run;

fn repository_scenarios() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

#[test]
fn the_repository_scenarios_pass() {
    let files = repository_scenarios();
    assert!(!files.is_empty());
    let args: Vec<&str> = ["scenario", "check"].into_iter().chain(files.iter().map(String::as_str)).collect();
    let output = run(&args);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains(&format!("{} scenarios: {} passed, 0 failed", files.len(), files.len())), "{printed}");
}

#[test]
fn a_wrong_expectation_fails_with_each_difference() {
    let dir = std::env::temp_dir().join(format!("tracehop-scenario-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("wrong.json");
    std::fs::write(
        &file,
        r#"{"name": "wrong on purpose",
            "providers": [{"id": "T", "name": "Terminating Tel", "country": "US"}],
            "start": {"at": "2026-03-02T15:00:00Z", "terminating": "T", "category": "domestic",
                      "calling": "+12025550123", "called": "+13125550199", "call_time": "2026-03-01T18:22:05Z"},
            "steps": [{"after": "+1h", "hop": "T", "respond": {"upstream": "T"}}],
            "expect": {"status": "open", "hops": [{"provider": "T", "respond_by": "2026-03-03T16:00:00Z"}]}}"#,
    )
    .unwrap();
    let output = run(&["scenario", "check", file.to_str().unwrap()]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("step 1: expected accepted, actual refused (a provider cannot name itself as its upstream)"),
        "{printed}"
    );
    assert!(
        printed.contains("hop 0 (T): respond_by: expected 2026-03-03T16:00:00Z, actual 2026-03-03T15:00:00Z"),
        "{printed}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
