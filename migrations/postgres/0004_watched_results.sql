-- A task whose result someone waits for (GET /tasks/{id}/result, ext): the
-- transaction that ends it notifies its queue. Unwatched tasks, nearly all
-- of them, cost no notification.
ALTER TABLE tasks ADD COLUMN result_watched boolean NOT NULL DEFAULT false;
