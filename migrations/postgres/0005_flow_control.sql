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
-- Admission: a key's pending runs in the order they are exposed in, and its
-- claimed runs.
CREATE INDEX runs_key_pending ON runs (queue, concurrency_key, priority DESC, available_at, id)
    WHERE status = 'pending' AND concurrency_key IS NOT NULL;
CREATE INDEX runs_key_claimed ON runs (queue, concurrency_key)
    WHERE status = 'claimed' AND concurrency_key IS NOT NULL;
