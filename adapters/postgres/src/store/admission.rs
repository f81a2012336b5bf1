//! Admission of keyed runs (`durable_domain::flow`): after a write that may
//! change a concurrency key's occupancy, the same transaction re-admits the
//! key: it locks the key, reads its claimed and exposed runs and its best
//! held ones, lets the domain decide, and writes the `held` flags.
//!
//! Claims never take the key lock: they turn an exposed run into a claimed
//! one, which leaves the key's occupancy as it was. What admission reads is
//! therefore consistent with any claim racing it: its counts come from one
//! snapshot, and every run it changes is locked first (`SKIP LOCKED`), so a
//! run a claim is taking is left alone and counted as occupied.

use std::collections::HashMap;

use durable_domain::flow::{self, Contender, KeySlot};
use durable_domain::{Run, RunId, Timestamp};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::locks;
use crate::errors::Result;

/// One statement per call reads every key: its claimed and exposed counts,
/// the exposed runs this transaction could lock, and its first held runs
/// due now and due later, locked: `{limit}` of each, the largest limit of
/// the keys read (more contenders than a key's limit change nothing).
///
/// The held arms name no status (only a pending run is held): with
/// `status = 'pending'` the planner, without statistics on a fresh table,
/// read a key's held runs through the `(queue, status)` index it had then, every pending run of
/// the queue, and sorted them (32 s for 1 000 keys behind 100 000 blocked
/// runs of one key). The limit is a literal so the planner knows how few
/// rows are wanted.
///
/// Parameters: `$1` queues, `$2` keys, `$3` limits (arrays, one entry per
/// key); `$4` now.
const LOAD_SQL: &str = "\
WITH keys AS ( \
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS k(queue, key, lim, n) \
) \
SELECT k.n, 'count' AS kind, NULL::uuid AS id, NULL::smallint AS priority, NULL::timestamptz AS available_at, \
       c.claimed, c.exposed \
FROM keys k CROSS JOIN LATERAL ( \
    SELECT count(*) FILTER (WHERE r.status = 'claimed') AS claimed, \
           count(*) FILTER (WHERE r.status = 'pending') AS exposed \
    FROM runs r \
    WHERE r.queue = k.queue AND r.concurrency_key = k.key \
      AND (r.status = 'claimed' OR (r.status = 'pending' AND NOT r.held)) \
) c \
UNION ALL \
SELECT k.n, 'exposed', x.id, x.priority, x.available_at, NULL, NULL \
FROM keys k CROSS JOIN LATERAL ( \
    SELECT r.id, r.priority, r.available_at FROM runs r \
    WHERE r.queue = k.queue AND r.concurrency_key = k.key AND r.status = 'pending' AND NOT r.held \
    FOR UPDATE SKIP LOCKED \
) x \
UNION ALL \
SELECT k.n, 'held', x.id, x.priority, x.available_at, NULL, NULL \
FROM keys k CROSS JOIN LATERAL ( \
    SELECT r.id, r.priority, r.available_at FROM runs r \
    WHERE r.queue = k.queue AND r.concurrency_key = k.key AND r.held AND r.available_at <= $4 \
    ORDER BY r.priority DESC, r.available_at, r.id LIMIT {limit} \
    FOR UPDATE SKIP LOCKED \
) x \
UNION ALL \
SELECT k.n, 'held', x.id, x.priority, x.available_at, NULL, NULL \
FROM keys k CROSS JOIN LATERAL ( \
    SELECT r.id, r.priority, r.available_at FROM runs r \
    WHERE r.queue = k.queue AND r.concurrency_key = k.key AND r.held AND r.available_at > $4 \
    ORDER BY r.available_at, r.priority DESC, r.id LIMIT {limit} \
    FOR UPDATE SKIP LOCKED \
) x";

