-- Events a platform delivered and keel acknowledged before handling them (Slack wants an answer
-- within 3 s): written in one short transaction, handled in order afterwards, then removed. A
-- crash in between leaves them here for the next start.
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    adapter TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    event TEXT NOT NULL,
    UNIQUE (adapter, event_id)
);
