-- Flow control (ext): priorities, per-key concurrency limits, queue caps.
-- A keyed run is `held` (left out of the claim index) until admission
-- exposes it (durable_domain::flow::admit), so claims never scan past a
-- key with a long backlog.
ALTER TABLE queues ADD COLUMN key_concurrency_limit INTEGER NOT NULL DEFAULT 1;
ALTER TABLE queues ADD COLUMN concurrency_limit INTEGER;

ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN concurrency_key TEXT;

ALTER TABLE runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN concurrency_key TEXT;
ALTER TABLE runs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;

DROP INDEX runs_due;
CREATE INDEX runs_due ON runs (queue, priority DESC, available_at, id) WHERE status = 'pending' AND held = 0;
-- Admission: a key's pending runs, and its claimed ones.
CREATE INDEX runs_key_pending ON runs (queue, concurrency_key, priority DESC, available_at, id)
    WHERE status = 'pending' AND concurrency_key IS NOT NULL;
CREATE INDEX runs_key_claimed ON runs (queue, concurrency_key)
    WHERE status = 'claimed' AND concurrency_key IS NOT NULL;
