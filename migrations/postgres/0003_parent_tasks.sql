-- Child tasks (ext): the task that spawned this one. No foreign key: a
-- parent may be deleted by retention while its children still run, and the
-- id stays a plain record of where the child came from.
ALTER TABLE tasks ADD COLUMN parent_task_id uuid;

CREATE INDEX tasks_by_parent ON tasks (parent_task_id, id) WHERE parent_task_id IS NOT NULL;
