//! `tracehop dno`: screening caller IDs against Do Not Originate data, verifying signed
//! registry files, and making a signing key for publishing them.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use tracehop_dno::nanpa::{AreaCodes, Blocks, Exchanges};
use tracehop_dno::ranges::RangeSet;
use tracehop_dno::snapshot::{Action, Kind, keys, verify};
use tracehop_dno::{Screener, assemble};

#[derive(Subcommand)]
pub enum DnoCommand {
    /// Screen numbers read from standard input, one a line; write `NUMBER allow`,
    /// `NUMBER block REASON` or `INPUT error MESSAGE` for each (blank lines are skipped).
    Check {
        /// A signed full snapshot of the registry (CSV or binary); the latest given is used.
        #[arg(long = "snapshot")]
        snapshots: Vec<PathBuf>,
        /// A signed delta; given in any order, applied after the snapshot by version.
        #[arg(long = "delta")]
        deltas: Vec<PathBuf>,
        /// The registry's published public key (`ed25519:` and 64 hex digits).
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Load only this many snapshot entries, the most protective first.
        #[arg(long)]
        limit: Option<usize>,
        /// NANPA's npa_report.csv: numbers in unassigned or not-in-service area codes block.
        #[arg(long)]
        nanpa: Option<PathBuf>,
        /// Assigned exchanges (columns NPA-NXX, or NPA and NXX).
        #[arg(long)]
        nxx: Option<PathBuf>,
        /// Assigned thousands-blocks (columns NPA-NXX-X, or NPA-NXX and X, or NPA, NXX and X).
        #[arg(long)]
        blocks: Option<PathBuf>,
        /// The provider's own unused numbers: a number or a range FROM..TO a line.
        #[arg(long)]
        unused: Option<PathBuf>,
    },
    /// Verify a signed snapshot or delta and summarise it; exit 1 if it is refused.
    Verify {
        file: PathBuf,
        #[arg(long)]
        public_key: PathBuf,
    },
    /// Make an Ed25519 signing key for publishing the registry: the secret seed goes to
    /// FILE (created, never overwritten), the public key is printed.
    Keygen { file: PathBuf },
    /// Lookups per second and bytes per number: tracehop-dno beside std and fast-hash
    /// HashSet<u64> and, when it answers on 127.0.0.1:6379, Redis SISMEMBER.
    Bench {
        #[arg(long, default_value_t = 1_000_000)]
        numbers: usize,
        #[arg(long, default_value_t = 20_000_000)]
        lookups: usize,
        /// Lookups sent to Redis (pipelined), if it answers.
        #[arg(long, default_value_t = 500_000)]
        redis_lookups: usize,
    },
}

