-- The embedded SQLite schema of durable.
--
-- Conventions: times are INTEGER unix microseconds (the domain's precision,
-- so values round-trip exactly); JSON is TEXT; ids are TEXT UUIDs, lower-case
-- and hyphenated, so text order is creation order (UUID v7). Statuses are the
-- domain's lower-case names. STRICT tables reject a value of the wrong type
-- instead of silently storing it.

CREATE TABLE queues (
    name              TEXT    NOT NULL PRIMARY KEY,
    created_at        INTEGER NOT NULL,
    task_ttl_seconds  INTEGER NOT NULL,
    event_ttl_seconds INTEGER NOT NULL
) STRICT;

CREATE TABLE workflow_runs (
    id               TEXT    NOT NULL PRIMARY KEY,
    workflow_name    TEXT    NOT NULL,
    workflow_version TEXT,
    inputs           TEXT,
    created_by       TEXT,
    tags             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    result           TEXT,
    started_at       INTEGER,
    completed_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX workflow_runs_by_name ON workflow_runs (workflow_name, id);

CREATE TABLE tasks (
    id                   TEXT    NOT NULL PRIMARY KEY,
    queue                TEXT    NOT NULL REFERENCES queues (name),
    task_name            TEXT    NOT NULL,
    params               TEXT    NOT NULL,
    headers              TEXT    NOT NULL,
    retry_kind           TEXT,
    retry_base_seconds   REAL,
    retry_factor         REAL,
    retry_max_seconds    REAL,
    max_attempts         INTEGER NOT NULL,
    start_timeout_us     INTEGER,
    execution_timeout_us INTEGER,
    workflow_run_id      TEXT REFERENCES workflow_runs (id),
    idempotency_key      TEXT,
    run_at               INTEGER,
    status               TEXT    NOT NULL,
    attempts             INTEGER NOT NULL,
    failures             INTEGER NOT NULL,
    consecutive_expiries INTEGER NOT NULL,
    current_run          TEXT    NOT NULL,
    result               TEXT,
    last_error           TEXT,
    created_at           INTEGER NOT NULL,
    first_claimed_at     INTEGER,
    completed_at         INTEGER,
    -- The domain's `machine::deadline` while the task is unfinished: the
    -- earliest instant a start or execution timeout can cancel it.
    deadline             INTEGER
) STRICT;

-- Idempotency: one task per key and queue.
CREATE UNIQUE INDEX tasks_idempotency ON tasks (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Listing a queue's tasks newest first; also the queue-delete scan.
CREATE INDEX tasks_by_queue ON tasks (queue, id);
-- Retention: finished tasks of a queue, oldest completion first.
CREATE INDEX tasks_finished ON tasks (queue, completed_at) WHERE status <> 'pending';
-- Timeout enforcement: unfinished tasks by their next deadline.
CREATE INDEX tasks_deadline ON tasks (deadline) WHERE status = 'pending' AND deadline IS NOT NULL;
CREATE INDEX tasks_by_workflow ON tasks (workflow_run_id, id) WHERE workflow_run_id IS NOT NULL;

CREATE TABLE runs (
    id               TEXT    NOT NULL PRIMARY KEY,
    task_id          TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    queue            TEXT    NOT NULL,
    attempt          INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    available_at     INTEGER NOT NULL,
    claimed_at       INTEGER,
    claim_expires_at INTEGER,
    worker_id        TEXT,
    wait_event       TEXT,
    wait_step        TEXT,
    result           TEXT,
    error            TEXT,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER
) STRICT;

-- The claim path: due pending runs of a queue in claim order.
CREATE INDEX runs_due ON runs (queue, available_at, id) WHERE status = 'pending';
-- Emit: runs sleeping on an event name.
CREATE INDEX runs_waiting ON runs (wait_event, id) WHERE status = 'sleeping';
-- The sweeper: sleepers by wake-up time, claimed runs by claim end.
CREATE INDEX runs_sleeping ON runs (available_at, id) WHERE status = 'sleeping';
CREATE INDEX runs_claimed ON runs (claim_expires_at, id) WHERE status = 'claimed';
-- Runs of a task (listing, cascade deletes).
CREATE INDEX runs_by_task ON runs (task_id, id);
-- Queue stats count runs by status without reading the rows.
CREATE INDEX runs_by_queue_status ON runs (queue, status);

CREATE TABLE checkpoints (
    task_id    TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step_name  TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    owner_run  TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (task_id, step_name)
) STRICT;

-- The memoized outcome of a (task, step) event wait: 'resolved' with the
-- event's payload, or 'timeout' (payload NULL).
CREATE TABLE wait_outcomes (
    task_id   TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step_name TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    payload   TEXT,
    PRIMARY KEY (task_id, step_name)
) STRICT;

CREATE TABLE events (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- The latest event of a name: the highest rowid, i.e. the last inserted.
CREATE INDEX events_by_name ON events (name);
-- Retention: oldest events first.
CREATE INDEX events_by_age ON events (created_at);
