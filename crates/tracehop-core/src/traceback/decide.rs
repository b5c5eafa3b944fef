//! The rules of the traceback, one function per command.

use jiff::Timestamp;

use super::answer::MAX_TEXT;
use super::command::{Action, Start};
use super::event::RequestCause;
use super::state::{Header, Hop, HopState, Traceback};
use super::{
    Actor, Answer, Change, Command, CommentId, DisputeId, Event, HopId, ProviderRef, Rejection, Reply, ReviewReason,
    StrikeExemptReason, Visibility,
};
use crate::deadline::{DeadlineKind, DeadlinePolicy};
use crate::provider::ProviderProfile;

/// Whether `actor` may answer `hop` now: its own hop (or staff), the traceback open and the hop
/// waiting for an answer. The shell checks this before it resolves anything an answer names, so
/// an answer on a hop that takes none never reveals what the directory holds.
pub fn check_answerable(state: &Traceback, actor: &Actor, hop: HopId) -> Result<(), Rejection> {
    let decision = Decision { state, now: Timestamp::UNIX_EPOCH, actor: actor.clone(), changes: Vec::new() };
    decision.awaiting_hop(hop).map(|_| ())
}

/// Decides a command against the state at time `now`: the events it causes, or why not.
/// An empty list means there was nothing to do (a stale timer, a reminder already sent).
pub fn decide(state: &Traceback, command: Command, now: Timestamp) -> Result<Vec<Event>, Rejection> {
    let Command { actor, action } = command;
    let mut decision = Decision { state, now, actor, changes: Vec::new() };
    decision.run(action)?;
    let Decision { now, actor, changes, .. } = decision;
    Ok(changes.into_iter().map(|change| Event { at: now, actor: actor.clone(), change }).collect())
}

struct Decision<'a> {
    state: &'a Traceback,
    now: Timestamp,
    actor: Actor,
    changes: Vec<Change>,
}

