//! tracehop's domain, pure: numbers, countries, providers and their VSP entities, business-hours
//! calendars and deadlines, and the traceback decider with its labels, outcomes and views.
//!
//! Nothing here performs IO, awaits, reads the clock or knows about SQL or HTTP: time comes in as
//! a parameter, and every rule is a function of its inputs.

pub mod calendar;
pub mod country;
pub mod deadline;
pub mod holiday;
pub mod intake;
pub mod number;
pub mod provider;
pub mod traceback;

pub use jiff::{SignedDuration, Timestamp};
