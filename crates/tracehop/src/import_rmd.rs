//! `tracehop import rmd FILE`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tracehop_app::App;

/// Imports the file and prints each failed row, then the summary line. Rows that fail are part of
/// a finished import; only a file that cannot be read at all is an error.
pub async fn run(app: &App, file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let summary = app.import_rmd(&bytes).await.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    for error in &summary.errors {
        writeln!(out, "line {}: {}", error.line, error.message)?;
    }
    for note in &summary.notes {
        writeln!(out, "line {}: note: {}", note.line, note.message)?;
    }
    writeln!(out, "{summary}")?;
    Ok(())
}