impl Decision<'_> {
    fn run(&mut self, action: Action) -> Result<(), Rejection> {
        match action {
            Action::Start(start) => self.start(*start),
            Action::Notify { hop } => self.notify(hop),
            Action::Acknowledge { hop } => self.acknowledge(hop),
            Action::Answer { hop, reply } => self.answer(hop, *reply),
            Action::Comment { hop, text, visibility } => self.comment(hop, text, visibility),
            Action::Dispute { hop, grounds } => self.dispute(hop, grounds),
            Action::ReviewDispute { dispute, accept, note } => self.review_dispute(dispute, accept, note),
            Action::MarkStrikeExempt { reason, note } => self.mark_strike_exempt(reason, note),
            Action::Extend { hop, respond_by, reason } => self.extend(hop, respond_by, reason),
            Action::Redirect { hop, reason } => self.redirect(hop, reason),
            Action::Close { reason } => self.close(reason),
            Action::Reopen { reason } => self.reopen(reason),
            Action::DeadlineElapsed { hop, deadline } => self.deadline_elapsed(hop, deadline),
            Action::RecordReminder { hop, deadline, due } => self.record_reminder(hop, deadline, due),
            Action::ShareRecording { shared } => self.share_recording(shared),
            Action::ShareCallId { hop, shared } => self.share_call_id(hop, shared),
            Action::SetProviderSummary { summary } => self.set_provider_summary(summary),
        }
    }

    // ---- guards ---------------------------------------------------------------------------

    fn header(&self) -> Result<&Header, Rejection> {
        self.state.header.as_ref().ok_or(Rejection::NotStarted)
    }

    fn staff_only(&self) -> Result<(), Rejection> {
        self.header()?;
        if self.actor.is_staff() { Ok(()) } else { Err(Rejection::StaffOnly) }
    }

    fn system_only(&self) -> Result<(), Rejection> {
        self.header()?;
        if self.actor == Actor::System { Ok(()) } else { Err(Rejection::SystemOnly) }
    }

    fn not_closed(&self) -> Result<(), Rejection> {
        if self.state.is_closed() { Err(Rejection::Closed) } else { Ok(()) }
    }

    fn hop(&self, hop: HopId) -> Result<&Hop, Rejection> {
        self.header()?;
        self.state.hop(hop).ok_or(Rejection::UnknownHop(hop))
    }

    /// The hop, if the actor may act for its provider: the provider itself, or staff on its
    /// behalf (answers given by email or phone are entered by staff).
    fn own_hop(&self, hop: HopId) -> Result<&Hop, Rejection> {
        let found = self.hop(hop)?;
        match &self.actor {
            Actor::Staff { .. } => Ok(found),
            Actor::Provider { provider, .. } if *provider == found.provider.id => Ok(found),
            Actor::Provider { provider, .. } => {
                if self.state.hops.iter().any(|h| h.provider.id == *provider) {
                    Err(Rejection::NotYourHop(hop))
                } else {
                    Err(Rejection::NoHopInTraceback)
                }
            }
            Actor::System => Err(Rejection::StaffOnly),
        }
    }

    /// The hop, if it still waits for its provider's answer.
    fn awaiting_hop(&self, hop: HopId) -> Result<&Hop, Rejection> {
        // Ownership first: a provider without a hop must not learn whether the traceback is
        // closed.
        let found = self.own_hop(hop)?;
        self.not_closed()?;
        match found.state {
            HopState::Open | HopState::Acknowledged => Ok(found),
            HopState::Answered => Err(Rejection::AlreadyAnswered(hop)),
            state @ (HopState::Expired | HopState::Cancelled) => {
                Err(Rejection::HopNotOpen { hop, state: state.name() })
            }
        }
    }

    fn emit(&mut self, change: Change) {
        self.changes.push(change);
    }

    // ---- starting and asking --------------------------------------------------------------

    fn start(&mut self, start: Start) -> Result<(), Rejection> {
        if self.state.header.is_some() {
            return Err(Rejection::AlreadyStarted);
        }
        if !self.actor.is_staff() {
            return Err(Rejection::StaffOnly);
        }
        if start.policy.hop_limit == 0 {
            return Err(invalid("policy.hop_limit", "must be at least 1"));
        }
        check_optional_text("call.basis_summary", start.call.basis_summary.as_deref())?;
        self.emit(Change::Started {
            id: start.id,
            category: start.category,
            call: start.call,
            policy: start.policy,
            candidate: start.candidate,
            incident: start.incident,
            campaign: start.campaign,
            view_key: start.view_key,
        });
        let first = HopId(0);
        let notify = start.terminating.contactable;
        self.emit(Change::HopOpened {
            hop: first,
            provider: start.terminating.clone(),
            named_by: None,
            counts_as_hop: true,
        });
        if notify {
            self.request(first, &start.terminating, &start.policy.deadlines, RequestCause::First);
        }
        Ok(())
    }

    /// Sends a request: deadlines count from now (or the deemed receipt).
    fn request(&mut self, hop: HopId, provider: &ProviderProfile, policy: &DeadlinePolicy, cause: RequestCause) {
        let deadlines = policy.deadlines_for(provider, self.now);
        self.emit(Change::HopNotified { hop, deadlines, cause });
    }

    fn notify(&mut self, hop: HopId) -> Result<(), Rejection> {
        self.staff_or_system()?;
        self.not_closed()?;
        let found = self.hop(hop)?;
        if found.requests > 0 {
            return Err(Rejection::AlreadyNotified(hop));
        }
        if !found.state.is_awaiting_answer() {
            return Err(Rejection::HopNotOpen { hop, state: found.state.name() });
        }
        let provider = found.provider.clone();
        let policy = self.header()?.policy.deadlines;
        self.request(hop, &provider, &policy, RequestCause::First);
        Ok(())
    }

    fn staff_or_system(&self) -> Result<(), Rejection> {
        self.header()?;
        match self.actor {
            Actor::Staff { .. } | Actor::System => Ok(()),
            Actor::Provider { .. } => Err(Rejection::StaffOnly),
        }
    }

    // ---- the provider's side --------------------------------------------------------------

    fn acknowledge(&mut self, hop: HopId) -> Result<(), Rejection> {
        let found = self.awaiting_hop(hop)?;
        if found.state == HopState::Acknowledged {
            return Err(Rejection::AlreadyAcknowledged(hop));
        }
        self.emit(Change::HopAcknowledged { hop });
        Ok(())
    }

    fn answer(&mut self, hop: HopId, reply: Reply) -> Result<(), Rejection> {
        let found = self.awaiting_hop(hop)?.clone();
        match reply {
            Reply::Upstream { upstream, evidence, supplied } => {
                if upstream.id == found.provider.id {
                    return Err(Rejection::SelfNaming);
                }
                let answer = Answer::Upstream {
                    upstream: ProviderRef { id: upstream.id.clone(), name: upstream.name.clone() },
                    evidence,
                    supplied,
                };
                self.emit(Change::HopAnswered { hop, answer });
                self.continue_trace(&found, upstream)
            }
            Reply::Originated { customer, mitigation, attestation, right_to_use } => {
                if customer.name.trim().is_empty() {
                    return Err(invalid("customer.name", "the originating customer's name is required"));
                }
                check_text("customer.name", &customer.name)?;
                check_optional_text("right_to_use", right_to_use.as_deref())?;
                let answer = Answer::Originated { customer, mitigation, attestation, right_to_use };
                self.emit(Change::HopAnswered { hop, answer });
                self.emit(Change::Closed { reason: "origin identified".to_owned() });
                Ok(())
            }
            Reply::NotFound { reason, explanation } => {
                check_optional_text("explanation", explanation.as_deref())?;
                self.emit(Change::HopAnswered { hop, answer: Answer::NotFound { reason, explanation } });
                self.emit(Change::Closed { reason: "call not found".to_owned() });
                Ok(())
            }
        }
    }

    /// TB-3 and TB-7: the named upstream gets the next hop, unless that would loop or pass the
    /// hop limit; then nobody is notified and staff review.
    fn continue_trace(&mut self, from: &Hop, upstream: ProviderProfile) -> Result<(), Rejection> {
        let header = self.header()?;
        let path = self.state.path();
        let continues_entity = upstream.entity == from.provider.entity;
        let loops = path
            .iter()
            .any(|hop| hop.provider.id == upstream.id || (!continues_entity && hop.provider.entity == upstream.entity));
        let limit = usize::try_from(header.policy.hop_limit).unwrap_or(usize::MAX);
        let reason = if loops {
            Some(ReviewReason::Loop)
        } else if !continues_entity && self.state.hop_count() >= limit {
            Some(ReviewReason::HopLimit)
        } else {
            None
        };
        match reason {
            Some(reason) => self.emit(Change::ReviewRequested { reason, hop: from.id, pending: Some(upstream) }),
            None => {
                let policy = header.policy.deadlines;
                self.open_hop(from.id, upstream, continues_entity, &policy);
            }
        }
        Ok(())
    }

    fn open_hop(
        &mut self,
        named_by: HopId,
        provider: ProviderProfile,
        continues_entity: bool,
        policy: &DeadlinePolicy,
    ) {
        let hop = self.state.next_hop_id();
        let deadlines = provider.contactable.then(|| policy.deadlines_for(&provider, self.now));
        self.emit(Change::HopOpened { hop, provider, named_by: Some(named_by), counts_as_hop: !continues_entity });
        if let Some(deadlines) = deadlines {
            self.emit(Change::HopNotified { hop, deadlines, cause: RequestCause::First });
        }
    }

    fn comment(&mut self, hop: Option<HopId>, text: String, visibility: Visibility) -> Result<(), Rejection> {
        self.header()?;
        check_required_text("text", &text)?;
        match (&self.actor, hop) {
            (Actor::Provider { .. }, None) => {
                return Err(invalid("hop", "a provider comments on one of its own hops"));
            }
            (Actor::Provider { .. }, Some(hop)) => {
                self.own_hop(hop)?;
                let limit = self.header()?.policy.comments_per_hop;
                let written =
                    self.state.comments.iter().filter(|c| c.hop == Some(hop) && c.author.provider().is_some()).count();
                if written >= usize::try_from(limit).unwrap_or(usize::MAX) {
                    return Err(Rejection::TooManyComments { limit });
                }
            }
            (Actor::Staff { .. }, Some(hop)) => {
                self.hop(hop)?;
            }
            (Actor::Staff { .. }, None) => {
                if visibility == Visibility::HopParties {
                    return Err(invalid("visibility", "a comment for a hop's parties must name the hop"));
                }
            }
            (Actor::System, _) => return Err(Rejection::StaffOnly),
        }
        let comment = CommentId(u32::try_from(self.state.comments.len()).unwrap_or(u32::MAX));
        self.emit(Change::CommentAdded { comment, hop, visibility, text });
        Ok(())
    }

    fn dispute(&mut self, hop: HopId, grounds: String) -> Result<(), Rejection> {
        check_required_text("grounds", &grounds)?;
        let provider = self.own_hop(hop)?.provider.id.clone();
        let pending = self.state.disputes.iter().any(|d| d.provider == provider && d.review.is_none());
        if pending {
            return Err(Rejection::DisputePending);
        }
        let dispute = DisputeId(u32::try_from(self.state.disputes.len()).unwrap_or(u32::MAX));
        self.emit(Change::DisputeFiled { dispute, hop, grounds });
        Ok(())
    }

    // ---- staff ----------------------------------------------------------------------------

    fn review_dispute(&mut self, dispute: DisputeId, accept: bool, note: String) -> Result<(), Rejection> {
        self.staff_only()?;
        check_text("note", &note)?;
        let found = self.state.disputes.iter().find(|d| d.id == dispute).ok_or(Rejection::UnknownDispute(dispute))?;
        if found.review.is_some() {
            return Err(Rejection::DisputeAlreadyReviewed(dispute));
        }
        self.emit(Change::DisputeReviewed { dispute, accepted: accept, note: note.clone() });
        if accept && self.state.strike_exempt.is_none() {
            let note = if note.trim().is_empty() { "dispute accepted".to_owned() } else { note };
            self.emit(Change::StrikeExemptMarked { reason: StrikeExemptReason::AcceptedDispute, note });
        }
        Ok(())
    }

    fn mark_strike_exempt(&mut self, reason: StrikeExemptReason, note: String) -> Result<(), Rejection> {
        self.staff_only()?;
        check_required_text("note", &note)?;
        if self.state.strike_exempt.is_some() {
            return Err(Rejection::AlreadyStrikeExempt);
        }
        self.emit(Change::StrikeExemptMarked { reason, note });
        Ok(())
    }

    fn extend(&mut self, hop: HopId, respond_by: Timestamp, reason: String) -> Result<(), Rejection> {
        self.staff_only()?;
        check_required_text("reason", &reason)?;
        self.not_closed()?;
        let found = self.hop(hop)?;
        if !found.state.is_awaiting_answer() {
            return Err(Rejection::HopNotOpen { hop, state: found.state.name() });
        }
        let current = found.request.ok_or(Rejection::NotNotified(hop))?.respond_by;
        if respond_by <= current {
            return Err(Rejection::ExtensionNotLater { current, requested: respond_by });
        }
        self.emit(Change::DeadlineExtended { hop, respond_by, reason });
        Ok(())
    }

    fn redirect(&mut self, hop: HopId, reason: String) -> Result<(), Rejection> {
        self.staff_only()?;
        check_required_text("reason", &reason)?;
        let found = self.hop(hop)?.clone();
        let path = self.state.path();
        let position = path.iter().position(|h| h.id == hop).ok_or(Rejection::NotInPath(hop))?;
        let upstream: Vec<&Hop> = path[position + 1..].to_vec();
        let superseded = upstream.iter().map(|h| h.id).collect();
        let cancelled: Vec<HopId> = upstream.iter().filter(|h| h.state.is_awaiting_answer()).map(|h| h.id).collect();
        let policy = self.header()?.policy.deadlines;
        self.emit(Change::HopRedirected { hop, reason, superseded });
        for id in cancelled {
            self.emit(Change::HopCancelled { hop: id });
        }
        self.request(hop, &found.provider, &policy, RequestCause::Redirect);
        Ok(())
    }

    fn close(&mut self, reason: String) -> Result<(), Rejection> {
        self.staff_only()?;
        check_required_text("reason", &reason)?;
        self.not_closed()?;
        self.cancel_waiting_hops();
        self.emit(Change::Closed { reason });
        Ok(())
    }

    fn cancel_waiting_hops(&mut self) {
        let waiting: Vec<HopId> =
            self.state.hops.iter().filter(|h| h.state.is_awaiting_answer()).map(|h| h.id).collect();
        for hop in waiting {
            self.emit(Change::HopCancelled { hop });
        }
    }

    /// Back in motion at the frontier: the upstream held for review is asked, or else the
    /// frontier hop is asked again with fresh deadlines.
    fn reopen(&mut self, reason: String) -> Result<(), Rejection> {
        self.staff_only()?;
        check_required_text("reason", &reason)?;
        if !self.state.is_closed() && self.state.review.is_none() {
            return Err(Rejection::NotReopenable);
        }
        let policy = self.header()?.policy.deadlines;
        self.emit(Change::Reopened { reason });
        match self.state.review.as_ref().and_then(|r| r.pending.clone().map(|p| (r.hop, p))) {
            Some((from, pending)) => {
                let continues_entity = self.state.hop(from).is_some_and(|h| h.provider.entity == pending.entity);
                self.open_hop(from, pending, continues_entity, &policy);
            }
            None => {
                if let Some(frontier) = self.state.frontier() {
                    let (id, provider) = (frontier.id, frontier.provider.clone());
                    self.request(id, &provider, &policy, RequestCause::Reopen);
                }
            }
        }
        Ok(())
    }

    fn share_recording(&mut self, shared: bool) -> Result<(), Rejection> {
        self.staff_only()?;
        if self.header()?.call.recording.is_none() {
            return Err(Rejection::NoRecording);
        }
        if self.state.recording_shared != shared {
            self.emit(Change::RecordingShared { shared });
        }
        Ok(())
    }

    fn share_call_id(&mut self, hop: HopId, shared: bool) -> Result<(), Rejection> {
        self.staff_only()?;
        let found = self.hop(hop)?;
        if self.header()?.call.sip_call_id.is_none() {
            return Err(Rejection::NoCallId);
        }
        if found.call_id_shared != shared {
            self.emit(Change::CallIdShared { hop, shared });
        }
        Ok(())
    }

    fn set_provider_summary(&mut self, summary: Option<String>) -> Result<(), Rejection> {
        self.staff_only()?;
        if let Some(text) = &summary {
            check_required_text("summary", text)?;
        }
        if self.state.provider_summary != summary {
            self.emit(Change::ProviderSummarySet { summary });
        }
        Ok(())
    }

    // ---- the platform's timers ------------------------------------------------------------

    fn deadline_elapsed(&mut self, hop: HopId, deadline: DeadlineKind) -> Result<(), Rejection> {
        self.system_only()?;
        let found = self.hop(hop)?;
        let Some(request) = found.request else {
            return Ok(());
        };
        if self.state.is_closed() {
            return Ok(());
        }
        match deadline {
            DeadlineKind::StartBy => {
                if found.state == HopState::Open
                    && !found.start_by_missed
                    && request.is_missed(DeadlineKind::StartBy, self.now)
                {
                    self.emit(Change::StartByMissed { hop });
                }
            }
            DeadlineKind::RespondBy => {
                if found.state.is_awaiting_answer() && request.is_missed(DeadlineKind::RespondBy, self.now) {
                    self.emit(Change::HopExpired { hop });
                    if self.header()?.policy.close_on_no_response {
                        self.emit(Change::Closed { reason: "no response by the deadline".to_owned() });
                    } else {
                        self.emit(Change::ReviewRequested { reason: ReviewReason::NoResponse, hop, pending: None });
                    }
                }
            }
        }
        Ok(())
    }

    fn record_reminder(
        &mut self,
        hop: HopId,
        deadline: DeadlineKind,
        set_for: Option<Timestamp>,
    ) -> Result<(), Rejection> {
        self.system_only()?;
        let found = self.hop(hop)?;
        let Some(request) = found.request else {
            return Ok(());
        };
        let due = request.due(deadline);
        let still_relevant = match deadline {
            DeadlineKind::StartBy => found.state == HopState::Open,
            DeadlineKind::RespondBy => found.state.is_awaiting_answer(),
        };
        let already = found.reminders.contains(&(deadline, due));
        let moved = set_for.is_some_and(|set_for| set_for != due);
        if !self.state.is_closed() && still_relevant && !already && !moved && self.now < due {
            self.emit(Change::ReminderSent { hop, deadline, due });
        }
        Ok(())
    }
}

fn invalid(field: &'static str, problem: &str) -> Rejection {
    Rejection::Invalid { field, problem: problem.to_owned() }
}

fn check_text(field: &'static str, text: &str) -> Result<(), Rejection> {
    if text.chars().count() > MAX_TEXT {
        return Err(invalid(field, &format!("longer than {MAX_TEXT} characters")));
    }
    Ok(())
}

fn check_required_text(field: &'static str, text: &str) -> Result<(), Rejection> {
    if text.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    check_text(field, text)
}

fn check_optional_text(field: &'static str, text: Option<&str>) -> Result<(), Rejection> {
    text.map_or(Ok(()), |text| check_text(field, text))
}
