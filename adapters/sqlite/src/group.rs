//! Group commit: concurrent writes share one transaction and one fsync.
//!
//! With `synchronous=FULL` every commit waits for the WAL to reach the disk,
//! and SQLite has one writer, so committing each write on its own caps the
//! store at one write per fsync whatever the load. Instead, writes queue up
//! while the writer is busy and the next transaction runs all of them, each
//! inside a savepoint of its own: a write that fails rolls back to its
//! savepoint and leaves the others alone, and nobody hears "ok" before the
//! shared `COMMIT` is on disk. A lone write runs at once, so an idle store
//! answers as fast as before.
//!
//! The transaction runs in a task of its own, so a caller that goes away
//! mid-write (an HTTP client hanging up) cannot leave the writer inside a
//! transaction; its write still commits, as it would had the caller stayed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use durable_ports::StoreError;
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::oneshot;

use crate::errors;

/// Writes one transaction takes at most; the rest wait for the next one.
const MAX_GROUP: usize = 128;

pub(crate) type WriteFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// Answers a caller, given the shared commit's failure if it failed.
type Settle = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// A write that ran inside the group's transaction, waiting for its commit.
struct Ran {
    ok: bool,
    settle: Settle,
}

/// A queued write, its result type erased.
trait Job: Send {
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> Pin<Box<dyn Future<Output = Ran> + Send + 'c>>;
    fn abandon(self: Box<Self>, err: StoreError);
}

struct Pending<T, F> {
    work: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> Pin<Box<dyn Future<Output = Ran> + Send + 'c>> {
        let Pending { work, reply } = *self;
        Box::pin(async move {
            let result = work(conn).await;
            let ok = result.is_ok();
            let settle = Box::new(move |failed: Option<&StoreError>| {
                let _ = reply.send(match failed {
                    None => result,
                    Some(err) => Err(shared(err)),
                });
            });
            Ran { ok, settle }
        })
    }

    fn abandon(self: Box<Self>, err: StoreError) {
        let _ = self.reply.send(Err(err));
    }
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Box<dyn Job>>,
    draining: bool,
}

/// Told, after a group committed, the queues its writes exposed due runs
/// in (`rows::admission`).
pub(crate) type Waker = Arc<dyn Fn(&str) + Send + Sync>;

/// The queue of writes waiting for the writer, shared by the store's clones.
#[derive(Clone, Default)]
pub(crate) struct Writes {
    queue: Arc<Mutex<Queue>>,
    waker: Option<Waker>,
}

impl std::fmt::Debug for Writes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writes").finish_non_exhaustive()
    }
}

impl Writes {
    /// Writes whose commits tell `waker` the queues of the runs admission
    /// exposed; the writer's connections must have `temp.admitted_wakes`.
    pub(crate) fn waking(waker: Waker) -> Self {
        Self { queue: Arc::default(), waker: Some(waker) }
    }

    /// Runs `work` in a write transaction, possibly shared with other
    /// writes; answers once that transaction committed (or `work` failed,
    /// its changes undone).
    pub(crate) async fn write<T, F>(&self, writer: &SqlitePool, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.jobs.push(Box::new(Pending { work, reply }));
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            let drainer = Drainer { queue: self.queue.clone(), waker: self.waker.clone(), finished: false };
            tokio::spawn(drainer.drain(writer.clone()));
        }
        answer.await.unwrap_or_else(|_| Err(StoreError::Other("the write was abandoned".into())))
    }
}

/// Runs queued writes, a group at a time, until none is left.
struct Drainer {
    queue: Arc<Mutex<Queue>>,
    waker: Option<Waker>,
    /// Set when the queue was found empty and handed back; from then on the
    /// queue may belong to a new drainer.
    finished: bool,
}

impl Drainer {
    async fn drain(mut self, writer: SqlitePool) {
        loop {
            let group = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.jobs.is_empty() {
                    queue.draining = false;
                    self.finished = true;
                    return;
                }
                let take = queue.jobs.len().min(MAX_GROUP);
                queue.jobs.drain(..take).collect::<Vec<_>>()
            };
            run_group(&writer, group, self.waker.as_ref()).await;
        }
    }
}

impl Drop for Drainer {
    /// Only reached with jobs left when the drain task panicked or was
    /// dropped (runtime shutdown): tell their callers instead of leaving
    /// them waiting, and let the next write start a fresh drainer.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        for job in queue.jobs.drain(..) {
            job.abandon(StoreError::Other("the writer stopped".into()));
        }
        queue.draining = false;
    }
}

