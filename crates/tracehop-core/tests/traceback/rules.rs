//! The rules of SPEC §4 (TB-1..TB-11), one test (or one table) per rule.

use tracehop_core::SignedDuration;
use tracehop_core::deadline::DeadlineKind;
use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::event::RequestCause;
use tracehop_core::traceback::{
    Answer, Change, DisputeId, HopId, HopState, Label, NotFoundReason, Origin, Outcome, Rejection, ReviewReason,
    Status, StrikeExemptReason, TracebackPolicy, Visibility,
};

use crate::support::{
    Cast, ProfileExt, Run, abroad, answer, by, elapsed, hours, kinds, minutes, not_found, originated, reason, requests,
    staff, start_action, system, t0, ts, upstream, upstream_new, us, with_entities,
};

fn policy(hop_limit: u32, close_on_no_response: bool) -> TracebackPolicy {
    TracebackPolicy { hop_limit, close_on_no_response, ..TracebackPolicy::default() }
}

fn close(text: &str) -> Action {
    Action::Close { reason: reason(text) }
}

fn reopen(text: &str) -> Action {
    Action::Reopen { reason: reason(text) }
}

fn redirect(hop: HopId, text: &str) -> Action {
    Action::Redirect { hop, reason: reason(text) }
}

fn dispute(hop: HopId, grounds: &str) -> Action {
    Action::Dispute { hop, grounds: grounds.into() }
}

fn review(dispute: u32, accept: bool, note: &str) -> Action {
    Action::ReviewDispute { dispute: DisputeId(dispute), accept, note: note.into() }
}

fn comment(hop: Option<HopId>, text: &str, visibility: Visibility) -> Action {
    Action::Comment { hop, text: text.into(), visibility }
}

fn invalid_field(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::Invalid { field, .. } => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

// ---- TB-1: start ------------------------------------------------------------------------------

#[test]
fn only_staff_start_a_traceback() {
    let c = Cast::new();
    let mut run = Run::unstarted();
    let action = || start_action(&c.term, TracebackPolicy::default());
    assert_eq!(run.refused(by(&c.term), action()), Rejection::StaffOnly);
    assert_eq!(run.refused(system(), action()), Rejection::StaffOnly);
    run.ok(staff(), action());
    assert_eq!(run.refused(staff(), action()), Rejection::AlreadyStarted);
}

#[test]
fn start_notifies_hop_zero_with_both_deadlines() {
    let c = Cast::new();
    let run = Run::start(&c.term);
    assert_eq!(kinds(&run.events), ["started", "hop_opened", "hop_notified"]);
    assert_eq!(requests(&run.events), [(HopId(0), RequestCause::First)]);
    let hop = run.hop(HopId(0));
    assert_eq!(hop.provider.id, c.term.id);
    assert_eq!(hop.named_by, None);
    assert!(hop.counts_as_hop);
    assert_eq!(hop.state, HopState::Open);
    assert_eq!(hop.requests, 1);
    let request = hop.request.expect("hop 0 is notified at once");
    assert_eq!(request.notified_at, t0());
    assert_eq!(request.received_at, t0());
    // 24 elapsed hours; four business hours (Monday 10:00 -> 14:00 New York).
    assert_eq!(request.respond_by, ts("2026-03-03T15:00:00Z"));
    assert_eq!(request.start_by, ts("2026-03-02T19:00:00Z"));
    assert_eq!(run.tb.status(), Status::Open);
    assert_eq!(run.tb.outcome(), None);
    let header = run.tb.header.as_ref().expect("started");
    assert_eq!(header.started_at, t0());
    assert!(header.started_by.is_staff());
}

#[test]
fn start_by_counts_in_the_providers_own_business_hours() {
    // (terminating, started at, start_by, respond_by)
    let cases = [
        // Monday 15:00 New York: two hours today, two tomorrow from 08:00.
        (us("term", "Terminus Wireless"), "2026-03-02T20:00:00Z", "2026-03-03T15:00:00Z", "2026-03-03T20:00:00Z"),
        // Monday 07:00 Los Angeles, hours 09:00-18:00: 09:00 + 4 h = 13:00 PST.
        (
            us("term", "Terminus Wireless").hours("America/Los_Angeles", "Mon-Fri", "09:00", "18:00"),
            "2026-03-02T15:00:00Z",
            "2026-03-02T21:00:00Z",
            "2026-03-03T15:00:00Z",
        ),
        // Friday 16:00 New York: one hour Friday, three on Monday.
        (us("term", "Terminus Wireless"), "2026-03-06T21:00:00Z", "2026-03-09T15:00:00Z", "2026-03-07T21:00:00Z"),
    ];
    for (terminating, at, start_by, respond_by) in cases {
        let run = Run::start_at(&terminating, TracebackPolicy::default(), ts(at));
        let request = run.hop(HopId(0)).request.expect("notified");
        assert_eq!(request.start_by, ts(start_by), "started {at}");
        assert_eq!(request.respond_by, ts(respond_by), "started {at}");
    }
}

#[test]
fn start_validates_its_policy() {
    let c = Cast::new();
    let mut run = Run::unstarted();
    let rejection = run.refused(staff(), start_action(&c.term, policy(0, true)));
    assert_eq!(invalid_field(&rejection), "policy.hop_limit");
}

#[test]
fn nothing_happens_before_the_start() {
    let c = Cast::new();
    let mut run = Run::unstarted();
    let attempts = [
        (by(&c.term), answer(HopId(0), originated("Nobody"))),
        (staff(), close("no")),
        (staff(), reopen("no")),
        (system(), elapsed(HopId(0), DeadlineKind::RespondBy)),
    ];
    for (actor, action) in attempts {
        assert_eq!(run.refused(actor, action), Rejection::NotStarted);
    }
}

// ---- TB-2: the provider's side ----------------------------------------------------------------

#[test]
fn acknowledging_twice_is_refused() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.advance(minutes(30));
    let events = run.ok(by(&c.term), Action::Acknowledge { hop: HopId(0) });
    assert_eq!(kinds(&events), ["hop_acknowledged"]);
    let hop = run.hop(HopId(0));
    assert_eq!(hop.state, HopState::Acknowledged);
    assert_eq!(hop.acknowledged_at, Some(t0() + minutes(30)));
    assert_eq!(
        run.refused(by(&c.term), Action::Acknowledge { hop: HopId(0) }),
        Rejection::AlreadyAcknowledged(HopId(0))
    );
    // An acknowledged hop still takes its answer.
    run.names(&c.term, &c.alpha);
    assert_eq!(run.hop(HopId(0)).state, HopState::Answered);
}

