-- A task whose result someone waits for (GET /tasks/{id}/result, ext): the
-- transaction that ends it wakes its queue's waiters.
ALTER TABLE tasks ADD COLUMN result_watched INTEGER NOT NULL DEFAULT 0;
