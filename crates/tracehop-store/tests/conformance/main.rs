//! The store's conformance suite: one behaviour on both engines. Every test takes a throwaway
//! database from `TestDatabase::new()`: a temporary SQLite file, or a fresh PostgreSQL database
//! when `TRACEHOP_TEST_DATABASE_URL` names a server. Run it both ways:
//!
//! ```sh
//! cargo test -p tracehop-store
//! TRACEHOP_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p tracehop-store
//! ```
//!
//! Traceback events come from the core decider, never hand-made JSON.

// Helpers fail the test that calls them by panicking, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod affiliations;
mod concurrency;
mod dno;
mod events;
mod incidents;
mod intake;
mod jobs;
mod migrations;
mod providers;
mod queues;
mod support;
mod tokens;
mod tracebacks;
mod users;
