-- Intake: who submits (analytics providers, agencies, organisations), campaigns and their labels,
-- incident data, and traceback candidates with their due diligence.

CREATE TABLE submitters (
    id            TEXT   PRIMARY KEY,
    name          TEXT   NOT NULL,
    kind          TEXT   NOT NULL,
    contact_email TEXT,
    created_at_us BIGINT NOT NULL
);

ALTER TABLE api_tokens ADD COLUMN submitter_id TEXT;

CREATE TABLE campaign_labels (
    id            TEXT   PRIMARY KEY,
    name          TEXT   NOT NULL UNIQUE,
    description   TEXT,
    created_at_us BIGINT NOT NULL
);

CREATE TABLE campaigns (
    id            TEXT   PRIMARY KEY,
    name          TEXT   NOT NULL,
    description   TEXT,
    label_id      TEXT,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL
);
CREATE INDEX campaigns_by_label ON campaigns (label_id);

-- Incident keys compare byte by byte ("C"), as on SQLite: the same order on both engines for
-- keyset paging, and index maintenance without locale-aware comparison on bulk imports.
CREATE TABLE incidents (
    id                     TEXT COLLATE "C" PRIMARY KEY,
    submitter_id           TEXT COLLATE "C" NOT NULL,
    external_id            TEXT COLLATE "C" NOT NULL,
    calling_raw            TEXT   NOT NULL,
    calling_e164           TEXT COLLATE "C",
    called_raw             TEXT   NOT NULL,
    called_e164            TEXT COLLATE "C",
    call_time_us           BIGINT NOT NULL,
    local_time             TEXT,
    local_zone             TEXT,
    originating_ip         TEXT,
    called_ip              TEXT,
    originating_point_code TEXT,
    called_point_code      TEXT,
    sip_call_id            TEXT,
    sip_anomalies          TEXT,
    identity_header        TEXT,
    identity_parsed        TEXT,
    call_volume            BIGINT,
    cdr                    TEXT,
    transcript             TEXT,
    basis                  TEXT,
    campaign_id            TEXT COLLATE "C",
    recording_key          TEXT,
    recording_type         TEXT,
    recording_sha256       TEXT,
    recording_size         BIGINT,
    recording_purged_at_us BIGINT,
    created_at_us          BIGINT NOT NULL,
    UNIQUE (submitter_id, external_id)
);
CREATE INDEX incidents_by_campaign ON incidents (campaign_id, call_time_us);
CREATE INDEX incidents_by_called ON incidents (called_e164);

CREATE TABLE candidates (
    id               TEXT   PRIMARY KEY,
    source_kind      TEXT   NOT NULL,
    submitter_id     TEXT,
    submitted_by     TEXT   NOT NULL,
    category         TEXT   NOT NULL,
    incident_id      TEXT,
    campaign_id      TEXT,
    summary          TEXT   NOT NULL,
    status           TEXT   NOT NULL,
    due_diligence    TEXT,
    legal_basis      TEXT,
    decided_by       TEXT,
    decided_at_us    BIGINT,
    rejection_reason TEXT,
    traceback_id     TEXT,
    created_at_us    BIGINT NOT NULL,
    updated_at_us    BIGINT NOT NULL
);
CREATE INDEX candidates_by_status ON candidates (status, created_at_us);
