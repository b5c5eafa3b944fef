//! `tracehop import incidents FILE`.

use std::io::Write;
use std::path::Path;

use tracehop_app::App;

/// Imports the file and prints each failed row, then a summary. Rows that fail are part of a
/// finished import; only a file that cannot be read at all is an error.
pub async fn run(
    app: &App,
    file: &Path,
    submitter: &str,
    format: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let _ = (app, file, submitter, format, out);
    anyhow::bail!("the incident import is being written")
}
