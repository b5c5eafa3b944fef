//! `tracehop demo`: a fictional world in a fresh SQLite database, then the server.
//!
//! The world's history is made the way real use makes it: the directory through the directory
//! service, every traceback step through the same application services and handles the API uses,
//! on a manual clock that walks from days ago to now while the real worker fires each deadline
//! when its time comes. Then the clock becomes the system clock and the server starts.

mod world;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use tracehop_app::access::accounts::{NewUser, Role};
use tracehop_app::access::principal::{Principal, StaffRole};
use tracehop_app::access::tokens::{NewToken, Scope, TokenOwner};
use tracehop_app::directory::ProviderSpec;
use tracehop_app::intake::candidates::NewCandidate;
use tracehop_app::intake::incidents::Submitted;
use tracehop_app::intake::recordings::Recordings;
use tracehop_app::notify::mail::MailConfig;
use tracehop_app::worker::Worker;
use tracehop_app::{App, Clock, Mailer, ManualClock, SystemClock};
use tracehop_core::calendar::{BusinessHours, BusinessHoursSpec, Holidays};
use tracehop_core::country::Country;
use tracehop_core::intake::SourceKind;
use tracehop_core::number::PhoneNumber;
use tracehop_core::provider::ProviderId;
use tracehop_core::traceback::{CallFacts, Category, TracebackId};
use tracehop_store::providers::{Contact, ContactRole, ProviderInput};
use tracehop_store::{DatabaseUrl, Store};

use crate::config::Config;
use crate::scenario::app::{Names, perform, scenario_staff};
use crate::scenario::file::{Action, ReplySpec, StaffAction};
use world::{CAMPAIGN_LABELS, PROVIDERS, QUEUED, SCRIPTS, SUBMITTERS, Step};

const ACCOUNTS_FILE: &str = "accounts.txt";

pub async fn run(config: &Config, dir: &Path, port: u16, metrics_port: u16, fresh: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // From the source tree, the demo verifies STIR/SHAKEN with the test PKI.
    let mut config = config.clone();
    if let Some(shaken) = crate::shaken_demo::settings(dir)? {
        config.policy.shaken = shaken;
    }
    let config = &config;
    let database = dir.join("tracehop.db");
    if fresh {
        for name in ["tracehop.db", "tracehop.db-wal", "tracehop.db-shm", ACCOUNTS_FILE] {
            std::fs::remove_file(dir.join(name)).ok();
        }
    }
    let existed = database.exists();
    let url = DatabaseUrl::Sqlite { path: database };
    let store = Store::open(&url, &config.connect_options()).await.with_context(|| format!("opening {url}"))?;
    let accounts_path = dir.join(ACCOUNTS_FILE);
    // Notification email goes to .eml files beside the database.
    let mail = MailConfig {
        from: "tracehop demo <traceback@tracehop-demo.example>".to_owned(),
        transport: "files".to_owned(),
        dir: Some(dir.join("mail")),
        ..MailConfig::default()
    };
    let mailer = Mailer::from_config(&mail).map_err(|e| anyhow::anyhow!(e))?;
    let summary = if existed {
        "an existing demo world (use --fresh for a new one)".to_owned()
    } else {
        let app = seed(&store, config, &mailer).await?;
        let mut accounts = create_accounts(&app).await?;
        accounts.push_str(&create_tokens(&app).await?);
        std::fs::write(&accounts_path, &accounts).with_context(|| format!("writing {}", accounts_path.display()))?;
        let counts = store.count_tracebacks_by_status(None).await?;
        let described: Vec<String> = counts.iter().map(|(status, n)| format!("{n} {status}")).collect();
        format!("{} providers, tracebacks: {}", PROVIDERS.len(), described.join(", "))
    };
    let accounts = std::fs::read_to_string(&accounts_path)
        .unwrap_or_else(|_| "  (accounts file missing; run with --fresh)\n".to_owned());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut settings = config.policy.clone();
    settings.public_url = format!("http://127.0.0.1:{port}");
    // The demo serves on loopback only; let its webhooks reach receivers on this machine.
    settings.webhooks.allow_private_targets = true;
    // Recordings uploaded to the demo stay with its database, in DIR, unless S3 is configured.
    let local_recordings = (config.recordings.backend == "local").then(|| dir.join("recordings"));
    let mut recordings = config.recordings.clone();
    if let Some(directory) = &local_recordings {
        recordings.directory.clone_from(directory);
    }
    let recordings = Recordings::from_config(&recordings).map_err(|e| anyhow::anyhow!(e))?;
    let app = App::with_mailer(store, clock, settings, mailer).with_recordings(recordings);
    let bind = format!("127.0.0.1:{port}");
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    crate::serve::run(app, &bind, Some(&metrics_bind), true, |address, metrics| {
        println!("tracehop demo: {summary}");
        println!("  database: {url}");
        println!("  outgoing mail: {}", dir.join("mail").display());
        if let Some(directory) = &local_recordings {
            println!("  recordings: {}", directory.display());
        }
        println!("  demo accounts and API tokens (fictional, for this machine only):");
        print!("{accounts}");
        println!("  API reference: http://{address}/api/v1/docs");
        println!("  serving on http://{address}  (Ctrl-C to stop)");
        if let Some(metrics) = metrics {
            println!("  metrics (this machine only): http://{metrics}/metrics");
        }
    })
    .await
}

