//! ACC-2: what a provider sees of a traceback — for its own hops only.

use tracehop_core::deadline::DeadlineKind;
use tracehop_core::provider::ProviderProfile;
use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::view::UpstreamRole;
use tracehop_core::traceback::{
    Answer, DisputeId, HopId, HopState, NotFoundReason, ProviderRef, ProviderView, Reply, TracebackPolicy, Visibility,
};

use crate::support::{
    Cast, Run, answer, by, call, elapsed, evidence, hours, minutes, not_found, originated, reason, staff, start_action,
    system, upstream,
};

fn reference(provider: &ProviderProfile) -> ProviderRef {
    ProviderRef { id: provider.id.clone(), name: provider.name.clone() }
}

#[track_caller]
fn view(run: &Run, provider: &ProviderProfile) -> ProviderView {
    run.view_of(provider).unwrap_or_else(|| panic!("{} should see the traceback", provider.id))
}

fn json(view: &ProviderView) -> String {
    serde_json::to_string(view).expect("a view serializes")
}

/// `provider`'s view of the upstream it named from its most recent hop.
fn upstream_seen(run: &Run, provider: &ProviderProfile) -> Option<(ProviderRef, UpstreamRole)> {
    let seen = view(run, provider);
    let hop = seen.hops.last().expect("one hop at least");
    hop.upstream.as_ref().map(|up| (up.provider.clone(), up.role))
}

fn comment_texts(run: &Run, provider: &ProviderProfile) -> Vec<String> {
    view(run, provider).hops.iter().flat_map(|hop| hop.comments.iter().map(|c| c.text.clone())).collect()
}

fn comment(hop: Option<HopId>, text: &str, visibility: Visibility) -> Action {
    Action::Comment { hop, text: text.into(), visibility }
}

#[test]
fn without_a_hop_there_is_no_view() {
    let c = Cast::new();
    let unstarted = Run::unstarted();
    assert!(unstarted.view_of(&c.term).is_none());

    let mut run = Run::start_with(&c.term, TracebackPolicy { hop_limit: 2, ..TracebackPolicy::default() });
    assert!(run.view_of(&c.term).is_some());
    assert!(run.view_of(&c.alpha).is_none());
    assert!(run.view_of(&c.outsider).is_none());
    run.names(&c.term, &c.alpha);
    assert!(run.view_of(&c.alpha).is_some());
    // Named, but held at the hop limit: charlie has no hop, so it learns nothing.
    run.names(&c.alpha, &c.charlie);
    assert!(run.tb.review.is_some());
    assert!(run.view_of(&c.charlie).is_none());
    // Closing does not reveal anything either.
    run.ok(staff(), Action::Close { reason: reason("x") });
    assert!(run.view_of(&c.charlie).is_none());
    assert!(run.view_of(&c.outsider).is_none());
}

#[test]
fn a_provider_sees_what_it_needs_to_find_the_call() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    let facts = call();
    for provider in [&c.term, &c.alpha] {
        let seen = view(&run, provider);
        assert_eq!(seen.traceback, run.tb.header.as_ref().expect("started").id);
        assert!(!seen.closed);
        assert_eq!(seen.call.calling, facts.calling);
        assert_eq!(seen.call.called, facts.called);
        assert_eq!(seen.call.call_time, facts.call_time);
        assert_eq!(seen.call.campaign_label, facts.campaign_label);
        assert_ne!(seen.call.basis_summary, facts.basis_summary, "never the submitter's own text");
        // The recording only once staff share it.
        assert_eq!(seen.call.recording, None, "{}", provider.id);
    }
    run.ok(staff(), Action::ShareRecording { shared: true });
    assert_eq!(view(&run, &c.alpha).call.recording, facts.recording);
    run.ok(staff(), Action::ShareRecording { shared: false });
    assert_eq!(view(&run, &c.alpha).call.recording, None);
}

