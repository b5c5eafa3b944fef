//! What a process's workers count, for `/metrics`: lost-lease completions, late and skipped
//! notices, deliveries in flight, failures by target (a bounded set of labels), open circuits.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// Targets named in failure counts at most; the rest are counted under `other`.
const MAX_TARGET_LABELS: usize = 50;

#[derive(Debug, Default)]
pub struct WorkerStats {
    in_flight: AtomicI64,
    open_circuits: AtomicI64,
    /// (job kind) → completions or releases refused because another worker held the job.
    lost_leases: Mutex<BTreeMap<String, u64>>,
    /// (kind, why) → notices sent late or not at all.
    late: Mutex<BTreeMap<String, u64>>,
    skipped: Mutex<BTreeMap<(String, String), u64>>,
    target_failures: Mutex<BTreeMap<String, u64>>,
    /// Worst lateness of a timer seen, in milliseconds, by kind.
    worst_lateness_ms: Mutex<BTreeMap<String, i64>>,
}

/// A snapshot for a scrape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub in_flight: i64,
    pub open_circuits: i64,
    pub lost_leases: BTreeMap<String, u64>,
    pub late: BTreeMap<String, u64>,
    pub skipped: BTreeMap<(String, String), u64>,
    pub target_failures: BTreeMap<String, u64>,
    pub worst_lateness_ms: BTreeMap<String, i64>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut map) = map.lock() {
        *map.entry(key).or_default() += 1;
    }
}

impl WorkerStats {
    pub fn delivery_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub fn delivery_ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn set_open_circuits(&self, open: usize) {
        self.open_circuits.store(i64::try_from(open).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    pub fn lost_lease(&self, kind: &str) {
        bump(&self.lost_leases, kind.to_owned());
    }

    pub fn late(&self, kind: &str) {
        bump(&self.late, kind.to_owned());
    }

    pub fn skipped(&self, kind: &str, reason: &str) {
        bump(&self.skipped, (kind.to_owned(), reason.to_owned()));
    }

    pub fn target_failed(&self, target: &str) {
        let Ok(mut map) = self.target_failures.lock() else { return };
        let label = if map.contains_key(target) || map.len() < MAX_TARGET_LABELS { target } else { "other" };
        *map.entry(label.to_owned()).or_default() += 1;
    }

    pub fn timer_ran(&self, kind: &str, lateness_ms: i64) {
        if let Ok(mut map) = self.worst_lateness_ms.lock() {
            let worst = map.entry(kind.to_owned()).or_default();
            *worst = (*worst).max(lateness_ms);
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let copy = |m: &Mutex<BTreeMap<String, u64>>| m.lock().map(|m| m.clone()).unwrap_or_default();
        StatsSnapshot {
            in_flight: self.in_flight.load(Ordering::Relaxed),
            open_circuits: self.open_circuits.load(Ordering::Relaxed),
            lost_leases: copy(&self.lost_leases),
            late: copy(&self.late),
            skipped: self.skipped.lock().map(|m| m.clone()).unwrap_or_default(),
            target_failures: copy(&self.target_failures),
            worst_lateness_ms: self.worst_lateness_ms.lock().map(|m| m.clone()).unwrap_or_default(),
        }
    }
}
