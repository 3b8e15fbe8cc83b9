-- The scheduler: jobs with their next run, team holidays, standups, and notices already sent.

-- One row per scheduled thing; `key` names it (`sweep`, `standup:1:7`, `standup_reminder:42`, …).
CREATE TABLE jobs (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    next_run_at BIGINT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    last_run_at BIGINT
);
CREATE INDEX jobs_due ON jobs (next_run_at);

-- Team holidays, as dates in the team's time zone (YYYY-MM-DD).
CREATE TABLE holidays (
    day TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE standups (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cron TEXT NOT NULL,
    questions TEXT NOT NULL,
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE standup_skips (
    standup_id BIGINT NOT NULL REFERENCES standups (id),
    day TEXT NOT NULL,
    PRIMARY KEY (standup_id, day)
);

-- One row per member and local day: the unique key is what makes a prompt go out at most once.
CREATE TABLE standup_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    standup_id BIGINT NOT NULL REFERENCES standups (id),
    member_id BIGINT NOT NULL REFERENCES members (id),
    day TEXT NOT NULL,
    status TEXT NOT NULL,
    prompted_at BIGINT NOT NULL,
    answers TEXT NOT NULL DEFAULT '[]',
    answered_at BIGINT,
    UNIQUE (standup_id, member_id, day)
);
CREATE INDEX standup_runs_open ON standup_runs (member_id, prompted_at) WHERE status = 'prompted';

-- Warnings and nudges sent, by what they were about: none goes out twice for the same thing.
CREATE TABLE notices (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);

-- What kind of message an outbox row is (`reply`, `standup_prompt`, `nudge`, …), and the
-- platform's id for it once sent (a later message can thread under it).
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'reply';
ALTER TABLE outbox ADD COLUMN sent_id TEXT;
