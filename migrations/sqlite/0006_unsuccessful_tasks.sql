-- Failed and canceled tasks, for the lists filtered by those statuses (see
-- the PostgreSQL migration of the same name); completed tasks never write it.
CREATE INDEX tasks_unsuccessful ON tasks (status, id) WHERE status IN ('failed', 'canceled');
