-- Queue statistics without an index by (queue, status) (dropped in 0008):
-- every state is counted from a partial index holding runs in that state
-- only. Failed and canceled runs are few and written once each; completed
-- runs are counted as completed tasks, one per task, from the retention
-- index, which now carries the status so the count reads no table rows.
CREATE INDEX runs_canceled ON runs (queue) WHERE status = 'canceled';
DROP INDEX tasks_finished;
CREATE INDEX tasks_finished ON tasks (queue, completed_at) INCLUDE (status) WHERE status <> 'pending';
