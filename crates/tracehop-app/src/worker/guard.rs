//! Keeping one target from hurting the others: a cap on deliveries in flight per target, and a
//! circuit breaker that backs off a target that keeps failing. Both are per worker process.

use std::collections::BTreeMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

#[derive(Debug, Default)]
struct TargetState {
    in_flight: i64,
    failures: i64,
    trips: u32,
    open_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub(crate) struct Guard {
    targets: Mutex<BTreeMap<String, TargetState>>,
}

impl Guard {
    /// Targets this worker must not claim for now: at their cap, or with an open circuit.
    pub(crate) fn blocked(&self, cap: i64, now: Timestamp) -> Vec<String> {
        let Ok(mut targets) = self.targets.lock() else { return Vec::new() };
        targets.retain(|_, t| t.in_flight > 0 || t.failures > 0);
        targets
            .iter()
            .filter(|(_, t)| t.in_flight >= cap || t.open_until.is_some_and(|until| until > now))
            .map(|(name, _)| name.clone())
            .collect()
    }

    pub(crate) fn open_circuits(&self, now: Timestamp) -> usize {
        self.targets.lock().map_or(0, |t| t.values().filter(|t| t.open_until.is_some_and(|u| u > now)).count())
    }

    /// Takes a slot of `target`; false when it is at `cap` (the job goes back unrun).
    pub(crate) fn try_start(&self, target: &str, cap: i64) -> bool {
        let Ok(mut targets) = self.targets.lock() else { return false };
        let state = targets.entry(target.to_owned()).or_default();
        if state.in_flight >= cap {
            return false;
        }
        state.in_flight += 1;
        true
    }

    /// Gives the slot back and records the outcome; true when this failure opened the circuit.
    pub(crate) fn finish(
        &self,
        target: &str,
        ok: bool,
        threshold: i64,
        cooldown: SignedDuration,
        now: Timestamp,
    ) -> bool {
        let Ok(mut targets) = self.targets.lock() else { return false };
        let state = targets.entry(target.to_owned()).or_default();
        state.in_flight = (state.in_flight - 1).max(0);
        if ok {
            state.failures = 0;
            state.trips = 0;
            state.open_until = None;
            return false;
        }
        state.failures += 1;
        if state.failures < threshold.max(1) || state.open_until.is_some_and(|until| until > now) {
            return false;
        }
        // Half-open after the cooldown: one more failure opens it again, for longer.
        let factor = 2_i32.pow(state.trips.min(7));
        let open_for =
            cooldown.checked_mul(factor).unwrap_or(SignedDuration::from_hours(1)).min(SignedDuration::from_hours(1));
        state.trips += 1;
        state.open_until = now.checked_add(open_for).ok();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_target_is_backed_off_alone_and_a_success_closes_it() {
        let guard = Guard::default();
        let now: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
        let cooldown = SignedDuration::from_secs(30);
        for _ in 0..2 {
            assert!(guard.try_start("webhook:slow", 2));
        }
        assert!(!guard.try_start("webhook:slow", 2), "the cap holds");
        assert!(guard.try_start("webhook:fast", 2), "another target is not held back");
        assert_eq!(guard.blocked(2, now), vec!["webhook:slow".to_owned()]);
        assert!(!guard.finish("webhook:slow", false, 3, cooldown, now));
        assert!(!guard.finish("webhook:slow", false, 3, cooldown, now));
        assert!(guard.try_start("webhook:slow", 2));
        assert!(guard.finish("webhook:slow", false, 3, cooldown, now), "the third failure opens the circuit");
        assert_eq!(guard.blocked(2, now), vec!["webhook:slow".to_owned()]);
        assert_eq!(guard.open_circuits(now), 1);
        let later = now + SignedDuration::from_secs(31);
        assert!(guard.blocked(2, later).iter().all(|t| t != "webhook:slow"), "half-open after the cooldown");
        assert!(guard.try_start("webhook:slow", 2));
        assert!(guard.finish("webhook:slow", false, 3, cooldown, later), "one more failure opens it again");
        let reopened = later + SignedDuration::from_secs(45);
        assert!(guard.blocked(2, reopened).contains(&"webhook:slow".to_owned()), "for twice as long");
        assert!(guard.try_start("webhook:slow", 2));
        assert!(!guard.finish("webhook:slow", true, 3, cooldown, reopened));
        assert_eq!(guard.open_circuits(reopened), 0, "a success closes it");
        assert!(!guard.finish("webhook:fast", true, 3, cooldown, now));
    }
}
