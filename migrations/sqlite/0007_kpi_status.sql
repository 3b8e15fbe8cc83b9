-- The status changes KPIs look for, by task and by time: only the events that match are in
-- these indexes, so a week's resolutions, a task's waiting spells and its first `done` are read
-- without touching its other events. (A query uses one of them when its WHERE clause repeats
-- the index's condition word for word.)
CREATE INDEX task_events_done_at ON task_events (at, task_id) WHERE kind = 'status' AND data LIKE '%"done"%';
CREATE INDEX task_events_done ON task_events (task_id, id) WHERE kind = 'status' AND data LIKE '%"done"%';
CREATE INDEX task_events_waiting ON task_events (task_id, id) WHERE kind = 'status' AND data LIKE '%waiting%';
