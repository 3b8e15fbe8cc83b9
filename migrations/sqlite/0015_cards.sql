-- A task's cards: each message keel posted showing a task (its outbox row), where it went, and
-- the card as last queued, so a change to the task edits every card whose look it changes.
CREATE TABLE task_cards (
    outbox_id BIGINT PRIMARY KEY,
    task_id BIGINT NOT NULL,
    adapter TEXT NOT NULL,
    channel TEXT NOT NULL,
    rendered TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX task_cards_by_task ON task_cards (task_id);
