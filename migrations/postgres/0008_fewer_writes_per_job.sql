-- Fewer index entries per job (issue 13: every status change of a run or a
-- task is a non-HOT update, which inserts an entry into every index of the
-- row's table, so each index costs WAL at every step of every job).
--
-- `runs_queue_status` took three entries per job (create, claim, finish)
-- for statistics only. The live states are counted from the partial
-- indexes the claim and the sweeper already keep (`depths.rs`), failed runs
-- from the small index below (a failure writes it, a success never does),
-- completed runs from the finished tasks (a task completes with exactly
-- one completed run); 0009 does the same for the per-status statistics.
DROP INDEX runs_queue_status;
CREATE INDEX runs_failed ON runs (queue) WHERE status = 'failed';

-- The idempotency key's unique index held an entry for every task, keyed or
-- not, rewritten at its completion. Only keyed tasks are in it now.
ALTER TABLE tasks DROP CONSTRAINT tasks_idempotency;
CREATE UNIQUE INDEX tasks_idempotency ON tasks (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Two foreign keys checked on every create, row by row: a trigger per task
-- locking its queue (which the insert statement has locked already) and one
-- per run locking its task (inserted by the same statement, or locked by
-- the writer adding a retry). About a third of a batch create's time and a
-- row lock's WAL per job. The store keeps both relations by its lock order
-- instead: a task is inserted only under a key-share lock of its queue, a
-- queue is deleted only under an update lock, with its tasks; a run is
-- inserted with its task or under the task's lock, and deleted with it
-- (`queues::delete`, `maintenance::retention`).
ALTER TABLE tasks DROP CONSTRAINT tasks_queue_fkey;
ALTER TABLE runs DROP CONSTRAINT runs_task_id_fkey;
