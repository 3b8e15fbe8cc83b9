-- Several keel processes on one database: an inbox event is claimed by one of them for a while
-- (a process that stops leaves the claim to expire), and an outbox row counts its claims, so a
-- claim that ended without a recorded outcome (keel stopped between sending and recording) is
-- known: before sending such a message again, keel asks the platform whether it went out.
ALTER TABLE inbox ADD COLUMN claimed_until BIGINT;
ALTER TABLE outbox ADD COLUMN claims BIGINT NOT NULL DEFAULT 0;
-- A message waits while an earlier one to the same conversation is not out yet: that lookup.
CREATE INDEX outbox_pending_target ON outbox (adapter, target, id) WHERE sent_at IS NULL AND failed_at IS NULL;
