//! `tracehop import rmd FILE`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tracehop_app::App;
use tracehop_app::directory::rmd::Reported;

/// Imports the file as it is read and prints each failed row and each note in line order, then
/// the summary line. Rows that fail are part of a finished import; only a file that cannot be read at all is
/// an error.
pub async fn run(app: &App, file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let input = tokio::fs::File::open(file).await.with_context(|| format!("reading {}", file.display()))?;
    let input = tokio::io::BufReader::with_capacity(256 * 1024, input);
    // Each failure and note is printed as it comes, so none are held.
    let mut written = Ok(());
    let summary = app
        .import_rmd_reporting(input, |report| {
            if written.is_ok() {
                written = match report {
                    Reported::Failed(error) => writeln!(out, "line {}: {}", error.line, error.message),
                    Reported::Note(note) => writeln!(out, "line {}: note: {}", note.line, note.message),
                };
            }
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    written?;
    writeln!(out, "{summary}")?;
    Ok(())
}