#[test]
fn an_upstream_answer_opens_and_notifies_the_next_hop() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.advance(hours(3));
    let events = run.names(&c.term, &c.alpha);
    assert_eq!(kinds(&events), ["hop_answered", "hop_opened", "hop_notified"]);
    assert_eq!(requests(&events), [(HopId(1), RequestCause::First)]);
    let term = run.hop(HopId(0));
    assert_eq!(term.state, HopState::Answered);
    assert_eq!(term.upstream, Some(HopId(1)));
    let recorded = term.answer.as_ref().expect("answered");
    assert_eq!(recorded.answer.kind(), "upstream");
    assert_eq!(recorded.at, t0() + hours(3));
    let Answer::Upstream { upstream, evidence, .. } = &recorded.answer else {
        panic!("an upstream answer");
    };
    assert_eq!(upstream.id, c.alpha.id);
    assert_eq!(upstream.name, c.alpha.name);
    assert_eq!(evidence.ingress_trunk.as_deref(), Some("trunk-7"));

    let alpha = run.hop(HopId(1));
    assert_eq!(alpha.provider.id, c.alpha.id);
    assert_eq!(alpha.named_by, Some(HopId(0)));
    assert!(alpha.counts_as_hop);
    // Its deadlines count from its own notification, not from the start.
    let request = alpha.request.expect("notified");
    assert_eq!(request.notified_at, t0() + hours(3));
    assert_eq!(request.respond_by, t0() + hours(27));
    assert_eq!(run.path_ids(), ["term", "alpha"]);
    assert_eq!(run.tb.hop_count(), 2);
}

#[test]
fn an_upstream_new_answer_keeps_the_supplied_contact() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let unverified = us("unverified-77", "Nightjar Telecom");
    let events = run.answers(&c.term, upstream_new(&unverified, "noc@nightjar.example"));
    assert_eq!(kinds(&events), ["hop_answered", "hop_opened", "hop_notified"]);
    let recorded = run.hop(HopId(0)).answer.as_ref().expect("answered");
    assert_eq!(recorded.answer.kind(), "upstream_new");
    let Answer::Upstream { supplied: Some(contact), .. } = &recorded.answer else {
        panic!("supplied contact kept");
    };
    assert_eq!(contact.provider_name, "Nightjar Telecom");
    assert_eq!(contact.email.as_deref(), Some("noc@nightjar.example"));
    assert_eq!(run.hop(HopId(1)).provider.id, unverified.id);
}

#[test]
fn an_originated_answer_identifies_the_origin_and_closes() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    let events = run.answers(&c.alpha, originated("Warranty Direct LLC"));
    assert_eq!(kinds(&events), ["hop_answered", "closed"]);
    assert_eq!(run.tb.status(), Status::Closed);
    assert_eq!(run.tb.outcome(), Some(Outcome::OriginIdentified { origin: Origin::Us }));
    let Some(Answer::Originated { customer, .. }) = run.hop(HopId(1)).answer.as_ref().map(|a| &a.answer) else {
        panic!("originated answer recorded");
    };
    assert_eq!(customer.name, "Warranty Direct LLC");
}

#[test]
fn an_originated_answer_needs_the_customer_name() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let rejection = run.refused(by(&c.term), answer(HopId(0), originated("   ")));
    assert_eq!(invalid_field(&rejection), "customer.name");
}

#[test]
fn not_found_ends_the_trace_for_both_reasons() {
    for reason in [NotFoundReason::NotInRecords, NotFoundReason::NotOurCall] {
        let c = Cast::new();
        let mut run = Run::start(&c.term);
        run.names(&c.term, &c.alpha);
        let events = run.answers(&c.alpha, not_found(reason));
        assert_eq!(kinds(&events), ["hop_answered", "closed"], "{reason:?}");
        assert!(requests(&events).is_empty());
        let Some(Answer::NotFound { reason: recorded, .. }) = run.hop(HopId(1)).answer.as_ref().map(|a| &a.answer)
        else {
            panic!("not-found answer recorded");
        };
        assert_eq!(*recorded, reason);
        assert_eq!(run.tb.outcome(), Some(Outcome::NotFound), "{reason:?}");
        assert_eq!(run.labels_of(&c.alpha), [Label::NotFound], "{reason:?}");
    }
}

#[test]
fn naming_oneself_is_refused_and_nobody_is_notified() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    let hop = run.hop_of(&c.alpha);
    assert_eq!(run.refused(by(&c.alpha), answer(hop, upstream(&c.alpha))), Rejection::SelfNaming);
    // Staff entering the answer on the provider's behalf are refused the same way.
    assert_eq!(run.refused(staff(), answer(hop, upstream(&c.alpha))), Rejection::SelfNaming);
    assert_eq!(run.hop(hop).state, HopState::Open);
    assert_eq!(run.tb.hops.len(), 2);
    assert_eq!(requests(&run.events).len(), 2);
}

#[test]
fn a_closed_traceback_takes_no_answer() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    run.ok(staff(), close("withdrawn by the requester"));
    for reply in [upstream(&c.bravo), originated("Late Answer Inc"), not_found(NotFoundReason::NotInRecords)] {
        assert_eq!(run.refused(by(&c.alpha), answer(HopId(1), reply)), Rejection::Closed);
    }
    assert_eq!(run.refused(by(&c.alpha), Action::Acknowledge { hop: HopId(1) }), Rejection::Closed);
}

/// ACC-2: a provider without a hop "does not learn that a traceback exists". Whatever it asks, the
/// refusal is one of the "not yours / not there" kinds the application answers with 404 — never
/// that the traceback is closed, or anything about the state of a hop.
#[test]
fn an_outsider_is_only_told_not_found() {
    let c = Cast::new();
    let mut open = Run::start(&c.term);
    open.names(&c.term, &c.alpha);
    let mut closed = Run::start(&c.term);
    closed.names(&c.term, &c.alpha);
    closed.ok(staff(), close("withdrawn"));
    let mut leaks = Vec::new();
    for (state, run) in [("open", &mut open), ("closed", &mut closed)] {
        for hop in [HopId(1), HopId(7)] {
            let attempts = [
                ("answer", answer(hop, upstream(&c.bravo))),
                ("acknowledge", Action::Acknowledge { hop }),
                ("comment", comment(Some(hop), "hello?", Visibility::StaffOnly)),
                ("dispute", dispute(hop, "not us")),
            ];
            for (name, action) in attempts {
                let rejection = run.refused(by(&c.outsider), action);
                let not_found = matches!(rejection, Rejection::NoHopInTraceback | Rejection::UnknownHop(_));
                if !not_found {
                    leaks.push(format!("{state} traceback, {name} hop {hop}: {rejection:?}"));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "an outsider learned more than \"not found\":\n{}", leaks.join("\n"));
}

#[test]
fn only_the_provider_asked_may_answer() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    // The terminating provider has a hop, but not this one.
    assert_eq!(run.refused(by(&c.term), answer(HopId(1), upstream(&c.bravo))), Rejection::NotYourHop(HopId(1)));
    // A provider with no hop at all.
    assert_eq!(run.refused(by(&c.outsider), answer(HopId(1), upstream(&c.bravo))), Rejection::NoHopInTraceback);
    assert_eq!(run.refused(by(&c.outsider), Action::Acknowledge { hop: HopId(0) }), Rejection::NoHopInTraceback);
    // The platform itself answers nothing.
    assert_eq!(run.refused(system(), answer(HopId(1), upstream(&c.bravo))), Rejection::StaffOnly);
    assert_eq!(run.refused(by(&c.alpha), answer(HopId(9), upstream(&c.bravo))), Rejection::UnknownHop(HopId(9)));
}

#[test]
fn staff_may_enter_an_answer_for_the_provider() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.ok(staff(), answer(HopId(0), upstream(&c.alpha)));
    let recorded = run.hop(HopId(0)).answer.as_ref().expect("answered");
    assert!(recorded.by.is_staff());
    assert_eq!(run.hop_of(&c.alpha), HopId(1));
}

#[test]
fn answering_twice_is_refused() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    assert_eq!(run.refused(by(&c.term), answer(HopId(0), upstream(&c.bravo))), Rejection::AlreadyAnswered(HopId(0)));
    assert_eq!(run.refused(by(&c.term), Action::Acknowledge { hop: HopId(0) }), Rejection::AlreadyAnswered(HopId(0)));
}

