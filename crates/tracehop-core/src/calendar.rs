//! Business hours in a provider's own time zone, and counting time within them.
//!
//! Best Practice 3 asks a provider to start within four *business* hours. Those hours are the
//! provider's own (an IANA zone plus weekly hours, default Mon–Fri 08:00–17:00 America/New_York),
//! skip U.S. federal holidays on their observed dates, and are counted in real elapsed time, so a
//! daylight-saving change inside a window counts as it happened on the wall clock.

use std::fmt;
use std::sync::LazyLock;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::holiday::observed_us_federal_holiday;

/// The embedded time zone database: the core reads no files.
static ZONES: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// No calendar search looks further ahead than this; with at least one business day a week and
/// at most a dozen holidays a year, a window is always found long before.
const MAX_DAYS_SEARCHED: u32 = 3_660;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// Resolves an IANA zone name from the embedded database.
pub fn time_zone(name: &str) -> Result<TimeZone, CalendarError> {
    ZONES.get(name).map_err(|_| CalendarError::UnknownZone(name.to_owned()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown IANA time zone {0:?}")]
    UnknownZone(String),
    #[error("days {0:?}: expected a list like \"Mon-Fri\" or \"Mon,Wed,Sat-Sun\"")]
    BadDays(String),
    #[error("time {0:?}: expected HH:MM between 00:00 and 24:00")]
    BadTime(String),
    #[error("opening time {open} must be before closing time {close}")]
    EmptyWindow { open: String, close: String },
    #[error("business hours need at least one day of the week")]
    NoDays,
}

/// Which holidays close a provider's business day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Holidays {
    #[default]
    UsFederal,
    None,
}

/// A set of weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekdays(u8);

impl Weekdays {
    const NAMES: [(&'static str, Weekday); 7] = [
        ("Mon", Weekday::Monday),
        ("Tue", Weekday::Tuesday),
        ("Wed", Weekday::Wednesday),
        ("Thu", Weekday::Thursday),
        ("Fri", Weekday::Friday),
        ("Sat", Weekday::Saturday),
        ("Sun", Weekday::Sunday),
    ];

    pub const MONDAY_TO_FRIDAY: Self = Self(0b001_1111);

    fn bit(day: Weekday) -> u8 {
        1 << (day.to_monday_zero_offset())
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Self::bit(day) != 0
    }

    fn index(name: &str) -> Option<usize> {
        let name = name.trim();
        Self::NAMES.iter().position(|(short, _)| {
            name.len() >= 3 && short.eq_ignore_ascii_case(&name[..3]) && long_name_matches(short, name)
        })
    }

    /// Parses "Mon-Fri", "Mon,Wed,Fri", "Sat-Mon" (ranges may wrap), or full day names.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let bad = || CalendarError::BadDays(text.to_owned());
        let mut bits = 0u8;
        for item in text.split(',') {
            let (first, last) = match item.split_once('-') {
                Some((a, b)) => (Self::index(a).ok_or_else(bad)?, Self::index(b).ok_or_else(bad)?),
                None => {
                    let day = Self::index(item).ok_or_else(bad)?;
                    (day, day)
                }
            };
            let mut day = first;
            loop {
                bits |= 1 << day;
                if day == last {
                    break;
                }
                day = (day + 1) % 7;
            }
        }
        if bits == 0 { Err(CalendarError::NoDays) } else { Ok(Self(bits)) }
    }
}

fn long_name_matches(short: &str, name: &str) -> bool {
    // Accept "Mon" and "Monday" (any case), not "Monkey".
    const LONG: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    name.len() == 3
        || LONG.iter().any(|long| long.starts_with(&short.to_ascii_lowercase()) && long.eq_ignore_ascii_case(name))
}

impl fmt::Display for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Runs of consecutive days print as ranges: "Mon-Fri", "Mon,Wed,Fri".
        let mut parts = Vec::new();
        let mut day = 0;
        while day < 7 {
            if self.0 & (1 << day) == 0 {
                day += 1;
                continue;
            }
            let start = day;
            while day + 1 < 7 && self.0 & (1 << (day + 1)) != 0 {
                day += 1;
            }
            parts.push(if start == day {
                Self::NAMES[start].0.to_owned()
            } else {
                format!("{}-{}", Self::NAMES[start].0, Self::NAMES[day].0)
            });
            day += 1;
        }
        f.write_str(&parts.join(","))
    }
}

