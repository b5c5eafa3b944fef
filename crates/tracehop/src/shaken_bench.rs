//! `tracehop bench shaken`: Identity headers verified per second on one core with a warm
//! certificate cache, beside the raw P-256 ECDSA verification rate of the same crate, measured in
//! the same run on the same PASSporT.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use tracehop_shaken::p256::ecdsa::VerifyingKey;
use tracehop_shaken::{
    Call, CertCacheDir, Policy, Token, TrustStore, Verifier, decode_token, parse_identity_header, read_certificates,
    verify_es256,
};

pub struct ShakenBench<'a> {
    /// libstirshaken's reference material (`passport.txt`, `sp.pem`, `ca.pem`).
    pub fixtures: &'a Path,
    pub iterations: u32,
}

pub fn run(bench: &ShakenBench<'_>) -> anyhow::Result<()> {
    let dir = bench.fixtures;
    let text = std::fs::read_to_string(dir.join("passport.txt")).with_context(|| dir.display().to_string())?;
    let header = text
        .lines()
        .find(|l| l.starts_with("eyJ") && l.contains(";info="))
        .context("passport.txt holds no Identity header")?;
    let parsed = parse_identity_header(header)?;
    let Token::Full(passport) = decode_token(&parsed.token)? else { anyhow::bail!("a compact-form PASSporT") };
    let x5u = passport.header.x5u.clone().context("no x5u")?;
    let at = jiff::Timestamp::from_second(passport.claims.iat)?;

    // The certificate cache: a temporary directory holding the signer's certificate for its URL.
    let cache = std::env::temp_dir().join(format!("tracehop-bench-shaken-{}", std::process::id()));
    std::fs::create_dir_all(&cache)?;
    std::fs::copy(dir.join("sp.pem"), CertCacheDir(cache.clone()).path_for(&x5u))?;
    let trust = TrustStore::load(&dir.join("ca.pem")).map_err(anyhow::Error::msg)?;
    let verifier = Verifier::new(trust, Box::new(CertCacheDir(cache.clone())), Policy::default());
    let call = Call { at, calling: None };
    let warm = verifier.verify(header, call);
    std::fs::remove_dir_all(&cache)?;
    anyhow::ensure!(warm.valid, "the reference header does not verify: {:?} {:?}", warm.reason, warm.detail);

    let leaf = read_certificates(&dir.join("sp.pem")).map_err(anyhow::Error::msg)?;
    let key: VerifyingKey = leaf.first().and_then(|c| c.key).context("the signer's key is not P-256")?;

    let n = bench.iterations;
    let started = Instant::now();
    let mut valid = 0u32;
    for _ in 0..n {
        valid += u32::from(verifier.verify(std::hint::black_box(header), call).valid);
    }
    let full = started.elapsed().as_secs_f64();
    anyhow::ensure!(valid == n, "{} of {n} verifications failed", n - valid);

    let started = Instant::now();
    let mut ok = 0u32;
    for _ in 0..n {
        ok +=
            u32::from(verify_es256(&key, std::hint::black_box(passport.signing_input.as_bytes()), &passport.signature));
    }
    let raw = started.elapsed().as_secs_f64();
    anyhow::ensure!(ok == n, "raw verification failed");

    let full_rate = f64::from(n) / full;
    let raw_rate = f64::from(n) / raw;
    println!("one core, {n} iterations each, libstirshaken's reference PASSporT");
    println!("shaken verify (warm certificate cache): {full_rate:>10.0} verifications/s");
    println!("raw P-256 ECDSA verify (p256 crate):    {raw_rate:>10.0} verifications/s");
    println!(
        "overhead: a full verification costs {:.2}x a raw signature check ({:.1} µs beside {:.1} µs)",
        raw_rate / full_rate,
        1e6 / full_rate,
        1e6 / raw_rate
    );
    Ok(())
}