#[test]
fn a_call_without_a_recording_cannot_be_shared() {
    let c = Cast::new();
    let mut run = Run::unstarted();
    let Action::Start(mut start) = start_action(&c.term, TracebackPolicy::default()) else { unreachable!() };
    start.call.recording = None;
    run.ok(staff(), Action::Start(start));
    assert_eq!(
        run.refused(staff(), Action::ShareRecording { shared: true }),
        tracehop_core::traceback::Rejection::NoRecording
    );
    assert_eq!(view(&run, &c.term).call.recording, None);
}

#[test]
fn a_provider_sees_who_named_it_its_answer_and_its_deadlines() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.advance(hours(1));
    run.names(&c.term, &c.alpha);

    let term = view(&run, &c.term);
    assert_eq!(term.hops.len(), 1);
    assert_eq!(term.hops[0].named_by, None, "asked by the consortium");

    let seen = view(&run, &c.alpha);
    assert_eq!(seen.hops.len(), 1);
    let hop = &seen.hops[0];
    assert_eq!(hop.hop, run.tb.hop_ref(HopId(1)));
    assert_eq!(hop.named_by, Some(reference(&c.term)));
    assert_eq!(hop.state, HopState::Open);
    assert_eq!(hop.request, run.hop(HopId(1)).request);
    assert_eq!(hop.request.map(|r| r.respond_by), Some(run.now + hours(24)));
    assert_eq!(hop.requests, 1);
    assert_eq!(hop.answer, None);
    assert_eq!(hop.upstream, None);

    run.advance(minutes(10));
    run.ok(by(&c.alpha), Action::Acknowledge { hop: HopId(1) });
    assert_eq!(view(&run, &c.alpha).hops[0].acknowledged_at, Some(run.now));
    run.answers(&c.alpha, not_found(NotFoundReason::NotInRecords));
    let hop = &view(&run, &c.alpha).hops[0];
    let answered = hop.answer.as_ref().expect("its own answer");
    assert!(!answered.entered_by_staff);
    assert_eq!(answered.at, run.now);
    assert!(matches!(answered.answer, Answer::NotFound { .. }));
    assert_eq!(hop.state, HopState::Answered);
    assert!(view(&run, &c.alpha).closed);
}

#[test]
fn an_answer_entered_by_staff_says_so() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.ok(staff(), answer(HopId(0), upstream(&c.alpha)));
    let hop = &view(&run, &c.term).hops[0];
    assert!(hop.answer.as_ref().expect("answered").entered_by_staff);
}

#[test]
fn the_upstream_it_named_appears_only_in_limited_form() {
    let c = Cast::new();

    // Pending: asked, not answered.
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    assert_eq!(upstream_seen(&run, &c.term), Some((reference(&c.alpha), UpstreamRole::Pending)));
    // Trace continued: alpha named someone.
    run.names(&c.alpha, &c.charlie);
    assert_eq!(upstream_seen(&run, &c.term), Some((reference(&c.alpha), UpstreamRole::TraceContinued)));
    // Downstream of a non-responsive provider: alpha's upstream never answered.
    run.let_expire(&c.charlie);
    assert_eq!(upstream_seen(&run, &c.term), Some((reference(&c.alpha), UpstreamRole::DownstreamOfNonResponsive)));
    // Alpha itself sees only that the trace ended at charlie.
    assert_eq!(upstream_seen(&run, &c.alpha), Some((reference(&c.charlie), UpstreamRole::TraceEnded)));

    // Originated.
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha]);
    run.answers(&c.alpha, originated("Upstream Customer LLC"));
    assert_eq!(upstream_seen(&run, &c.term), Some((reference(&c.alpha), UpstreamRole::Originated)));
    assert!(!json(&view(&run, &c.term)).contains("Upstream Customer LLC"));

    // Trace ended: not found, or withdrawn while it was asked.
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha]);
    run.answers(&c.alpha, not_found(NotFoundReason::NotOurCall));
    assert_eq!(upstream_seen(&run, &c.term), Some((reference(&c.alpha), UpstreamRole::TraceEnded)));
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha]);
    run.ok(staff(), Action::Close { reason: reason("withdrawn") });
    assert_eq!(upstream_seen(&run, &c.term), Some((reference(&c.alpha), UpstreamRole::TraceEnded)));

    // Named but held for review: it knows whom it named, nothing more.
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha, &c.charlie]);
    run.names(&c.charlie, &c.term);
    assert_eq!(upstream_seen(&run, &c.charlie), Some((reference(&c.term), UpstreamRole::Pending)));
}

