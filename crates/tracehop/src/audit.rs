//! `tracehop audit verify`: walk every hash chain.

use std::io::Write;

use tracehop_store::Store;

/// Prints the result; true when every chain holds.
pub async fn verify(store: &Store, out: &mut impl Write) -> anyhow::Result<bool> {
    let report = store.verify_chains().await?;
    match report.broken {
        None => {
            writeln!(
                out,
                "audit ok: {} tracebacks, {} events, every hash chain intact",
                report.streams, report.events
            )?;
            Ok(true)
        }
        Some(link) => {
            writeln!(out, "audit FAILED: first broken link at {link}")?;
            Ok(false)
        }
    }
}
