//! Admission of keyed runs (`durable_domain::flow`): after a write that may
//! change a concurrency key's occupancy, the same transaction re-admits the
//! key. SQLite has one writer, so nothing races it: read the key's claimed
//! count, its exposed runs and its best held ones, let the domain decide,
//! write the `held` flags.
//!
//! A run exposed while due, or a slot freed in a capped queue, must wake
//! the queue's claimers once the write commits; the transaction records the
//! queue in the connection's `temp.admitted_wakes`, which the group commit
//! reads and empties (`crate::group`).

use durable_domain::flow::{self, Contender, KeySlot};
use durable_domain::{Run, RunStatus, Timestamp};
use durable_ports::StoreError;
use sqlx::SqliteConnection;

use super::{Cols, micros};
use crate::errors;

/// Created once on every writer connection when it connects (`crate::db`),
/// so writes only insert into it.
pub(crate) const WAKES_TABLE: &str = "CREATE TEMP TABLE IF NOT EXISTS admitted_wakes (queue TEXT PRIMARY KEY)";

/// Re-admits the key of `run` when its write may have changed the key's
/// occupancy (`flow::keys_to_admit`).
pub(crate) async fn after_write(conn: &mut SqliteConnection, run: &Run, now: Timestamp) -> Result<(), StoreError> {
    for slot in flow::keys_to_admit([run]) {
        admit(conn, &slot, now).await?;
    }
    Ok(())
}

/// A run written in any state but claimed may have freed a slot of a
/// capped queue: its claimers, waiting for room rather than for a new run,
/// are woken once the write commits.
pub(crate) async fn signal_if_capped(conn: &mut SqliteConnection, run: &Run) -> Result<(), StoreError> {
    if run.status == RunStatus::Claimed {
        return Ok(());
    }
    sqlx::query(
        "INSERT OR IGNORE INTO temp.admitted_wakes (queue) \
         SELECT name FROM queues WHERE name = ? AND concurrency_limit IS NOT NULL",
    )
    .bind(run.queue.as_str())
    .execute(&mut *conn)
    .await
    .map_err(errors::map_sql)?;
    Ok(())
}

/// Re-admits one key at `now`.
pub(crate) async fn admit(conn: &mut SqliteConnection, slot: &KeySlot, now: Timestamp) -> Result<(), StoreError> {
    let limit: Option<i64> = sqlx::query_scalar("SELECT key_concurrency_limit FROM queues WHERE name = ?")
        .bind(slot.queue.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(errors::map_sql)?;
    let Some(limit) = limit else { return Ok(()) };
    let claimed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM runs WHERE queue = ? AND concurrency_key = ? AND status = 'claimed'")
            .bind(slot.queue.as_str())
            .bind(&slot.key)
            .fetch_one(&mut *conn)
            .await
            .map_err(errors::map_sql)?;
    let rows = sqlx::query(
        "SELECT id, priority, available_at, held FROM runs \
         WHERE queue = ?1 AND concurrency_key = ?2 AND status = 'pending' AND held = 0 \
         UNION ALL SELECT * FROM ( \
             SELECT id, priority, available_at, held FROM runs \
             WHERE queue = ?1 AND concurrency_key = ?2 AND held = 1 AND available_at <= ?3 \
             ORDER BY priority DESC, available_at, id LIMIT ?4) \
         UNION ALL SELECT * FROM ( \
             SELECT id, priority, available_at, held FROM runs \
             WHERE queue = ?1 AND concurrency_key = ?2 AND held = 1 AND available_at > ?3 \
             ORDER BY available_at, priority DESC, id LIMIT ?4)",
    )
    .bind(slot.queue.as_str())
    .bind(&slot.key)
    .bind(micros(now))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(errors::map_sql)?;
    let contenders = rows
        .iter()
        .map(|row| {
            let c = Cols(row);
            Ok(Contender {
                run: c.parse("id")?,
                priority: c.i16("priority")?,
                available_at: c.time("available_at")?,
                held: c.u32("held")? != 0,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    let admission = flow::admit(limit, u64::try_from(claimed).unwrap_or(0), &contenders, now);
    let mut wake = false;
    for (runs, held) in [(&admission.release, 0_i64), (&admission.hold, 1)] {
        for id in runs {
            sqlx::query("UPDATE runs SET held = ? WHERE id = ?")
                .bind(held)
                .bind(id.to_string())
                .execute(&mut *conn)
                .await
                .map_err(errors::map_sql)?;
        }
    }
    for id in &admission.release {
        wake |= contenders.iter().any(|c| c.run == *id && c.available_at <= now);
    }
    if wake {
        sqlx::query("INSERT OR IGNORE INTO temp.admitted_wakes (queue) VALUES (?)")
            .bind(slot.queue.as_str())
            .execute(&mut *conn)
            .await
            .map_err(errors::map_sql)?;
    }
    Ok(())
}
