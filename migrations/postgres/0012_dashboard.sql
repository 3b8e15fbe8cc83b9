-- Dashboard sign-in: one-time links (valid 10 minutes) and sessions (30 days), each stored as the
-- SHA-256 of its token, never the token itself.
CREATE TABLE dashboard_tokens (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    member_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX dashboard_tokens_member ON dashboard_tokens (member_id);