fn hours(zone: &str, open: &str, close: &str) -> anyhow::Result<BusinessHours> {
    Ok(BusinessHours::try_from(BusinessHoursSpec {
        tz: zone.to_owned(),
        days: "Mon-Fri".to_owned(),
        open: open.to_owned(),
        close: close.to_owned(),
        holidays: Holidays::UsFederal,
    })?)
}

fn contact(role: ContactRole, id: &str, name: &str, index: usize, hours: &BusinessHours) -> Contact {
    let (person, title, mailbox, line) = match role {
        ContactRole::Primary => {
            (format!("{name} Traceback Desk"), "Fraud Operations Manager", "traceback", 100 + index % 100)
        }
        ContactRole::Backup => (format!("{name} Network Operations"), "NOC Lead", "noc", (150 + index) % 200),
    };
    Contact {
        role,
        name: person,
        title: Some(title.to_owned()),
        email: Some(format!("{mailbox}@{id}.example")),
        phone: Some(format!("+1 202-555-01{:02}", line % 100)),
        business_hours: Some(hours.spec()),
    }
}

async fn save_directory(app: &App) -> anyhow::Result<()> {
    for (index, (id, name, country, zone, deemed, affiliates, separate)) in PROVIDERS.iter().enumerate() {
        let id_value = ProviderId::new(*id)?;
        let mut input = ProviderInput::new(id_value.clone(), *name, Country::parse(country)?);
        input.business_hours = hours(zone, "08:00", "17:00")?;
        input.deemed_receipt = *deemed;
        input.separate_treatment = *separate;
        let contacts = vec![
            contact(ContactRole::Primary, id, name, index, &input.business_hours),
            contact(ContactRole::Backup, id, name, index, &input.business_hours),
        ];
        let affiliates = affiliates.iter().map(|a| ProviderId::new(*a)).collect::<Result<Vec<_>, _>>()?;
        app.save_provider(&ProviderSpec { provider: input, affiliates, contacts }).await?;
    }
    Ok(())
}

