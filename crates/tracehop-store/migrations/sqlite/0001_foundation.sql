-- tracehop foundation: the event log, traceback read models, the job queue, the provider
-- directory and user accounts. Times are microseconds since the Unix epoch (UTC).

CREATE TABLE events (
    stream_id      TEXT    NOT NULL,
    seq            BIGINT  NOT NULL,
    kind           TEXT    NOT NULL,
    at_us          BIGINT  NOT NULL,
    payload        TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL,
    recorded_at_us BIGINT  NOT NULL,
    PRIMARY KEY (stream_id, seq)
);

CREATE TABLE tracebacks (
    id                   TEXT    PRIMARY KEY,
    number               BIGINT  NOT NULL UNIQUE,
    category             TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    outcome              TEXT,
    origin               TEXT,
    campaign_id          TEXT,
    candidate_id         TEXT,
    incident_id          TEXT,
    terminating_provider TEXT    NOT NULL,
    frontier_provider    TEXT,
    hop_count            BIGINT  NOT NULL,
    strike_exempt        BOOLEAN NOT NULL,
    started_at_us        BIGINT  NOT NULL,
    closed_at_us         BIGINT,
    updated_at_us        BIGINT  NOT NULL,
    version              BIGINT  NOT NULL,
    head_hash            TEXT    NOT NULL,
    state                TEXT    NOT NULL
);
CREATE INDEX tracebacks_by_status ON tracebacks (status, started_at_us);
CREATE INDEX tracebacks_by_campaign ON tracebacks (campaign_id, started_at_us);

CREATE TABLE hops (
    traceback_id   TEXT    NOT NULL,
    hop            BIGINT  NOT NULL,
    provider_id    TEXT    NOT NULL,
    entity_id      TEXT    NOT NULL,
    named_by       BIGINT,
    state          TEXT    NOT NULL,
    labels         TEXT    NOT NULL,
    in_path        BOOLEAN NOT NULL,
    requests       BIGINT  NOT NULL,
    notified_at_us BIGINT,
    start_by_us    BIGINT,
    respond_by_us  BIGINT,
    answered_at_us BIGINT,
    answer_kind    TEXT,
    opened_at_us   BIGINT  NOT NULL,
    updated_at_us  BIGINT  NOT NULL,
    PRIMARY KEY (traceback_id, hop)
);
CREATE INDEX hops_by_provider ON hops (provider_id, state, respond_by_us);
CREATE INDEX hops_by_provider_history ON hops (provider_id, opened_at_us);

CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    dedupe_key      TEXT    UNIQUE,
    run_at_us       BIGINT  NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        BIGINT  NOT NULL DEFAULT 0,
    max_attempts    BIGINT  NOT NULL,
    locked_by       TEXT,
    locked_until_us BIGINT,
    last_error      TEXT,
    created_at_us   BIGINT  NOT NULL,
    finished_at_us  BIGINT
);
CREATE INDEX jobs_due ON jobs (state, run_at_us);

CREATE TABLE providers (
    id                      TEXT    PRIMARY KEY,
    name                    TEXT    NOT NULL,
    country                 TEXT    NOT NULL,
    foreign_flag            BOOLEAN NOT NULL,
    foreign_source          TEXT    NOT NULL,
    foreign_override_reason TEXT,
    separate_treatment      BOOLEAN NOT NULL DEFAULT 0,
    entity_id               TEXT    NOT NULL,
    business_hours          TEXT    NOT NULL,
    deemed_receipt          BOOLEAN NOT NULL DEFAULT 0,
    verified                BOOLEAN NOT NULL DEFAULT 1,
    merged_into             TEXT,
    details                 TEXT    NOT NULL DEFAULT '{}',
    created_at_us           BIGINT  NOT NULL,
    updated_at_us           BIGINT  NOT NULL
);
CREATE INDEX providers_by_entity ON providers (entity_id);

CREATE TABLE provider_affiliates (
    provider_id  TEXT NOT NULL,
    affiliate_id TEXT NOT NULL,
    PRIMARY KEY (provider_id, affiliate_id)
);

CREATE TABLE provider_contacts (
    provider_id    TEXT   NOT NULL,
    role           TEXT   NOT NULL,
    name           TEXT   NOT NULL,
    title          TEXT,
    email          TEXT,
    phone          TEXT,
    business_hours TEXT,
    updated_at_us  BIGINT NOT NULL,
    PRIMARY KEY (provider_id, role)
);

CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    email         TEXT,
    role          TEXT    NOT NULL,
    provider_id   TEXT,
    password_hash TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT 0,
    created_at_us BIGINT  NOT NULL
);

CREATE TABLE counters (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
