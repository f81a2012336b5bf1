//! Queue depths for the metrics gauges: one statement over the live runs,
//! every queue included.

use durable_domain::{QueueName, Timestamp};
use durable_ports::metrics::{PoolStats, QueueDepth};
use sqlx::PgPool;

use crate::errors::{Result, corrupt};

/// Each arm of `live` names exactly the predicate of a partial index
/// (`runs_claimable`, `runs_key_held`, `runs_claim_expiry`,
/// `runs_sleeping`), so the statement reads live runs only, however many
/// finished runs the table holds. A held run is pending (only a pending run
/// is ever held).
const DEPTHS: &str = r#"
WITH live AS MATERIALIZED (
    SELECT queue, 'pending' AS status, available_at FROM runs WHERE status = 'pending' AND NOT held
    UNION ALL SELECT queue, 'pending', available_at FROM runs WHERE held
    UNION ALL SELECT queue, 'claimed', available_at FROM runs WHERE status = 'claimed'
    UNION ALL SELECT queue, 'sleeping', available_at FROM runs WHERE status = 'sleeping'
), counts AS MATERIALIZED (
    SELECT queue,
           count(*) FILTER (WHERE status = 'pending' AND available_at <= $1) AS pending_due,
           count(*) FILTER (WHERE status = 'pending' AND available_at > $1) AS pending_later,
           count(*) FILTER (WHERE status = 'claimed') AS claimed,
           count(*) FILTER (WHERE status = 'sleeping') AS sleeping,
           min(available_at) FILTER (WHERE status = 'pending' AND available_at <= $1) AS oldest_due
    FROM live GROUP BY queue
)
SELECT q.name, coalesce(c.pending_due, 0), coalesce(c.pending_later, 0), coalesce(c.claimed, 0),
       coalesce(c.sleeping, 0), c.oldest_due
FROM queues q
LEFT JOIN counts c ON c.queue = q.name
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

/// What the pool holds right now: connections lent out and idle ones.
pub(crate) fn pool_stats(pool: &PgPool) -> PoolStats {
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    PoolStats { in_use: pool.size().saturating_sub(idle), idle }
}

fn count(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt(format!("count {n}")))
}
