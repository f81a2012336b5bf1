-- The dashboard's "failed" and "canceled" task lists: without this index a
-- filter by such a status walks the queue's tasks newest first until it has
-- a page, which on 1 000 000 finished tasks with few failures is every one
-- (199 ms, bench/dashboard-1m.sh). Only failed and canceled tasks are in it,
-- so a task that completes never writes it. The list statement names the
-- status literally, which lets a generic plan use this partial index.
CREATE INDEX tasks_unsuccessful ON tasks (status, id) WHERE status IN ('failed', 'canceled');