/// A provider's weekly business hours in its own zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BusinessHoursSpec", into = "BusinessHoursSpec")]
pub struct BusinessHours {
    zone_name: String,
    zone: TimeZone,
    days: Weekdays,
    /// Minutes after local midnight.
    open: u16,
    /// Minutes after local midnight; 1440 closes at the end of the day.
    close: u16,
    holidays: Holidays,
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for BusinessHours {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <BusinessHoursSpec as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for BusinessHours {
    fn name() -> std::borrow::Cow<'static, str> {
        <BusinessHoursSpec as utoipa::ToSchema>::name()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push((<Holidays as utoipa::ToSchema>::name().into(), <Holidays as utoipa::PartialSchema>::schema()));
        <BusinessHoursSpec as utoipa::ToSchema>::schemas(schemas);
    }
}

/// The written form of business hours, as in scenario files and the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursSpec {
    /// IANA time zone, e.g. `America/Chicago`.
    pub tz: String,
    /// Days of the week, e.g. `Mon-Fri` or `Mon,Wed,Sat-Sun`.
    pub days: String,
    /// Opening time, `HH:MM`.
    pub open: String,
    /// Closing time, `HH:MM` (`24:00` for the end of the day).
    pub close: String,
    #[serde(default)]
    pub holidays: Holidays,
}

impl Default for BusinessHours {
    /// Mon–Fri 08:00–17:00 America/New_York, closed on U.S. federal holidays.
    fn default() -> Self {
        Self {
            zone_name: "America/New_York".to_owned(),
            zone: time_zone("America/New_York").unwrap_or(TimeZone::UTC),
            days: Weekdays::MONDAY_TO_FRIDAY,
            open: 8 * 60,
            close: 17 * 60,
            holidays: Holidays::UsFederal,
        }
    }
}

fn parse_clock(text: &str) -> Result<u16, CalendarError> {
    let bad = || CalendarError::BadTime(text.to_owned());
    let (hours, minutes) = text.trim().split_once(':').ok_or_else(bad)?;
    if hours.is_empty() || hours.len() > 2 || minutes.len() != 2 {
        return Err(bad());
    }
    let hours: u16 = hours.parse().map_err(|_| bad())?;
    let minutes: u16 = minutes.parse().map_err(|_| bad())?;
    let total = hours * 60 + minutes;
    if minutes >= 60 || total > MINUTES_PER_DAY { Err(bad()) } else { Ok(total) }
}

fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl TryFrom<BusinessHoursSpec> for BusinessHours {
    type Error = CalendarError;
    fn try_from(spec: BusinessHoursSpec) -> Result<Self, Self::Error> {
        let zone = time_zone(spec.tz.trim())?;
        let zone_name = zone.iana_name().unwrap_or(spec.tz.trim()).to_owned();
        let open = parse_clock(&spec.open)?;
        let close = parse_clock(&spec.close)?;
        if open >= close {
            return Err(CalendarError::EmptyWindow { open: spec.open, close: spec.close });
        }
        Ok(Self { zone_name, zone, days: Weekdays::parse(&spec.days)?, open, close, holidays: spec.holidays })
    }
}

impl From<BusinessHours> for BusinessHoursSpec {
    fn from(hours: BusinessHours) -> Self {
        Self {
            tz: hours.zone_name,
            days: hours.days.to_string(),
            open: format_clock(hours.open),
            close: format_clock(hours.close),
            holidays: hours.holidays,
        }
    }
}

impl BusinessHours {
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    pub fn spec(&self) -> BusinessHoursSpec {
        self.clone().into()
    }

    /// Whether offices are open on `date` at all.
    pub fn is_business_day(&self, date: Date) -> bool {
        self.days.contains(date.weekday())
            && !(self.holidays == Holidays::UsFederal && observed_us_federal_holiday(date).is_some())
    }

    fn instant(&self, date: Date, minutes: u16) -> Option<Timestamp> {
        let local = if minutes >= MINUTES_PER_DAY {
            DateTime::from_parts(date.tomorrow().ok()?, Time::midnight())
        } else {
            let hour = i8::try_from(minutes / 60).ok()?;
            let minute = i8::try_from(minutes % 60).ok()?;
            DateTime::from_parts(date, Time::new(hour, minute, 0, 0).ok()?)
        };
        // A wall-clock time that a DST change skips or repeats resolves the way people expect:
        // the later instant for a gap, the earlier for a fold.
        self.zone.to_ambiguous_timestamp(local).compatible().ok()
    }

    /// The business-hours window of `date` as instants, if it is a business day.
    fn window(&self, date: Date) -> Option<(Timestamp, Timestamp)> {
        if !self.is_business_day(date) {
            return None;
        }
        Some((self.instant(date, self.open)?, self.instant(date, self.close)?))
    }

