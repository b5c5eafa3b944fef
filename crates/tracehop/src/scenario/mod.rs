//! `tracehop scenario check FILE...`: drive a traceback through the platform as a scenario file
//! describes, and compare what happened with what the file expects.

pub mod app;
mod check;
mod convert;
pub mod file;

use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

pub use check::{Difference, Observed};
pub use file::Scenario;

/// Why the platform refused a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Where a scenario runs. Outer errors are failures of the world itself; refusals are the
/// platform's answers.
pub trait World {
    /// Moves the clock to `at`, letting every deadline due by then take effect.
    async fn advance_to(&mut self, at: Timestamp) -> Result<(), String>;
    async fn act(&mut self, action: &file::Action) -> Result<Result<(), Refusal>, String>;
    async fn observe(&mut self) -> Result<Observed, String>;
}

/// Runs one scenario and lists every difference from its expectations.
pub async fn run<W: World>(scenario: &Scenario, world: &mut W) -> Result<Vec<Difference>, String> {
    let mut differences = Vec::new();
    for (index, step) in scenario.timed_steps()?.iter().enumerate() {
        world.advance_to(step.at).await?;
        let Some(action) = &step.action else { continue };
        let field = format!("step {}", index + 1);
        match (world.act(action).await?, step.refused) {
            (Ok(()), true) => {
                differences.push(Difference {
                    hop: None,
                    field,
                    expected: "refused".into(),
                    actual: "accepted".into(),
                });
            }
            (Err(Refusal(reason)), false) => {
                differences.push(Difference {
                    hop: None,
                    field,
                    expected: "accepted".into(),
                    actual: format!("refused ({reason})"),
                });
            }
            (Ok(()), false) | (Err(_), true) => {}
        }
    }
    let observed = world.observe().await?;
    differences.extend(check::compare(&scenario.expect, &observed));
    Ok(differences)
}

fn read(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not a scenario file: {e}"))
}

/// Checks every file; prints a line per file and per difference. True when all hold.
pub async fn check_files(paths: &[PathBuf], out: &mut impl Write) -> std::io::Result<bool> {
    let mut failed = 0;
    for path in paths {
        let file = path.display();
        let result = match read(path) {
            Ok(scenario) => match app::AppWorld::start(&scenario).await {
                Ok(mut world) => run(&scenario, &mut world).await.map(|d| (scenario.name.clone(), d)),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        match result {
            Ok((name, differences)) if differences.is_empty() => {
                writeln!(out, "PASS {file}: {name}")?;
            }
            Ok((name, differences)) => {
                failed += 1;
                writeln!(out, "FAIL {file}: {name}")?;
                for difference in differences {
                    writeln!(out, "  {file}: {difference}")?;
                }
            }
            Err(error) => {
                failed += 1;
                writeln!(out, "FAIL {file}: {error}")?;
            }
        }
    }
    writeln!(out, "{} scenarios: {} passed, {failed} failed", paths.len(), paths.len() - failed)?;
    Ok(failed == 0)
}
