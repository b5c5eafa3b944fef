//! `tracehop import incidents FILE`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tracehop_app::access::principal::StaffRole;
use tracehop_app::intake::incidents::ImportFormat;
use tracehop_app::{App, Principal};

/// Imports the file and prints each failed row, then a summary. Rows that fail are part of a
/// finished import; only a file that cannot be read at all is an error.
pub async fn run(
    app: &App,
    file: &Path,
    submitter: &str,
    format: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let format = match format {
        Some(name) => ImportFormat::parse(name).with_context(|| format!("--format {name}: use csv or jsonl"))?,
        None => ImportFormat::from_file_name(&file.to_string_lossy()),
    };
    let input: Box<dyn std::io::Read + Send> = if file == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?)
    };
    // An operator with access to the database acts as staff, for the submitter named.
    let operator =
        Principal::Staff { user: "cli:import-incidents".to_owned(), role: StaffRole::Admin, minted_by: None };
    let mut write_failed = None;
    let import = app.import_incidents_from_reader(&operator, Some(submitter), format, input, |error| {
        if write_failed.is_none()
            && let Err(e) = writeln!(out, "{error}")
        {
            write_failed = Some(e);
        }
    });
    // The import's state machine is large; keep it off the caller's stack.
    let summary = Box::pin(import).await.with_context(|| format!("importing {}", file.display()))?;
    if let Some(error) = write_failed {
        return Err(error.into());
    }
    if let Some(reason) = &summary.interrupted {
        writeln!(out, "stopped early: {reason}")?;
    }
    writeln!(out, "accepted {}, duplicates {}, failed {}", summary.accepted, summary.duplicates, summary.failed)?;
    if let Some(reason) = summary.interrupted {
        anyhow::bail!("{} was not read to its end: {reason}", file.display());
    }
    Ok(())
}