    /// Windows ending after `from`, in order, starting with the local day of `from`.
    fn windows_from(&self, from: Timestamp) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let first = self.zone.to_datetime(from).date();
        std::iter::successors(Some(first), |day| day.tomorrow().ok())
            .take(MAX_DAYS_SEARCHED as usize)
            .filter_map(|day| self.window(day))
            .filter(move |(_, close)| *close > from)
    }

    pub fn is_open_at(&self, at: Timestamp) -> bool {
        self.windows_from(at).next().is_some_and(|(open, _)| open <= at)
    }

    /// `at` if offices are open then, otherwise the start of the next business-hours window.
    pub fn next_opening(&self, at: Timestamp) -> Timestamp {
        self.windows_from(at).next().map_or(at, |(open, _)| open.max(at))
    }

    /// The instant at which `amount` of business time has passed since `from`.
    pub fn add_business_time(&self, from: Timestamp, amount: SignedDuration) -> Timestamp {
        let mut remaining = amount;
        if remaining <= SignedDuration::ZERO {
            return from;
        }
        let mut last = from;
        for (open, close) in self.windows_from(from) {
            let start = open.max(from);
            let available = close.duration_since(start);
            if remaining <= available {
                return start.checked_add(remaining).unwrap_or(close);
            }
            remaining -= available;
            last = close;
        }
        // Unreachable with valid hours; answer something sane rather than fail.
        last.checked_add(remaining).unwrap_or(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(tz: &str, days: &str, open: &str, close: &str) -> BusinessHours {
        BusinessHours::try_from(BusinessHoursSpec {
            tz: tz.into(),
            days: days.into(),
            open: open.into(),
            close: close.into(),
            holidays: Holidays::UsFederal,
        })
        .unwrap()
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    const FOUR_HOURS: SignedDuration = SignedDuration::from_hours(4);

    #[test]
    fn four_business_hours_table() {
        let new_york = BusinessHours::default();
        let chicago = hours("America/Chicago", "Mon-Fri", "08:00", "17:00");
        let los_angeles = hours("America/Los_Angeles", "Mon-Fri", "09:00", "18:00");
        let berlin = hours("Europe/Berlin", "Mon-Fri", "08:00", "17:00");
        let tokyo = hours("Asia/Tokyo", "Mon-Fri", "09:00", "18:00");
        let cases = [
            // Monday 10:00 EST: inside the window.
            (&new_york, "2026-03-02T15:00:00Z", "2026-03-02T19:00:00Z"),
            // Monday 15:00 EST: two hours today, two tomorrow from 08:00.
            (&new_york, "2026-03-02T20:00:00Z", "2026-03-03T15:00:00Z"),
            // Friday 16:00 EST: one hour Friday, three on Monday (already EDT).
            (&new_york, "2026-03-06T21:00:00Z", "2026-03-09T15:00:00Z"),
            // Saturday: Monday 08:00 + 4 h.
            (&new_york, "2026-03-07T12:00:00Z", "2026-03-09T16:00:00Z"),
            // Thursday before the observed Independence Day (Fri July 3, 2026), Chicago.
            (&chicago, "2026-07-02T20:00:00Z", "2026-07-06T15:00:00Z"),
            // Spring forward in the U.S. (Sunday March 8, 2026): Friday 15:00 EST, two hours
            // Friday, two on Monday 08:00 EDT.
            (&new_york, "2026-03-06T20:00:00Z", "2026-03-09T14:00:00Z"),
            // Fall back (Sunday November 1, 2026): Friday 14:00 EDT, three hours Friday, one on
            // Monday 08:00 EST.
            (&new_york, "2026-10-30T18:00:00Z", "2026-11-02T14:00:00Z"),
            // West: 16:00 PST Monday, two hours Monday, two Tuesday from 09:00.
            (&los_angeles, "2026-01-06T00:00:00Z", "2026-01-06T19:00:00Z"),
            // East: Berlin 16:00 CET Friday, one hour Friday, three Monday; U.S. holidays
            // still close the window (Washington's Birthday, Monday Feb 16, 2026).
            (&berlin, "2026-02-13T15:00:00Z", "2026-02-17T10:00:00Z"),
            // Tokyo Monday 09:00 JST = Sunday 00:00Z.
            (&tokyo, "2026-04-05T23:30:00Z", "2026-04-06T04:00:00Z"),
            // Thanksgiving Wednesday 16:00 EST: 1 h, then Thu holiday, Friday 08:00 + 3 h.
            (&new_york, "2026-11-25T21:00:00Z", "2026-11-27T16:00:00Z"),
            // New Year observed on Friday December 31, 2021.
            (&new_york, "2021-12-30T21:00:00Z", "2022-01-03T16:00:00Z"),
        ];
        for (calendar, from, expected) in cases {
            assert_eq!(
                calendar.add_business_time(ts(from), FOUR_HOURS),
                ts(expected),
                "{} from {from}",
                calendar.zone_name()
            );
        }
    }

    #[test]
    fn dst_inside_a_window_counts_real_time() {
        // A round-the-clock NOC: on the spring-forward day 02:00-03:00 does not exist.
        let noc = hours("America/New_York", "Mon-Sun", "00:00", "24:00");
        // Sunday March 8, 2026 00:00 EST = 05:00Z; four real hours later is 09:00Z (05:00 EDT).
        assert_eq!(noc.add_business_time(ts("2026-03-08T05:00:00Z"), FOUR_HOURS), ts("2026-03-08T09:00:00Z"));
        // Fall back, Sunday November 1, 2026 00:00 EDT = 04:00Z: four real hours = 08:00Z.
        assert_eq!(noc.add_business_time(ts("2026-11-01T04:00:00Z"), FOUR_HOURS), ts("2026-11-01T08:00:00Z"));
    }

    #[test]
    fn next_opening_and_open_state() {
        let new_york = BusinessHours::default();
        assert!(new_york.is_open_at(ts("2026-03-02T15:00:00Z")));
        assert!(!new_york.is_open_at(ts("2026-03-02T23:00:00Z")));
        // Monday 18:00 EST -> Tuesday 08:00 EST.
        assert_eq!(new_york.next_opening(ts("2026-03-02T23:00:00Z")), ts("2026-03-03T13:00:00Z"));
        // Tuesday 02:00 EST -> Tuesday 08:00 EST.
        assert_eq!(new_york.next_opening(ts("2026-03-03T07:00:00Z")), ts("2026-03-03T13:00:00Z"));
        // Open: unchanged.
        assert_eq!(new_york.next_opening(ts("2026-03-03T15:00:00Z")), ts("2026-03-03T15:00:00Z"));
        // Closing instant is outside the window.
        assert!(!new_york.is_open_at(ts("2026-03-03T22:00:00Z")));
        // Friday evening before Memorial Day weekend -> Tuesday.
        assert_eq!(new_york.next_opening(ts("2026-05-22T22:30:00Z")), ts("2026-05-26T12:00:00Z"));
    }

    #[test]
    fn parses_and_prints_days() {
        for (text, printed) in [
            ("Mon-Fri", "Mon-Fri"),
            ("mon-fri", "Mon-Fri"),
            ("Monday-Friday", "Mon-Fri"),
            ("Mon,Wed,Fri", "Mon,Wed,Fri"),
            ("Sat-Mon", "Mon,Sat-Sun"),
            ("Mon-Sun", "Mon-Sun"),
        ] {
            assert_eq!(Weekdays::parse(text).unwrap().to_string(), printed, "{text}");
        }
        for bad in ["", "Funday", "Mon-", "Monkey", "Mo"] {
            assert!(Weekdays::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_hours() {
        let spec = |tz: &str, open: &str, close: &str| BusinessHoursSpec {
            tz: tz.into(),
            days: "Mon-Fri".into(),
            open: open.into(),
            close: close.into(),
            holidays: Holidays::UsFederal,
        };
        assert!(matches!(
            BusinessHours::try_from(spec("Mars/Olympus", "08:00", "17:00")),
            Err(CalendarError::UnknownZone(_))
        ));
        assert!(matches!(
            BusinessHours::try_from(spec("UTC", "17:00", "08:00")),
            Err(CalendarError::EmptyWindow { .. })
        ));
        assert!(matches!(BusinessHours::try_from(spec("UTC", "8am", "17:00")), Err(CalendarError::BadTime(_))));
        assert!(matches!(BusinessHours::try_from(spec("UTC", "08:00", "24:01")), Err(CalendarError::BadTime(_))));
        assert!(BusinessHours::try_from(spec("UTC", "00:00", "24:00")).is_ok());
    }

    #[test]
    fn round_trips_through_its_written_form() {
        let chicago = hours("america/chicago", "Mon-Fri", "8:30", "17:00");
        let json = serde_json::to_string(&chicago).unwrap();
        assert_eq!(
            json,
            r#"{"tz":"America/Chicago","days":"Mon-Fri","open":"08:30","close":"17:00","holidays":"us_federal"}"#
        );
        let back: BusinessHours = serde_json::from_str(&json).unwrap();
        assert_eq!(back, chicago);
    }
}
