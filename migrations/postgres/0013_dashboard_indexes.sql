-- The standups page reads the last days that have runs; expired sign-in tokens are pruned by
-- their expiry.
CREATE INDEX standup_runs_by_day ON standup_runs (day);
CREATE INDEX dashboard_tokens_expiry ON dashboard_tokens (expires_at);
