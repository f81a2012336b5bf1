//! Queue depths for the metrics gauges: one statement over the live runs,
//! every queue included.

use durable_domain::{QueueName, Timestamp};
use durable_ports::metrics::{PoolStats, QueueDepth};
use sqlx::PgPool;

use crate::errors::{Result, corrupt};

/// Per queue, each arm of `live` names the queue and exactly the predicate
/// of a partial index (`runs_claimable`, `runs_key_held`,
/// `runs_claim_expiry`, `runs_sleeping`), so the statement reads live runs
/// only, however many finished runs the table holds, and the plan needs no
/// statistics (naming the queue keeps the planner from guessing that half
/// of a fresh table is held). A held run is pending.
const DEPTHS: &str = r#"
SELECT q.name, c.pending_due, c.pending_later, c.claimed, c.sleeping, c.oldest_due
FROM queues q CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE live.status = 'pending' AND live.available_at <= $1) AS pending_due,
           count(*) FILTER (WHERE live.status = 'pending' AND live.available_at > $1) AS pending_later,
           count(*) FILTER (WHERE live.status = 'claimed') AS claimed,
           count(*) FILTER (WHERE live.status = 'sleeping') AS sleeping,
           min(live.available_at) FILTER (WHERE live.status = 'pending' AND live.available_at <= $1) AS oldest_due
    FROM (
        SELECT 'pending' AS status, available_at FROM runs
        WHERE queue = q.name AND status = 'pending' AND NOT held
        UNION ALL SELECT 'pending', available_at FROM runs WHERE queue = q.name AND held
        UNION ALL SELECT 'claimed', available_at FROM runs WHERE queue = q.name AND status = 'claimed'
        UNION ALL SELECT 'sleeping', available_at FROM runs WHERE queue = q.name AND status = 'sleeping'
    ) live
) c
ORDER BY q.name COLLATE "C""#;

type Row = (String, i64, i64, i64, i64, Option<Timestamp>);

pub(crate) async fn depths(pool: &PgPool, now: Timestamp) -> Result<Vec<QueueDepth>> {
    let rows: Vec<Row> = sqlx::query_as(DEPTHS).bind(now).fetch_all(pool).await?;
    rows.into_iter()
        .map(|(name, pending_due, pending_scheduled, claimed, sleeping, oldest_due)| {
            Ok(QueueDepth {
                queue: QueueName::parse("queue", &name).map_err(|_| corrupt(format!("queue name {name:?}")))?,
                pending_due: count(pending_due)?,
                pending_scheduled: count(pending_scheduled)?,
                claimed: count(claimed)?,
                sleeping: count(sleeping)?,
                oldest_pending_age_seconds: oldest_due.map(|due| (now - due).as_seconds_f64()),
            })
        })
        .collect()
}

/// `EXPLAIN ANALYZE` of [`DEPTHS`], for tests of its plan.
pub(crate) async fn explain(pool: &PgPool, now: Timestamp) -> Result<String> {
    let lines: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {DEPTHS}"))
        .bind(now)
        .fetch_all(pool)
        .await?;
    Ok(lines.join("\n"))
}

/// What the pool holds right now: connections lent out and idle ones.
pub(crate) fn pool_stats(pool: &PgPool) -> PoolStats {
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    PoolStats { in_use: pool.size().saturating_sub(idle), idle }
}

fn count(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt(format!("count {n}")))
}
