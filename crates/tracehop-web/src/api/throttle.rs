//! Failed authentication, throttled per client address and per token prefix. In memory: each
//! replica keeps its own counts (behind a load balancer of N replicas an address gets up to N
//! times the budget), and a restart forgets them.
//!
//! - **Per address**: every failed attempt (a token that is not valid, revoked or expired) from
//!   an address spends from its budget; once spent, everything from that address is refused with
//!   429 until the budget refills, before any token is looked at.
//! - **Per prefix**: a failed attempt under the prefix of a token that exists spends from that
//!   prefix's budget; once spent, attempts under the prefix are refused with 429 — except from
//!   an address the token recently authenticated from, so an attacker who knows a token's
//!   (public) prefix cannot lock out its holder. Garbage under prefixes that name no token counts
//!   only against the sender's address: it never touches a real token's budget, and it cannot
//!   fill memory with prefixes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures an address may make at once, and how fast it earns them back.
const ADDRESS_BURST: f64 = 20.0;
const ADDRESS_REFILL_PER_SECOND: f64 = 0.2;
/// Failures a token's prefix may take at once, and how fast it earns them back.
const PREFIX_BURST: f64 = 10.0;
const PREFIX_REFILL_PER_SECOND: f64 = 0.1;
/// How long a success vouches for its address under a prefix.
const KNOWN_GOOD_FOR: Duration = Duration::from_secs(24 * 3600);
/// Above this many entries, a map drops the ones that have refilled or expired.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    left: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(self, burst: f64, per_second: f64, now: Instant) -> f64 {
        (self.left + now.duration_since(self.at).as_secs_f64() * per_second).min(burst)
    }
}

/// Whole seconds, at least one, until `left` reaches one at `per_second`.
fn wait(left: f64, per_second: f64) -> u64 {
    let seconds = ((1.0 - left) / per_second).ceil();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // finite, between 1 and an hour
    if seconds.is_finite() && seconds >= 1.0 { seconds.min(3600.0) as u64 } else { 1 }
}

#[derive(Default)]
struct Counts {
    addresses: HashMap<IpAddr, Bucket>,
    prefixes: HashMap<String, Bucket>,
    known_good: HashMap<(IpAddr, String), Instant>,
}

/// The failed-authentication throttle of one replica.
#[derive(Default)]
pub struct AuthThrottle {
    counts: Mutex<Counts>,
}

impl AuthThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Seconds to wait before `address` may try `prefix`, if it must wait.
    pub fn refused(&self, address: Option<IpAddr>, prefix: Option<&str>) -> Option<u64> {
        let now = Instant::now();
        let counts = self.lock();
        if let Some(address) = address
            && let Some(bucket) = counts.addresses.get(&address)
        {
            let left = bucket.refilled(ADDRESS_BURST, ADDRESS_REFILL_PER_SECOND, now);
            if left < 1.0 {
                return Some(wait(left, ADDRESS_REFILL_PER_SECOND));
            }
        }
        let prefix = prefix?;
        let left = counts.prefixes.get(prefix)?.refilled(PREFIX_BURST, PREFIX_REFILL_PER_SECOND, now);
        let vouched = address.and_then(|a| counts.known_good.get(&(a, prefix.to_owned())));
        if left < 1.0 && vouched.is_none_or(|at| now.duration_since(*at) >= KNOWN_GOOD_FOR) {
            return Some(wait(left, PREFIX_REFILL_PER_SECOND));
        }
        None
    }

    /// Records a failed attempt; `prefix` only when it names a token that exists.
    pub fn failed(&self, address: Option<IpAddr>, prefix: Option<&str>) {
        let now = Instant::now();
        let mut counts = self.lock();
        if let Some(address) = address {
            let left = counts
                .addresses
                .get(&address)
                .map_or(ADDRESS_BURST, |b| b.refilled(ADDRESS_BURST, ADDRESS_REFILL_PER_SECOND, now));
            counts.addresses.insert(address, Bucket { left: (left - 1.0).max(0.0), at: now });
            if counts.addresses.len() > PRUNE_ABOVE {
                counts
                    .addresses
                    .retain(|_, b| b.refilled(ADDRESS_BURST, ADDRESS_REFILL_PER_SECOND, now) < ADDRESS_BURST);
            }
        }
        if let Some(prefix) = prefix {
            let left = counts
                .prefixes
                .get(prefix)
                .map_or(PREFIX_BURST, |b| b.refilled(PREFIX_BURST, PREFIX_REFILL_PER_SECOND, now));
            counts.prefixes.insert(prefix.to_owned(), Bucket { left: (left - 1.0).max(0.0), at: now });
            if counts.prefixes.len() > PRUNE_ABOVE {
                counts.prefixes.retain(|_, b| b.refilled(PREFIX_BURST, PREFIX_REFILL_PER_SECOND, now) < PREFIX_BURST);
            }
        }
    }

    /// Records that `prefix` authenticated from `address`: the address is vouched for under it.
    pub fn succeeded(&self, address: Option<IpAddr>, prefix: &str) {
        let Some(address) = address else { return };
        let now = Instant::now();
        let mut counts = self.lock();
        let key = (address, prefix.to_owned());
        // Touch at most once a minute: a busy token costs no write here either.
        if counts.known_good.get(&key).is_some_and(|at| now.duration_since(*at) < Duration::from_secs(60)) {
            return;
        }
        counts.known_good.insert(key, now);
        if counts.known_good.len() > PRUNE_ABOVE {
            counts.known_good.retain(|_, at| now.duration_since(*at) < KNOWN_GOOD_FOR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // the throttle takes an address that may be unknown
    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn an_address_is_refused_after_its_burst_of_failures() {
        let throttle = AuthThrottle::default();
        for _ in 0..20 {
            assert_eq!(throttle.refused(ip("198.51.100.7"), None), None);
            throttle.failed(ip("198.51.100.7"), None);
        }
        assert_eq!(throttle.refused(ip("198.51.100.7"), None), Some(5));
        assert_eq!(throttle.refused(ip("198.51.100.8"), None), None, "another address is not");
    }

    #[test]
    fn a_prefix_under_attack_still_admits_the_addresses_its_token_uses() {
        let throttle = AuthThrottle::default();
        throttle.succeeded(ip("203.0.113.10"), "thp_real");
        for n in 0..10 {
            throttle.failed(ip(&format!("192.0.2.{n}")), Some("thp_real"));
        }
        assert_eq!(throttle.refused(ip("192.0.2.200"), Some("thp_real")), Some(10));
        assert_eq!(throttle.refused(ip("203.0.113.10"), Some("thp_real")), None, "the holder's address");
        assert_eq!(throttle.refused(ip("192.0.2.200"), Some("thp_other")), None, "another prefix");
    }
}
