//! `tracehop import rmd FILE`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tracehop_app::App;

/// Imports the file as it is read and prints each failed row and each note, then the summary
/// line. Rows that fail are part of a finished import; only a file that cannot be read at all is
/// an error.
pub async fn run(app: &App, file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let input = tokio::fs::File::open(file).await.with_context(|| format!("reading {}", file.display()))?;
    let input = tokio::io::BufReader::with_capacity(256 * 1024, input);
    let summary = app.import_rmd_from(input).await.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    for error in &summary.errors {
        writeln!(out, "line {}: {}", error.line, error.message)?;
    }
    for note in &summary.notes {
        writeln!(out, "line {}: note: {}", note.line, note.message)?;
    }
    writeln!(out, "{summary}")?;
    Ok(())
}
