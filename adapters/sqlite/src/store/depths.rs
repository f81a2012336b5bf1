//! Queue depths for the metrics gauges: one grouped query over the live
//! runs (the `runs_by_queue_status` index), every queue included.

use durable_domain::{QueueName, Timestamp};
use durable_ports::StoreError;
use durable_ports::metrics::QueueDepth;

use crate::db::Db;
use crate::errors;
use crate::rows::{self, micros};

const DEPTHS: &str = "\
SELECT q.name AS queue,
       COUNT(*) FILTER (WHERE r.status = 'pending' AND r.available_at <= ?1) AS pending_due,
       COUNT(*) FILTER (WHERE r.status = 'pending' AND r.available_at > ?1) AS pending_scheduled,
       COUNT(*) FILTER (WHERE r.status = 'claimed') AS claimed,
       COUNT(*) FILTER (WHERE r.status = 'sleeping') AS sleeping,
       MIN(r.available_at) FILTER (WHERE r.status = 'pending' AND r.available_at <= ?1) AS oldest_due
FROM queues q
LEFT JOIN runs r ON r.queue = q.name AND r.status IN ('pending', 'claimed', 'sleeping')
GROUP BY q.name
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
