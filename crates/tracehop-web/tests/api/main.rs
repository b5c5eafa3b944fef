//! The provider API through the real HTTP server, on the engine `TRACEHOP_TEST_DATABASE_URL`
//! chooses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step is a failed test

mod deadlines;
mod directory;
mod disclosure;
mod dno;
mod email;
mod errors;
mod idempotency;
mod incidents;
mod intake;
mod journey;
mod late_notices;
mod openapi;
mod privilege;
mod rmd;
mod shaken;
mod support;
mod surface;
mod tokens;
mod webhooks;
