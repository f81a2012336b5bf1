-- Cron schedules (ext). A schedule's tasks are created in the transaction
-- that moves next_tick past their ticks (durable_domain::schedule), so a
-- tick fires once; the schedule goes with its queue.
CREATE TABLE schedules (
    name          TEXT    PRIMARY KEY,
    queue         TEXT    NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
    cron          TEXT    NOT NULL,
    timezone      TEXT    NOT NULL,
    -- durable_domain::schedule::template_document, as JSON text.
    task          TEXT    NOT NULL,
    catch_up      TEXT    NOT NULL,
    paused        INTEGER NOT NULL DEFAULT 0,
    next_tick     INTEGER,
    last_tick     INTEGER,
    -- No foreign key: retention may delete the task, the schedule remembers it.
    last_task_id  TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX schedules_queue ON schedules (queue);
CREATE INDEX schedules_due ON schedules (next_tick) WHERE paused = 0 AND next_tick IS NOT NULL;