/// Builds the directory and walks every script from its start to now.
async fn seed(store: &Store, config: &Config, mailer: &Mailer) -> anyhow::Result<App> {
    let now = SystemClock.now();
    let earliest = SCRIPTS.iter().map(|s| s.hours_ago).max().unwrap_or(0) + 1;
    let clock = Arc::new(ManualClock::new(now - SignedDuration::from_hours(earliest)));
    let app = App::with_mailer(store.clone(), clock.clone(), config.policy.clone(), mailer.clone());
    let worker = Worker::new(app.clone(), "demo-history");
    save_directory(&app).await?;

    let mut names = Names::default();
    for (id, ..) in PROVIDERS {
        names.insert((*id).to_owned(), ProviderId::new(*id)?);
    }
    // Every start and step of every script, in the order they happen.
    let mut timeline: Vec<(Timestamp, usize, Option<usize>)> = Vec::new();
    for (index, script) in SCRIPTS.iter().enumerate() {
        let start = now - SignedDuration::from_hours(script.hours_ago);
        timeline.push((start, index, None));
        for (step, (minutes, _)) in script.steps.iter().enumerate() {
            timeline.push((start + SignedDuration::from_mins(*minutes), index, Some(step)));
        }
    }
    timeline.sort_by_key(|(at, index, step)| (*at, *index, *step));

    let operator = scenario_staff();
    let intake = save_intake(&app, &operator).await?;
    let mut started: Vec<Option<TracebackId>> = vec![None; SCRIPTS.len()];
    for (at, index, step) in timeline {
        worker.run_through(&clock, at).await?;
        let script = &SCRIPTS[index];
        match step {
            None => {
                let call = CallFacts {
                    calling: PhoneNumber::parse(script.calling),
                    called: PhoneNumber::parse(script.called),
                    call_time: at - SignedDuration::from_hours(20),
                    sip_call_id: Some(format!("{}@sbc.{}.example", app.new_id().simple(), script.terminating)),
                    campaign_label: None,
                    basis_summary: Some(script.basis.to_owned()),
                    recording: None,
                };
                let submitter = source_of(index, script.category);
                let terminating = ProviderId::new(script.terminating)?;
                let campaign = intake.campaigns.get(script.campaign).cloned();
                let referral =
                    crate::referral::referral(submitter, &format!("demo-{index:03}"), &call, terminating, campaign);
                started[index] = Some(
                    app.refer_and_start(&operator, referral)
                        .await
                        .with_context(|| format!("starting demo traceback {index}"))?
                        .traceback,
                );
            }
            Some(step) => {
                let traceback = started[index].context("a step before its traceback started")?;
                let action = action_of(&app, traceback, &script.steps[step].1).await?;
                perform(&app, traceback, &mut names, &action)
                    .await
                    .with_context(|| format!("demo traceback {index}, step {step}"))?;
            }
        }
    }
    worker.run_through(&clock, now).await?;
    queue_candidates(&app, &operator).await?;
    if config.policy.shaken.trust.is_some() {
        crate::shaken_demo::queue_incident(&app, "signalwatch").await?;
    }
    Ok(app)
}

/// What the intake side of the world holds: campaign ids by name.
struct Intake {
    campaigns: BTreeMap<&'static str, String>,
}

/// A campaign's id from its name, e.g. `medicare-card-renewal`: short enough to type in an
/// incident file.
fn slug(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    words.join("-")
}

/// Submitters, campaign labels and campaigns, through the intake services.
async fn save_intake(app: &App, staff: &Principal) -> anyhow::Result<Intake> {
    for (id, name, kind) in SUBMITTERS {
        app.create_submitter(staff, id, name, *kind, Some(format!("traceback-requests@{id}.example"))).await?;
    }
    let mut campaigns = BTreeMap::new();
    for (label, names) in CAMPAIGN_LABELS {
        let label = app.create_label(staff, label, None).await?;
        for name in *names {
            let campaign = app.create_campaign(staff, Some(&slug(name)), name, None, Some(label.id.clone())).await?;
            campaigns.insert(*name, campaign.id);
        }
    }
    Ok(Intake { campaigns })
}

/// The submitter a script's call came from: foreign law-enforcement requests from the foreign
/// agency (SRC-4), the rest from the analytics provider and the state attorney general in turn.
fn source_of(index: usize, category: Category) -> &'static str {
    match category {
        Category::ForeignLawEnforcement => "foreign-agency-example",
        Category::Domestic if index % 3 == 2 => "state-ag-example",
        Category::Domestic => "signalwatch",
    }
}

