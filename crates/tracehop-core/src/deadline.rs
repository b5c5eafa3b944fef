//! The two deadlines of a hop request (TB-5).
//!
//! - respond-by: 24 hours after the request is received (FCC rule);
//! - start-by: four business hours after it is received (Best Practice 3), in the provider's own
//!   business hours.
//!
//! A request is received when it is sent, unless the provider is flagged for deemed receipt and
//! the request arrives outside its business hours: it is then deemed received when its next
//! business-hours window opens (08:00 on the next business day with the default hours), and both
//! deadlines count from that moment.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::provider::ProviderProfile;

/// The deadline periods a traceback runs under, recorded when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct DeadlinePolicy {
    /// Elapsed time from receipt to the answer deadline.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "PT24H"))]
    pub respond_within: SignedDuration,
    /// Business time from receipt to the start-investigating deadline.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "PT4H"))]
    pub start_within_business: SignedDuration,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        Self { respond_within: SignedDuration::from_hours(24), start_within_business: SignedDuration::from_hours(4) }
    }
}

/// When a request was sent and when it must be started and answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestDeadlines {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub notified_at: Timestamp,
    /// When the request counts as received: `notified_at`, or the deemed receipt.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start_by: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub respond_by: Timestamp,
}

impl DeadlinePolicy {
    pub fn deadlines_for(&self, provider: &ProviderProfile, notified_at: Timestamp) -> RequestDeadlines {
        let hours = &provider.business_hours;
        let received_at =
            if provider.deemed_receipt_next_business_day { hours.next_opening(notified_at) } else { notified_at };
        RequestDeadlines {
            notified_at,
            received_at,
            start_by: hours.add_business_time(received_at, self.start_within_business),
            respond_by: received_at.checked_add(self.respond_within).unwrap_or(received_at),
        }
    }
}

impl RequestDeadlines {
    pub fn due(&self, deadline: DeadlineKind) -> Timestamp {
        match deadline {
            DeadlineKind::StartBy => self.start_by,
            DeadlineKind::RespondBy => self.respond_by,
        }
    }

    /// A deadline is met by anything done at or before it, and missed only after it.
    pub fn is_missed(&self, deadline: DeadlineKind, now: Timestamp) -> bool {
        now > self.due(deadline)
    }

    /// The first instant at which `deadline` counts as missed: when its timer should fire.
    pub fn missed_at(&self, deadline: DeadlineKind) -> Timestamp {
        let due = self.due(deadline);
        due.checked_add(SignedDuration::from_micros(1)).unwrap_or(due)
    }
}

/// Which of a hop's deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    StartBy,
    RespondBy,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{BusinessHours, BusinessHoursSpec, Holidays};
    use crate::country::Country;
    use crate::provider::ProviderId;

    fn provider(hours: Option<(&str, &str, &str)>, deemed: bool) -> ProviderProfile {
        let mut profile = ProviderProfile::standalone(ProviderId::new("P").unwrap(), "P", Country::US);
        if let Some((tz, open, close)) = hours {
            profile.business_hours = BusinessHours::try_from(BusinessHoursSpec {
                tz: tz.into(),
                days: "Mon-Fri".into(),
                open: open.into(),
                close: close.into(),
                holidays: Holidays::UsFederal,
            })
            .unwrap();
        }
        profile.deemed_receipt_next_business_day = deemed;
        profile
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn deadline_table() {
        let policy = DeadlinePolicy::default();
        // (provider, notified, received, start_by, respond_by)
        let cases = [
            // Default hours, inside them.
            (
                provider(None, false),
                "2026-03-02T15:00:00Z",
                "2026-03-02T15:00:00Z",
                "2026-03-02T19:00:00Z",
                "2026-03-03T15:00:00Z",
            ),
            // Evening request, not flagged: received at once, start-by next morning.
            (
                provider(None, false),
                "2026-03-02T23:30:00Z",
                "2026-03-02T23:30:00Z",
                "2026-03-03T17:00:00Z",
                "2026-03-03T23:30:00Z",
            ),
            // Evening request, flagged: deemed received 08:00 EST next business day.
            (
                provider(None, true),
                "2026-03-02T23:30:00Z",
                "2026-03-03T13:00:00Z",
                "2026-03-03T17:00:00Z",
                "2026-03-04T13:00:00Z",
            ),
            // Friday night, flagged, Chicago: deemed Monday 08:00 CST.
            (
                provider(Some(("America/Chicago", "08:00", "17:00")), true),
                "2026-02-28T03:00:00Z",
                "2026-03-02T14:00:00Z",
                "2026-03-02T18:00:00Z",
                "2026-03-03T14:00:00Z",
            ),
            // Flagged but inside business hours: no deferral.
            (
                provider(None, true),
                "2026-03-02T15:00:00Z",
                "2026-03-02T15:00:00Z",
                "2026-03-02T19:00:00Z",
                "2026-03-03T15:00:00Z",
            ),
            // Flagged, before the observed Independence Day weekend (Thu 18:00 CDT) -> Mon 08:00 CDT.
            (
                provider(Some(("America/Chicago", "08:00", "17:00")), true),
                "2026-07-02T23:00:00Z",
                "2026-07-06T13:00:00Z",
                "2026-07-06T17:00:00Z",
                "2026-07-07T13:00:00Z",
            ),
            // Flagged, Saturday night before the spring-forward Sunday: Monday 08:00 EDT.
            (
                provider(None, true),
                "2026-03-08T03:00:00Z",
                "2026-03-09T12:00:00Z",
                "2026-03-09T16:00:00Z",
                "2026-03-10T12:00:00Z",
            ),
        ];
        for (provider, notified, received, start_by, respond_by) in cases {
            let deadlines = policy.deadlines_for(&provider, ts(notified));
            assert_eq!(
                deadlines,
                RequestDeadlines {
                    notified_at: ts(notified),
                    received_at: ts(received),
                    start_by: ts(start_by),
                    respond_by: ts(respond_by),
                },
                "notified {notified}"
            );
        }
    }
}
