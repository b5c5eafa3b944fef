//! `tracehop import rmd FILE`.

use std::io::Write;
use std::path::Path;

use tracehop_app::App;

/// Imports the file and prints each failed row, then the summary line. Rows that fail are part of
/// a finished import; only a file that cannot be read at all is an error.
pub async fn run(app: &App, file: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let _ = (app, file, out);
    anyhow::bail!("the RMD import is being written")
}
