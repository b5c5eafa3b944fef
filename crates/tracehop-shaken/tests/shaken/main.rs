//! tracehop-shaken: public vectors, the test PKI, every failure reason, bounded fuzzing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step is a failed test

mod fuzz;
mod support;
mod verify;
