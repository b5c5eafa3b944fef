//! The provider API through the real HTTP server, on the engine `TRACEHOP_TEST_DATABASE_URL`
//! chooses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step is a failed test

mod deadlines;
mod directory;
mod dno;
mod email;
mod errors;
mod idempotency;
mod incidents;
mod intake;
mod journey;
mod openapi;
mod support;
mod tokens;
mod webhooks;
