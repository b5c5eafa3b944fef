//! The demo's fictional world: providers in the U.S. and abroad, some under common control, and
//! tracebacks scripted to reach every status and outcome.

use tracehop_core::intake::SourceKind;
use tracehop_core::traceback::Category;

/// (id, name, country, time zone, deemed receipt, affiliates, separate treatment)
pub type ProviderRow = (&'static str, &'static str, &'static str, &'static str, bool, &'static [&'static str], bool);

pub const PROVIDERS: &[ProviderRow] = &[
    ("prairie", "Prairie Telephone Cooperative", "US", "America/Chicago", true, &[], false),
    ("bigwire", "Bigwire Wholesale, LLC", "US", "America/Chicago", false, &["bigwire-west", "bigwire-cloud"], false),
    ("bigwire-west", "Bigwire West, LLC", "US", "America/Los_Angeles", false, &[], false),
    ("bigwire-cloud", "Bigwire Cloud Voice", "US", "America/Chicago", false, &[], false),
    ("summit", "Summit Voice Networks", "US", "America/Denver", false, &[], false),
    ("harbor", "Harbor Communications", "US", "America/New_York", false, &[], false),
    ("lakeshore", "Lakeshore Telecom", "US", "America/Chicago", true, &[], false),
    ("keystone", "Keystone Carrier Services", "US", "America/New_York", false, &[], false),
    ("redrock", "Red Rock Interconnect", "US", "America/Phoenix", false, &[], false),
    ("magnolia", "Magnolia Wireless", "US", "America/Chicago", false, &[], false),
    ("pinecrest", "Pinecrest Rural Telephone", "US", "America/New_York", true, &[], false),
    ("cascade", "Cascade VoIP", "US", "America/Los_Angeles", false, &[], false),
    ("atlas", "Atlas Gateway Inc.", "US", "America/New_York", false, &["atlas-uk"], false),
    ("atlas-uk", "Atlas Gateway UK Ltd", "GB", "Europe/London", false, &[], false),
    ("meridian", "Meridian Transit", "US", "America/Chicago", false, &[], false),
    ("beacon", "Beacon Dialer Services", "US", "America/New_York", false, &[], false),
    ("northstar", "Northstar Telecom", "US", "America/Chicago", false, &["northstar-mobile"], true),
    ("northstar-mobile", "Northstar Mobile", "US", "America/Chicago", false, &[], false),
    ("gulfcoast", "Gulf Coast Telephone", "US", "America/Chicago", false, &[], false),
    ("tidewater", "Tidewater Networks", "US", "America/New_York", false, &[], false),
    ("copperline", "Copperline Communications", "US", "America/Denver", false, &[], false),
    ("bluegrass", "Bluegrass Voice", "US", "America/Kentucky/Louisville", false, &[], false),
    ("evergreen", "Evergreen Digital Voice", "US", "America/Los_Angeles", false, &[], false),
    ("islandtel", "Island Telephone of Puerto Rico", "PR", "America/Puerto_Rico", false, &[], false),
    ("quickroute", "QuickRoute SIP", "US", "America/New_York", false, &[], false),
    ("silverline", "Silverline Telecom", "US", "America/Chicago", false, &[], false),
    ("ridgeview", "Ridgeview Telephone", "US", "America/New_York", true, &[], false),
    ("openrange", "Open Range Voice", "US", "America/Denver", false, &[], false),
    ("lumengate", "Lumen Gate Telecom GmbH", "DE", "Europe/Berlin", false, &[], false),
    ("oceancable", "Ocean Cable de Mexico S.A. de C.V.", "MX", "America/Mexico_City", false, &[], false),
    ("andina", "Andina Voz S.A.S.", "CO", "America/Bogota", false, &[], false),
    ("thames", "Thames Voice Exchange Ltd", "GB", "Europe/London", false, &[], false),
    ("mapleleaf", "Maple Leaf Interconnect", "CA", "America/Toronto", false, &[], false),
    ("lagos", "Lagos Digital Telecom", "NG", "Africa/Lagos", false, &[], false),
    ("manila", "Manila Call Bridge Inc.", "PH", "Asia/Manila", false, &[], false),
    ("indus", "Indus Wholesale Voice", "PK", "Asia/Karachi", false, &[], false),
    ("saffron", "Saffron Telecom Pvt Ltd", "IN", "Asia/Kolkata", false, &[], false),
    ("caribe", "Caribe Enlace S.R.L.", "DO", "America/Santo_Domingo", false, &[], false),
    ("fjord", "Fjord Carrier AS", "NO", "Europe/Oslo", false, &[], false),
    ("kestrel", "Kestrel Voice Partners", "US", "America/New_York", false, &[], false),
];