// ---- TB-7: loops, hop limit, affiliates -------------------------------------------------------

#[test]
fn naming_a_provider_already_in_the_path_waits_for_review() {
    let c = Cast::new();
    for looped in [&c.term, &c.alpha] {
        let mut run = Run::start(&c.term);
        run.trace(&[&c.term, &c.alpha, &c.charlie]);
        let events = run.answers(&c.charlie, upstream(looped));
        assert_eq!(kinds(&events), ["hop_answered", "review_requested"], "{}", looped.id);
        assert!(requests(&events).is_empty());
        assert_eq!(run.tb.status(), Status::NeedsReview);
        let review = run.tb.review.as_ref().expect("review");
        assert_eq!(review.reason, ReviewReason::Loop);
        assert_eq!(review.hop, HopId(2));
        assert_eq!(review.pending.as_ref().map(|p| &p.id), Some(&looped.id));
        assert_eq!(run.tb.hops.len(), 3, "no hop opened for {}", looped.id);
        // Nothing is waiting: deadlines of earlier hops are irrelevant.
        assert!(run.tb.hops.iter().all(|h| !h.state.is_awaiting_answer()));
    }
}

#[test]
fn the_same_entity_reappearing_non_consecutively_is_a_loop() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.bravo, &c.charlie]);
    let events = run.answers(&c.charlie, upstream(&c.bravo2));
    assert_eq!(kinds(&events), ["hop_answered", "review_requested"]);
    assert_eq!(run.tb.review.as_ref().map(|r| r.reason), Some(ReviewReason::Loop));
}

#[test]
fn naming_an_affiliate_continues_without_counting_a_hop() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.bravo]);
    let events = run.names(&c.bravo, &c.bravo2);
    assert_eq!(kinds(&events), ["hop_answered", "hop_opened", "hop_notified"]);
    let affiliate = run.hop_for(&c.bravo2);
    assert!(!affiliate.counts_as_hop);
    assert_eq!(run.tb.hops.len(), 3);
    assert_eq!(run.tb.hop_count(), 2);
    // The next entity counts again.
    run.names(&c.bravo2, &c.charlie);
    assert!(run.hop_for(&c.charlie).counts_as_hop);
    assert_eq!(run.tb.hop_count(), 3);
    assert_eq!(run.path_ids(), ["term", "bravo", "bravo-2", "charlie"]);
}

#[test]
fn naming_back_a_provider_of_the_same_entity_is_still_a_loop() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.bravo, &c.bravo2]);
    let events = run.answers(&c.bravo2, upstream(&c.bravo));
    assert_eq!(kinds(&events), ["hop_answered", "review_requested"]);
    assert_eq!(run.tb.status(), Status::NeedsReview);
}

#[test]
fn foreign_affiliates_are_separate_entities() {
    let profiles = with_entities(
        vec![
            us("term", "Terminus Wireless"),
            us("bravo", "Bravo Long Distance"),
            abroad("bravo-intl", "Bravo International", "GB"),
            us("bravo-2", "Bravo Wholesale"),
        ],
        &[("bravo", "bravo-intl"), ("bravo", "bravo-2")],
    );
    let [term, bravo, bravo_intl, bravo2] = profiles.as_slice() else { unreachable!() };
    assert_eq!(bravo2.entity, bravo.entity);
    assert_ne!(bravo_intl.entity, bravo.entity);

    let mut run = Run::start(term);
    run.trace(&[term, bravo, bravo_intl]);
    let hop = run.hop_for(bravo_intl);
    assert!(hop.counts_as_hop, "a foreign affiliate is its own entity");
    assert_eq!(run.tb.hop_count(), 3);
    assert_eq!(run.labels_of(bravo), [Label::UsPointOfEntry]);
    assert_eq!(run.labels_of(bravo_intl), [Label::ForeignPointOfDeparture]);
    // And the U.S. affiliate beyond the foreign one is a loop of bravo's entity.
    let events = run.answers(bravo_intl, upstream(bravo2));
    assert_eq!(kinds(&events), ["hop_answered", "review_requested"]);
}

#[test]
fn the_hop_limit_holds_the_next_entity_for_review() {
    let c = Cast::new();
    let chain = [&c.term, &c.alpha, &c.charlie, &c.delta, &c.maple, &c.tango];
    for limit in 1..=4u32 {
        let mut run = Run::start_with(&c.term, policy(limit, true));
        let limit_hops = limit as usize;
        // The first `limit` providers get hops.
        run.trace(&chain[..limit_hops]);
        assert_eq!(run.tb.hop_count(), limit_hops);
        let last = chain[limit_hops - 1];
        let next = chain[limit_hops];
        let events = run.answers(last, upstream(next));
        assert_eq!(kinds(&events), ["hop_answered", "review_requested"], "limit {limit}");
        let review = run.tb.review.as_ref().expect("review");
        assert_eq!(review.reason, ReviewReason::HopLimit);
        assert_eq!(review.pending.as_ref().map(|p| &p.id), Some(&next.id));
        assert_eq!(run.tb.status(), Status::NeedsReview);
        assert_eq!(run.tb.hops.len(), limit_hops);
    }
}

#[test]
fn an_affiliate_at_the_hop_limit_still_continues() {
    let c = Cast::new();
    let mut run = Run::start_with(&c.term, policy(2, true));
    run.trace(&[&c.term, &c.bravo]);
    let events = run.names(&c.bravo, &c.bravo2);
    assert_eq!(requests(&events), [(HopId(2), RequestCause::First)]);
    assert_eq!(run.tb.status(), Status::Open);
    let events = run.names(&c.bravo2, &c.charlie);
    assert_eq!(kinds(&events), ["hop_answered", "review_requested"]);
}

// ---- TB-4: labels -----------------------------------------------------------------------------

#[test]
fn a_call_entering_the_us_twice_has_two_points_of_entry() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.albion, &c.alpha, &c.maple, &c.charlie]);
    run.answers(&c.charlie, originated("Domestic Dialer Co"));
    let expected: [(&_, &[Label]); 5] = [
        (&c.term, &[Label::UsPointOfEntry]),
        (&c.albion, &[Label::ForeignPointOfDeparture]),
        (&c.alpha, &[Label::UsPointOfEntry]),
        (&c.maple, &[Label::ForeignPointOfDeparture]),
        (&c.charlie, &[Label::UsOrigin]),
    ];
    for (provider, labels) in expected {
        assert_eq!(run.labels_of(provider), labels, "{}", provider.id);
    }
    assert_eq!(run.tb.outcome(), Some(Outcome::OriginIdentified { origin: Origin::Us }));
}

