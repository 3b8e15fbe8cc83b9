-- Members' homes (Slack's App Home): who opened theirs, and the home as last published, so a
-- change to tasks publishes it again only when what it shows changed.
CREATE TABLE member_homes (
    adapter TEXT NOT NULL,
    user_id TEXT NOT NULL,
    member_id BIGINT NOT NULL,
    rendered TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (adapter, user_id)
);
