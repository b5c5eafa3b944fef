//! Commands: what someone asks the traceback to do. Each is decided against the current state.

use jiff::Timestamp;

use super::{
    Actor, CallFacts, Category, DisputeId, HopId, Reply, StrikeExemptReason, TracebackId, TracebackPolicy, Visibility,
};
use crate::deadline::DeadlineKind;
use crate::provider::ProviderProfile;

/// A command and who issued it.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub actor: Actor,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// TB-1: staff start a traceback at the terminating provider.
    Start(Box<Start>),
    /// Send the request of a hop that was opened while its provider could not be reached.
    Notify {
        hop: HopId,
    },
    /// The provider started investigating.
    Acknowledge {
        hop: HopId,
    },
    /// TB-2: the provider's answer.
    Answer {
        hop: HopId,
        reply: Box<Reply>,
    },
    Comment {
        hop: Option<HopId>,
        text: String,
        visibility: Visibility,
    },
    /// TB-9: a provider in the path disputes the basis of the traceback.
    Dispute {
        hop: HopId,
        grounds: String,
    },
    ReviewDispute {
        dispute: DisputeId,
        accept: bool,
        note: String,
    },
    MarkStrikeExempt {
        reason: StrikeExemptReason,
        note: String,
    },
    /// Staff move a hop's respond-by later.
    Extend {
        hop: HopId,
        respond_by: Timestamp,
        reason: String,
    },
    /// TB-8: ask a hop again, setting aside every hop upstream of it.
    Redirect {
        hop: HopId,
        reason: String,
    },
    /// TB-8: withdraw the traceback.
    Close {
        reason: String,
    },
    /// Put a closed or held traceback back in motion at its frontier.
    Reopen {
        reason: String,
    },
    /// A deadline timer fired.
    DeadlineElapsed {
        hop: HopId,
        deadline: DeadlineKind,
    },
    /// A reminder before a deadline went out to the provider's contacts.
    RecordReminder {
        hop: HopId,
        deadline: DeadlineKind,
        /// The deadline the reminder was set for: if it has moved since, nothing is sent.
        due: Option<Timestamp>,
    },
    /// Staff share (or stop sharing) the recording with the providers in the path.
    ShareRecording {
        shared: bool,
    },
    /// Staff show (or stop showing) the incident's SIP Call-ID to the provider of a hop other
    /// than the terminating one, whose leg it identifies.
    ShareCallId {
        hop: HopId,
        shared: bool,
    },
    /// Staff write or approve the summary of the basis that providers see, in place of the
    /// default (the campaign label and a neutral sentence); `None` goes back to the default.
    SetProviderSummary {
        summary: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    pub id: TracebackId,
    pub category: Category,
    pub call: CallFacts,
    pub terminating: ProviderProfile,
    pub policy: TracebackPolicy,
    /// The approved candidate and incident it starts from, and its campaign, as directory keys.
    pub candidate: Option<String>,
    pub incident: Option<String>,
    pub campaign: Option<String>,
    /// A random secret the references providers see are keyed with (see `reference`).
    pub view_key: Option<uuid::Uuid>,
}

impl Command {
    pub fn new(actor: Actor, action: Action) -> Self {
        Self { actor, action }
    }
}
