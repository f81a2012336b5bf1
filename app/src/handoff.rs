//! Finish and claim in one request: a worker reports the runs it completed
//! or failed together with its next claim, so a batch costs one request,
//! not two. Each finished item is fenced on its own, as in the batch
//! acknowledgement; the claim then behaves exactly as a plain one
//! (long poll included).

use durable_domain::command::{self, Claim, ClaimRequest, Completion};
use durable_domain::{QueueName, ValidationError};
use durable_ports::service::{Finished, Handoff};
use durable_ports::store::CompletedThenClaimed;
use durable_ports::{ItemError, Observation, Service, ServiceError};

use crate::engine::{Engine, existing_queue};

impl Engine {
    pub(crate) async fn handoff(
        &self,
        queue: String,
        finished: Finished,
        request: ClaimRequest,
    ) -> Result<Handoff, ServiceError> {
        // Everything is checked before anything is applied: a refused
        // request must not have completed runs behind the worker's back.
        let lane = existing_queue(&queue)?;
        let claim = request.clone().validate()?;
        check(&finished)?;

        if finished.fail.is_empty() && !finished.complete.is_empty() {
            return self.complete_then_claim(lane, finished.complete, claim).await;
        }
        let completed =
            if finished.complete.is_empty() { Vec::new() } else { self.complete_runs(finished.complete).await? };
        let mut failed = Vec::with_capacity(finished.fail.len());
        for failure in finished.fail {
            failed.push(match self.fail_run(failure.run_id, failure.error).await {
                Ok(outcome) => Ok(outcome),
                Err(ServiceError::NotFound(e)) => Err(ItemError::NotFound(e)),
                Err(ServiceError::Conflict(e)) => Err(ItemError::Conflict(e)),
                Err(e) => return Err(e),
            });
        }
        let claimed = self.claim(queue, request).await?;
        Ok(Handoff { completed, failed, claimed })
    }

    /// The common case, completions only: the store completes and claims in
    /// one go (one commit, for PostgreSQL). Only when that finds nothing
    /// due does the claim wait, as a plain one does.
    async fn complete_then_claim(
        &self,
        queue: QueueName,
        complete: Vec<Completion>,
        claim: Claim,
    ) -> Result<Handoff, ServiceError> {
        let once = Claim { long_poll: None, ..claim.clone() };
        let CompletedThenClaimed { completed, mut claimed } =
            self.store.runs_complete_then_claim(complete, &queue, &once, self.now()).await?;
        let n = completed.iter().filter(|a| a.is_ok()).count() as u64;
        self.record(Observation::RunsCompleted { n });
        if claimed.is_empty() && claim.long_poll.is_some() {
            claimed = self.claim_runs(&queue, &claim).await?;
        }
        self.record_claimed(queue, &claimed);
        Ok(Handoff { completed, failed: Vec::new(), claimed })
    }
}

fn check(finished: &Finished) -> Result<(), ValidationError> {
    let most = command::MAX_BATCH;
    if finished.complete.len() > most {
        return Err(ValidationError::invalid("complete", format!("must hold at most {most} runs")));
    }
    if finished.fail.len() > most {
        return Err(ValidationError::invalid("fail", format!("must hold at most {most} runs")));
    }
    for (i, item) in finished.complete.iter().enumerate() {
        if let Some(result) = &item.result {
            command::json(&format!("complete[{i}].result"), result)?;
        }
    }
    for (i, item) in finished.fail.iter().enumerate() {
        command::text(&format!("fail[{i}].error"), &item.error)?;
    }
    Ok(())
}
