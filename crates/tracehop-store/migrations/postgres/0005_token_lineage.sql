-- Token lineage: the token that issued each token (NULL when an operator or a person issued it),
-- and, for a token staff minted, the staff member who did; revoking a token revokes those it
-- issued, found through issued_by.

ALTER TABLE api_tokens ADD COLUMN issued_by TEXT;
ALTER TABLE api_tokens ADD COLUMN minted_by_staff TEXT;
CREATE INDEX api_tokens_by_issuer ON api_tokens (issued_by);