/// Candidates still in the queue: submitted with their incidents, waiting for due diligence, or
/// rejected with a reason.
async fn queue_candidates(app: &App, staff: &Principal) -> anyhow::Result<()> {
    for (index, (submitter, calling, called, summary, rejection)) in QUEUED.iter().enumerate() {
        let submitter_principal = Principal::Submitter {
            submitter: (*submitter).to_owned(),
            kind: SUBMITTERS.iter().find(|(id, ..)| id == submitter).map_or(SourceKind::AnalyticsProvider, |s| s.2),
            user: format!("{submitter}-api"),
        };
        let fields = serde_json::json!({
            "external_id": format!("queued-{index:03}"),
            "calling": calling,
            "called": called,
            "call_time": (app.now() - SignedDuration::from_hours(6)).to_string(),
            "basis": summary,
        });
        let serde_json::Value::Object(fields) = fields else { unreachable!("a JSON object literal") };
        let incident = match app.submit_incident(&submitter_principal, None, &fields).await? {
            Submitted::Created(record) | Submitted::Existing(record) => record,
            Submitted::Invalid(problems) => anyhow::bail!("demo incident {index}: {problems:?}"),
        };
        let new = NewCandidate {
            incident_id: Some(incident.row.id),
            summary: (*summary).to_owned(),
            ..NewCandidate::default()
        };
        let candidate = app.submit_candidate(&submitter_principal, new).await?;
        if let Some(reason) = rejection {
            app.reject_candidate(staff, &candidate.id, reason).await?;
        }
    }
    Ok(())
}

/// A script step as the scenario action that performs it.
async fn action_of(app: &App, traceback: TracebackId, step: &Step) -> anyhow::Result<Action> {
    let text = |s: &str| s.to_owned();
    Ok(match step {
        Step::Acknowledge(p) => Action::Acknowledge { provider: text(p) },
        Step::Upstream(p, upstream) => {
            Action::Respond { provider: text(p), reply: ReplySpec::Upstream { provider: text(upstream) } }
        }
        Step::UpstreamNew(p, name, email) => {
            let contact = serde_json::json!({ "name": name, "country": "US", "email": email, "contact_name": "Network Operations" });
            let serde_json::Value::Object(contact) = contact else { unreachable!("a JSON object literal") };
            Action::Respond { provider: text(p), reply: ReplySpec::UpstreamNew { contact } }
        }
        Step::Originated(p, customer, country) => {
            let details = serde_json::json!({
                "customer": { "name": customer, "country": country, "address": "100 Example Street", "business_nature": "outbound call centre" },
                "mitigation": { "action": "terminated", "note": "Account suspended pending review." },
                "attestation": "A",
            });
            let serde_json::Value::Object(details) = details else { unreachable!("a JSON object literal") };
            Action::Respond { provider: text(p), reply: ReplySpec::Originated { details } }
        }
        Step::NotFound(p, not_ours) => Action::Respond {
            provider: text(p),
            reply: ReplySpec::NotFound {
                reason: if *not_ours { "not_our_call" } else { "not_in_records" }.to_owned(),
                explanation: Some("No matching CDR in the window given.".to_owned()),
            },
        },
        Step::Dispute(p, grounds) => Action::Dispute { provider: text(p), grounds: text(grounds) },
        Step::ReviewDispute(p, accept) => {
            Action::Staff(StaffAction::ReviewDispute { provider: text(p), accept: *accept })
        }
        Step::StrikeExempt(reason) => {
            Action::Staff(StaffAction::MarkStrikeExempt { reason: text(reason), category: None })
        }
        Step::Close(reason) => Action::Staff(StaffAction::Close { reason: text(reason) }),
        Step::Redirect(p) => Action::Staff(StaffAction::Redirect { provider: text(p) }),
        Step::Extend(p, extra_hours) => {
            let (_, state) = app.traceback(traceback).await?;
            let hop = state.latest_hop_of(&ProviderId::new(*p)?).context("extending a provider without a hop")?;
            let current = hop.request.context("extending a hop never notified")?.respond_by;
            Action::Staff(StaffAction::Extend {
                provider: text(p),
                to: current + SignedDuration::from_hours(*extra_hours),
            })
        }
        Step::Comment(p, words) => {
            Action::Comment { provider: None, hop: Some(text(p)), text: text(words), shared: true }
        }
    })
}

