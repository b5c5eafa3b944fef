//! Who may do what: people's accounts, API tokens, and the capability handles a route obtains
//! for its principal.

pub mod accounts;
pub mod principal;
pub mod tokens;
