//! `tracehop shaken`: verify STIR/SHAKEN Identity headers from standard input, one per line, and
//! manage the local certificate cache.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{ArgGroup, Subcommand};
use jiff::Timestamp;
use tracehop_shaken::{
    Call, CertCacheDir, CertSource, FixedCertificate, NoCertificates, Policy, TrustStore, Verification, Verifier,
    read_certificates,
};

#[derive(Subcommand)]
pub enum ShakenCommand {
    /// Read one Identity header per line on standard input and write one JSON object per line:
    /// {"valid", "reason", "attest", "orig", "dest", "iat", "origid", "spc", ...}.
    #[command(group(ArgGroup::new("source").args(["cert", "cert_cache"])))]
    Verify {
        /// The trust store: a PEM file of STI-CA roots, or a directory of them.
        #[arg(long)]
        trust: PathBuf,
        /// The call's time: RFC 3339 (`2026-03-01T18:22:05Z`) or Unix seconds.
        #[arg(long)]
        at: String,
        /// Use this certificate (PEM, leaf first, then intermediates) for every x5u.
        #[arg(long)]
        cert: Option<PathBuf>,
        /// A directory of certificates named by the SHA-256 of their URL (`shaken cache-add`).
        #[arg(long)]
        cert_cache: Option<PathBuf>,
        /// The calling number presented with the calls; `orig` must match it.
        #[arg(long)]
        calling: Option<String>,
        /// Largest distance between iat and the call's time, in seconds.
        #[arg(long, default_value_t = 60)]
        max_iat_skew: i64,
    },
    /// Put a certificate file into a certificate cache under the name for its URL.
    CacheAdd {
        #[arg(long)]
        cert_cache: PathBuf,
        /// The x5u URL the certificate is published at.
        #[arg(long)]
        url: String,
        /// The certificate (PEM, leaf first).
        file: PathBuf,
    },
}

/// Longest line read; the rest of a longer line is skipped and the line reported malformed.
const MAX_LINE: usize = 64 * 1024;

pub fn run(command: ShakenCommand) -> anyhow::Result<()> {
    match command {
        ShakenCommand::Verify { trust, at, cert, cert_cache, calling, max_iat_skew } => {
            anyhow::ensure!(max_iat_skew >= 0, "--max-iat-skew must not be negative");
            let at = parse_at(&at)?;
            let verifier = verifier(&trust, cert.as_deref(), cert_cache.as_deref(), Policy { max_iat_skew })?;
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            verify_stream(&verifier, Call { at, calling: calling.as_deref() }, &mut stdin.lock(), &mut stdout.lock())
        }
        ShakenCommand::CacheAdd { cert_cache, url, file } => {
            let certs = read_certificates(&file).map_err(anyhow::Error::msg)?;
            std::fs::create_dir_all(&cert_cache).with_context(|| cert_cache.display().to_string())?;
            let path = CertCacheDir(cert_cache).path_for(&url);
            std::fs::copy(&file, &path).with_context(|| path.display().to_string())?;
            println!("{}: {} ({} certificate(s))", url, path.display(), certs.len());
            Ok(())
        }
    }
}

/// RFC 3339 or Unix seconds.
pub fn parse_at(text: &str) -> anyhow::Result<Timestamp> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Timestamp::from_second(seconds).context("--at: Unix seconds out of range");
    }
    text.parse::<Timestamp>().with_context(|| format!("--at {text:?}: neither RFC 3339 nor Unix seconds"))
}

pub fn verifier(trust: &Path, cert: Option<&Path>, cache: Option<&Path>, policy: Policy) -> anyhow::Result<Verifier> {
    let store = TrustStore::load(trust).map_err(anyhow::Error::msg).context("--trust")?;
    let source: Box<dyn CertSource> = match (cert, cache) {
        (Some(file), _) => Box::new(FixedCertificate(read_certificates(file).map_err(anyhow::Error::msg)?)),
        (None, Some(dir)) => {
            anyhow::ensure!(dir.is_dir(), "--cert-cache {}: not a directory", dir.display());
            Box::new(CertCacheDir(dir.to_owned()))
        }
        (None, None) => Box::new(NoCertificates),
    };
    Ok(Verifier::new(store, source, policy))
}

/// One JSON object per input line; a line that cannot be read is `valid: false`, and the stream
/// goes on.
pub fn verify_stream(
    verifier: &Verifier,
    call: Call<'_>,
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> anyhow::Result<()> {
    let mut line = Vec::new();
    while let Some(complete) = read_line(input, &mut line)? {
        let outcome = if complete {
            verifier.verify_all(&String::from_utf8_lossy(&line), call)
        } else {
            Verification {
                reason: Some(tracehop_shaken::Reason::Malformed),
                detail: Some(format!("the line is longer than {MAX_LINE} bytes")),
                ..Verification::default()
            }
        };
        serde_json::to_writer(&mut *output, &outcome)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(())
}

/// Reads one line (without its end) into `line`, keeping at most `MAX_LINE` bytes: `None` at the
/// end of the input, `Some(false)` when the line was longer.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    line.clear();
    let (mut any, mut complete) = (false, true);
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok(any.then_some(complete));
        }
        any = true;
        let (chunk, used, done) = match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => (&buffer[..end], end + 1, true),
            None => (buffer, buffer.len(), false),
        };
        if line.len() + chunk.len() > MAX_LINE {
            complete = false;
        } else {
            line.extend_from_slice(chunk);
        }
        input.consume(used);
        if done {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Some(complete));
        }
    }
}
