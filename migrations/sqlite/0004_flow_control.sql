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
-- Admission reads, per key, only bounded index scans: its claimed runs,
-- its exposed runs, its first pending runs in claim order, its first held
-- runs due later. Only keyed runs are in them.
CREATE INDEX runs_key_claimed ON runs (queue, concurrency_key)
    WHERE status = 'claimed' AND concurrency_key IS NOT NULL;
CREATE INDEX runs_key_exposed ON runs (queue, concurrency_key)
    WHERE status = 'pending' AND held = 0 AND concurrency_key IS NOT NULL;
-- Only a pending run is ever held, so held runs are indexed by the flag.
CREATE INDEX runs_key_held ON runs (queue, concurrency_key, priority DESC, available_at, id) WHERE held = 1;
CREATE INDEX runs_key_later ON runs (queue, concurrency_key, available_at, priority DESC, id) WHERE held = 1;
