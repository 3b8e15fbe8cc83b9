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
