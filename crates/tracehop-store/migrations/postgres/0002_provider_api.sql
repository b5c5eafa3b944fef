-- The provider API: bearer tokens, idempotent POSTs, webhooks and the log of every delivery.

CREATE TABLE api_tokens (
    id                    TEXT   PRIMARY KEY,
    prefix                TEXT   NOT NULL UNIQUE,
    secret_hash           TEXT   NOT NULL,
    name                  TEXT   NOT NULL,
    owner_kind            TEXT   NOT NULL,
    provider_id           TEXT,
    staff_role            TEXT,
    scopes                TEXT   NOT NULL,
    rate_limit_per_minute BIGINT NOT NULL,
    created_by            TEXT   NOT NULL,
    created_at_us         BIGINT NOT NULL,
    expires_at_us         BIGINT,
    revoked_at_us         BIGINT,
    last_used_at_us       BIGINT
);
CREATE INDEX api_tokens_by_provider ON api_tokens (provider_id);

CREATE TABLE idempotency_keys (
    principal       TEXT   NOT NULL,
    idempotency_key TEXT   NOT NULL,
    request_hash    TEXT   NOT NULL,
    status          BIGINT,
    content_type    TEXT,
    body            TEXT,
    location        TEXT,
    created_at_us   BIGINT NOT NULL,
    completed_at_us BIGINT,
    PRIMARY KEY (principal, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at_us);

CREATE TABLE webhooks (
    id                      TEXT    PRIMARY KEY,
    provider_id             TEXT    NOT NULL,
    url                     TEXT    NOT NULL,
    event_types             TEXT    NOT NULL,
    secret                  TEXT    NOT NULL,
    previous_secret         TEXT,
    previous_secret_until_us BIGINT,
    active                  BOOLEAN NOT NULL,
    created_at_us           BIGINT  NOT NULL,
    updated_at_us           BIGINT  NOT NULL
);
CREATE INDEX webhooks_by_provider ON webhooks (provider_id);

CREATE TABLE deliveries (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel      TEXT   NOT NULL,
    job_id       BIGINT,
    webhook_id   TEXT,
    provider_id  TEXT,
    traceback_id TEXT,
    event_id     TEXT   NOT NULL,
    event_type   TEXT   NOT NULL,
    target       TEXT   NOT NULL,
    attempt      BIGINT NOT NULL,
    outcome      TEXT   NOT NULL,
    status_code  BIGINT,
    error        TEXT,
    duration_ms  BIGINT NOT NULL,
    at_us        BIGINT NOT NULL
);
CREATE INDEX deliveries_by_provider ON deliveries (provider_id, at_us);
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, at_us);

-- Other names a provider is known by: FCC Registration Numbers, its Robocall Mitigation Database
-- number, OCN and SPC codes. Answers may name an upstream by any of them.
CREATE TABLE provider_identifiers (
    kind        TEXT NOT NULL,
    value       TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX provider_identifiers_by_provider ON provider_identifiers (provider_id);

-- The snapshot is rewritten by every command: store it out of line without compressing it, which
-- costs more CPU than the space it saves.
ALTER TABLE tracebacks ALTER COLUMN state SET STORAGE EXTERNAL;
