//! The text of notification emails, from the provider's own view of the traceback.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tracehop_core::traceback::view::ProviderView;
use tracehop_core::traceback::{HopId, Traceback};

use crate::notify::hop_of;
use crate::settings::Settings;

fn when(at: Timestamp, zone: &TimeZone, zone_name: &str) -> String {
    let local = zone.to_datetime(at);
    format!("{} UTC ({} {zone_name})", at.strftime("%Y-%m-%d %H:%M"), local.strftime("%a %Y-%m-%d %H:%M"))
}

/// Subject and body of a notification email. It names the traceback by id and the hop by its
/// opaque reference, as the provider's API does: never the platform-wide traceback number or a
/// hop's position.
pub fn render(
    settings: &Settings,
    event_type: &str,
    state: &Traceback,
    view: &ProviderView,
    hop: Option<HopId>,
) -> (String, String) {
    let this = hop_of(state, view, hop);
    let profile = hop.and_then(|h| state.hop(h)).map(|h| &h.provider);
    let hours = profile.map(|p| &p.business_hours);
    let zone = hours.map_or(TimeZone::UTC, |h| h.zone().clone());
    let zone_name = hours.map_or("UTC", |h| h.zone_name());
    let respond_by = this.and_then(|h| h.request).map(|r| when(r.respond_by, &zone, zone_name));
    let hop_label = this.map_or_else(String::new, |h| format!(", hop {}", h.hop));
    // The hop's reference, shortened, to tell requests apart; never a number or a position.
    let tag = this.map_or_else(String::new, |h| format!(" [ref {}]", &h.hop.to_string()[..8]));
    let subject = match event_type {
        "hop.requested" => {
            format!("[tracehop] Traceback request{tag}: respond by {}", respond_by.unwrap_or_default())
        }
        "hop.reminder" => format!("[tracehop] Reminder: your traceback answer{tag} is due"),
        "hop.expired" => format!("[tracehop] Deadline passed{tag}"),
        "hop.cancelled" => format!("[tracehop] Request withdrawn{tag}"),
        "traceback.closed" => format!("[tracehop] Traceback closed{tag}"),
        "dispute.reviewed" => format!("[tracehop] Your dispute was reviewed{tag}"),
        other => format!("[tracehop] Traceback news{tag}: {other}"),
    };
    let mut body = String::new();
    let name = profile.map_or("", |p| p.name.as_str());
    let _ = writeln!(body, "To the traceback contacts of {name},\n");
    let _ = match event_type {
        "hop.requested" => writeln!(
            body,
            "The traceback consortium asks you to identify the provider from which you received the call below, or, if your customer originated it, that customer."
        ),
        "hop.reminder" => writeln!(body, "This is a reminder: your answer to the request below is due soon."),
        "hop.expired" => writeln!(
            body,
            "The 24-hour deadline for the request below passed without an answer. You are recorded as non-responsive for this traceback."
        ),
        "hop.cancelled" => writeln!(body, "The request below has been withdrawn; no answer is needed."),
        "traceback.closed" => writeln!(body, "The traceback below is closed. Thank you for your cooperation."),
        "dispute.reviewed" => writeln!(body, "Staff have reviewed your dispute of the traceback below."),
        _ => writeln!(body, "There is news about the traceback below."),
    };
    let _ = writeln!(body, "\nTraceback {}{hop_label}", view.traceback);
    if let Some(this) = this {
        let _ = match &this.named_by {
            Some(downstream) => writeln!(body, "Named by: {} ({})", downstream.name, downstream.id),
            None => writeln!(body, "Asked as: the terminating provider"),
        };
    }
    let call = &view.call;
    let _ = writeln!(body, "\nThe call");
    let _ = writeln!(body, "  Calling number: {} (as presented: {})", call.calling, call.calling.raw);
    let _ = writeln!(body, "  Called number:  {} (as presented: {})", call.called, call.called.raw);
    let _ = writeln!(body, "  Call time:      {}", when(call.call_time, &zone, zone_name));
    if let Some(id) = &call.sip_call_id {
        let _ = writeln!(body, "  SIP Call-ID:    {id}");
    }
    if let Some(label) = &call.campaign_label {
        let _ = writeln!(body, "  Campaign:       {label}");
    }
    if let Some(basis) = &call.basis_summary {
        let _ = writeln!(body, "  Basis:          {basis}");
    }
    if let (Some(this), true) = (this, matches!(event_type, "hop.requested" | "hop.reminder")) {
        if let Some(request) = this.request {
            let _ = writeln!(
                body,
                "\nDeadlines (your business hours: {} {}-{} {zone_name})",
                hours.map(|h| h.spec().days).unwrap_or_default(),
                hours.map(|h| h.spec().open).unwrap_or_default(),
                hours.map(|h| h.spec().close).unwrap_or_default()
            );
            if request.received_at != request.notified_at {
                let _ = writeln!(body, "  Deemed received:        {}", when(request.received_at, &zone, zone_name));
            }
            let _ = writeln!(body, "  Start investigating by: {}", when(request.start_by, &zone, zone_name));
            let _ = writeln!(body, "  Respond by:             {}", when(request.respond_by, &zone, zone_name));
        }
        let base = settings.public_url.trim_end_matches('/');
        let _ = writeln!(body, "\nAnswer in tracehop, or through the API:");
        let _ = writeln!(body, "  GET  {base}/api/v1/provider/tracebacks/{}", view.traceback);
        let _ = writeln!(body, "  POST {base}/api/v1/provider/tracebacks/{}/hops/{}/answer", view.traceback, this.hop);
    }
    let _ = writeln!(
        body,
        "\nTraceback information is confidential: share it only with the consortium, the providers immediately before and after you in the call path, or under valid legal process (ITG Best Practice 8)."
    );
    (subject, body)
}