#[test]
fn never_other_hops_other_customers_or_the_full_path() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    let with_evidence = |next: &ProviderProfile, trunk: &str| Reply::Upstream {
        upstream: next.clone(),
        evidence: evidence(trunk),
        supplied: None,
    };
    run.answers(&c.term, with_evidence(&c.alpha, "TRUNK-OSPREY"));
    run.answers(&c.alpha, with_evidence(&c.charlie, "TRUNK-HERON"));
    run.answers(&c.charlie, with_evidence(&c.delta, "TRUNK-PLOVER"));
    run.answers(&c.delta, originated("Secret Dialer Holdings"));

    let quoted = |p: &ProviderProfile| format!("\"{}\"", p.id);
    // (viewer, neighbours it sees, providers it must not see, its own secrets, others' secrets)
    let cases = [
        (
            &c.term,
            vec![&c.alpha],
            vec![&c.charlie, &c.delta],
            vec!["TRUNK-OSPREY"],
            vec!["TRUNK-HERON", "TRUNK-PLOVER", "Secret Dialer Holdings"],
        ),
        (
            &c.charlie,
            vec![&c.alpha, &c.delta],
            vec![&c.term],
            vec!["TRUNK-PLOVER"],
            vec!["TRUNK-OSPREY", "TRUNK-HERON", "Secret Dialer Holdings"],
        ),
        (
            &c.delta,
            vec![&c.charlie],
            vec![&c.term, &c.alpha],
            vec!["Secret Dialer Holdings"],
            vec!["TRUNK-OSPREY", "TRUNK-HERON", "TRUNK-PLOVER"],
        ),
    ];
    for (viewer, neighbours, strangers, own, foreign) in cases {
        let seen = view(&run, viewer);
        assert_eq!(seen.hops.len(), 1, "{}: only its own hop", viewer.id);
        assert_eq!(seen.hops[0].hop, run.tb.hop_ref(run.hop_of(viewer)));
        let text = json(&seen);
        for p in neighbours {
            assert!(text.contains(&quoted(p)), "{} sees {}", viewer.id, p.id);
        }
        for p in strangers {
            assert!(!text.contains(&quoted(p)), "{} sees {}", viewer.id, p.id);
            assert!(!text.contains(&p.name), "{} sees {}", viewer.id, p.name);
        }
        for secret in own {
            assert!(text.contains(secret), "{} sees its own {secret}", viewer.id);
        }
        for secret in foreign {
            assert!(!text.contains(secret), "{} sees {secret}", viewer.id);
        }
    }
}

#[test]
fn comments_meant_for_it_only() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha, &c.charlie]);
    let (h0, h1, h2) = (HopId(0), HopId(1), HopId(2));
    let comments = [
        (staff(), None, "staff internal", Visibility::StaffOnly),
        (staff(), Some(h1), "staff about alpha", Visibility::StaffOnly),
        (staff(), Some(h1), "staff to alpha's parties", Visibility::HopParties),
        (by(&c.alpha), Some(h1), "alpha private", Visibility::StaffOnly),
        (by(&c.alpha), Some(h1), "alpha shared", Visibility::HopParties),
        (by(&c.charlie), Some(h2), "charlie shared", Visibility::HopParties),
        (by(&c.term), Some(h0), "term shared", Visibility::HopParties),
    ];
    for (actor, hop, text, visibility) in comments {
        run.ok(actor, comment(hop, text, visibility));
    }
    let expected: [(&ProviderProfile, &[&str]); 3] = [
        // Term named alpha: it is a party of alpha's hop.
        (&c.term, &["staff to alpha's parties", "alpha shared", "term shared"]),
        (&c.alpha, &["staff to alpha's parties", "alpha private", "alpha shared", "charlie shared"]),
        (&c.charlie, &["charlie shared"]),
    ];
    for (provider, texts) in expected {
        let mut seen = comment_texts(&run, provider);
        seen.sort();
        let mut want: Vec<String> = texts.iter().map(|t| (*t).to_owned()).collect();
        want.sort();
        assert_eq!(seen, want, "{}", provider.id);
    }
    // Authors: a provider by reference, staff anonymously.
    let term = view(&run, &c.term);
    let authors: Vec<_> =
        term.hops[0].comments.iter().map(|c| (c.text.as_str(), c.author.as_ref().map(|a| a.id.to_string()))).collect();
    assert!(authors.contains(&("alpha shared", Some("alpha".to_owned()))));
    assert!(authors.contains(&("staff to alpha's parties", None)));
    assert!(authors.contains(&("term shared", Some("term".to_owned()))));
}

