//! Hop labels (TB-4), outcomes (TB-11) and status: pure functions of the state.
//!
//! Labels that describe the route (point of entry, point of departure, origin) look only at the
//! current call path, using each hop's foreign flag as recorded when the hop opened. Labels about
//! a hop's own fate (no response, not found) stay with the hop even after a redirect set it aside.

use serde::{Deserialize, Serialize};

use super::state::{Hop, HopState, Traceback};
use super::{Answer, HopId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Label {
    UsOrigin,
    InternationalOrigin,
    /// A U.S. provider that accepted the call from a foreign provider.
    UsPointOfEntry,
    /// The foreign provider just before a U.S. point of entry.
    ForeignPointOfDeparture,
    NoResponse,
    NotFound,
}

impl Label {
    pub fn name(self) -> &'static str {
        match self {
            Self::UsOrigin => "us_origin",
            Self::InternationalOrigin => "international_origin",
            Self::UsPointOfEntry => "us_point_of_entry",
            Self::ForeignPointOfDeparture => "foreign_point_of_departure",
            Self::NoResponse => "no_response",
            Self::NotFound => "not_found",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    NeedsReview,
    Closed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::NeedsReview => "needs_review",
            Self::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Us,
    International,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    OriginIdentified { origin: Origin },
    NonResponsive,
    NotFound,
    Withdrawn,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::OriginIdentified { .. } => "origin_identified",
            Self::NonResponsive => "non_responsive",
            Self::NotFound => "not_found",
            Self::Withdrawn => "withdrawn",
        }
    }
}

impl Traceback {
    pub fn status(&self) -> Status {
        if self.closure.is_some() {
            Status::Closed
        } else if self.review.is_some() {
            Status::NeedsReview
        } else {
            Status::Open
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closure.is_some()
    }

    /// The call path as traced so far: hop 0, then each hop's current upstream.
    pub fn path(&self) -> Vec<&Hop> {
        let mut path = Vec::new();
        let mut next = self.hops.first();
        while let Some(hop) = next {
            if path.len() > self.hops.len() {
                break; // cannot happen with ids handed out in order; guards a corrupt log
            }
            path.push(hop);
            next = hop.upstream.and_then(|id| self.hop(id));
        }
        path
    }

    /// The last hop of the call path: where the trace stands.
    pub fn frontier(&self) -> Option<&Hop> {
        self.path().last().copied()
    }

    pub fn in_path(&self, hop: HopId) -> bool {
        self.path().iter().any(|h| h.id == hop)
    }

    /// Hops opened, not counting affiliates that continue the same VSP entity (TB-7, PRV-3).
    pub fn hop_count(&self) -> usize {
        self.hops.iter().filter(|hop| hop.counts_as_hop).count()
    }

    /// The labels of a hop, in a fixed order.
    pub fn labels(&self, hop: HopId) -> Vec<Label> {
        let Some(this) = self.hop(hop) else {
            return Vec::new();
        };
        let mut labels = Vec::new();
        if !this.superseded && self.in_path(hop) {
            if let Some(Answer::Originated { .. }) = this.answer.as_ref().map(|a| &a.answer) {
                labels.push(if this.provider.foreign { Label::InternationalOrigin } else { Label::UsOrigin });
            }
            let upstream = this.upstream.and_then(|id| self.hop(id));
            if !this.provider.foreign && upstream.is_some_and(|up| up.provider.foreign) {
                labels.push(Label::UsPointOfEntry);
            }
            let downstream = this.named_by.and_then(|id| self.hop(id));
            if this.provider.foreign && downstream.is_some_and(|down| !down.provider.foreign) {
                labels.push(Label::ForeignPointOfDeparture);
            }
        }
        if this.state == HopState::Expired {
            labels.push(Label::NoResponse);
        }
        if let Some(Answer::NotFound { .. }) = this.answer.as_ref().map(|a| &a.answer) {
            labels.push(Label::NotFound);
        }
        labels
    }

    /// The outcome, once closed: read from where the trace stopped.
    pub fn outcome(&self) -> Option<Outcome> {
        self.closure.as_ref()?;
        let frontier = self.frontier()?;
        Some(match (frontier.state, frontier.answer.as_ref().map(|a| &a.answer)) {
            (HopState::Expired, _) => Outcome::NonResponsive,
            (HopState::Answered, Some(Answer::Originated { .. })) => Outcome::OriginIdentified {
                origin: if frontier.provider.foreign { Origin::International } else { Origin::Us },
            },
            (HopState::Answered, Some(Answer::NotFound { .. })) => Outcome::NotFound,
            _ => Outcome::Withdrawn,
        })
    }
}
