-- keel foundation schema (PostgreSQL). Times are unix seconds (UTC).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('task', 0);

CREATE TABLE members (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    adapter TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member',
    tz TEXT,
    work_start BIGINT NOT NULL DEFAULT 540,
    work_end BIGINT NOT NULL DEFAULT 1020,
    away_until BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (adapter, platform_id)
);
CREATE INDEX members_by_name ON members (name);

CREATE TABLE clients (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    owner_id BIGINT REFERENCES members (id),
    contract_signed_at BIGINT,
    go_live_at BIGINT,
    churned_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE client_channels (
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    client_id BIGINT NOT NULL REFERENCES clients (id),
    PRIMARY KEY (adapter, channel)
);

CREATE TABLE contacts (
    adapter TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    name TEXT NOT NULL,
    client_id BIGINT NOT NULL REFERENCES clients (id),
    tz TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (adapter, platform_id)
);

CREATE TABLE tasks (
    id BIGINT PRIMARY KEY,
    title TEXT NOT NULL,
    client_id BIGINT REFERENCES clients (id),
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    thread TEXT,
    link TEXT,
    requester_id TEXT NOT NULL,
    requester_name TEXT NOT NULL,
    requester_is_client BIGINT NOT NULL,
    owner_id BIGINT REFERENCES members (id),
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    source TEXT NOT NULL,
    sentiment DOUBLE PRECISION NOT NULL,
    frustrated BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    due_at BIGINT,
    first_response_at BIGINT,
    resolved_at BIGINT,
    last_activity_at BIGINT NOT NULL,
    last_client_message_at BIGINT,
    snoozed_until BIGINT,
    escalated_at BIGINT
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
    task_id BIGINT NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (adapter, channel, message_id)
);

CREATE TABLE task_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id BIGINT NOT NULL REFERENCES tasks (id),
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX task_events_by_task ON task_events (task_id, id);

CREATE TABLE touchpoints (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id BIGINT NOT NULL REFERENCES clients (id),
    at BIGINT NOT NULL,
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    speaker TEXT NOT NULL,
    from_client BIGINT NOT NULL
);
CREATE INDEX touchpoints_by_client ON touchpoints (client_id, at);

CREATE TABLE inbound_events (
    adapter TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (adapter, event_id)
);

CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    adapter TEXT NOT NULL,
    target TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    claimed_until BIGINT,
    sent_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_pending ON outbox (adapter, id) WHERE sent_at IS NULL AND failed_at IS NULL;
