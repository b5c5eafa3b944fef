//! The `tracehop` binary, run as a user or operator would run it.

mod audit;
mod deadlines;
mod demo;
mod scenarios;
mod support;
