-- The sweep (nudges, SLA warnings, silent clients, overload) always exists: due at once, then it
-- schedules itself every quarter hour.
INSERT INTO jobs (key, kind, next_run_at, data) VALUES ('sweep', 'sweep', 0, '{}');
