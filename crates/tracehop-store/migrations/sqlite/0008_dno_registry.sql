-- Do Not Originate registry (SPEC §12): entries and their numbers, published versions (signed
-- snapshots and deltas), registry users and the log of their downloads.

CREATE TABLE IF NOT EXISTS dno_entries (
    id                 TEXT PRIMARY KEY,
    recipient_name     TEXT NOT NULL,
    -- The date the number's assigned holder authorised the listing (YYYY-MM-DD).
    authorised_on      TEXT NOT NULL,
    government_issued  BOOLEAN NOT NULL,
    -- Calls seen spoofing the numbers (volume evidence); orders distribution (DNO-5).
    volume             BIGINT NOT NULL,
    -- active, or removal (a removal instruction to registry users).
    status             TEXT NOT NULL,
    -- JSON: [{"member": "...", "implemented_on": "YYYY-MM-DD"}]
    implementations    TEXT NOT NULL,
    last_confirmed_on  TEXT,
    created_by         TEXT NOT NULL,
    created_at_us      BIGINT NOT NULL,
    updated_at_us      BIGINT NOT NULL
);

-- A number belongs to at most one entry.
CREATE TABLE IF NOT EXISTS dno_entry_numbers (
    number    BIGINT PRIMARY KEY,
    entry_id  TEXT NOT NULL REFERENCES dno_entries (id)
);
CREATE INDEX IF NOT EXISTS dno_entry_numbers_entry ON dno_entry_numbers (entry_id);

CREATE TABLE IF NOT EXISTS dno_versions (
    version          BIGINT PRIMARY KEY,
    published_at_us  BIGINT NOT NULL,
    published_by     TEXT NOT NULL,
    numbers          BIGINT NOT NULL,
    added            BIGINT NOT NULL,
    removed          BIGINT NOT NULL,
    snapshot_csv     BLOB NOT NULL,
    snapshot_bin     BLOB NOT NULL,
    -- Against the previous version; none for the first.
    delta_csv        BLOB,
    delta_bin        BLOB
);

CREATE TABLE IF NOT EXISTS dno_users (
    id                       TEXT PRIMARY KEY,
    -- Exactly one of provider_id and submitter_id.
    provider_id              TEXT UNIQUE,
    submitter_id             TEXT UNIQUE,
    -- us_provider (cooperative, serving U.S. subscribers) or analytics_provider (staff discretion).
    eligibility              TEXT NOT NULL,
    terms_version            TEXT,
    subscription_active      BOOLEAN NOT NULL,
    usage_start              TEXT,
    -- active or lapsed.
    status                   TEXT NOT NULL,
    lapsed_at_us             BIGINT,
    deletion_attested_at_us  BIGINT,
    deletion_attested_by     TEXT,
    created_at_us            BIGINT NOT NULL,
    updated_at_us            BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS dno_downloads (
    id          TEXT PRIMARY KEY,
    user_id     TEXT REFERENCES dno_users (id),
    actor       TEXT NOT NULL,
    version     BIGINT NOT NULL,
    -- snapshot or delta; csv or binary.
    kind        TEXT NOT NULL,
    format      TEXT NOT NULL,
    at_us       BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS dno_downloads_user ON dno_downloads (user_id, at_us);
