-- Indexes shaped for capture, which writes every one of them for each new task.

-- Grouping looks for the newest open auto-captured task in a channel by the time of its last
-- client message; the old index on (adapter, channel, id) made it walk every task of the channel.
CREATE INDEX tasks_groupable ON tasks (adapter, channel, last_client_message_at)
    WHERE source = 'auto' AND status = 'open';
-- A team reply at the top of a client channel answers the tasks there still waiting for one;
-- tasks leave this index once answered, so it stays small.
CREATE INDEX tasks_awaiting ON tasks (adapter, channel)
    WHERE first_response_at IS NULL AND requester_is_client = 1 AND status IN ('open', 'in-progress', 'waiting');
DROP INDEX tasks_by_channel;
-- Covered by the partial indexes on active tasks for every query keel makes.
DROP INDEX tasks_by_owner;
DROP INDEX tasks_by_client;

-- Tables keyed by platform ids keep their rows in the key's B-tree (no second tree to update).
CREATE TABLE inbound_events_new (
    adapter TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (adapter, event_id)
) WITHOUT ROWID;
INSERT INTO inbound_events_new SELECT adapter, event_id, received_at FROM inbound_events;
DROP TABLE inbound_events;
ALTER TABLE inbound_events_new RENAME TO inbound_events;

CREATE TABLE task_messages_new (
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL,
    task_id INTEGER NOT NULL REFERENCES tasks (id),
    PRIMARY KEY (adapter, channel, message_id)
) WITHOUT ROWID;
INSERT INTO task_messages_new SELECT adapter, channel, message_id, task_id FROM task_messages;
DROP TABLE task_messages;
ALTER TABLE task_messages_new RENAME TO task_messages;