#[test]
fn a_provider_sees_its_own_disputes_and_their_review() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    run.ok(by(&c.term), Action::Dispute { hop: HopId(0), grounds: "consented call".into() });
    let disputes = &view(&run, &c.term).hops[0].disputes;
    assert_eq!(disputes.len(), 1);
    assert_eq!(disputes[0].grounds, "consented call");
    assert_eq!(disputes[0].accepted, None);
    assert_eq!(disputes[0].review_note, None);
    assert!(view(&run, &c.alpha).hops[0].disputes.is_empty());
    assert!(!json(&view(&run, &c.alpha)).contains("consented call"));

    run.ok(
        staff(),
        Action::ReviewDispute { dispute: DisputeId(0), accept: true, note: "consent records verified".into() },
    );
    let disputes = &view(&run, &c.term).hops[0].disputes;
    assert_eq!(disputes[0].accepted, Some(true));
    assert_eq!(disputes[0].review_note.as_deref(), Some("consent records verified"));
}

#[test]
fn after_a_redirect_the_hop_shows_the_new_request_only() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha, &c.charlie]);
    run.advance(hours(3));
    run.ok(staff(), Action::Redirect { hop: HopId(1), reason: reason("charlie denies it") });
    let hop = &view(&run, &c.alpha).hops[0];
    assert_eq!(hop.requests, 2);
    assert_eq!(hop.answer, None);
    assert_eq!(hop.upstream, None);
    assert_eq!(hop.request.map(|r| r.notified_at), Some(run.now));
    // Alpha no longer sees charlie in its view.
    assert!(!json(&view(&run, &c.alpha)).contains(&c.charlie.name));
    assert_eq!(upstream_seen(&run, &c.term), Some((reference(&c.alpha), UpstreamRole::Pending)));
    // Charlie keeps its own (set aside) hop in view.
    assert_eq!(view(&run, &c.charlie).hops.len(), 1);
}

#[test]
fn a_provider_with_two_hops_sees_both() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha, &c.charlie]);
    // Charlie names alpha: a loop; staff decide it is a genuine second pass.
    run.names(&c.charlie, &c.alpha);
    run.ok(staff(), Action::Reopen { reason: reason("two trunks") });
    let seen = view(&run, &c.alpha);
    let hops: Vec<_> = seen.hops.iter().map(|h| h.hop).collect();
    assert_eq!(hops, [run.tb.hop_ref(HopId(1)), run.tb.hop_ref(HopId(3))]);
    assert_eq!(seen.hops[1].named_by, Some(reference(&c.charlie)));
    // The second request runs its own deadlines.
    run.set_now(run.hop(HopId(3)).request.expect("notified").missed_at(DeadlineKind::RespondBy));
    run.ok(system(), elapsed(HopId(3), DeadlineKind::RespondBy));
    let seen = view(&run, &c.alpha);
    assert_eq!(seen.hops[0].state, HopState::Answered);
    assert_eq!(seen.hops[1].state, HopState::Expired);
}
