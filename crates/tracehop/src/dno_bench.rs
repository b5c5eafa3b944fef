#![allow(clippy::cast_precision_loss)] // figures for people
//! `tracehop dno bench`: single-threaded lookups per second and bytes per listed number for
//! tracehop-dno's screener (registry plus every range category), std `HashSet<u64>` and a
//! fast-hash (foldhash) `HashSet<u64>` in the same run, and Redis `SISMEMBER` pipelined
//! against 127.0.0.1:6379 when it answers. Prints figures; asserts nothing.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tracehop_dno::nanpa::{AreaCodes, Blocks, Exchanges};
use tracehop_dno::ranges::RangeSet;
use tracehop_dno::{NumberSet, Screener};

/// splitmix64: a deterministic, dependency-free generator for synthetic numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
    /// A ten-digit number with NPA and NXX in 200–999.
    fn number(&mut self) -> u64 {
        2_000_000_000 + self.below(8_000_000_000)
    }
}

fn rate<F: Fn(u64) -> bool>(queries: &[u64], lookups: usize, lookup: F) -> (f64, usize) {
    let start = Instant::now();
    let mut hits = 0usize;
    let mut done = 0usize;
    while done < lookups {
        let take = (lookups - done).min(queries.len());
        for &q in &queries[..take] {
            hits += usize::from(lookup(black_box(q)));
        }
        done += take;
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    (lookups as f64 / seconds, black_box(hits))
}

/// Heap bytes of a hashbrown table holding `capacity` u64 keys: buckets (a power of two,
/// at most 7/8 full) of 8 bytes plus one control byte each, plus a group of control bytes.
fn hashset_bytes<S: BuildHasher>(set: &HashSet<u64, S>) -> usize {
    let buckets = if set.capacity() < 8 { set.capacity() + 1 } else { (set.capacity() * 8 / 7).next_power_of_two() };
    buckets * 9 + 16
}

/// The screener's range categories over synthetic NANPA-shaped data, through the same
/// readers a provider's files go through.
fn range_categories(rng: &mut Rng) -> anyhow::Result<(AreaCodes, Exchanges, Blocks, RangeSet)> {
    let area_codes = AreaCodes::from_codes((200u16..1000).filter(|c| c % 100 != 11 && c / 10 % 10 != 9 && c % 7 != 0));
    let mut nxx = String::from("NPA,NXX\n");
    for npa in 201..301 {
        for code in 200..1000 {
            if rng.below(10) < 7 {
                nxx.push_str(&format!("{npa},{code}\n"));
            }
        }
    }
    let mut blocks = String::from("NPA-NXX-X\n");
    for _ in 0..5000 {
        let (npa, code) = (201 + rng.below(100), 200 + rng.below(800));
        for x in 0..10 {
            if rng.below(10) < 7 {
                blocks.push_str(&format!("{npa}-{code}-{x}\n"));
            }
        }
    }
    let unused: Vec<(u64, u64)> = (0..10_000).map(|_| rng.number()).map(|n| (n, n + 99)).collect();
    Ok((area_codes, Exchanges::read(nxx.as_bytes())?, Blocks::read(blocks.as_bytes())?, RangeSet::new(unused)))
}

pub fn run<W: Write>(numbers: usize, lookups: usize, redis_lookups: usize, out: &mut W) -> anyhow::Result<()> {
    let mut rng = Rng(0x7ace_4057);
    let mut listed: Vec<u64> = (0..numbers + numbers / 8 + 16).map(|_| rng.number()).collect();
    listed.sort_unstable();
    listed.dedup();
    // Keep a random `numbers` of them.
    for i in (1..listed.len()).rev() {
        let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0);
        listed.swap(i, j);
    }
    listed.truncate(numbers);
    anyhow::ensure!(listed.len() == numbers, "could not draw {numbers} distinct numbers");
    // Half the queries are listed numbers, half arbitrary numbers of the plan, in random order.
    let queries: Vec<u64> = (0..lookups.min(1 << 22))
        .map(|i| {
            if i % 2 == 0 { listed[usize::try_from(rng.below(listed.len() as u64)).unwrap_or(0)] } else { rng.number() }
        })
        .collect();

    let (area_codes, exchanges, blocks, unused) = range_categories(&mut rng)?;
    writeln!(
        out,
        "data: {numbers} listed numbers; {} area codes in service; {} exchanges; {} thousands-blocks; {} unused ranges ({} numbers)",
        area_codes.count(),
        exchanges.count(),
        blocks.count(),
        unused.ranges().len(),
        unused.count()
    )?;
    writeln!(out, "lookups: {lookups} a structure, single-threaded, half of them listed numbers")?;

    let set = NumberSet::new(listed.clone());
    let screener = Screener::new()
        .with_registry(set.clone())
        .with_area_codes(area_codes)
        .with_exchanges(exchanges)
        .with_blocks(blocks)
        .with_unused(unused);
    let std_set: HashSet<u64> = listed.iter().copied().collect();
    let fast_set: HashSet<u64, foldhash::fast::RandomState> = listed.iter().copied().collect();

    let (screen_rate, blocked) = rate(&queries, lookups, |q| screener.screen(q).block);
    let (set_rate, set_hits) = rate(&queries, lookups, |q| set.contains(q));
    let (std_rate, std_hits) = rate(&queries, lookups, |q| std_set.contains(&q));
    let (fast_rate, fast_hits) = rate(&queries, lookups, |q| fast_set.contains(&q));
    anyhow::ensure!(set_hits == std_hits && std_hits == fast_hits, "the structures disagree");

    let set_bytes = set.heap_bytes() as f64 / numbers as f64;
    let std_bytes = hashset_bytes(&std_set) as f64 / numbers as f64;
    let fast_bytes = hashset_bytes(&fast_set) as f64 / numbers as f64;
    let million = |r: f64| r / 1e6;
    writeln!(
        out,
        "tracehop-dno screen (registry + all categories): {:.1} M lookups/s, {blocked} blocked",
        million(screen_rate)
    )?;
    writeln!(
        out,
        "tracehop-dno NumberSet contains:  {:.1} M lookups/s, {set_bytes:.2} bytes/number",
        million(set_rate)
    )?;
    writeln!(
        out,
        "std HashSet<u64> (SipHash):       {:.1} M lookups/s, {std_bytes:.2} bytes/number",
        million(std_rate)
    )?;
    writeln!(
        out,
        "HashSet<u64> (foldhash):          {:.1} M lookups/s, {fast_bytes:.2} bytes/number",
        million(fast_rate)
    )?;

    let redis = match redis_bench(&listed, &queries, redis_lookups) {
        Ok(Some((redis_rate, redis_bytes))) => {
            writeln!(
                out,
                "Redis SISMEMBER (pipelined, 127.0.0.1:6379): {:.3} M lookups/s over {redis_lookups}, {redis_bytes:.2} bytes/number",
                million(redis_rate)
            )?;
            Some(redis_rate)
        }
        Ok(None) => {
            writeln!(out, "Redis: no answer on 127.0.0.1:6379, skipped")?;
            None
        }
        Err(error) => {
            writeln!(out, "Redis: {error:#}, skipped")?;
            None
        }
    };
    let fastest = std_rate.max(fast_rate);
    let vs_redis = redis.map_or_else(|| "n/a".to_owned(), |r| format!("{:.1}", screen_rate / r));
    writeln!(out, "ratios use the full screen (registry + all categories) against set membership alone")?;
    writeln!(
        out,
        "ratio_vs_fastest_hashset={:.2} ratio_vs_redis={vs_redis} bytes_per_number={set_bytes:.2}",
        screen_rate / fastest
    )?;
    Ok(())
}

