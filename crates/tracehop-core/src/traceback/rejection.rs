//! Why a command was refused. Each message tells the caller what was wrong and, where there is
//! one, what to do instead.

use jiff::Timestamp;

use super::{DisputeId, HopId};
use crate::provider::ProviderId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the traceback has not started")]
    NotStarted,
    #[error("the traceback has already started")]
    AlreadyStarted,
    #[error("the traceback is closed; staff may reopen it")]
    Closed,
    #[error("only consortium staff may do this")]
    StaffOnly,
    #[error("only the platform's deadline worker may record this")]
    SystemOnly,
    #[error("hop {0} does not exist in this traceback")]
    UnknownHop(HopId),
    #[error("hop {0} is not yours: only the provider asked may answer it")]
    NotYourHop(HopId),
    #[error("you have no hop in this traceback")]
    NoHopInTraceback,
    #[error("the hop is {state} and takes no answer")]
    HopNotOpen { hop: HopId, state: &'static str },
    #[error("the hop has already been answered; ask staff to redirect it if the answer was wrong")]
    AlreadyAnswered(HopId),
    #[error("the hop has already been acknowledged")]
    AlreadyAcknowledged(HopId),
    #[error("hop {0} has already been notified")]
    AlreadyNotified(HopId),
    #[error("hop {0} has not been notified yet, so it has no deadline to extend")]
    NotNotified(HopId),
    #[error("a provider cannot name itself as its upstream")]
    SelfNaming,
    #[error("hop {0} is not in the current call path")]
    NotInPath(HopId),
    #[error("you already have a dispute awaiting review in this traceback")]
    DisputePending,
    #[error("dispute {0:?} does not exist in this traceback")]
    UnknownDispute(DisputeId),
    #[error("dispute {0:?} has already been reviewed")]
    DisputeAlreadyReviewed(DisputeId),
    #[error("the traceback is already strike exempt")]
    AlreadyStrikeExempt,
    #[error("the traceback is open; only a closed traceback or one awaiting review can be reopened")]
    NotReopenable,
    #[error("an extension must move the respond-by later than {current}, not to {requested}")]
    ExtensionNotLater { current: Timestamp, requested: Timestamp },
    #[error("the traceback has no recording to share")]
    NoRecording,
    #[error("the traceback's incident has no SIP Call-ID to share")]
    NoCallId,
    #[error("a provider may write at most {limit} comments on a hop; write to the consortium by email for more")]
    TooManyComments { limit: u32 },
    #[error("provider {0} is not the provider of that hop")]
    WrongProvider(ProviderId),
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
}
