-- Cron schedules (ext). A schedule's tasks are created in the transaction
-- that moves next_tick past their ticks (durable_domain::schedule), under
-- the schedule's row lock, so a tick fires once however many replicas
-- sweep; the schedule goes with its queue.
CREATE TABLE schedules (
    name          text        PRIMARY KEY,
    queue         text        NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
    cron          text        NOT NULL,
    timezone      text        NOT NULL,
    -- durable_domain::schedule::template_document.
    task          json        NOT NULL,
    catch_up      text        NOT NULL,
    paused        boolean     NOT NULL DEFAULT false,
    next_tick     timestamptz,
    last_tick     timestamptz,
    -- No foreign key: retention may delete the task, the schedule remembers it.
    last_task_id  uuid,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX schedules_queue ON schedules (queue);
CREATE INDEX schedules_due ON schedules (next_tick) WHERE NOT paused AND next_tick IS NOT NULL;
