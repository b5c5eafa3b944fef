//! U.S. federal holidays (5 U.S.C. 6103), computed by rule for any year, on their observed dates.
//!
//! A holiday on a Saturday is observed the Friday before, on a Sunday the Monday after. New Year's
//! Day on a Saturday is therefore observed on December 31 of the year before.

use jiff::civil::{Date, Weekday};

/// A federal holiday as observed in a given year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    pub name: &'static str,
    /// The date the law fixes (or the rule gives).
    pub actual: Date,
    /// The date offices close.
    pub observed: Date,
}

enum Rule {
    Fixed { month: i8, day: i8 },
    NthWeekday { month: i8, nth: i8, weekday: Weekday },
}

struct Definition {
    name: &'static str,
    rule: Rule,
    /// First year the holiday existed in its current form.
    since: i16,
}

const DEFINITIONS: [Definition; 11] = [
    Definition { name: "New Year's Day", rule: Rule::Fixed { month: 1, day: 1 }, since: 1870 },
    Definition {
        name: "Birthday of Martin Luther King, Jr.",
        rule: Rule::NthWeekday { month: 1, nth: 3, weekday: Weekday::Monday },
        since: 1986,
    },
    Definition {
        name: "Washington's Birthday",
        rule: Rule::NthWeekday { month: 2, nth: 3, weekday: Weekday::Monday },
        since: 1971,
    },
    Definition {
        name: "Memorial Day",
        rule: Rule::NthWeekday { month: 5, nth: -1, weekday: Weekday::Monday },
        since: 1971,
    },
    Definition { name: "Juneteenth National Independence Day", rule: Rule::Fixed { month: 6, day: 19 }, since: 2021 },
    Definition { name: "Independence Day", rule: Rule::Fixed { month: 7, day: 4 }, since: 1870 },
    Definition {
        name: "Labor Day",
        rule: Rule::NthWeekday { month: 9, nth: 1, weekday: Weekday::Monday },
        since: 1894,
    },
    Definition {
        name: "Columbus Day",
        rule: Rule::NthWeekday { month: 10, nth: 2, weekday: Weekday::Monday },
        since: 1971,
    },
    Definition { name: "Veterans Day", rule: Rule::Fixed { month: 11, day: 11 }, since: 1978 },
    Definition {
        name: "Thanksgiving Day",
        rule: Rule::NthWeekday { month: 11, nth: 4, weekday: Weekday::Thursday },
        since: 1942,
    },
    Definition { name: "Christmas Day", rule: Rule::Fixed { month: 12, day: 25 }, since: 1870 },
];

/// The federal holidays of `year`, in calendar order of their actual dates. The observed date of
/// New Year's Day may fall in the previous year.
pub fn us_federal_holidays(year: i16) -> Vec<Holiday> {
    DEFINITIONS
        .iter()
        .filter(|definition| year >= definition.since)
        .filter_map(|definition| {
            let actual = match definition.rule {
                Rule::Fixed { month, day } => Date::new(year, month, day).ok()?,
                Rule::NthWeekday { month, nth, weekday } => {
                    Date::new(year, month, 1).ok()?.nth_weekday_of_month(nth, weekday).ok()?
                }
            };
            let observed = match actual.weekday() {
                Weekday::Saturday => actual.yesterday().ok()?,
                Weekday::Sunday => actual.tomorrow().ok()?,
                _ => actual,
            };
            Some(Holiday { name: definition.name, actual, observed })
        })
        .collect()
}

/// The holiday observed on `date`, if offices close that day.
pub fn observed_us_federal_holiday(date: Date) -> Option<Holiday> {
    // December 31 may be the observed New Year's Day of the following year.
    let following = date.year().checked_add(1);
    us_federal_holidays(date.year())
        .into_iter()
        .chain(following.into_iter().flat_map(us_federal_holidays))
        .find(|holiday| holiday.observed == date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn observed(year: i16) -> Vec<(&'static str, Date)> {
        us_federal_holidays(year).into_iter().map(|h| (h.name, h.observed)).collect()
    }

    #[test]
    fn holidays_of_2026_on_their_observed_dates() {
        let expected = [
            ("New Year's Day", date(2026, 1, 1)),
            ("Birthday of Martin Luther King, Jr.", date(2026, 1, 19)),
            ("Washington's Birthday", date(2026, 2, 16)),
            ("Memorial Day", date(2026, 5, 25)),
            ("Juneteenth National Independence Day", date(2026, 6, 19)),
            // July 4, 2026 is a Saturday.
            ("Independence Day", date(2026, 7, 3)),
            ("Labor Day", date(2026, 9, 7)),
            ("Columbus Day", date(2026, 10, 12)),
            // November 11, 2026 is a Wednesday.
            ("Veterans Day", date(2026, 11, 11)),
            ("Thanksgiving Day", date(2026, 11, 26)),
            ("Christmas Day", date(2026, 12, 25)),
        ];
        assert_eq!(observed(2026), expected);
    }

    #[test]
    fn observed_dates_across_years() {
        let table = [
            // (date, holiday observed that day?)
            (date(2021, 12, 31), Some("New Year's Day")), // Jan 1, 2022 is a Saturday
            (date(2022, 1, 1), None),
            (date(2021, 6, 18), Some("Juneteenth National Independence Day")),
            (date(2020, 6, 19), None), // before Juneteenth became a federal holiday
            (date(2023, 1, 2), Some("New Year's Day")), // Jan 1, 2023 is a Sunday
            (date(2023, 11, 10), Some("Veterans Day")), // Nov 11, 2023 is a Saturday
            (date(2022, 12, 26), Some("Christmas Day")), // Dec 25, 2022 is a Sunday
            (date(2027, 12, 24), Some("Christmas Day")), // Dec 25, 2027 is a Saturday
            (date(2027, 12, 31), Some("New Year's Day")), // Jan 1, 2028 is a Saturday
            (date(2027, 7, 5), Some("Independence Day")), // July 4, 2027 is a Sunday
            (date(2025, 11, 27), Some("Thanksgiving Day")),
            (date(2024, 5, 27), Some("Memorial Day")),
            (date(2032, 6, 18), Some("Juneteenth National Independence Day")), // June 19, 2032 is a Saturday
            (date(2099, 1, 19), Some("Birthday of Martin Luther King, Jr.")),
            (date(2026, 3, 2), None),
        ];
        for (day, expected) in table {
            assert_eq!(observed_us_federal_holiday(day).map(|h| h.name), expected, "{day}");
        }
    }

    #[test]
    fn every_year_has_eleven_holidays_on_weekdays() {
        for year in 2021..2200 {
            let holidays = us_federal_holidays(year);
            assert_eq!(holidays.len(), 11, "{year}");
            for holiday in holidays {
                assert!(
                    !matches!(holiday.observed.weekday(), Weekday::Saturday | Weekday::Sunday),
                    "{year} {}",
                    holiday.name
                );
            }
        }
    }
}