#[test]
fn origin_labels_follow_the_originators_foreign_flag() {
    let c = Cast::new();
    // (path, originator labels, outcome origin)
    let foreign_after_foreign = vec![&c.term, &c.albion, &c.tango];
    let foreign_after_us = vec![&c.term, &c.albion];
    let us_after_us = vec![&c.term, &c.alpha];
    let cases: [(Vec<_>, Vec<Label>, Origin); 3] = [
        (foreign_after_foreign, vec![Label::InternationalOrigin], Origin::International),
        (foreign_after_us, vec![Label::InternationalOrigin, Label::ForeignPointOfDeparture], Origin::International),
        (us_after_us, vec![Label::UsOrigin], Origin::Us),
    ];
    for (path, labels, origin) in cases {
        let mut run = Run::start(&c.term);
        run.trace(&path);
        let originator = path[path.len() - 1];
        run.answers(originator, originated("Global Leads SA"));
        assert_eq!(run.labels_of(originator), labels, "{}", originator.id);
        assert_eq!(run.tb.outcome(), Some(Outcome::OriginIdentified { origin }));
    }
}

#[test]
fn a_foreign_point_of_departure_that_never_answers_is_also_no_response() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.albion]);
    run.let_expire(&c.albion);
    assert_eq!(run.labels_of(&c.albion), [Label::ForeignPointOfDeparture, Label::NoResponse]);
    assert_eq!(run.labels_of(&c.term), [Label::UsPointOfEntry]);
    assert_eq!(run.tb.outcome(), Some(Outcome::NonResponsive));
}

#[test]
fn labels_use_the_foreign_flag_recorded_on_the_hop() {
    let c = Cast::new();
    // Canadian by address, but staff overrode the flag: treated as U.S.
    let domestic_maple = abroad("maple-us", "Maple Domestic", "CA").foreign_flag(false);
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &domestic_maple, &c.albion]);
    assert_eq!(run.labels_of(&c.term), Vec::<Label>::new());
    assert_eq!(run.labels_of(&domestic_maple), [Label::UsPointOfEntry]);
    assert_eq!(run.labels_of(&c.albion), [Label::ForeignPointOfDeparture]);
}

#[test]
fn route_labels_leave_a_hop_set_aside_but_its_own_fate_stays() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.albion]);
    run.answers(&c.albion, not_found(NotFoundReason::NotOurCall));
    assert_eq!(run.labels_of(&c.albion), [Label::ForeignPointOfDeparture, Label::NotFound]);
    run.ok(staff(), redirect(HopId(0), "albion says not its call"));
    assert_eq!(run.labels_of(&c.albion), [Label::NotFound]);
    assert_eq!(run.labels_of(&c.term), Vec::<Label>::new());
}

// ---- TB-11: outcomes --------------------------------------------------------------------------

#[test]
fn outcomes_table() {
    type Scenario = fn(&Cast, &mut Run);
    let cases: [(&str, Scenario, Option<Outcome>); 7] = [
        ("still open", |_, _| {}, None),
        (
            "us origin",
            |c, run| {
                run.trace(&[&c.term, &c.alpha]);
                run.answers(&c.alpha, originated("Dialer One"));
            },
            Some(Outcome::OriginIdentified { origin: Origin::Us }),
        ),
        (
            "international origin",
            |c, run| {
                run.trace(&[&c.term, &c.tango]);
                run.answers(&c.tango, originated("Dialer Dos"));
            },
            Some(Outcome::OriginIdentified { origin: Origin::International }),
        ),
        (
            "non responsive",
            |c, run| {
                run.trace(&[&c.term, &c.alpha]);
                run.let_expire(&c.alpha);
            },
            Some(Outcome::NonResponsive),
        ),
        (
            "not found",
            |c, run| {
                run.answers(&c.term, not_found(NotFoundReason::NotInRecords));
            },
            Some(Outcome::NotFound),
        ),
        (
            "withdrawn while waiting",
            |c, run| {
                run.trace(&[&c.term, &c.alpha]);
                run.ok(staff(), close("requester withdrew"));
            },
            Some(Outcome::Withdrawn),
        ),
        (
            "withdrawn while held for review",
            |c, run| {
                run.trace(&[&c.term, &c.alpha]);
                run.names(&c.alpha, &c.term);
                run.ok(staff(), close("loop confirmed, nothing more to learn"));
            },
            Some(Outcome::Withdrawn),
        ),
    ];
    for (name, scenario, outcome) in cases {
        let c = Cast::new();
        let mut run = Run::start(&c.term);
        scenario(&c, &mut run);
        assert_eq!(run.tb.outcome(), outcome, "{name}");
        assert_eq!(run.tb.is_closed(), outcome.is_some(), "{name}");
    }
}

// ---- TB-5, TB-6: deadlines --------------------------------------------------------------------

#[test]
fn the_respond_by_passing_makes_the_hop_non_responsive_and_closes() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha]);
    let hop = run.hop_of(&c.alpha);
    // A timer that fires early, or at the deadline itself, does nothing: the deadline is met by
    // anything done at or before it.
    for at in [t0() + hours(23), t0() + hours(24)] {
        run.set_now(at);
        assert!(run.ok(system(), elapsed(hop, DeadlineKind::RespondBy)).is_empty(), "{at}");
        assert_eq!(run.hop(hop).state, HopState::Open);
    }
    run.set_now(t0() + hours(24) + SignedDuration::from_micros(1));
    let events = run.ok(system(), elapsed(hop, DeadlineKind::RespondBy));
    assert_eq!(kinds(&events), ["hop_expired", "closed"]);
    assert_eq!(run.hop(hop).state, HopState::Expired);
    assert_eq!(run.hop(hop).expirations, 1);
    assert_eq!(run.tb.status(), Status::Closed);
    assert_eq!(run.tb.outcome(), Some(Outcome::NonResponsive));
    assert_eq!(run.labels_of(&c.alpha), [Label::NoResponse]);
    // Firing again changes nothing.
    assert!(run.ok(system(), elapsed(hop, DeadlineKind::RespondBy)).is_empty());
}

#[test]
fn without_close_on_no_response_the_traceback_waits_for_review() {
    let c = Cast::new();
    let mut run = Run::start_with(&c.term, policy(30, false));
    run.trace(&[&c.term, &c.alpha]);
    let events = run.let_expire(&c.alpha);
    assert_eq!(kinds(&events), ["hop_expired", "review_requested"]);
    assert_eq!(run.tb.status(), Status::NeedsReview);
    let review = run.tb.review.as_ref().expect("review");
    assert_eq!(review.reason, ReviewReason::NoResponse);
    assert_eq!(review.hop, HopId(1));
    assert_eq!(review.pending, None);
    assert_eq!(run.tb.outcome(), None);
    assert_eq!(run.labels_of(&c.alpha), [Label::NoResponse]);
}

#[test]
fn only_the_platform_fires_deadlines() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.set_now(t0() + hours(25));
    for actor in [staff(), by(&c.term)] {
        assert_eq!(run.refused(actor, elapsed(HopId(0), DeadlineKind::RespondBy)), Rejection::SystemOnly);
    }
}

