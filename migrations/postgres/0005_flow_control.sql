-- Flow control (ext): priorities, per-key concurrency limits, queue caps.
--
-- A run carries its task's priority and concurrency key, so the claim index
-- orders by them without a join. A keyed run is `held` (left out of the
-- claim index) until admission exposes it (durable_domain::flow::admit):
-- a key with a long backlog puts at most its limit of runs in front of the
-- claimers, so claims never scan past a blocked key.
ALTER TABLE queues
    ADD COLUMN key_concurrency_limit bigint NOT NULL DEFAULT 1 CHECK (key_concurrency_limit >= 1),
    ADD COLUMN concurrency_limit bigint CHECK (concurrency_limit >= 1);

ALTER TABLE tasks
    ADD COLUMN priority smallint NOT NULL DEFAULT 0,
    ADD COLUMN concurrency_key text;

ALTER TABLE runs
    ADD COLUMN priority smallint NOT NULL DEFAULT 0,
    ADD COLUMN concurrency_key text,
    ADD COLUMN held boolean NOT NULL DEFAULT false;

DROP INDEX runs_claimable;
CREATE INDEX runs_claimable ON runs (queue, priority DESC, available_at, id) WHERE status = 'pending' AND NOT held;
-- Admission reads, per key, only what bounded index scans give: the runs
-- occupying its slots (claimed or exposed), its first held runs in claim
-- order, and its first held runs due later. Only keyed runs are in them.
-- The held ones are indexed by `held` alone (only a pending run is ever
-- held): a query naming no status cannot be planned on `runs_queue_status`
-- instead, which a fresh table's missing statistics made look as cheap.
CREATE INDEX runs_key_occupied ON runs (queue, concurrency_key)
    WHERE concurrency_key IS NOT NULL AND (status = 'claimed' OR (status = 'pending' AND NOT held));
CREATE INDEX runs_key_held ON runs (queue, concurrency_key, priority DESC, available_at, id) WHERE held;
CREATE INDEX runs_key_later ON runs (queue, concurrency_key, available_at, priority DESC, id) WHERE held;
