-- Seeds a migrated durable database with 1 000 000 finished tasks (one run
-- each) in queue `bulk`, so the dashboard's API calls can be timed on a
-- large store (bench/dashboard-1m.sh). Every 1 000th task failed. Task ids
-- are UUID v7 of their creation time, as the server makes them, so newest
-- first by id is newest first by creation, one task per second.
-- A version-7 UUID: the time's unix milliseconds in the first 48 bits, the
-- version nibble 7, the rest (variant included) from a random v4 UUID.
CREATE FUNCTION pg_temp.v7(at timestamptz) RETURNS uuid LANGUAGE sql AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send((extract(epoch FROM at) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

INSERT INTO queues (name, created_at, task_ttl_seconds, event_ttl_seconds)
VALUES ('bulk', now(), 0, 0) ON CONFLICT DO NOTHING;

WITH ids AS (
    SELECT n, pg_temp.v7(at) AS task_id, pg_temp.v7(at) AS run_id, at
    FROM generate_series(1, 1000000) AS n, LATERAL (SELECT now() - make_interval(secs => 1000000 - n) AS at) AS t
), t AS (
    INSERT INTO tasks (id, queue, task_name, params, headers, max_attempts, status, attempts, failures,
                       consecutive_expiries, current_run, result, last_error, created_at, first_claimed_at,
                       completed_at, result_watched, priority)
    SELECT task_id, 'bulk', 'resize', json_build_object('image', n), '{}'::jsonb, 1,
           CASE WHEN n % 1000 = 0 THEN 'failed' ELSE 'completed' END, 1,
           CASE WHEN n % 1000 = 0 THEN 1 ELSE 0 END, 0, run_id,
           CASE WHEN n % 1000 = 0 THEN NULL ELSE '{"ok": true}'::json END,
           CASE WHEN n % 1000 = 0 THEN 'boom' END, at, at, at + interval '1 second', false, 0
    FROM ids
    RETURNING id
)
INSERT INTO runs (id, task_id, queue, attempt, status, available_at, claimed_at, worker_id, result, error,
                  created_at, completed_at, priority, held)
SELECT run_id, task_id, 'bulk', 1, CASE WHEN n % 1000 = 0 THEN 'failed' ELSE 'completed' END, at, at, 'w1',
       CASE WHEN n % 1000 = 0 THEN NULL ELSE '{"ok": true}'::json END,
       CASE WHEN n % 1000 = 0 THEN 'boom' END, at, at + interval '1 second', 0, false
FROM ids;
ANALYZE;