async fn run_group(writer: &SqlitePool, group: Vec<Box<dyn Job>>, waker: Option<&Waker>) {
    let mut tx = match begin_immediate(writer).await {
        Ok(tx) => tx,
        Err(err) => {
            for job in group {
                job.abandon(shared(&err));
            }
            return;
        }
    };
    let mut ran = Vec::with_capacity(group.len());
    let mut jobs = group.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        if let Err(err) = savepoint(&mut tx, &["SAVEPOINT write"]).await {
            job.abandon(shared(&err));
            broken = Some(err);
            break;
        }
        let done = job.run(&mut tx).await;
        let end: &[&str] = if done.ok { &["RELEASE write"] } else { &["ROLLBACK TO write", "RELEASE write"] };
        ran.push(done);
        if let Err(err) = savepoint(&mut tx, end).await {
            broken = Some(err);
            break;
        }
    }
    let mut woken = Vec::new();
    if broken.is_none() && waker.is_some() {
        match sqlx::query_scalar::<_, String>("DELETE FROM temp.admitted_wakes RETURNING queue")
            .fetch_all(&mut *tx)
            .await
        {
            Ok(queues) => woken = queues,
            Err(err) => broken = Some(errors::map_sql(err)),
        }
    }
    let outcome = match broken {
        // Whatever state the transaction is in, none of it may commit.
        Some(err) => {
            let _ = tx.rollback().await;
            for job in jobs {
                job.abandon(shared(&err));
            }
            Err(err)
        }
        None => tx.commit().await.map_err(errors::map_sql),
    };
    for done in ran {
        (done.settle)(outcome.as_ref().err());
    }
    if let (Ok(()), Some(waker)) = (&outcome, waker) {
        for queue in &woken {
            waker(queue);
        }
    }
}

/// A write transaction holding the database's write lock from its start, so
/// it never reads under a shared lock and then fails to upgrade it.
/// Dropping it without commit rolls it back.
async fn begin_immediate(writer: &SqlitePool) -> Result<Transaction<'static, Sqlite>, StoreError> {
    writer.begin_with("BEGIN IMMEDIATE").await.map_err(errors::map_sql)
}

/// A copy of a failure of the shared transaction for each caller in it.
/// Such failures come from SQLite itself: unavailable, or anything else.
fn shared(err: &StoreError) -> StoreError {
    match err {
        StoreError::Unavailable(detail) => StoreError::Unavailable(detail.clone()),
        other => StoreError::Other(other.to_string()),
    }
}

async fn savepoint(conn: &mut SqliteConnection, statements: &[&str]) -> Result<(), StoreError> {
    for sql in statements {
        sqlx::query(sql).execute(&mut *conn).await.map_err(errors::map_sql)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    use super::*;

    async fn writer(dir: &tempfile::TempDir) -> SqlitePool {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("group.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY)").execute(&pool).await.unwrap();
        pool
    }

    /// Inserts `n`, then fails when `fail` says so: a write that changed
    /// something before it failed.
    fn insert(n: i64, fail: bool) -> impl for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, i64> + Send {
        move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (n) VALUES (?)")
                    .bind(n)
                    .execute(&mut *conn)
                    .await
                    .map_err(errors::map_sql)?;
                if fail { Err(StoreError::Other(format!("write {n} failed"))) } else { Ok(n) }
            })
        }
    }

    /// Waits (up to ten seconds) for the queue to be in a state.
    async fn until(writes: &Writes, state: impl Fn(&Queue) -> bool) {
        for _ in 0..10_000 {
            if state(&writes.queue.lock().unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("the write queue never reached the expected state");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_queued_together_commit_together_and_a_failure_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let pool = writer(&dir).await;
        let writes = Writes::default();
        // The first write holds the writer until released, so the next ten
        // queue up behind it and run as one group.
        let (release, held) = oneshot::channel::<()>();
        let first = {
            let (writes, pool) = (writes.clone(), pool.clone());
            tokio::spawn(async move {
                writes
                    .write(&pool, move |conn| {
                        Box::pin(async move {
                            held.await.unwrap();
                            insert(0, false)(conn).await
                        })
                    })
                    .await
            })
        };
        until(&writes, |q| q.draining && q.jobs.is_empty()).await;
        let queued: Vec<_> = (1..=10)
            .map(|n| {
                let (writes, pool) = (writes.clone(), pool.clone());
                tokio::spawn(async move { writes.write(&pool, insert(n, n == 5)).await })
            })
            .collect();
        until(&writes, |q| q.jobs.len() == 10).await;
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 0);
        for (n, write) in (1..=10).zip(queued) {
            match write.await.unwrap() {
                Ok(got) => assert_eq!(got, n),
                Err(err) => assert_eq!((n, err.to_string()), (5, "storage error: write 5 failed".to_owned())),
            }
        }
        let stored: Vec<i64> = sqlx::query_scalar("SELECT n FROM t ORDER BY n").fetch_all(&pool).await.unwrap();
        assert_eq!(stored, vec![0, 1, 2, 3, 4, 6, 7, 8, 9, 10]);
    }

    #[tokio::test]
    async fn a_write_after_a_quiet_spell_starts_a_new_drainer() {
        let dir = tempfile::tempdir().unwrap();
        let pool = writer(&dir).await;
        let writes = Writes::default();
        for n in 0..3 {
            assert_eq!(writes.write(&pool, insert(n, false)).await.unwrap(), n);
            until(&writes, |q| !q.draining).await;
        }
    }
}
