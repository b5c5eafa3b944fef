//! The jobs a command's events cause, enqueued in the command's transaction: deadline timers and
//! reminders for every request sent or deadline moved.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracehop_core::deadline::{DeadlineKind, RequestDeadlines};
use tracehop_core::traceback::{Change, Event, HopId, Traceback, TracebackId};
use tracehop_store::jobs::NewJob;

use crate::settings::Settings;

pub const DEADLINE: &str = "deadline";
pub const REMINDER: &str = "reminder";

/// A timer on one deadline of one hop request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerJob {
    pub traceback: TracebackId,
    pub hop: HopId,
    pub deadline: DeadlineKind,
    /// The deadline's value when the timer was set; a later extension makes this timer stale.
    pub due: Timestamp,
}

fn kind_name(deadline: DeadlineKind) -> &'static str {
    match deadline {
        DeadlineKind::StartBy => "start_by",
        DeadlineKind::RespondBy => "respond_by",
    }
}

fn timer(kind: &'static str, job: TimerJob, run_at: Timestamp) -> NewJob {
    NewJob {
        kind: kind.to_owned(),
        payload: serde_json::to_string(&job).unwrap_or_default(),
        run_at,
        dedupe_key: Some(format!(
            "{kind}:{}:{}:{}:{}",
            job.traceback,
            job.hop,
            kind_name(job.deadline),
            job.due.as_microsecond()
        )),
        max_attempts: 20,
        target: None,
    }
}

fn timers_for(
    settings: &Settings,
    traceback: TracebackId,
    hop: HopId,
    request: &RequestDeadlines,
    deadlines: &[DeadlineKind],
    now: Timestamp,
) -> Vec<NewJob> {
    let mut jobs = Vec::new();
    for &deadline in deadlines {
        let due = request.due(deadline);
        let job = TimerJob { traceback, hop, deadline, due };
        jobs.push(timer(DEADLINE, job, request.missed_at(deadline)));
        let lead = match deadline {
            DeadlineKind::StartBy => settings.reminders.before_start_by,
            DeadlineKind::RespondBy => settings.reminders.before_respond_by,
        };
        if let Ok(remind_at) = due.checked_sub(lead)
            && remind_at > now
        {
            jobs.push(timer(REMINDER, job, remind_at));
        }
    }
    jobs
}

/// The jobs `events` cause, given the state after them.
pub fn jobs_for(settings: &Settings, state: &Traceback, events: &[Event], now: Timestamp) -> Vec<NewJob> {
    let Some(header) = &state.header else {
        return Vec::new();
    };
    let mut jobs = Vec::new();
    for event in events {
        match &event.change {
            Change::HopNotified { hop, deadlines, .. } => {
                jobs.extend(timers_for(
                    settings,
                    header.id,
                    *hop,
                    deadlines,
                    &[DeadlineKind::StartBy, DeadlineKind::RespondBy],
                    now,
                ));
            }
            Change::DeadlineExtended { hop, .. } => {
                if let Some(request) = state.hop(*hop).and_then(|h| h.request) {
                    jobs.extend(timers_for(settings, header.id, *hop, &request, &[DeadlineKind::RespondBy], now));
                }
            }
            _ => {}
        }
    }
    jobs
}
