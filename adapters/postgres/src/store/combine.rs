//! Combining concurrent calls of one kind into one statement.
//!
//! Sixteen workers claiming from one queue at once would otherwise run
//! sixteen claim statements that all start at the head of the same index,
//! step over each other's locked rows (`SKIP LOCKED` still visits them) and
//! commit one by one. Instead, calls of one lane (a queue's claims, the
//! acknowledgements) queue up while the lane's statement is running, and
//! the next statement serves all of them: per lane and process, a bounded
//! number of statements in flight (the store uses one), each serving
//! everything that arrived meanwhile. A lone call runs at once, so an idle
//! server answers as fast as before.
//!
//! The statement runs in a task of its own, so a caller that goes away (a
//! client disconnecting from a long poll) cannot leave a lane stuck; calls
//! whose caller is already gone are dropped before the next statement.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use durable_ports::StoreError;
use tokio::sync::oneshot;

type Reply<Resp> = oneshot::Sender<Result<Resp, StoreError>>;

/// One lane: the calls waiting for a statement, and the drainers running
/// statements for it. A lane exists while it has a drainer.
#[derive(Debug)]
struct Lane<Req, Resp> {
    queued: Vec<(Req, Reply<Resp>)>,
    drainers: usize,
}

#[derive(Debug)]
pub(crate) struct Combiner<K, Req, Resp> {
    lanes: Mutex<HashMap<K, Lane<Req, Resp>>>,
    /// Statements in flight per lane at most. More than one lets the next
    /// statement start while the last one waits for its commit to flush.
    max_in_flight: usize,
    /// A statement takes calls until their `weight` reaches this (at least one).
    max_weight: usize,
}

impl<K, Req, Resp> Combiner<K, Req, Resp>
where
    K: Hash + Eq + Clone + Send + 'static,
    Req: Send + 'static,
    Resp: Send + 'static,
{
    pub(crate) fn new(max_in_flight: usize, max_weight: usize) -> Self {
        Self { lanes: Mutex::new(HashMap::new()), max_in_flight: max_in_flight.max(1), max_weight }
    }

    /// Runs `req` in a statement of `key`'s lane: `work` gets the calls of one
    /// statement and answers each, in order. `weight` says how much of a
    /// statement a call takes (rows it may touch).
    pub(crate) async fn call<W, Fut>(
        self: &Arc<Self>,
        key: K,
        req: Req,
        weight: fn(&Req) -> usize,
        work: W,
    ) -> Result<Resp, StoreError>
    where
        W: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Resp>, StoreError>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let start_drainer = {
            let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
            let lane = lanes.entry(key.clone()).or_insert_with(|| Lane { queued: Vec::new(), drainers: 0 });
            lane.queued.push((req, reply));
            let start = lane.drainers < self.max_in_flight;
            lane.drainers += usize::from(start);
            start
        };
        if start_drainer {
            tokio::spawn(Arc::clone(self).drain(key, weight, work));
        }
        answer.await.unwrap_or_else(|_| Err(StoreError::Other("the combined statement was abandoned".into())))
    }

    /// Runs statements for the lane until nothing is queued, then retires.
    async fn drain<W, Fut>(self: Arc<Self>, key: K, weight: fn(&Req) -> usize, work: W)
    where
        W: Fn(Vec<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Resp>, StoreError>> + Send + 'static,
    {
        while let Some(batch) = self.next_batch(&key, weight) {
            let (reqs, replies): (Vec<Req>, Vec<Reply<Resp>>) = batch.into_iter().unzip();
            match work(reqs).await {
                Ok(answers) => {
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(Ok(answer));
                    }
                }
                Err(err) => {
                    for reply in replies {
                        let _ = reply.send(Err(duplicate(&err)));
                    }
                }
            }
        }
    }

    /// The calls of the lane's next statement, oldest first, leaving out
    /// those whose caller is gone; `None` (and the drainer retires) when
    /// nothing is waiting.
    fn next_batch(&self, key: &K, weight: fn(&Req) -> usize) -> Option<Vec<(Req, Reply<Resp>)>> {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        let lane = lanes.get_mut(key)?;
        lane.queued.retain(|(_, reply)| !reply.is_closed());
        if lane.queued.is_empty() {
            lane.drainers -= 1;
            if lane.drainers == 0 {
                lanes.remove(key);
            }
            return None;
        }
        let mut taken = 0;
        let mut total = 0;
        while taken < lane.queued.len() && (taken == 0 || total + weight(&lane.queued[taken].0) <= self.max_weight) {
            total += weight(&lane.queued[taken].0);
            taken += 1;
        }
        Some(lane.queued.drain(..taken).collect())
    }
}

/// The same error for every call of a failed statement.
fn duplicate(err: &StoreError) -> StoreError {
    match err {
        StoreError::NotFound(e) => StoreError::NotFound(e.clone()),
        StoreError::Conflict(e) => StoreError::Conflict(e.clone()),
        StoreError::Invalid(e) => StoreError::Invalid(e.clone()),
        StoreError::Unavailable(e) => StoreError::Unavailable(e.clone()),
        other => StoreError::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn calls_that_arrive_while_a_statement_runs_share_the_next_one() {
        let combiner = Arc::new(Combiner::<&str, usize, usize>::new(1, 100));
        let statements = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let work = {
            let statements = statements.clone();
            move |reqs: Vec<usize>| {
                let statements = statements.clone();
                let mut released = released.clone();
                async move {
                    statements.fetch_add(1, Ordering::SeqCst);
                    let _ = released.wait_for(|r| *r).await;
                    Ok(reqs.into_iter().map(|r| r * 10).collect())
                }
            }
        };
        let weight: fn(&usize) -> usize = |_| 1;
        let calls: Vec<_> = (1..=5)
            .map(|i| {
                let (combiner, work) = (combiner.clone(), work.clone());
                tokio::spawn(async move { combiner.call("q", i, weight, work).await })
            })
            .collect();
        tokio::task::yield_now().await;
        release.send_replace(true);
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.unwrap().unwrap());
        }
        assert_eq!(answers, vec![10, 20, 30, 40, 50]);
        // The first call ran alone; the four that queued behind it ran together.
        assert!(statements.load(Ordering::SeqCst) <= 2, "{statements:?}");
        assert!(combiner.lanes.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn every_call_of_a_failed_statement_gets_the_error() {
        let combiner = Arc::new(Combiner::<(), u8, u8>::new(1, 10));
        let err = combiner
            .call((), 1, |_| 1, |_reqs: Vec<u8>| async { Err(StoreError::Unavailable("down".into())) })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(m) if m == "down"));
    }
}
