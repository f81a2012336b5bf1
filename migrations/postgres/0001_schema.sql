-- The durable schema for PostgreSQL.
--
-- Conventions:
--   * ids are UUID v7, so `ORDER BY id DESC` is newest first;
--   * timestamps are timestamptz (microseconds, like the domain);
--   * durations are bigint microseconds (`*_us`); retry parameters are the
--     API's raw numbers of seconds (double precision);
--   * counters are bigint, since the API allows u32 values;
--   * states are text with CHECK constraints, so adding one is a plain
--     ALTER TABLE rather than an enum-type dance.
-- The adapter never computes times in SQL: every `now` is a bound parameter.

CREATE TABLE queues (
    name              text PRIMARY KEY,
    created_at        timestamptz NOT NULL,
    task_ttl_seconds  bigint NOT NULL CHECK (task_ttl_seconds >= 0),
    event_ttl_seconds bigint NOT NULL CHECK (event_ttl_seconds >= 0)
);

CREATE TABLE workflow_runs (
    id               uuid PRIMARY KEY,
    workflow_name    text NOT NULL,
    workflow_version text,
    inputs           jsonb,
    created_by       text,
    tags             jsonb NOT NULL,
    status           text NOT NULL
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'canceled')),
    result           jsonb,
    started_at       timestamptz,
    completed_at     timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

-- Listing by name, newest first (the primary key serves unfiltered listing).
CREATE INDEX workflow_runs_name_id ON workflow_runs (workflow_name, id);

CREATE TABLE tasks (
    id                   uuid PRIMARY KEY,
    queue                text NOT NULL REFERENCES queues (name),
    task_name            text NOT NULL,
    params               jsonb NOT NULL,
    headers              jsonb NOT NULL,
    retry_kind           text CHECK (retry_kind IN ('fixed', 'exponential')),
    retry_base_seconds   double precision,
    retry_factor         double precision,
    retry_max_seconds    double precision,
    max_attempts         bigint NOT NULL,
    start_timeout_us     bigint,
    execution_timeout_us bigint,
    workflow_run_id      uuid REFERENCES workflow_runs (id),
    idempotency_key      text,
    run_at               timestamptz,
    status               text NOT NULL
        CHECK (status IN ('pending', 'completed', 'failed', 'canceled')),
    attempts             bigint NOT NULL,
    failures             bigint NOT NULL,
    consecutive_expiries bigint NOT NULL,
    current_run          uuid NOT NULL,
    result               jsonb,
    last_error           text,
    created_at           timestamptz NOT NULL,
    first_claimed_at     timestamptz,
    completed_at         timestamptz,
    -- A lower bound of when a start or execution timeout can cancel the
    -- task (the domain's `machine::deadline`). Claims do not lower it back:
    -- the sweeper loads tasks past it, lets the domain decide, and moves it
    -- forward when the task is not overdue after all.
    deadline             timestamptz,
    -- NULL keys never collide, so only keyed tasks are deduplicated.
    CONSTRAINT tasks_idempotency UNIQUE (queue, idempotency_key)
);

-- Listing a queue's tasks newest first.
CREATE INDEX tasks_queue_id ON tasks (queue, id);
-- A workflow run's tasks, oldest first.
CREATE INDEX tasks_workflow_id ON tasks (workflow_run_id, id) WHERE workflow_run_id IS NOT NULL;
-- The timeout sweeper: unfinished tasks with a deadline, earliest first.
CREATE INDEX tasks_deadline ON tasks (deadline) WHERE status = 'pending' AND deadline IS NOT NULL;
-- Retention: finished tasks of a queue, oldest completion first.
CREATE INDEX tasks_finished ON tasks (queue, completed_at) WHERE status <> 'pending';

CREATE TABLE runs (
    id               uuid PRIMARY KEY,
    task_id          uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    queue            text NOT NULL,
    attempt          bigint NOT NULL,
    status           text NOT NULL
        CHECK (status IN ('pending', 'claimed', 'sleeping', 'completed', 'failed', 'canceled')),
    available_at     timestamptz NOT NULL,
    claimed_at       timestamptz,
    claim_expires_at timestamptz,
    worker_id        text,
    wait_event_name  text,
    wait_step_name   text,
    result           jsonb,
    error            text,
    created_at       timestamptz NOT NULL,
    completed_at     timestamptz,
    CHECK ((wait_event_name IS NULL) = (wait_step_name IS NULL))
);

-- The claim path: a queue's pending runs in due order. Partial, so finished
-- runs (the bulk of the table) are not in it and cannot slow claims down.
CREATE INDEX runs_claimable ON runs (queue, available_at, id) WHERE status = 'pending';
-- Claim expiry sweep.
CREATE INDEX runs_claim_expiry ON runs (claim_expires_at) WHERE status = 'claimed';
-- Waking sleepers whose time came (durable sleeps, event-wait timeouts).
CREATE INDEX runs_sleeping ON runs (available_at) WHERE status = 'sleeping';
-- Emit: the runs sleeping on an event name.
CREATE INDEX runs_event_waiters ON runs (wait_event_name) WHERE status = 'sleeping' AND wait_event_name IS NOT NULL;
-- A task's runs (listing, cascade deletes), newest first by id.
CREATE INDEX runs_task_id ON runs (task_id, id);
-- Queue statistics: counts by state without reading the heap.
CREATE INDEX runs_queue_status ON runs (queue, status);

CREATE TABLE checkpoints (
    task_id    uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step_name  text NOT NULL,
    state      jsonb NOT NULL,
    owner_run  uuid NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (task_id, step_name)
);

-- The memoized outcome of a (task, step) event wait; replays return it.
CREATE TABLE wait_outcomes (
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step_name   text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('resolved', 'timeout')),
    payload     jsonb,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (task_id, step_name),
    CHECK ((outcome = 'resolved') = (payload IS NOT NULL))
);

CREATE TABLE events (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL
);

-- The latest event of a name (wait-for-event resolving from history).
CREATE INDEX events_name_latest ON events (name, created_at DESC, id DESC);
-- Retention, oldest first.
CREATE INDEX events_created ON events (created_at);
