#![allow(clippy::cast_precision_loss)] // figures for people
//! `tracehop bench ingest`: synthetic incident rows through the bulk import (the path of
//! `tracehop import incidents` and `POST /api/v1/incidents/import`) on SQLite and PostgreSQL,
//! and, as the baseline, PostgreSQL `COPY` of the same CSV into a bare table on the same server
//! in the same run.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::bench::throwaway_database;
use tracehop_app::access::principal::StaffRole;
use tracehop_app::intake::incidents::ImportFormat;
use tracehop_app::{App, Mailer, Principal, Settings, SystemClock};
use tracehop_core::intake::SourceKind;
use tracehop_store::{ConnectOptions, DatabaseUrl, Store};

#[derive(Debug, Clone)]
pub struct IngestBench {
    pub rows: usize,
    /// A PostgreSQL server URL; a throwaway database is created there.
    pub postgres: Option<String>,
    pub skip_sqlite: bool,
    /// Import the file a second time and time that too (every row a duplicate).
    pub reimport: bool,
}

const SUBMITTER: &str = "bench-analytics";
/// The campaigns the synthetic rows name, created before the import.
const CAMPAIGNS: u64 = 12;

/// The CSV's columns, also those of the baseline's bare table.
const COLUMNS: [&str; 13] = [
    "external_id",
    "calling",
    "called",
    "call_time",
    "originating_ip",
    "sip_call_id",
    "sip_anomalies",
    "identity_header",
    "call_volume",
    "cdr",
    "transcript",
    "basis",
    "campaign_id",
];

/// Area codes for the fictional 555-01XX numbers.
const AREA_CODES: [u32; 16] = [202, 212, 213, 305, 312, 404, 415, 503, 512, 617, 702, 713, 718, 801, 917, 971];

const TRANSCRIPTS: [&str; 4] = [
    "This is the Social Security Administration. Your number has been suspended, press 1 to speak to an officer.",
    "Final notice about your car's extended warranty, press 1 now.",
    "Your Medicare card is expiring; call back today to avoid losing benefits.",
    "Amazon security: a purchase of $1,499 was made on your account. Press 1 if this was not you.",
];

/// A small deterministic generator (SplitMix64): the same rows every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.below(items.len() as u64)).unwrap_or(0)]
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A CSV field, quoted when it needs to be.
fn csv_field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// A fictional number in one of the shapes submitters send.
fn number(rng: &mut Rng) -> (String, String) {
    let area = *rng.pick(&AREA_CODES);
    let line = rng.below(100);
    let digits = format!("{area}55501{line:02}");
    let presented = match rng.below(4) {
        0 => format!("({area}) 555-01{line:02}"),
        1 => format!("+1{digits}"),
        2 => format!("{area}-555-01{line:02}"),
        _ => digits.clone(),
    };
    (presented, digits)
}