pub fn run(command: DnoCommand) -> anyhow::Result<ExitCode> {
    match command {
        DnoCommand::Check { snapshots, deltas, public_key, limit, nanpa, nxx, blocks, unused } => {
            let screener = screener(&Sources { snapshots, deltas, public_key, limit, nanpa, nxx, blocks, unused })?;
            let stdin = BufReader::with_capacity(64 * 1024, std::io::stdin().lock());
            let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
            check(&screener, stdin, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        DnoCommand::Verify { file, public_key } => {
            let key = read_public_key(&public_key)?;
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            match verify(&bytes, &key) {
                Ok(document) => {
                    let removals = document.entries.iter().filter(|e| e.action == Action::Remove).count();
                    let government =
                        document.entries.iter().filter(|e| e.action == Action::Add && e.government).count();
                    let form = if bytes.starts_with(tracehop_dno::snapshot::binary::MAGIC) { "binary" } else { "CSV" };
                    println!(
                        "{}: verified {form} {} version {} (base {}), created {}: {} entries, {} additions ({government} government-issued), {removals} removals",
                        file.display(),
                        document.kind.as_str(),
                        document.version,
                        document.base,
                        document.created,
                        document.entries.len(),
                        document.entries.len() - removals,
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    println!("{}: refused: {error}", file.display());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        DnoCommand::Keygen { file } => {
            let mut seed = [0u8; 32];
            rand::fill(&mut seed);
            let key = tracehop_dno::snapshot::SigningKey::from_bytes(&seed);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(&file).with_context(|| format!("creating {}", file.display()))?;
            writeln!(out, "{}", keys::signing_key_text(&key))?;
            println!("{}", keys::public_key_text(&key.verifying_key()));
            Ok(ExitCode::SUCCESS)
        }
        DnoCommand::Bench { numbers, lookups, redis_lookups } => {
            anyhow::ensure!(numbers >= 1 && lookups >= 1, "numbers and lookups must be at least 1");
            crate::dno_bench::run(numbers, lookups, redis_lookups, &mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

struct Sources {
    snapshots: Vec<PathBuf>,
    deltas: Vec<PathBuf>,
    public_key: Option<PathBuf>,
    limit: Option<usize>,
    nanpa: Option<PathBuf>,
    nxx: Option<PathBuf>,
    blocks: Option<PathBuf>,
    unused: Option<PathBuf>,
}

fn read_public_key(path: &Path) -> anyhow::Result<tracehop_dno::snapshot::VerifyingKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    keys::public_key(&text).with_context(|| format!("{}", path.display()))
}

fn open(path: &Path) -> anyhow::Result<BufReader<std::fs::File>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(BufReader::new(file))
}

fn screener(sources: &Sources) -> anyhow::Result<Screener> {
    let mut screener = Screener::new();
    if !sources.snapshots.is_empty() || !sources.deltas.is_empty() {
        let key_path = sources.public_key.as_deref().context("--public-key is needed to verify the registry files")?;
        let key = read_public_key(key_path)?;
        let mut documents = Vec::new();
        for (path, expected) in
            sources.snapshots.iter().map(|p| (p, Kind::Snapshot)).chain(sources.deltas.iter().map(|p| (p, Kind::Delta)))
        {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let document = verify(&bytes, &key).with_context(|| format!("{} refused", path.display()))?;
            anyhow::ensure!(
                document.kind == expected,
                "{} is a {}; pass it with --{}",
                path.display(),
                document.kind.as_str(),
                document.kind.as_str()
            );
            documents.push(document);
        }
        let loader = assemble(documents, sources.limit)?;
        screener = screener.with_registry(loader.build());
    }
    if let Some(path) = &sources.nanpa {
        screener =
            screener.with_area_codes(AreaCodes::read(open(path)?).with_context(|| format!("{}", path.display()))?);
    }
    if let Some(path) = &sources.nxx {
        screener =
            screener.with_exchanges(Exchanges::read(open(path)?).with_context(|| format!("{}", path.display()))?);
    }
    if let Some(path) = &sources.blocks {
        screener = screener.with_blocks(Blocks::read(open(path)?).with_context(|| format!("{}", path.display()))?);
    }
    if let Some(path) = &sources.unused {
        screener = screener.with_unused(RangeSet::read(open(path)?).with_context(|| format!("{}", path.display()))?);
    }
    Ok(screener)
}

/// One verdict line per non-blank input line; output is flushed whenever the input has no
/// more bytes buffered, so an interactive caller gets each answer at once and a pipe of
/// millions is written in large chunks.
fn check<R: Read, W: Write>(screener: &Screener, mut input: BufReader<R>, out: &mut W) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes)? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&bytes);
        let text = line.trim();
        if !text.is_empty() {
            match tracehop_dno::parse(text) {
                Ok(number) => {
                    let e164 = tracehop_dno::number::e164(number);
                    match screener.screen(number).reason {
                        Some(reason) => writeln!(out, "{e164} block {}", reason.code())?,
                        None => writeln!(out, "{e164} allow")?,
                    }
                }
                Err(error) => writeln!(out, "{text} error {error}")?,
            }
        }
        if input.buffer().is_empty() {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(())
}