#[test]
fn a_missed_start_by_is_recorded_once_and_only_if_not_acknowledged() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let start_by = run.hop(HopId(0)).request.expect("notified").start_by;
    run.set_now(start_by - minutes(1));
    assert!(run.ok(system(), elapsed(HopId(0), DeadlineKind::StartBy)).is_empty());
    run.set_now(start_by);
    assert!(run.ok(system(), elapsed(HopId(0), DeadlineKind::StartBy)).is_empty(), "met at the deadline itself");
    run.advance(SignedDuration::from_micros(1));
    let events = run.ok(system(), elapsed(HopId(0), DeadlineKind::StartBy));
    assert_eq!(kinds(&events), ["start_by_missed"]);
    assert!(run.hop(HopId(0)).start_by_missed);
    // Still open: a missed start-by is a best-practice lapse, not an expiry.
    assert_eq!(run.hop(HopId(0)).state, HopState::Open);
    assert_eq!(run.tb.status(), Status::Open);
    assert!(run.ok(system(), elapsed(HopId(0), DeadlineKind::StartBy)).is_empty());

    let mut acknowledged = Run::start(&c.term);
    acknowledged.ok(by(&c.term), Action::Acknowledge { hop: HopId(0) });
    acknowledged.set_now(start_by + hours(1));
    assert!(acknowledged.ok(system(), elapsed(HopId(0), DeadlineKind::StartBy)).is_empty());
    assert!(!acknowledged.hop(HopId(0)).start_by_missed);
}

#[test]
fn a_stale_timer_after_an_extension_is_a_no_op() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let old = run.hop(HopId(0)).request.expect("notified").respond_by;
    let new = old + hours(48);
    run.advance(hours(20));
    let events =
        run.ok(staff(), Action::Extend { hop: HopId(0), respond_by: new, reason: reason("provider's NOC migrating") });
    assert_eq!(kinds(&events), ["deadline_extended"]);
    let hop = run.hop(HopId(0));
    assert_eq!(hop.request.expect("notified").respond_by, new);
    assert_eq!(hop.extensions.len(), 1);
    assert_eq!(hop.extensions[0].from, old);
    assert_eq!(hop.extensions[0].to, new);
    assert_eq!(hop.extensions[0].reason, "provider's NOC migrating");

    run.set_now(old);
    assert!(run.ok(system(), elapsed(HopId(0), DeadlineKind::RespondBy)).is_empty());
    assert_eq!(run.hop(HopId(0)).state, HopState::Open);
    run.set_now(new + minutes(1));
    let events = run.ok(system(), elapsed(HopId(0), DeadlineKind::RespondBy));
    assert_eq!(kinds(&events), ["hop_expired", "closed"]);
}

#[test]
fn an_answer_at_the_very_deadline_is_in_time() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let due = run.hop(HopId(0)).request.expect("notified").respond_by;
    run.set_now(due);
    run.names(&c.term, &c.alpha);
    assert!(run.ok(system(), elapsed(HopId(0), DeadlineKind::RespondBy)).is_empty());
    assert_eq!(run.hop(HopId(0)).state, HopState::Answered);
    assert_eq!(run.tb.status(), Status::Open);
}

#[test]
fn extensions_are_staff_only_later_and_explained() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let current = run.hop(HopId(0)).request.expect("notified").respond_by;
    let extend = |respond_by, why: &str| Action::Extend { hop: HopId(0), respond_by, reason: reason(why) };
    assert_eq!(run.refused(by(&c.term), extend(current + hours(1), "please")), Rejection::StaffOnly);
    assert_eq!(invalid_field(&run.refused(staff(), extend(current + hours(1), "  "))), "reason");
    for requested in [current, current - hours(1)] {
        assert_eq!(
            run.refused(staff(), extend(requested, "typo")),
            Rejection::ExtensionNotLater { current, requested }
        );
    }
    assert_eq!(
        run.refused(staff(), Action::Extend { hop: HopId(5), respond_by: current + hours(1), reason: reason("x") }),
        Rejection::UnknownHop(HopId(5))
    );
    run.names(&c.term, &c.alpha);
    assert_eq!(
        run.refused(staff(), extend(current + hours(1), "too late")),
        Rejection::HopNotOpen { hop: HopId(0), state: "answered" }
    );
    run.ok(staff(), close("done"));
    assert_eq!(
        run.refused(staff(), Action::Extend { hop: HopId(1), respond_by: current + hours(5), reason: reason("x") }),
        Rejection::Closed
    );
}

// ---- TB-8: redirect, close, reopen ------------------------------------------------------------

#[test]
fn redirect_asks_the_hop_again_and_reopens_a_closed_traceback() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha, &c.charlie]);
    run.answers(&c.charlie, not_found(NotFoundReason::NotOurCall));
    assert_eq!(run.tb.status(), Status::Closed);

    run.advance(hours(2));
    let events = run.ok(staff(), redirect(HopId(1), "charlie: not our call"));
    assert_eq!(kinds(&events), ["hop_redirected", "hop_notified"]);
    assert_eq!(requests(&events), [(HopId(1), RequestCause::Redirect)]);
    let Change::HopRedirected { superseded, .. } = &events[0].change else {
        panic!("hop_redirected first");
    };
    assert_eq!(superseded, &[HopId(2)]);

    assert_eq!(run.tb.status(), Status::Open);
    assert_eq!(run.tb.outcome(), None);
    let alpha = run.hop(HopId(1));
    assert_eq!(alpha.requests, 2);
    assert_eq!(alpha.state, HopState::Open);
    assert_eq!(alpha.answer, None);
    assert_eq!(alpha.upstream, None);
    assert_eq!(alpha.earlier_answers.len(), 1);
    assert_eq!(alpha.earlier_answers[0].answer.kind(), "upstream");
    assert_eq!(alpha.request.expect("re-requested").notified_at, t0() + hours(2));
    assert!(run.hop(HopId(2)).superseded);
    assert_eq!(run.path_ids(), ["term", "alpha"]);

    // Alpha answers again; naming charlie again is no loop, charlie left the path.
    let events = run.names(&c.alpha, &c.charlie);
    assert_eq!(requests(&events), [(HopId(3), RequestCause::First)]);
    assert_eq!(run.hop_of(&c.charlie), HopId(3));
    assert_eq!(run.path_ids(), ["term", "alpha", "charlie"]);
}

#[test]
fn redirect_cancels_the_waiting_hops_it_sets_aside() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha, &c.charlie, &c.delta]);
    let events = run.ok(staff(), redirect(HopId(0), "wrong trunk"));
    assert_eq!(kinds(&events), ["hop_redirected", "hop_cancelled", "hop_notified"]);
    let Change::HopRedirected { superseded, .. } = &events[0].change else {
        panic!("hop_redirected first");
    };
    assert_eq!(superseded, &[HopId(1), HopId(2), HopId(3)]);
    assert_eq!(events[1].change.hop(), Some(HopId(3)));
    assert_eq!(run.hop(HopId(3)).state, HopState::Cancelled);
    assert_eq!(run.hop(HopId(1)).state, HopState::Answered);
    assert!([1, 2, 3].iter().all(|&i| run.hop(HopId(i)).superseded));
    assert_eq!(
        run.refused(by(&c.delta), answer(HopId(3), originated("Too Late LLC"))),
        Rejection::HopNotOpen { hop: HopId(3), state: "cancelled" }
    );
    // A hop set aside is no longer in the path and cannot itself be redirected.
    assert_eq!(run.refused(staff(), redirect(HopId(2), "x")), Rejection::NotInPath(HopId(2)));
}

#[test]
fn redirect_is_staff_only_with_a_reason() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha]);
    assert_eq!(run.refused(by(&c.term), redirect(HopId(0), "mine")), Rejection::StaffOnly);
    assert_eq!(invalid_field(&run.refused(staff(), redirect(HopId(0), ""))), "reason");
    assert_eq!(run.refused(staff(), redirect(HopId(7), "x")), Rejection::UnknownHop(HopId(7)));
}