/// Writes `rows` synthetic incidents as CSV.
fn generate(path: &Path, rows: usize) -> anyhow::Result<u64> {
    let mut file = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(file, "{}", COLUMNS.join(","))?;
    let mut rng = Rng(0x7472_6163_6568_6f70);
    let passport_header =
        base64url(br#"{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.sti-ca.example/sp1234.pem"}"#);
    // 2026-01-01T00:00:00Z, one call every ~2.6 s.
    let start: i64 = 1_767_225_600;
    let mut line = String::with_capacity(1024);
    for index in 0..rows {
        line.clear();
        let (calling, calling_digits) = number(&mut rng);
        let (called, called_digits) = number(&mut rng);
        let at = start + i64::try_from(index).unwrap_or(0) * 13 / 5;
        let time = jiff::Timestamp::from_second(at).map_err(|e| anyhow::anyhow!("{e}"))?;
        let call_id = format!("{:016x}@sbc{}.carrier.example", rng.next(), rng.below(40));
        let campaign = rng.below(CAMPAIGNS);
        csv_field(&mut line, &format!("BENCH-{index:09}"));
        for value in [calling.as_str(), called.as_str(), &time.to_string()] {
            line.push(',');
            csv_field(&mut line, value);
        }
        line.push(',');
        line.push_str(&format!("198.51.100.{}:5060", rng.below(254) + 1));
        line.push(',');
        csv_field(&mut line, &call_id);
        line.push(',');
        if rng.below(4) == 0 {
            csv_field(&mut line, "P-Asserted-Identity mismatch;From number not in E.164");
        }
        line.push(',');
        if rng.below(3) == 0 {
            let claims = format!(
                r#"{{"attest":"{}","dest":{{"tn":["1{called_digits}"]}},"iat":{at},"orig":{{"tn":"1{calling_digits}"}},"origid":"{:032x}"}}"#,
                rng.pick(&["A", "B", "C"]),
                rng.next()
            );
            let signature = base64url(&rng.next().to_be_bytes().repeat(8));
            csv_field(
                &mut line,
                &format!(
                    "{passport_header}.{}.{signature};info=<https://cert.sti-ca.example/sp1234.pem>;alg=ES256;ppt=shaken",
                    base64url(claims.as_bytes())
                ),
            );
        }
        line.push(',');
        line.push_str(&(rng.below(5000) + 1).to_string());
        line.push(',');
        csv_field(
            &mut line,
            &format!(
                r#"{{"duration_s":{},"trunk":"TRUNK-{}","disposition":"ANSWERED"}}"#,
                rng.below(120),
                rng.below(64)
            ),
        );
        line.push(',');
        let transcript = *rng.pick(&TRANSCRIPTS);
        csv_field(&mut line, transcript);
        line.push(',');
        csv_field(&mut line, "Analytics flagged the campaign: high volume, short duration, consumer complaints");
        line.push(',');
        line.push_str(&format!("bench-campaign-{campaign}"));
        line.push('\n');
        file.write_all(line.as_bytes())?;
    }
    file.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

struct Figures {
    label: String,
    rows: u64,
    elapsed: Duration,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

fn print_row(figures: &Figures) {
    println!(
        "{:<40} {:>10} {:>9.2} {:>11.0}",
        figures.label,
        figures.rows,
        figures.elapsed.as_secs_f64(),
        figures.per_second()
    );
}

/// The import of the whole file, timed; `(first import, re-import)`.
async fn import(url: &DatabaseUrl, file: &Path, options: &IngestBench) -> anyhow::Result<(Duration, Option<Duration>)> {
    let store = Store::open(url, &ConnectOptions::default()).await?;
    let app = App::with_mailer(store, Arc::new(SystemClock), Settings::default(), Mailer::disabled());
    let staff = Principal::Staff { user: "bench".to_owned(), role: StaffRole::Admin, minted_by: None };
    app.create_submitter(&staff, SUBMITTER, "Bench Analytics", SourceKind::AnalyticsProvider, None).await?;
    for campaign in 0..CAMPAIGNS {
        let id = format!("bench-campaign-{campaign}");
        app.create_campaign(&staff, Some(&id), &format!("Bench campaign {campaign}"), None, None).await?;
    }
    let timed = async || -> anyhow::Result<(Duration, tracehop_app::intake::incidents::ImportSummary)> {
        let input = std::fs::File::open(file)?;
        let started = Instant::now();
        let summary =
            app.import_incidents_from_reader(&staff, Some(SUBMITTER), ImportFormat::Csv, input, |_| {}).await?;
        Ok((started.elapsed(), summary))
    };
    let rows = options.rows as u64;
    let (first, summary) = timed().await?;
    anyhow::ensure!(
        summary.accepted == rows && summary.failed == 0 && summary.interrupted.is_none(),
        "the import accepted {} of {rows} rows ({} failed, first errors {:?}, interrupted {:?})",
        summary.accepted,
        summary.failed,
        summary.errors.iter().take(3).collect::<Vec<_>>(),
        summary.interrupted
    );
    let again = if options.reimport {
        let (elapsed, summary) = timed().await?;
        anyhow::ensure!(summary.duplicates == rows && summary.accepted == 0, "the re-import changed something");
        Some(elapsed)
    } else {
        None
    };
    anyhow::ensure!(app.store().count_incidents(Some(SUBMITTER)).await? == i64::try_from(rows)?, "rows are missing");
    app.store().close().await;
    Ok((first, again))
}

/// `COPY` of the CSV into a table of text columns without keys or indexes.
async fn copy_baseline(url: &DatabaseUrl, file: &Path) -> anyhow::Result<(Duration, u64)> {
    let store = Store::connect(url, &ConnectOptions::default()).await?;
    let columns: Vec<String> = COLUMNS.iter().map(|c| format!("{c} TEXT")).collect();
    store.execute_admin(&format!("CREATE TABLE bench_copy_baseline ({})", columns.join(", "))).await?;
    checkpoint(&store).await;
    let source = tokio::fs::File::open(file).await?;
    let started = Instant::now();
    let copied = store
        .copy_in_admin(
            &format!("COPY bench_copy_baseline ({}) FROM STDIN (FORMAT csv, HEADER true)", COLUMNS.join(", ")),
            source,
        )
        .await?;
    let elapsed = started.elapsed();
    store.close().await;
    Ok((elapsed, copied))
}

/// The server alone filling a copy of the `incidents` table (same columns, keys and indexes) from
/// the imported rows: no parsing, no network — what the table's shape costs by itself.
async fn schema_floor(url: &DatabaseUrl) -> anyhow::Result<Duration> {
    let store = Store::connect(url, &ConnectOptions::default()).await?;
    store.execute_admin("CREATE TABLE bench_incidents_floor (LIKE incidents INCLUDING ALL)").await?;
    checkpoint(&store).await;
    let started = Instant::now();
    store.execute_admin("INSERT INTO bench_incidents_floor SELECT * FROM incidents").await?;
    let elapsed = started.elapsed();
    store.close().await;
    Ok(elapsed)
}

/// Starts a phase without the last one's dirty pages; needs a privileged role, and is skipped
/// without one.
async fn checkpoint(store: &Store) {
    let _ = store.execute_admin("CHECKPOINT").await;
}

/// The process's peak resident memory, where the system says (Linux).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(|v| v.trim().to_owned())
}

pub async fn ingest(options: &IngestBench) -> anyhow::Result<()> {
    let dir: PathBuf = std::env::temp_dir().join(format!("tracehop-bench-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run(options, &dir).await;
    std::fs::remove_dir_all(&dir).ok();
    result
}

async fn run(options: &IngestBench, dir: &Path) -> anyhow::Result<()> {
    let file = dir.join("incidents.csv");
    let started = Instant::now();
    let bytes = generate(&file, options.rows).context("writing the synthetic rows")?;
    println!(
        "tracehop bench ingest: {} synthetic incident rows, {:.0} MB of CSV (written in {:.1} s), {} cores",
        options.rows,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    println!("{:<40} {:>10} {:>9} {:>11}", "run", "rows", "seconds", "rows/s");
    let rows = options.rows as u64;

    if !options.skip_sqlite {
        let url = DatabaseUrl::Sqlite { path: dir.join("bench.db") };
        let (first, again) = import(&url, &file, options).await.context("SQLite run")?;
        print_row(&Figures { label: "SQLite import (synchronous=FULL)".into(), rows, elapsed: first });
        if let Some(again) = again {
            print_row(&Figures { label: "SQLite re-import (all duplicates)".into(), rows, elapsed: again });
        }
    }

    let Some(admin) = &options.postgres else {
        println!("PostgreSQL: not measured (pass --postgres URL or set TRACEHOP_BENCH_POSTGRES_URL)");
        return Ok(());
    };
    let database = throwaway_database(admin, "tracehop_bench_ingest").await?;
    let measured = async {
        let url = database.url()?;
        let (copy_elapsed, copied) = copy_baseline(&url, &file).await.context("PostgreSQL COPY baseline")?;
        anyhow::ensure!(copied == rows, "COPY took {copied} of {rows} rows");
        let (first, again) = import(&url, &file, options).await.context("PostgreSQL run")?;
        let floor = schema_floor(&url).await.context("PostgreSQL schema floor")?;
        Ok((copy_elapsed, first, again, floor))
    }
    .await;
    database.drop_now().await;
    let (copy_elapsed, first, again, floor) = measured?;
    let baseline = Figures { label: "PostgreSQL COPY into a bare table".into(), rows, elapsed: copy_elapsed };
    let imported = Figures { label: "PostgreSQL import".into(), rows, elapsed: first };
    print_row(&imported);
    if let Some(again) = again {
        print_row(&Figures { label: "PostgreSQL re-import (all duplicates)".into(), rows, elapsed: again });
    }
    print_row(&baseline);
    let floor = Figures { label: "PostgreSQL INSERT…SELECT, incidents shape".into(), rows, elapsed: floor };
    print_row(&floor);
    println!(
        "ratio PostgreSQL import rows/s to COPY rows/s: {:.2} (goal >= 0.50)",
        imported.per_second() / baseline.per_second()
    );
    println!(
        "for scale: the server alone fills a table of the incidents shape (its key and indexes) at {:.2} x COPY",
        floor.per_second() / baseline.per_second()
    );
    if let Some(peak) = peak_memory() {
        println!("peak resident memory of this process: {peak}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_the_standard_alphabet_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
