-- KPIs read the log by time, so a period's cost follows the period, not the history.
CREATE INDEX tasks_by_created ON tasks (created_at);
CREATE INDEX task_events_by_kind_at ON task_events (kind, at);
CREATE INDEX touchpoints_by_at ON touchpoints (at);

-- Surveys asked and answered: NPS (0-10, per client contact) and CSAT (thumbs, per done task).
CREATE TABLE surveys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    client_id INTEGER NOT NULL REFERENCES clients (id),
    adapter TEXT NOT NULL,
    contact TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    task_id INTEGER REFERENCES tasks (id),
    asked_at INTEGER NOT NULL,
    message_id TEXT,
    answered_at INTEGER,
    score INTEGER
);
CREATE INDEX surveys_answered ON surveys (answered_at) WHERE answered_at IS NOT NULL;
CREATE INDEX surveys_by_contact ON surveys (adapter, contact, kind, asked_at);
-- A reaction on a posted question (its platform message id) is an answer.
CREATE INDEX surveys_by_message ON surveys (message_id) WHERE message_id IS NOT NULL;

-- A client's playbook tasks (onboarding), for the template-trap KPI.
CREATE INDEX tasks_playbook_by_client ON tasks (client_id) WHERE source = 'playbook';

-- The weekly KPI summary always exists: its first run schedules the next Monday 09:00.
INSERT INTO jobs (key, kind, next_run_at, data) VALUES ('weekly_kpi', 'weekly_kpi', 0, '{}');
