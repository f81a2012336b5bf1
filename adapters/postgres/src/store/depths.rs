//! Queue depths for the metrics gauges: one grouped statement over the live
//! runs (the `(queue, status)` index), every queue included.

use durable_domain::{QueueName, Timestamp};
use durable_ports::metrics::{PoolStats, QueueDepth};
use sqlx::PgPool;

use crate::errors::{Result, corrupt};

const DEPTHS: &str = r#"
SELECT q.name,
       count(*) FILTER (WHERE r.status = 'pending' AND r.available_at <= $1),
       count(*) FILTER (WHERE r.status = 'pending' AND r.available_at > $1),
       count(*) FILTER (WHERE r.status = 'claimed'),
       count(*) FILTER (WHERE r.status = 'sleeping'),
       min(r.available_at) FILTER (WHERE r.status = 'pending' AND r.available_at <= $1)
FROM queues q
LEFT JOIN runs r ON r.queue = q.name AND r.status IN ('pending', 'claimed', 'sleeping')
GROUP BY q.name
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
