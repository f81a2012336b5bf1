-- Child tasks (ext): the task that spawned this one. No foreign key: a
-- parent may be deleted by retention while its children still run.
ALTER TABLE tasks ADD COLUMN parent_task_id TEXT;

CREATE INDEX tasks_by_parent ON tasks (parent_task_id, id) WHERE parent_task_id IS NOT NULL;