/// What happens in a demo traceback, minutes after it starts.
#[derive(Debug, Clone)]
pub enum Step {
    Acknowledge(&'static str),
    Upstream(&'static str, &'static str),
    UpstreamNew(&'static str, &'static str, &'static str),
    Originated(&'static str, &'static str, &'static str),
    NotFound(&'static str, bool),
    Dispute(&'static str, &'static str),
    ReviewDispute(&'static str, bool),
    StrikeExempt(&'static str),
    Close(&'static str),
    Redirect(&'static str),
    Extend(&'static str, i64),
    Comment(&'static str, &'static str),
}

pub struct Script {
    /// Hours before now that the traceback starts.
    pub hours_ago: i64,
    pub category: Category,
    pub terminating: &'static str,
    pub calling: &'static str,
    pub called: &'static str,
    pub campaign: &'static str,
    pub basis: &'static str,
    pub steps: &'static [(i64, Step)],
}

use Step::{
    Acknowledge, Close, Comment, Dispute, Extend, NotFound, Originated, Redirect, ReviewDispute, StrikeExempt,
    Upstream, UpstreamNew,
};

pub const SCRIPTS: &[Script] = &[
    // U.S. origin after two transit hops.
    Script {
        hours_ago: 24 * 12,
        category: Category::Domestic,
        terminating: "prairie",
        calling: "+1 202-555-0123",
        called: "(620) 555-0150",
        campaign: "Medicare card renewal",
        basis: "Analytics flagged 41,000 calls in a day with a prerecorded Medicare impersonation message.",
        steps: &[
            (40, Acknowledge("prairie")),
            (90, Upstream("prairie", "summit")),
            (180, Upstream("summit", "keystone")),
            (300, Originated("keystone", "Acme Outbound Dialing LLC", "US")),
        ],
    },
    // International origin: the call entered the U.S. at Atlas from Thames, which got it from Saffron.
    Script {
        hours_ago: 24 * 10,
        category: Category::Domestic,
        terminating: "magnolia",
        calling: "+1 800-555-0100",
        called: "+1 415-555-0111",
        campaign: "Amazon account suspension",
        basis: "Consumer complaints and a transcript impersonating a retailer's fraud department.",
        steps: &[
            (30, Upstream("magnolia", "quickroute")),
            (150, Upstream("quickroute", "atlas")),
            (400, Upstream("atlas", "thames")),
            (900, Upstream("thames", "saffron")),
            (1300, Originated("saffron", "Bright Future BPO", "IN")),
        ],
    },
    // The foreign point of departure never answers.
    Script {
        hours_ago: 24 * 9,
        category: Category::Domestic,
        terminating: "harbor",
        calling: "+1 202-555-0177",
        called: "+1 212-555-0142",
        campaign: "Social Security suspension",
        basis: "Government-impersonation calls reported by an enforcement partner.",
        steps: &[
            (60, Upstream("harbor", "meridian")),
            (120, Upstream("meridian", "quickroute")),
            (200, Upstream("quickroute", "lagos")),
        ],
    },
    // The terminating provider never answers.
    Script {
        hours_ago: 24 * 8,
        category: Category::Domestic,
        terminating: "openrange",
        calling: "+1 303-555-0188",
        called: "+1 720-555-0109",
        campaign: "Auto warranty",
        basis: "High-volume extended-warranty calls with spoofed local numbers.",
        steps: &[],
    },
    // A transit provider cannot find the call.
    Script {
        hours_ago: 24 * 7,
        category: Category::Domestic,
        terminating: "lakeshore",
        calling: "+1 312-555-0134",
        called: "+1 773-555-0190",
        campaign: "Utility disconnection",
        basis: "Calls threatening power disconnection unless paid in gift cards.",
        steps: &[
            (30, Acknowledge("lakeshore")),
            (120, Upstream("lakeshore", "silverline")),
            (600, NotFound("silverline", false)),
            (900, StrikeExempt("technical error: the analytics feed gave a call time an hour off")),
        ],
    },
    // Withdrawn by staff.
    Script {
        hours_ago: 24 * 6,
        category: Category::Domestic,
        terminating: "copperline",
        calling: "+1 720-555-0101",
        called: "+1 303-555-0166",
        campaign: "Student loan forgiveness",
        basis: "Referral from a community participant.",
        steps: &[
            (45, Upstream("copperline", "redrock")),
            (200, Close("the referral turned out to concern a lawful, consented campaign")),
        ],
    },
    // An accepted dispute makes the traceback strike exempt.
    Script {
        hours_ago: 24 * 5,
        category: Category::Domestic,
        terminating: "bluegrass",
        calling: "+1 502-555-0112",
        called: "+1 859-555-0178",
        campaign: "Pharmacy refill reminders",
        basis: "Volume spike reported by an analytics provider.",
        steps: &[
            (30, Upstream("bluegrass", "beacon")),
            (90, Dispute("beacon", "These are consented prescription reminders sent for a pharmacy chain.")),
            (200, ReviewDispute("beacon", true)),
            (260, Originated("beacon", "Neighbourhood Pharmacy Group", "US")),
        ],
    },
    // "Not our call", staff redirect the downstream, and the trace reaches a U.S. origin through an
    // affiliate of the same VSP entity.
    Script {
        hours_ago: 24 * 4,
        category: Category::Domestic,
        terminating: "pinecrest",
        calling: "+1 804-555-0145",
        called: "+1 757-555-0133",
        campaign: "Credit card interest reduction",
        basis: "Complaints naming the same callback number.",
        steps: &[
            (60, Upstream("pinecrest", "tidewater")),
            (180, NotFound("tidewater", true)),
            (240, Redirect("pinecrest")),
            (300, Upstream("pinecrest", "bigwire")),
            (420, Upstream("bigwire", "bigwire-west")),
            (600, Originated("bigwire-west", "Pacific Lead Generation Co", "US")),
        ],
    },
    // A loop: the named upstream is already in the path. Waiting for staff review.
    Script {
        hours_ago: 30,
        category: Category::Domestic,
        terminating: "gulfcoast",
        calling: "+1 504-555-0155",
        called: "+1 985-555-0122",
        campaign: "Hurricane relief donations",
        basis: "Charity-fraud calls after a storm, reported by a state attorney general.",
        steps: &[
            (20, Upstream("gulfcoast", "meridian")),
            (80, Upstream("meridian", "cascade")),
            (150, Upstream("cascade", "meridian")),
        ],
    },
    // An upstream the platform did not know; the new, unverified provider has been asked.
    Script {
        hours_ago: 5,
        category: Category::Domestic,
        terminating: "ridgeview",
        calling: "+1 518-555-0119",
        called: "+1 315-555-0182",
        campaign: "Bank fraud alert",
        basis: "Calls impersonating a bank's fraud department.",
        steps: &[
            (40, Upstream("ridgeview", "evergreen")),
            (120, UpstreamNew("evergreen", "Sunrise Cloud PBX LLC", "noc@sunrise-pbx.example")),
        ],
    },
    // Just started; the terminating provider is investigating.
    Script {
        hours_ago: 2,
        category: Category::Domestic,
        terminating: "islandtel",
        calling: "+1 787-555-0161",
        called: "+1 787-555-0128",
        campaign: "Package delivery fee",
        basis: "Smishing follow-up calls reported by a logistics company.",
        steps: &[(25, Acknowledge("islandtel"))],
    },
    // Mid-path, with a staff comment for the hop's parties and a granted extension.
    Script {
        hours_ago: 7,
        category: Category::Domestic,
        terminating: "kestrel",
        calling: "+1 617-555-0190",
        called: "+1 508-555-0113",
        campaign: "Tax debt relief",
        basis: "IRS-impersonation robocalls reported by TIGTA.",
        steps: &[
            (30, Upstream("kestrel", "northstar")),
            (90, Acknowledge("northstar")),
            (120, Comment("northstar", "Please include the ingress trunk group with your answer.")),
            (180, Extend("northstar", 30)),
        ],
    },
    // Foreign law-enforcement request: the call terminated in the United Kingdom.
    Script {
        hours_ago: 24 * 3,
        category: Category::ForeignLawEnforcement,
        terminating: "thames",
        calling: "+44 20 7946 0958",
        called: "+44 161 496 0000",
        campaign: "HMRC refund scam",
        basis: "Request from a foreign law-enforcement agency under a mutual assistance arrangement.",
        steps: &[
            (120, Upstream("thames", "atlas-uk")),
            (400, Upstream("atlas-uk", "atlas")),
            (700, Originated("atlas", "Transatlantic Leads Inc.", "US")),
        ],
    },
    // The call entered the U.S. twice before reaching its international origin.
    Script {
        hours_ago: 24 * 2,
        category: Category::Domestic,
        terminating: "summit",
        calling: "+1 801-555-0147",
        called: "+1 385-555-0168",
        campaign: "Medicare card renewal",
        basis: "Same campaign as an earlier traceback, new calling number.",
        steps: &[
            (30, Upstream("summit", "cascade")),
            (100, Upstream("cascade", "mapleleaf")),
            (240, Upstream("mapleleaf", "quickroute")),
            (330, Upstream("quickroute", "oceancable")),
            (500, Upstream("oceancable", "andina")),
            (800, Originated("andina", "Call Centre Pacífico SAS", "CO")),
        ],
    },
    // Open: the terminating provider has not yet answered.
    Script {
        hours_ago: 1,
        category: Category::Domestic,
        terminating: "harbor",
        calling: "+1 202-555-0199",
        called: "+1 646-555-0104",
        campaign: "Social Security suspension",
        basis: "Government-impersonation calls reported by an enforcement partner.",
        steps: &[],
    },
];

/// The organisations the demo's candidates and incident data come from: (id, name, source kind).
pub const SUBMITTERS: &[(&str, &str, SourceKind)] = &[
    ("signalwatch", "SignalWatch Analytics", SourceKind::AnalyticsProvider),
    ("state-ag-example", "Office of the Attorney General, State of Example", SourceKind::StateEnforcement),
    ("foreign-agency-example", "Example Kingdom Communications Authority", SourceKind::ForeignEnforcement),
];

/// Campaign labels and the campaigns under them.
pub const CAMPAIGN_LABELS: &[(&str, &[&str])] = &[
    (
        "Government impersonation",
        &["Medicare card renewal", "Social Security suspension", "Tax debt relief", "HMRC refund scam"],
    ),
    (
        "Business impersonation",
        &["Amazon account suspension", "Utility disconnection", "Bank fraud alert", "Package delivery fee"],
    ),
    (
        "Financial offers",
        &["Auto warranty", "Student loan forgiveness", "Credit card interest reduction", "Pharmacy refill reminders"],
    ),
    ("Charity fraud", &["Hurricane relief donations"]),
];

/// Candidates still in the queue: (submitter, calling, called, summary, rejection reason).
pub const QUEUED: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "signalwatch",
        "+1 415-555-0188",
        "+1 702-555-0111",
        "12,000 calls in two hours offering a prize claim for a fee.",
        None,
    ),
    (
        "state-ag-example",
        "+1 312-555-0175",
        "+1 217-555-0102",
        "Consumer complaints of threats of arrest over unpaid tolls.",
        None,
    ),
    (
        "signalwatch",
        "+1 646-555-0166",
        "+1 646-555-0167",
        "A single call reported once, no recording.",
        Some("One unverifiable report; the burden outweighs the expected impact."),
    ),
];