#[test]
fn close_cancels_waiting_hops_and_withdraws() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha]);
    assert_eq!(run.refused(by(&c.term), close("we want out")), Rejection::StaffOnly);
    assert_eq!(invalid_field(&run.refused(staff(), close(" "))), "reason");
    let events = run.ok(staff(), close("requester withdrew"));
    assert_eq!(kinds(&events), ["hop_cancelled", "closed"]);
    assert_eq!(run.hop(HopId(1)).state, HopState::Cancelled);
    assert_eq!(run.tb.outcome(), Some(Outcome::Withdrawn));
    let closure = run.tb.closure.as_ref().expect("closed");
    assert_eq!(closure.reason, "requester withdrew");
    assert_eq!(run.refused(staff(), close("again")), Rejection::Closed);
    // Timers of the cancelled hop do nothing.
    run.set_now(t0() + hours(30));
    assert!(run.ok(system(), elapsed(HopId(1), DeadlineKind::RespondBy)).is_empty());
}

#[test]
fn reopen_asks_the_frontier_again() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha]);
    run.ok(staff(), close("paused"));
    run.advance(hours(72));
    let events = run.ok(staff(), reopen("new evidence"));
    assert_eq!(kinds(&events), ["reopened", "hop_notified"]);
    assert_eq!(requests(&events), [(HopId(1), RequestCause::Reopen)]);
    let alpha = run.hop(HopId(1));
    assert_eq!(alpha.state, HopState::Open);
    assert_eq!(alpha.requests, 2);
    let request = alpha.request.expect("re-requested");
    assert_eq!(request.notified_at, t0() + hours(72));
    assert_eq!(request.respond_by, t0() + hours(96));
    assert_eq!(run.tb.status(), Status::Open);
    assert_eq!(run.tb.outcome(), None);
    // The reopened hop answers normally.
    run.answers(&c.alpha, originated("Reopened Dialer"));
    assert_eq!(run.tb.outcome(), Some(Outcome::OriginIdentified { origin: Origin::Us }));
}

#[test]
fn reopen_after_an_origin_keeps_the_earlier_answer() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha]);
    run.answers(&c.alpha, originated("First Story Inc"));
    run.ok(staff(), reopen("customer name looks false"));
    let alpha = run.hop(HopId(1));
    assert_eq!(alpha.answer, None);
    assert_eq!(alpha.earlier_answers.len(), 1);
    assert_eq!(alpha.earlier_answers[0].answer.kind(), "originated");
    assert_eq!(run.labels_of(&c.alpha), Vec::<Label>::new());
}

#[test]
fn reopen_after_no_response_review_asks_the_expired_hop_again() {
    let c = Cast::new();
    let mut run = Run::start_with(&c.term, policy(30, false));
    run.trace(&[&c.term, &c.alpha]);
    run.let_expire(&c.alpha);
    let events = run.ok(staff(), reopen("found a new contact"));
    assert_eq!(requests(&events), [(HopId(1), RequestCause::Reopen)]);
    assert_eq!(run.tb.status(), Status::Open);
    let alpha = run.hop(HopId(1));
    assert_eq!(alpha.state, HopState::Open);
    assert_eq!(alpha.expirations, 1);
}

#[test]
fn reopen_is_refused_while_open_and_for_providers() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    assert_eq!(run.refused(staff(), reopen("why")), Rejection::NotReopenable);
    run.ok(staff(), close("x"));
    assert_eq!(run.refused(by(&c.term), reopen("please")), Rejection::StaffOnly);
    assert_eq!(invalid_field(&run.refused(staff(), reopen(""))), "reason");
}

#[test]
fn reopen_resumes_the_upstream_held_for_review() {
    let c = Cast::new();
    // (policy, path before the held answer, the held upstream, why)
    let loop_case = (policy(30, true), vec![&c.term, &c.alpha, &c.charlie], &c.alpha, ReviewReason::Loop);
    let limit_case = (policy(2, true), vec![&c.term, &c.alpha], &c.charlie, ReviewReason::HopLimit);
    for (policy, path, held, why) in [loop_case, limit_case] {
        let mut run = Run::start_with(&c.term, policy);
        run.trace(&path);
        let last = path[path.len() - 1];
        run.answers(last, upstream(held));
        assert_eq!(run.tb.review.as_ref().map(|r| r.reason), Some(why));
        let from = run.hop_of(last);

        let events = run.ok(staff(), reopen("checked: a real second pass"));
        assert_eq!(kinds(&events), ["reopened", "hop_opened", "hop_notified"], "{why:?}");
        let new = HopId(u32::try_from(path.len()).expect("small"));
        assert_eq!(requests(&events), [(new, RequestCause::First)]);
        assert_eq!(run.tb.status(), Status::Open, "{why:?}");
        assert_eq!(run.tb.review, None);
        let opened = run.hop(new);
        assert_eq!(opened.provider.id, held.id);
        assert_eq!(opened.named_by, Some(from));
        assert_eq!(run.hop(from).upstream, Some(new));
    }
}

// ---- TB-9: disputes and strike exemption ------------------------------------------------------

#[test]
fn any_provider_in_the_path_may_dispute_even_after_close() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha, &c.charlie]);
    run.answers(&c.charlie, originated("Disputed Dialer"));
    assert!(run.tb.is_closed());
    for (i, provider) in [&c.term, &c.alpha, &c.charlie].into_iter().enumerate() {
        let hop = run.hop_of(provider);
        let events = run.ok(by(provider), dispute(hop, "the call was consented"));
        assert_eq!(kinds(&events), ["dispute_filed"]);
        let filed = &run.tb.disputes[i];
        assert_eq!(filed.id, DisputeId(u32::try_from(i).expect("small")));
        assert_eq!(filed.provider, provider.id);
        assert_eq!(filed.hop, hop);
        assert_eq!(filed.review, None);
    }
    assert_eq!(run.refused(by(&c.outsider), dispute(HopId(0), "not involved")), Rejection::NoHopInTraceback);
    assert_eq!(run.refused(by(&c.alpha), dispute(HopId(0), "theirs")), Rejection::NotYourHop(HopId(0)));
    assert_eq!(invalid_field(&run.refused(by(&c.outsider), dispute(HopId(0), " "))), "grounds");
}

#[test]
fn a_second_pending_dispute_is_refused_until_reviewed() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.ok(by(&c.term), dispute(HopId(0), "first"));
    assert_eq!(run.refused(by(&c.term), dispute(HopId(0), "second")), Rejection::DisputePending);
    run.ok(staff(), review(0, false, "basis is sound"));
    let events = run.ok(by(&c.term), dispute(HopId(0), "second, with evidence"));
    assert_eq!(kinds(&events), ["dispute_filed"]);
    assert_eq!(run.tb.disputes.len(), 2);
}

