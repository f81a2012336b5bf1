//! Transaction-scoped advisory locks, for what no row lock can cover: a row
//! that does not exist yet (the next event of a name, the next queue).
//!
//! The two-key form keeps our keys in a space of their own: the first key
//! names the kind of lock, so other applications sharing the database (and
//! sqlx's migration lock, which uses the one-key form) cannot collide.

use sqlx::PgConnection;

use crate::errors::Result;

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

/// Serializes queue creation (the queue limit counts existing queues).
pub(crate) async fn queue_registry(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, 0)").bind(QUEUE_REGISTRY).execute(conn).await?;
    Ok(())
}
