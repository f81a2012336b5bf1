//! Seeding finished runs straight into the PostgreSQL schema
//! (`migrations/postgres`), fast: `generate_series` INSERTs, no API calls.

use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::PgPool;

/// Rows per INSERT statement (one transaction each).
const CHUNK: u64 = 250_000;

/// Completed tasks, each with one completed run, made in SQL. Ids have the
/// UUID v7 layout (48-bit millisecond time first, as the server makes them),
/// times are one millisecond apart and all in the past, so the seeded rows
/// sit in the indexes where real history would.
const SEED_SQL: &str = "\
WITH ids AS ( \
    SELECT g, $3::timestamptz - make_interval(secs => ($2 - g + 1) / 1000.0) AS at \
    FROM generate_series(1, $2::bigint) AS g \
), keyed AS ( \
    SELECT at, \
        (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7' \
            || substr(md5('t' || $4 || g), 1, 3) || '8' || substr(md5('t' || $4 || g), 4, 15))::uuid AS task_id, \
        (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7' \
            || substr(md5('r' || $4 || g), 1, 3) || '8' || substr(md5('r' || $4 || g), 4, 15))::uuid AS run_id \
    FROM ids \
), t AS ( \
    INSERT INTO tasks (id, queue, task_name, params, headers, max_attempts, status, attempts, failures, \
        consecutive_expiries, current_run, result, created_at, first_claimed_at, completed_at) \
    SELECT task_id, $1, 'seed', 'null', '{}', 1, 'completed', 1, 0, 0, run_id, 'null', at, at, at FROM keyed \
) \
INSERT INTO runs (id, task_id, queue, attempt, status, available_at, claimed_at, result, created_at, completed_at) \
SELECT run_id, task_id, $1, 1, 'completed', at, at, 'null', at, at FROM keyed";

/// Finished (not pending, not claimed) runs of `queue` in the table.
pub(crate) async fn finished_runs(pool: &PgPool, queue: &str) -> anyhow::Result<u64> {
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM runs WHERE queue = $1 AND status NOT IN ('pending', 'claimed')")
            .bind(queue)
            .fetch_one(pool)
            .await
            .context("counting finished runs")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Adds `count` completed tasks with one completed run each to `queue`,
/// then `VACUUM ANALYZE`s both tables, as autovacuum would in a steady
/// system. Returns the time it took.
pub(crate) async fn add_finished(pool: &PgPool, queue: &str, count: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let salt = format!("{:016x}", fastrand::u64(..));
    let mut done = 0;
    while done < count {
        let n = CHUNK.min(count - done);
        let now = time::OffsetDateTime::now_utc() - time::Duration::milliseconds((count - done - n) as i64);
        sqlx::query(SEED_SQL)
            .bind(queue)
            .bind(n as i64)
            .bind(now)
            .bind(format!("{salt}-{done}-"))
            .execute(pool)
            .await
            .context("seeding finished runs")?;
        done += n;
    }
    sqlx::query("VACUUM ANALYZE tasks, runs").execute(pool).await.context("VACUUM ANALYZE")?;
    Ok(started.elapsed())
}
