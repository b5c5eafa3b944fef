//! How many comments a provider may write in an hour, across all its tracebacks (the per-hop
//! cap is the core's, in the traceback policy). Counted in this process over a sliding hour.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use tracehop_core::provider::ProviderId;

use crate::{AppError, AppResult};

const HOUR: SignedDuration = SignedDuration::from_hours(1);

/// The comment times of each provider within the last hour.
#[derive(Debug, Default)]
pub(crate) struct CommentLimiter {
    written: Mutex<HashMap<ProviderId, VecDeque<Timestamp>>>,
}

impl CommentLimiter {
    /// Takes one of `provider`'s comments for the hour, or says when the next one is allowed.
    pub(crate) fn take(&self, provider: &ProviderId, limit: u32, now: Timestamp) -> AppResult<()> {
        let mut written = self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let times = written.entry(provider.clone()).or_default();
        while times.front().is_some_and(|at| *at + HOUR <= now) {
            times.pop_front();
        }
        if times.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            let retry = times.front().map_or(HOUR, |oldest| *oldest + HOUR - now);
            return Err(AppError::TooManyComments {
                detail: format!(
                    "a provider may write at most {limit} comments an hour; retry after the number of seconds in Retry-After"
                ),
                retry_after_seconds: Some(u64::try_from(retry.as_secs().max(1)).unwrap_or(1)),
            });
        }
        times.push_back(now);
        Ok(())
    }

    /// Gives back a comment taken for a command that was then refused.
    pub(crate) fn give_back(&self, provider: &ProviderId, at: Timestamp) {
        let mut written = self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(times) = written.get_mut(provider)
            && let Some(position) = times.iter().rposition(|t| *t == at)
        {
            times.remove(position);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_gets_its_hourly_comments_and_then_a_retry_time() {
        let limiter = CommentLimiter::default();
        let provider = ProviderId::new("alpha".to_owned()).unwrap();
        let other = ProviderId::new("bravo".to_owned()).unwrap();
        let t0: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
        limiter.take(&provider, 2, t0).unwrap();
        limiter.take(&provider, 2, t0 + SignedDuration::from_mins(10)).unwrap();
        let refused = limiter.take(&provider, 2, t0 + SignedDuration::from_mins(20)).unwrap_err();
        assert!(matches!(refused, AppError::TooManyComments { retry_after_seconds: Some(2400), .. }), "{refused:?}");
        limiter.take(&other, 2, t0 + SignedDuration::from_mins(20)).unwrap();
        limiter.take(&provider, 2, t0 + SignedDuration::from_mins(60)).unwrap();
        limiter.give_back(&provider, t0 + SignedDuration::from_mins(60));
        limiter.take(&provider, 2, t0 + SignedDuration::from_mins(61)).unwrap();
        assert!(limiter.take(&provider, 2, t0 + SignedDuration::from_mins(62)).is_err());
    }
}
