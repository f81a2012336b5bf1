-- Fewer index entries per job (see the PostgreSQL migrations 0008 and
-- 0009): every change of a run's status rewrote its entry in the
-- (queue, status) index, kept for statistics only. The statistics now count
-- each state from a partial index holding only runs in that state; failed
-- and canceled runs get small ones of their own, and completed runs are
-- counted as completed tasks (one per task) from the retention index, which
-- now carries the status so the count reads no table rows.
DROP INDEX runs_by_queue_status;
CREATE INDEX runs_failed ON runs (queue) WHERE status = 'failed';
CREATE INDEX runs_canceled ON runs (queue) WHERE status = 'canceled';
DROP INDEX tasks_finished;
CREATE INDEX tasks_finished ON tasks (queue, completed_at, status) WHERE status <> 'pending';