/// Writes the decided flags and notifies the queues where a run due now was
/// exposed, in one statement. `$1` run ids, `$2` held flags, `$3` now,
/// `$4` the notify channel.
const WRITE_SQL: &str = "\
WITH u AS ( \
    UPDATE runs r SET held = u.held FROM unnest($1::uuid[], $2::boolean[]) AS u(id, held) \
    WHERE r.id = u.id AND r.status = 'pending' \
    RETURNING r.queue, r.held, r.available_at \
) \
SELECT pg_notify($4, q.queue) FROM (SELECT DISTINCT queue FROM u WHERE NOT held AND available_at <= $3) q";

/// Re-admits the keys that a write of `written` may have changed
/// (`flow::keys_to_admit`). Costs nothing when none of them has a key.
pub(crate) async fn after_write<'a>(
    conn: &mut PgConnection,
    written: impl IntoIterator<Item = &'a Run>,
    now: Timestamp,
) -> Result<()> {
    let keys = flow::keys_to_admit(written);
    if keys.is_empty() {
        return Ok(());
    }
    admit(conn, &keys, now).await
}

/// Re-admits `keys` (sorted and distinct, as `flow::keys_to_admit` gives
/// them) at `now`.
pub(crate) async fn admit(conn: &mut PgConnection, keys: &[KeySlot], now: Timestamp) -> Result<()> {
    let limits = locks::concurrency_keys(conn, keys).await?;
    let (queues, names, lims): (Vec<&str>, Vec<&str>, Vec<i64>) = keys
        .iter()
        .filter_map(|slot| Some((slot.queue.as_str(), slot.key.as_str(), i64::from(*limits.get(&slot.queue)?))))
        .fold((Vec::new(), Vec::new(), Vec::new()), |(mut q, mut k, mut l), (queue, key, lim)| {
            q.push(queue);
            k.push(key);
            l.push(lim);
            (q, k, l)
        });
    if queues.is_empty() {
        return Ok(());
    }
    let most = lims.iter().copied().max().unwrap_or(1);
    let sql = LOAD_SQL.replace("{limit}", &most.to_string());
    let rows = sqlx::query(&sql).bind(&queues).bind(&names).bind(&lims).bind(now).fetch_all(&mut *conn).await?;
    let mut keys_read: HashMap<i64, KeyRead> = HashMap::new();
    for row in &rows {
        let key = keys_read.entry(row.try_get("n")?).or_default();
        let kind: &str = row.try_get("kind")?;
        if kind == "count" {
            key.claimed = row.try_get::<i64, _>("claimed")?.try_into().unwrap_or(0);
            key.exposed = row.try_get::<i64, _>("exposed")?.try_into().unwrap_or(0);
            continue;
        }
        let contender = Contender {
            run: RunId::from_uuid(row.try_get("id")?),
            priority: row.try_get("priority")?,
            available_at: row.try_get("available_at")?,
            held: kind == "held",
        };
        if !contender.held {
            key.exposed_locked += 1;
        }
        key.contenders.push(contender);
    }
    let (mut ids, mut held): (Vec<Uuid>, Vec<bool>) = (Vec::new(), Vec::new());
    for (n, lim) in lims.iter().enumerate() {
        let Some(key) = keys_read.get(&(n as i64 + 1)) else { continue };
        // Exposed runs this transaction could not lock are being claimed
        // (or changed by a writer that re-admits after us): they occupy.
        let occupied = key.claimed + key.exposed.saturating_sub(key.exposed_locked);
        let admission = flow::admit(u32::try_from(*lim).unwrap_or(u32::MAX), occupied, &key.contenders, now);
        for (runs, flag) in [(admission.release, false), (admission.hold, true)] {
            for run in runs {
                ids.push(run.as_uuid());
                held.push(flag);
            }
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(WRITE_SQL).bind(ids).bind(held).bind(now).bind(crate::NOTIFY_CHANNEL).execute(conn).await?;
    Ok(())
}

#[derive(Default)]
struct KeyRead {
    claimed: u64,
    exposed: u64,
    exposed_locked: u64,
    contenders: Vec<Contender>,
}