fn password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

/// Creates the demo accounts; returns their listing.
async fn create_accounts(app: &App) -> anyhow::Result<String> {
    let accounts: [(&str, &str, Role, Option<&str>); 6] = [
        ("admin", "Avery Admin (consortium staff)", Role::Admin, None),
        ("analyst", "Sam Analyst (consortium staff)", Role::Analyst, None),
        ("prairie-noc", "Dana Reyes, Prairie Telephone", Role::Provider, Some("prairie")),
        ("bigwire-fraud", "Sam O'Neil, Bigwire Wholesale", Role::Provider, Some("bigwire")),
        ("quickroute-ops", "Lee Park, QuickRoute SIP", Role::Provider, Some("quickroute")),
        ("atlas-noc", "Robin Hale, Atlas Gateway", Role::Provider, Some("atlas")),
    ];
    let mut listing = String::new();
    for (username, display_name, role, provider) in accounts {
        let password = password();
        app.create_user(NewUser {
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            email: Some(format!("{username}@tracehop-demo.example")),
            role,
            provider: provider.map(ProviderId::new).transpose()?,
            password: password.clone(),
        })
        .await?;
        let who = provider.map_or_else(|| role.name().to_owned(), |p| format!("provider {p}"));
        writeln!(listing, "    {username:<16} {password}   {who}")?;
    }
    Ok(listing)
}

/// Issues API tokens for the demo providers with accounts, staff and the analytics provider;
/// returns their listing.
async fn create_tokens(app: &App) -> anyhow::Result<String> {
    let operator = Principal::Staff { user: "demo".to_owned(), role: StaffRole::Admin, minted_by: None };
    let provider_scopes =
        [Scope::HopsRead, Scope::HopsAnswer, Scope::WebhooksManage, Scope::ProfileManage, Scope::TokensManage];
    let staff_scopes = [
        Scope::TracebacksRead,
        Scope::TracebacksManage,
        Scope::TokensManage,
        Scope::IntakeManage,
        Scope::DirectoryManage,
        Scope::IncidentsSubmit,
        Scope::CandidatesSubmit,
    ];
    let submitter_scopes = [Scope::IncidentsSubmit, Scope::CandidatesSubmit];
    let owners = [
        ("prairie", TokenOwner::Provider(ProviderId::new("prairie")?), &provider_scopes[..]),
        ("bigwire", TokenOwner::Provider(ProviderId::new("bigwire")?), &provider_scopes[..]),
        ("quickroute", TokenOwner::Provider(ProviderId::new("quickroute")?), &provider_scopes[..]),
        ("atlas", TokenOwner::Provider(ProviderId::new("atlas")?), &provider_scopes[..]),
        ("staff", TokenOwner::Staff(StaffRole::Admin), &staff_scopes[..]),
        ("signalwatch", TokenOwner::Submitter("signalwatch".to_owned()), &submitter_scopes[..]),
    ];
    let mut listing = String::new();
    for (label, owner, scopes) in owners {
        let new = NewToken {
            name: format!("demo {label}"),
            owner,
            scopes: scopes.iter().copied().collect(),
            expires_at: None,
            rate_limit_per_minute: None,
        };
        let issued = app.issue_token(&operator, None, new).await?;
        writeln!(listing, "    token {label:<10} {}", issued.token)?;
    }
    Ok(listing)
}
