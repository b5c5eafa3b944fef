//! Who may do what: people's accounts, API tokens, and the capability handles a route obtains
//! for its principal.

pub mod accounts;
pub(crate) mod comment_limit;
pub mod principal;
pub mod tokens;
