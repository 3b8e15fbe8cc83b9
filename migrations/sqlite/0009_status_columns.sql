-- A status change's statuses in columns of their own, backfilled from its JSON, so the KPIs find
-- the changes to `done` and into or out of `waiting` by index instead of by searching the text.
ALTER TABLE task_events ADD COLUMN status_from TEXT;
ALTER TABLE task_events ADD COLUMN status_to TEXT;
UPDATE task_events
   SET status_from = json_extract(data, '$.from'), status_to = json_extract(data, '$.to')
 WHERE kind = 'status';

DROP INDEX task_events_done_at;
DROP INDEX task_events_done;
DROP INDEX task_events_waiting;
CREATE INDEX task_events_done_at ON task_events (at, task_id) WHERE status_to = 'done';
CREATE INDEX task_events_done ON task_events (task_id, id) WHERE status_to = 'done';
CREATE INDEX task_events_waiting ON task_events (task_id, id) WHERE status_to = 'waiting' OR status_from = 'waiting';
