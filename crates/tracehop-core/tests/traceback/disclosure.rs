//! ACC-2, what a provider's view must not give away: the Call-ID of another provider's leg, the
//! submitter's own words, positions and counts of hops and comments.

use std::collections::BTreeSet;

use tracehop_core::traceback::command::Action;
use tracehop_core::traceback::decide::check_answerable;
use tracehop_core::traceback::view::default_summary;
use tracehop_core::traceback::{HopId, Rejection, TracebackPolicy, Visibility};
use uuid::Uuid;

use crate::support::{Cast, Run, by, call, reason, staff, start_action};

#[test]
fn the_call_id_reaches_only_the_terminating_provider_unless_staff_share_it() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha, &c.charlie]);
    let call_id = call().sip_call_id;
    assert_eq!(run.view_of(&c.term).unwrap().call.sip_call_id, call_id, "it identifies the terminating leg");
    for upstream in [&c.alpha, &c.charlie] {
        let seen = run.view_of(upstream).unwrap();
        assert_eq!(seen.call.sip_call_id, None, "{}", upstream.id);
        assert!(!serde_json::to_string(&seen).unwrap().contains("pc33.example.net"), "{}", upstream.id);
    }
    let charlie = run.hop_of(&c.charlie);
    assert_eq!(run.refused(by(&c.charlie), Action::ShareCallId { hop: charlie, shared: true }), Rejection::StaffOnly);
    run.ok(staff(), Action::ShareCallId { hop: charlie, shared: true });
    assert_eq!(run.view_of(&c.charlie).unwrap().call.sip_call_id, call_id, "shared for charlie's hop");
    assert_eq!(run.view_of(&c.alpha).unwrap().call.sip_call_id, None, "and for nobody else");
    assert!(run.ok(staff(), Action::ShareCallId { hop: charlie, shared: true }).is_empty(), "nothing new");
    run.ok(staff(), Action::ShareCallId { hop: charlie, shared: false });
    assert_eq!(run.view_of(&c.charlie).unwrap().call.sip_call_id, None);
}

#[test]
fn a_call_without_a_call_id_has_none_to_share() {
    let c = Cast::new();
    let mut run = Run::unstarted();
    let Action::Start(mut start) = start_action(&c.term, TracebackPolicy::default()) else { unreachable!() };
    start.call.sip_call_id = None;
    run.ok(staff(), Action::Start(start));
    assert_eq!(run.refused(staff(), Action::ShareCallId { hop: HopId(0), shared: true }), Rejection::NoCallId);
}

#[test]
fn providers_read_a_summary_staff_approved_never_the_submitters_text() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.names(&c.term, &c.alpha);
    let submitted = call().basis_summary.unwrap();
    let default = default_summary(Some("Vehicle warranty"));
    assert!(default.contains("Vehicle warranty"));
    for provider in [&c.term, &c.alpha] {
        let seen = run.view_of(provider).unwrap();
        assert_eq!(seen.call.basis_summary.as_deref(), Some(default.as_str()));
        assert!(!serde_json::to_string(&seen).unwrap().contains(&submitted));
    }
    let summary = Action::SetProviderSummary { summary: Some("Prerecorded dealer impersonation calls.".into()) };
    assert_eq!(run.refused(by(&c.term), summary.clone()), Rejection::StaffOnly);
    run.ok(staff(), summary);
    assert_eq!(
        run.view_of(&c.alpha).unwrap().call.basis_summary.as_deref(),
        Some("Prerecorded dealer impersonation calls.")
    );
    assert!(matches!(
        run.refused(staff(), Action::SetProviderSummary { summary: Some("  ".into()) }),
        Rejection::Invalid { field: "summary", .. }
    ));
    run.ok(staff(), Action::SetProviderSummary { summary: None });
    assert_eq!(run.view_of(&c.alpha).unwrap().call.basis_summary, Some(default));
    assert_eq!(default_summary(None), "The consortium reviewed the basis for this traceback before it started.");
}

#[test]
fn references_reveal_no_position_or_count() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    run.trace(&[&c.term, &c.alpha, &c.charlie]);
    let hop = run.hop_of(&c.charlie);
    run.ok(staff(), Action::Comment { hop: Some(hop), text: "hidden".into(), visibility: Visibility::StaffOnly });
    run.ok(by(&c.charlie), Action::Comment { hop: Some(hop), text: "seen".into(), visibility: Visibility::HopParties });
    let seen = run.view_of(&c.charlie).unwrap();
    let text = serde_json::to_string(&seen).unwrap();
    let own = seen.hops[0].hop;
    assert_eq!(own, run.tb.hop_ref(hop));
    assert_eq!(run.tb.hop_by_ref(own), Some(hop));
    assert!(!text.contains("\"hop\":2"), "{text}");
    let comment = &seen.hops[0].comments[0];
    assert_eq!(comment.text, "seen");
    assert_ne!(comment.id.0.as_u128(), 1, "not the second comment's position");
    assert!(!text.contains("\"id\":1"), "{text}");
    // Every reference differs, and they change with the traceback's secret key.
    let refs: BTreeSet<Uuid> = run.tb.hops.iter().map(|h| run.tb.hop_ref(h.id).0).collect();
    assert_eq!(refs.len(), run.tb.hops.len());
    let mut other = run.tb.clone();
    if let Some(header) = other.header.as_mut() {
        header.view_key = Some(Uuid::from_u128(42));
    }
    assert_ne!(other.hop_ref(hop), run.tb.hop_ref(hop));
    assert_eq!(run.tb.hop_by_ref(other.hop_ref(hop)), None);
}

#[test]
fn a_provider_writes_a_bounded_number_of_comments_on_a_hop() {
    let c = Cast::new();
    let mut run = Run::start_with(&c.term, TracebackPolicy { comments_per_hop: 2, ..TracebackPolicy::default() });
    let note =
        |text: &str| Action::Comment { hop: Some(HopId(0)), text: text.into(), visibility: Visibility::StaffOnly };
    run.ok(by(&c.term), note("one"));
    run.ok(by(&c.term), note("two"));
    assert_eq!(run.refused(by(&c.term), note("three")), Rejection::TooManyComments { limit: 2 });
    // Staff are not capped, and do not use up the provider's comments.
    run.ok(staff(), note("staff"));
}

#[test]
fn an_answered_or_closed_hop_is_refused_before_anything_it_names_is_looked_up() {
    let c = Cast::new();
    let mut run = Run::start(&c.term);
    assert_eq!(check_answerable(&run.tb, &by(&c.term), HopId(0)), Ok(()));
    assert_eq!(check_answerable(&run.tb, &by(&c.alpha), HopId(0)), Err(Rejection::NoHopInTraceback));
    run.names(&c.term, &c.alpha);
    assert_eq!(check_answerable(&run.tb, &by(&c.term), HopId(0)), Err(Rejection::AlreadyAnswered(HopId(0))));
    run.ok(staff(), Action::Close { reason: reason("withdrawn") });
    assert_eq!(check_answerable(&run.tb, &by(&c.alpha), HopId(1)), Err(Rejection::Closed));
}
