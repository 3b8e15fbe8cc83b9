-- keel foundation schema (SQLite). Times are unix seconds (UTC).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('task', 0);

CREATE TABLE members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    adapter TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member',
    tz TEXT,
    work_start INTEGER NOT NULL DEFAULT 540,
    work_end INTEGER NOT NULL DEFAULT 1020,
    away_until INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (adapter, platform_id)
);
CREATE INDEX members_by_name ON members (name);

CREATE TABLE clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    owner_id INTEGER REFERENCES members (id),
    contract_signed_at INTEGER,
    go_live_at INTEGER,
    churned_at INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE client_channels (
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    PRIMARY KEY (adapter, channel)
);

CREATE TABLE contacts (
    adapter TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    name TEXT NOT NULL,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    tz TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (adapter, platform_id)
);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    client_id INTEGER REFERENCES clients (id),
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    thread TEXT,
    link TEXT,
    requester_id TEXT NOT NULL,
    requester_name TEXT NOT NULL,
    requester_is_client INTEGER NOT NULL,
    owner_id INTEGER REFERENCES members (id),
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    source TEXT NOT NULL,
    sentiment REAL NOT NULL,
    frustrated INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER,
    first_response_at INTEGER,
    resolved_at INTEGER,
    last_activity_at INTEGER NOT NULL,
    last_client_message_at INTEGER,
    snoozed_until INTEGER,
    escalated_at INTEGER
);
-- Active work in id order, for `list` without a sort (the WHERE must match Filter's literal).
CREATE INDEX tasks_active ON tasks (id) WHERE status IN ('open', 'in-progress', 'waiting');
CREATE INDEX tasks_active_by_client ON tasks (client_id, id) WHERE status IN ('open', 'in-progress', 'waiting');
CREATE INDEX tasks_active_by_owner ON tasks (owner_id, id) WHERE status IN ('open', 'in-progress', 'waiting');
CREATE INDEX tasks_by_channel ON tasks (adapter, channel, id);
CREATE INDEX tasks_by_owner ON tasks (owner_id, status);
CREATE INDEX tasks_by_client ON tasks (client_id, status);

CREATE TABLE task_messages (
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL,
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (adapter, channel, message_id)
);

CREATE TABLE task_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX task_events_by_task ON task_events (task_id, id);

CREATE TABLE touchpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    at INTEGER NOT NULL,
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    speaker TEXT NOT NULL,
    from_client INTEGER NOT NULL
);
CREATE INDEX touchpoints_by_client ON touchpoints (client_id, at);

CREATE TABLE inbound_events (
    adapter TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (adapter, event_id)
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    adapter TEXT NOT NULL,
    target TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_until INTEGER,
    sent_at INTEGER,
    failed_at INTEGER,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (adapter, id) WHERE sent_at IS NULL AND failed_at IS NULL;
