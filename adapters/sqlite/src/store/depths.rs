//! Queue depths for the metrics gauges: one query over the live runs,
//! every queue included.

use durable_domain::{QueueName, Timestamp};
use durable_ports::StoreError;
use durable_ports::metrics::QueueDepth;

use crate::db::Db;
use crate::errors;
use crate::rows::{self, micros};

/// Each arm of `live` repeats the predicate of a partial index (`runs_due`,
/// `runs_key_held`, `runs_claimed`, `runs_sleeping`) word for word, which is
/// what lets SQLite use it: the query reads live runs only, however many
/// finished runs the table holds. A held run is pending.
const DEPTHS: &str = "\
WITH live AS (
    SELECT queue, 'pending' AS status, available_at FROM runs WHERE status = 'pending' AND held = 0
    UNION ALL SELECT queue, 'pending', available_at FROM runs WHERE held = 1
    UNION ALL SELECT queue, 'claimed', available_at FROM runs WHERE status = 'claimed'
    UNION ALL SELECT queue, 'sleeping', available_at FROM runs WHERE status = 'sleeping'
), counts AS (
    SELECT queue,
           COUNT(*) FILTER (WHERE status = 'pending' AND available_at <= ?1) AS pending_due,
           COUNT(*) FILTER (WHERE status = 'pending' AND available_at > ?1) AS pending_scheduled,
           COUNT(*) FILTER (WHERE status = 'claimed') AS claimed,
           COUNT(*) FILTER (WHERE status = 'sleeping') AS sleeping,
           MIN(available_at) FILTER (WHERE status = 'pending' AND available_at <= ?1) AS oldest_due
    FROM live GROUP BY queue
)
SELECT q.name AS queue, coalesce(c.pending_due, 0) AS pending_due,
       coalesce(c.pending_scheduled, 0) AS pending_scheduled, coalesce(c.claimed, 0) AS claimed,
       coalesce(c.sleeping, 0) AS sleeping, c.oldest_due
FROM queues q
LEFT JOIN counts c ON c.queue = q.name
ORDER BY q.name";

pub(super) async fn depths(db: &Db, now: Timestamp) -> Result<Vec<QueueDepth>, StoreError> {
    let found = sqlx::query(DEPTHS).bind(micros(now)).fetch_all(db.reader()).await.map_err(errors::map_sql)?;
    found
        .iter()
        .map(|row| {
            let cols = rows::Cols(row);
            let oldest_due = cols.opt_time("oldest_due")?;
            Ok(QueueDepth {
                queue: cols.named("queue", |name| QueueName::parse("queue", name).ok())?,
                pending_due: cols.u64("pending_due")?,
                pending_scheduled: cols.u64("pending_scheduled")?,
                claimed: cols.u64("claimed")?,
                sleeping: cols.u64("sleeping")?,
                oldest_pending_age_seconds: oldest_due.map(|due| (now - due).as_seconds_f64()),
            })
        })
        .collect()
}
