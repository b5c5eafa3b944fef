//! The `tracehop` binary, run as a user or operator would run it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step is a failed test

mod audit;
mod deadlines;
mod demo;
mod dno;
mod faults;
mod idempotency;
mod incidents;
mod rmd;
mod scenarios;
mod shaken;
mod support;
mod tokens;
