-- Events a platform delivered and keel acknowledged before handling them (Slack wants an answer
-- within 3 s): written in one short transaction, handled in order afterwards, then removed. A
-- crash in between leaves them here for the next start.
CREATE TABLE inbox (
    id BIGSERIAL PRIMARY KEY,
    adapter TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    event TEXT NOT NULL,
    UNIQUE (adapter, event_id)
);
