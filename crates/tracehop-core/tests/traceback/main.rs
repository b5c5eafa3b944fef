//! Integration tests of the traceback decider (SPEC §4 TB-1..TB-11, ACC-2): the rules one by one,
//! invariants over random command sequences, and what a provider may see.

// A test fails by panicking: the harness's helpers may expect and panic like the tests do
// (clippy's allow-*-in-tests only covers `#[test]` functions themselves).
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

mod disclosure;
mod invariants;
mod rules;
mod support;
mod view;
