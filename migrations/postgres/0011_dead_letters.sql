-- The tries a platform answered and refused (a 5xx): only these count towards giving a message
-- up. Tries that found the platform away, or asked to wait, do not. The rows given up (the dead
-- letters) are found by index, for `keel outbox list --failed` and the gauge in /metrics.
ALTER TABLE outbox ADD COLUMN refusals BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_failed ON outbox (adapter, id) WHERE failed_at IS NOT NULL;
