//! Transaction-scoped advisory locks, for what no row lock can cover: a row
//! that does not exist yet (the next event of a name, the next queue).
//!
//! The two-key form keeps our keys in a space of their own: the first key
//! names the kind of lock, so other applications sharing the database (and
//! sqlx's migration lock, which uses the one-key form) cannot collide.

use std::collections::HashMap;

use durable_domain::QueueName;
use durable_domain::flow::KeySlot;
use sqlx::{PgConnection, Row};

use crate::errors::{Result, corrupt};

/// "dura" in ASCII: events.
const EVENT_NAME: i32 = 0x6475_7261;
/// "durq": the set of queues.
const QUEUE_REGISTRY: i32 = 0x6475_7271;

/// Serializes wait-for-event and emit of the same event name, so an emit
/// either sees the sleeper or the waiter sees the event: no lost wake-up.
/// Taken first in the transaction, before any row lock; except where a
/// transaction that ends a child task announces its end
/// (`events::announce_ends`), which takes it after the child's row locks.
pub(crate) async fn event_name(conn: &mut PgConnection, name: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))").bind(EVENT_NAME).bind(name).execute(conn).await?;
    Ok(())
}

/// "durk": one concurrency key of one queue.
const CONCURRENCY_KEY: i32 = 0x6475_726b;
/// "durc": the claims of one capped queue.
const QUEUE_CLAIMS: i32 = 0x6475_7263;

/// Serializes the admissions of each key (`super::admission`); taken in
/// hash order, so two transactions admitting overlapping keys cannot
/// deadlock on them. Answers each key's queue limit (`key_concurrency_limit`);
/// a queue that no longer exists is left out.
pub(crate) async fn concurrency_keys(conn: &mut PgConnection, keys: &[KeySlot]) -> Result<HashMap<QueueName, u32>> {
    let queues: Vec<&str> = keys.iter().map(|k| k.queue.as_str()).collect();
    let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
    let rows = sqlx::query(
        "WITH l AS ( \
             SELECT pg_advisory_xact_lock($1, h) FROM ( \
                 SELECT DISTINCT hashtext(q || E'\\x1f' || k) AS h FROM unnest($2::text[], $3::text[]) AS u(q, k) \
                 ORDER BY h \
             ) s \
         ) \
         SELECT name, key_concurrency_limit FROM queues \
         WHERE name = ANY($2) AND (SELECT count(*) FROM l) >= 0",
    )
    .bind(CONCURRENCY_KEY)
    .bind(&queues)
    .bind(&names)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get("name")?;
            let queue = QueueName::parse("queue", &name).map_err(|_| corrupt(format!("queue name {name:?}")))?;
            let limit: i64 = row.try_get("key_concurrency_limit")?;
            Ok((queue, u32::try_from(limit).map_err(|_| corrupt(format!("key limit {limit}")))?))
        })
        .collect()
}

/// Serializes the claims of a capped queue, so each counts the claims of
/// the ones before it (`super::runs::claim`).
pub(crate) async fn queue_claims(conn: &mut PgConnection, queue: &QueueName) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(QUEUE_CLAIMS)
        .bind(queue.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Serializes queue creation (the queue limit counts existing queues).
pub(crate) async fn queue_registry(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, 0)").bind(QUEUE_REGISTRY).execute(conn).await?;
    Ok(())
}
