-- Common control the RMD import suggests (PRV-3): two filings naming the same FRN, one's
-- other_frns naming another's main FRN. Staff confirm a suggestion (the two become affiliates)
-- or dismiss it with a reason; one row per pair (provider_a < provider_b), so a decided pair is
-- never suggested again.
CREATE TABLE affiliation_suggestions (
    id            BIGINT PRIMARY KEY,
    provider_a    TEXT   NOT NULL,
    provider_b    TEXT   NOT NULL,
    frn           TEXT   NOT NULL,
    source_rmd    TEXT   NOT NULL,
    source_line   BIGINT NOT NULL,
    status        TEXT   NOT NULL,
    reason        TEXT,
    decided_by    TEXT,
    created_at_us BIGINT NOT NULL,
    decided_at_us BIGINT,
    UNIQUE (provider_a, provider_b)
);
CREATE INDEX affiliation_suggestions_by_status ON affiliation_suggestions (status, id);
CREATE INDEX affiliation_suggestions_by_frn ON affiliation_suggestions (frn);
