-- Deliveries name their target (a webhook, the mail relay) so a worker can cap and back off each
-- target alone; timers and deliveries are claimed from separate queues by kind.
ALTER TABLE jobs ADD COLUMN target TEXT;
CREATE INDEX jobs_kind_due ON jobs (kind, state, run_at_us);

-- An idempotency key is written in the transaction of the request's effect: `effect` says what
-- committed (a traceback command's stream and versions), `request_id` which attempt wrote it.
ALTER TABLE idempotency_keys ADD COLUMN request_id TEXT;
ALTER TABLE idempotency_keys ADD COLUMN effect TEXT;