#[test]
fn accepting_a_dispute_marks_the_traceback_strike_exempt() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.ok(by(&c.term), dispute(HopId(0), "test call by our own QA"));
    assert_eq!(run.refused(by(&c.term), review(0, true, "mine")), Rejection::StaffOnly);
    let events = run.ok(staff(), review(0, true, "confirmed QA test call"));
    assert_eq!(kinds(&events), ["dispute_reviewed", "strike_exempt_marked"]);
    let exempt = run.tb.strike_exempt.as_ref().expect("strike exempt");
    assert_eq!(exempt.reason, StrikeExemptReason::AcceptedDispute);
    assert_eq!(exempt.note, "confirmed QA test call");
    let reviewed = run.tb.disputes[0].review.as_ref().expect("reviewed");
    assert!(reviewed.accepted);
    assert_eq!(
        run.refused(staff(), review(0, false, "changed my mind")),
        Rejection::DisputeAlreadyReviewed(DisputeId(0))
    );
    assert_eq!(run.refused(staff(), review(4, true, "x")), Rejection::UnknownDispute(DisputeId(4)));
    // A second accepted dispute keeps the first exemption.
    run.ok(by(&c.term), dispute(HopId(0), "another"));
    let events = run.ok(staff(), review(1, true, ""));
    assert_eq!(kinds(&events), ["dispute_reviewed"]);
    assert_eq!(run.tb.strike_exempt.as_ref().map(|s| s.note.as_str()), Some("confirmed QA test call"));
}

#[test]
fn a_rejected_dispute_keeps_every_record() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.ok(by(&c.term), dispute(HopId(0), "we think it was lawful"));
    let events = run.ok(staff(), review(0, false, "the campaign is fraudulent"));
    assert_eq!(kinds(&events), ["dispute_reviewed"]);
    assert_eq!(run.tb.strike_exempt, None);
    let kept = &run.tb.disputes[0];
    assert_eq!(kept.grounds, "we think it was lawful");
    let reviewed = kept.review.as_ref().expect("reviewed");
    assert!(!reviewed.accepted);
    assert_eq!(reviewed.note, "the campaign is fraudulent");
    assert!(reviewed.by.is_staff());
}

#[test]
fn strike_exempt_is_marked_by_staff_once() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let mark = |note: &str| Action::MarkStrikeExempt { reason: StrikeExemptReason::TechnicalError, note: note.into() };
    assert_eq!(run.refused(by(&c.term), mark("please")), Rejection::StaffOnly);
    assert_eq!(invalid_field(&run.refused(staff(), mark(""))), "note");
    let events = run.ok(staff(), mark("wrong CDR export"));
    assert_eq!(kinds(&events), ["strike_exempt_marked"]);
    let exempt = run.tb.strike_exempt.as_ref().expect("exempt");
    assert_eq!(exempt.reason, StrikeExemptReason::TechnicalError);
    assert_eq!(exempt.note, "wrong CDR export");
    assert_eq!(run.refused(staff(), mark("again")), Rejection::AlreadyStrikeExempt);
}

// ---- TB-8: comments ---------------------------------------------------------------------------

#[test]
fn who_may_comment_where() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha]);
    // A provider comments on its own hops only.
    assert_eq!(invalid_field(&run.refused(by(&c.term), comment(None, "general remark", Visibility::StaffOnly))), "hop");
    assert_eq!(
        run.refused(by(&c.term), comment(Some(HopId(1)), "about alpha", Visibility::HopParties)),
        Rejection::NotYourHop(HopId(1))
    );
    assert_eq!(
        run.refused(by(&c.outsider), comment(Some(HopId(0)), "hello", Visibility::StaffOnly)),
        Rejection::NoHopInTraceback
    );
    assert_eq!(run.refused(system(), comment(Some(HopId(0)), "beep", Visibility::StaffOnly)), Rejection::StaffOnly);
    assert_eq!(invalid_field(&run.refused(by(&c.term), comment(Some(HopId(0)), "  ", Visibility::StaffOnly))), "text");
    // Staff: a comment for a hop's parties must name the hop.
    assert_eq!(invalid_field(&run.refused(staff(), comment(None, "all", Visibility::HopParties))), "visibility");
    run.ok(staff(), comment(None, "internal note", Visibility::StaffOnly));
    run.ok(staff(), comment(Some(HopId(1)), "to alpha and term", Visibility::HopParties));
    run.ok(by(&c.alpha), comment(Some(HopId(1)), "looking", Visibility::HopParties));
    // Comments are allowed after close (everything is logged).
    run.ok(staff(), close("done"));
    run.ok(by(&c.term), comment(Some(HopId(0)), "thanks", Visibility::StaffOnly));
    let recorded: Vec<_> = run.tb.comments.iter().map(|c| (c.id.0, c.hop, c.visibility, c.author.is_staff())).collect();
    assert_eq!(
        recorded,
        [
            (0, None, Visibility::StaffOnly, true),
            (1, Some(HopId(1)), Visibility::HopParties, true),
            (2, Some(HopId(1)), Visibility::HopParties, false),
            (3, Some(HopId(0)), Visibility::StaffOnly, false),
        ]
    );
}

// ---- TB-5: reminders --------------------------------------------------------------------------

fn remind(hop: HopId, deadline: DeadlineKind) -> Action {
    Action::RecordReminder { hop, deadline, due: None }
}

#[test]
fn a_reminder_is_recorded_once_per_deadline_value() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let request = run.hop(HopId(0)).request.expect("notified");
    run.advance(hours(2));
    for deadline in [DeadlineKind::StartBy, DeadlineKind::RespondBy] {
        let events = run.ok(system(), remind(HopId(0), deadline));
        assert_eq!(kinds(&events), ["reminder_sent"], "{deadline:?}");
        let due = match deadline {
            DeadlineKind::StartBy => request.start_by,
            DeadlineKind::RespondBy => request.respond_by,
        };
        assert!(matches!(
            events[0].change,
            Change::ReminderSent { due: d, deadline: k, .. } if d == due && k == deadline
        ));
        assert!(run.ok(system(), remind(HopId(0), deadline)).is_empty(), "{deadline:?} twice");
    }
    assert_eq!(run.refused(staff(), remind(HopId(0), DeadlineKind::RespondBy)), Rejection::SystemOnly);
    // A new respond-by value earns a new reminder.
    let extended = request.respond_by + hours(12);
    run.ok(staff(), Action::Extend { hop: HopId(0), respond_by: extended, reason: reason("holiday") });
    let events = run.ok(system(), remind(HopId(0), DeadlineKind::RespondBy));
    assert!(matches!(
        events.as_slice(),
        [e] if matches!(e.change, Change::ReminderSent { due, .. } if due == extended)
    ));
    assert_eq!(run.hop(HopId(0)).reminders.len(), 3);
}

#[test]
fn a_reminder_set_for_a_deadline_that_moved_sends_nothing() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let request = run.hop(HopId(0)).request.expect("notified");
    let extended = request.respond_by + hours(12);
    run.ok(staff(), Action::Extend { hop: HopId(0), respond_by: extended, reason: reason("holiday") });
    run.advance(hours(20));
    // The timer set for the old respond-by fires four hours before it: the deadline moved.
    let stale =
        Action::RecordReminder { hop: HopId(0), deadline: DeadlineKind::RespondBy, due: Some(request.respond_by) };
    assert!(run.ok(system(), stale).is_empty());
    // The one set for the new respond-by still goes out.
    let current = Action::RecordReminder { hop: HopId(0), deadline: DeadlineKind::RespondBy, due: Some(extended) };
    assert_eq!(kinds(&run.ok(system(), current)), ["reminder_sent"]);
}

