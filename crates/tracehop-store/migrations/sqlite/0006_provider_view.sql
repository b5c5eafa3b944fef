-- What a provider sees: each hop row keeps the opaque reference its provider names it by (a keyed
-- hash of its position; see tracehop_core::traceback::reference), so a provider's hop lists and
-- their cursors carry no position. Rows written before this are filled in when next written.
ALTER TABLE hops ADD COLUMN reference TEXT;

-- Once a traceback uses an incident, its recording is evidence: the traceback that first used it
-- is kept, and a corrected recording becomes a new version with the one it replaced kept below.
ALTER TABLE incidents ADD COLUMN used_by_traceback TEXT;
CREATE TABLE incident_recording_versions (
    incident_id      TEXT   NOT NULL,
    version          BIGINT NOT NULL,
    recording_key    TEXT   NOT NULL,
    recording_type   TEXT   NOT NULL,
    recording_sha256 TEXT   NOT NULL,
    recording_size   BIGINT NOT NULL,
    replaced_at_us   BIGINT NOT NULL,
    PRIMARY KEY (incident_id, version)
);
