//! Intake (SRC, INC, CMP): submitters, the candidates they bring, incident data and recordings,
//! and the campaigns tracebacks belong to.

pub mod campaigns;
pub mod candidates;
pub mod incidents;
pub mod recordings;
pub mod shaken;
pub mod submitters;