/// A minimal RESP client: enough for SADD, SISMEMBER, MEMORY USAGE and DEL.
struct Redis {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
}

impl Redis {
    fn connect() -> anyhow::Result<Option<Self>> {
        let address = SocketAddr::from(([127, 0, 0, 1], 6379));
        let Ok(stream) = TcpStream::connect_timeout(&address, Duration::from_millis(300)) else {
            return Ok(None);
        };
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        stream.set_nodelay(true)?;
        let mut redis =
            Self { reader: BufReader::new(stream.try_clone()?), writer: BufWriter::with_capacity(1 << 20, stream) };
        redis.send(&[b"PING"])?;
        redis.writer.flush()?;
        redis.reply().context("PING")?;
        Ok(Some(redis))
    }

    fn send(&mut self, args: &[&[u8]]) -> anyhow::Result<()> {
        write!(self.writer, "*{}\r\n", args.len())?;
        for arg in args {
            write!(self.writer, "${}\r\n", arg.len())?;
            self.writer.write_all(arg)?;
            self.writer.write_all(b"\r\n")?;
        }
        Ok(())
    }

    /// Reads one reply; integers as themselves, other non-error replies as 0.
    fn reply(&mut self) -> anyhow::Result<i64> {
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let body = line.trim_end();
        match body.as_bytes().first() {
            Some(b':') => Ok(body[1..].parse()?),
            Some(b'+') => Ok(0),
            Some(b'-') => bail!("Redis error: {}", &body[1..]),
            Some(b'$') => {
                let len: i64 = body[1..].parse()?;
                if len >= 0 {
                    let mut skip = vec![0; usize::try_from(len)? + 2];
                    self.reader.read_exact(&mut skip)?;
                }
                Ok(0)
            }
            _ => bail!("unexpected Redis reply {body:?}"),
        }
    }
}

fn redis_bench(listed: &[u64], queries: &[u64], lookups: usize) -> anyhow::Result<Option<(f64, f64)>> {
    let Some(mut redis) = Redis::connect()? else { return Ok(None) };
    let key = format!("tracehop:dno:bench:{}", std::process::id());
    let result = redis_measure(&mut redis, &key, listed, queries, lookups);
    redis.send(&[b"DEL", key.as_bytes()])?;
    redis.writer.flush()?;
    redis.reply()?;
    result.map(Some)
}

fn redis_measure(
    redis: &mut Redis,
    key: &str,
    listed: &[u64],
    queries: &[u64],
    lookups: usize,
) -> anyhow::Result<(f64, f64)> {
    let members: Vec<String> = listed.iter().map(u64::to_string).collect();
    let mut sent = 0;
    for chunk in members.chunks(10_000) {
        let mut args: Vec<&[u8]> = vec![b"SADD", key.as_bytes()];
        args.extend(chunk.iter().map(String::as_bytes));
        redis.send(&args)?;
        sent += 1;
    }
    redis.writer.flush()?;
    for _ in 0..sent {
        redis.reply()?;
    }
    redis.send(&[b"MEMORY", b"USAGE", key.as_bytes(), b"SAMPLES", b"0"])?;
    redis.writer.flush()?;
    let bytes = redis.reply()? as f64 / listed.len() as f64;

    let lookups = lookups.min(queries.len()).max(1);
    let start = Instant::now();
    let mut hits = 0i64;
    for chunk in queries[..lookups].chunks(1000) {
        for q in chunk {
            redis.send(&[b"SISMEMBER", key.as_bytes(), q.to_string().as_bytes()])?;
        }
        redis.writer.flush()?;
        for _ in chunk {
            hits += redis.reply()?;
        }
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    black_box(hits);
    Ok((lookups as f64 / seconds, bytes))
}