#[test]
fn no_reminder_once_the_deadline_no_longer_applies() {
    let c = Cast::new();
    // Acknowledged: no start-by reminder; still a respond-by one.
    let mut run = Run::start(&c.term);
    run.ok(by(&c.term), Action::Acknowledge { hop: HopId(0) });
    assert!(run.ok(system(), remind(HopId(0), DeadlineKind::StartBy)).is_empty());
    assert_eq!(run.ok(system(), remind(HopId(0), DeadlineKind::RespondBy)).len(), 1);
    // Answered: nothing.
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    for deadline in [DeadlineKind::StartBy, DeadlineKind::RespondBy] {
        assert!(run.ok(system(), remind(HopId(0), deadline)).is_empty());
    }
    // Past the deadline: nothing.
    let mut run = Run::start(&c.term);
    run.advance(hours(24));
    assert!(run.ok(system(), remind(HopId(0), DeadlineKind::RespondBy)).is_empty());
    // Never notified: nothing.
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha.clone().not_contactable());
    assert!(run.ok(system(), remind(HopId(1), DeadlineKind::RespondBy)).is_empty());
}

// ---- TB-5: deemed receipt ---------------------------------------------------------------------

#[test]
fn deadlines_of_a_flagged_provider_count_from_its_next_opening() {
    let c = Cast::new();
    let flagged = c.alpha.clone().deemed_receipt();
    // (notified at, received at, start_by, respond_by)
    let cases = [
        // Monday 18:30 New York -> Tuesday 08:00.
        ("2026-03-02T23:30:00Z", "2026-03-03T13:00:00Z", "2026-03-03T17:00:00Z", "2026-03-04T13:00:00Z"),
        // Friday evening before Memorial Day -> Tuesday 08:00 EDT.
        ("2026-05-22T22:30:00Z", "2026-05-26T12:00:00Z", "2026-05-26T16:00:00Z", "2026-05-27T12:00:00Z"),
        // Inside business hours: no deferral.
        ("2026-03-03T15:00:00Z", "2026-03-03T15:00:00Z", "2026-03-03T19:00:00Z", "2026-03-04T15:00:00Z"),
    ];
    for (notified, received, start_by, respond_by) in cases {
        let mut run = Run::start(&c.term);
        run.set_now(ts(notified));
        run.names(&c.term, &flagged);
        let request = run.hop_for(&flagged).request.expect("notified");
        assert_eq!(request.notified_at, ts(notified));
        assert_eq!(request.received_at, ts(received), "{notified}");
        assert_eq!(request.start_by, ts(start_by), "{notified}");
        assert_eq!(request.respond_by, ts(respond_by), "{notified}");
    }

    // The unflagged provider at the same moment counts from the notification.
    let mut run = Run::start(&c.term);
    run.set_now(ts("2026-03-02T23:30:00Z"));
    run.names(&c.term, &c.alpha);
    let request = run.hop_for(&c.alpha).request.expect("notified");
    assert_eq!(request.received_at, ts("2026-03-02T23:30:00Z"));
    assert_eq!(request.respond_by, ts("2026-03-03T23:30:00Z"));
}

#[test]
fn the_respond_by_timer_honours_deemed_receipt() {
    let c = Cast::new();
    let flagged = c.alpha.clone().deemed_receipt();
    let mut run = Run::start(&c.term);
    run.set_now(ts("2026-03-02T23:30:00Z"));
    run.names(&c.term, &flagged);
    let hop = run.hop_of(&flagged);
    // 24 hours after notification the deemed deadline has not passed.
    run.set_now(ts("2026-03-03T23:30:00Z"));
    assert!(run.ok(system(), elapsed(hop, DeadlineKind::RespondBy)).is_empty());
    run.set_now(ts("2026-03-04T13:00:01Z"));
    let events = run.ok(system(), elapsed(hop, DeadlineKind::RespondBy));
    assert_eq!(kinds(&events), ["hop_expired", "closed"]);
}

// ---- hops of providers that cannot be reached -------------------------------------------------

#[test]
fn a_hop_for_a_provider_without_contact_waits_for_staff_to_notify() {
    let c = Cast::new();
    let silent = c.alpha.clone().not_contactable();
    let mut run = Run::start(&c.term);
    let events = run.names(&c.term, &silent);
    assert_eq!(kinds(&events), ["hop_answered", "hop_opened"]);
    let hop = run.hop_of(&silent);
    assert_eq!(run.hop(hop).requests, 0);
    assert_eq!(run.hop(hop).request, None);
    // No deadline runs and none can be extended.
    run.advance(hours(48));
    for deadline in [DeadlineKind::StartBy, DeadlineKind::RespondBy] {
        assert!(run.ok(system(), elapsed(hop, deadline)).is_empty());
    }
    assert_eq!(run.tb.status(), Status::Open);
    assert_eq!(
        run.refused(staff(), Action::Extend { hop, respond_by: run.now + hours(1), reason: reason("x") }),
        Rejection::NotNotified(hop)
    );
    assert_eq!(run.refused(by(&silent), Action::Notify { hop }), Rejection::StaffOnly);

    let events = run.ok(staff(), Action::Notify { hop });
    assert_eq!(requests(&events), [(hop, RequestCause::First)]);
    let request = run.hop(hop).request.expect("notified now");
    assert_eq!(request.notified_at, run.now);
    assert_eq!(run.hop(hop).requests, 1);
    assert_eq!(run.refused(staff(), Action::Notify { hop }), Rejection::AlreadyNotified(hop));
    assert_eq!(run.refused(system(), Action::Notify { hop }), Rejection::AlreadyNotified(hop));
}

#[test]
fn a_late_notification_of_a_flagged_provider_counts_from_its_next_opening() {
    let c = Cast::new();
    let silent = c.alpha.clone().not_contactable().deemed_receipt();
    let mut run = Run::start(&c.term);
    run.names(&c.term, &silent);
    let hop = run.hop_of(&silent);
    // Staff find a contact and notify it on Friday evening: deemed received Monday 08:00.
    run.set_now(ts("2026-03-06T23:00:00Z"));
    run.ok(staff(), Action::Notify { hop });
    let request = run.hop(hop).request.expect("notified");
    assert_eq!(request.notified_at, ts("2026-03-06T23:00:00Z"));
    assert_eq!(request.received_at, ts("2026-03-09T12:00:00Z"));
    assert_eq!(request.start_by, ts("2026-03-09T16:00:00Z"));
    assert_eq!(request.respond_by, ts("2026-03-10T12:00:00Z"));
}

#[test]
fn a_terminating_provider_without_contact_is_not_notified_at_start() {
    let c = Cast::new();
    let run = Run::start(&c.term.clone().not_contactable());
    assert_eq!(kinds(&run.events), ["started", "hop_opened"]);
    assert_eq!(run.hop(HopId(0)).request, None);
}

// ---- recording --------------------------------------------------------------------------------

#[test]
fn staff_share_the_recording_once_per_change() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    assert_eq!(run.refused(by(&c.term), Action::ShareRecording { shared: true }), Rejection::StaffOnly);
    assert_eq!(kinds(&run.ok(staff(), Action::ShareRecording { shared: true })), ["recording_shared"]);
    assert!(run.tb.recording_shared);
    assert!(run.ok(staff(), Action::ShareRecording { shared: true }).is_empty());
    assert_eq!(kinds(&run.ok(staff(), Action::ShareRecording { shared: false })), ["recording_shared"]);
    assert!(!run.tb.recording_shared);
}
