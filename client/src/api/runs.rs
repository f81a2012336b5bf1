use futures::Stream;
use reqwest::Method;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::pages::paginate;
use crate::client::{Raw, with_query};
use crate::retry::Idempotency;
use crate::types::results::WaitForTask;
use crate::types::runs::{
    BatchComplete, BatchCompleted, CompleteBody, CompleteOutcome, CompleteRun, FailBody, Heartbeat, HeartbeatBody,
    ListRuns, RunCompleted, RunFailed, RunPage, RunScheduled, RunSummary, ScheduleBody, WaitBody, WaitForEvent,
    WaitOutcome,
};
use crate::{Client, Error};

impl Client {
    /// `GET /runs`: one page of runs, newest first.
    pub async fn list_runs(&self, filter: &ListRuns) -> Result<RunPage, Error> {
        let url = with_query(self.api_url(&["runs"])?, &filter.query());
        self.send(self.call(Method::GET, url).idempotency(Idempotency::Idempotent)).await?.decode()
    }

    /// Every run matching `filter`, following `next_cursor` page by page.
    pub fn list_all_runs(&self, filter: ListRuns) -> impl Stream<Item = Result<RunSummary, Error>> + Send + 'static {
        let client = self.clone();
        paginate(filter.cursor.clone(), move |cursor| {
            let client = client.clone();
            let filter = ListRuns { cursor, ..filter.clone() };
            async move { client.list_runs(&filter).await.map(|page| (page.runs, page.next_cursor)) }
        })
    }

    /// `POST /runs/{id}/complete` with an optional result; [`Error::is_conflict`]
    /// when the claim was lost. Never retried.
    pub async fn complete_run(&self, run_id: Uuid, result: Option<&Value>) -> Result<RunCompleted, Error> {
        let call = self.call(Method::POST, self.run_url(run_id, "complete")?).json(&CompleteBody { result });
        self.send(call).await?.decode()
    }

    /// (ext) `POST /runs/complete`: completes 1–1000 runs in one transaction,
    /// each fenced on its own; outcomes come back in request order. Never retried.
    pub async fn complete_runs(&self, runs: &[CompleteRun]) -> Result<Vec<CompleteOutcome>, Error> {
        let call = self.call(Method::POST, self.api_url(&["runs", "complete"])?).json(&BatchComplete { runs });
        Ok(self.send(call).await?.decode::<BatchCompleted>()?.runs)
    }

    /// `POST /runs/{id}/fail`: the task retries after its backoff or fails
    /// when out of attempts. Never retried.
    pub async fn fail_run(&self, run_id: Uuid, error: &str) -> Result<RunFailed, Error> {
        let call = self.call(Method::POST, self.run_url(run_id, "fail")?).json(&FailBody { error });
        self.send(call).await?.decode()
    }

    /// `POST /runs/{id}/schedule`: defers a pending run, or puts a claimed
    /// run to sleep (durable sleep) until `run_at`.
    pub async fn schedule_run(&self, run_id: Uuid, run_at: OffsetDateTime) -> Result<RunScheduled, Error> {
        let call = self.call(Method::POST, self.run_url(run_id, "schedule")?).json(&ScheduleBody { run_at });
        self.send(call).await?.decode()
    }

    /// `POST /runs/{id}/wait-for-event`: 200 → [`WaitOutcome::Resolved`],
    /// 408 → [`WaitOutcome::Timeout`], 202 → [`WaitOutcome::Sleeping`] (the
    /// run gave up its claim); any other status is an error.
    pub async fn wait_for_event(&self, run_id: Uuid, wait: &WaitForEvent) -> Result<WaitOutcome, Error> {
        let call = self.call(Method::POST, self.run_url(run_id, "wait-for-event")?).json(wait);
        wait_outcome(self.send(call).await?)
    }

    /// (ext) `POST /runs/{id}/wait-for-task`: waits for a child task of the
    /// run's task to end. Answers as [`Client::wait_for_event`] does; a
    /// resolved payload is a [`FinishedTask`](crate::FinishedTask) as JSON.
    /// [`Error::is_conflict`] unless the run holds its claim,
    /// [`Error::is_validation`] when `task_id` is not a child of the run's task.
    pub async fn wait_for_task(&self, run_id: Uuid, wait: &WaitForTask) -> Result<WaitOutcome, Error> {
        let call = self.call(Method::POST, self.run_url(run_id, "wait-for-task")?).json(wait);
        wait_outcome(self.send(call).await?)
    }

    /// (ext) `POST /runs/{id}/heartbeat`: the claim now ends `extend_by_seconds`
    /// from now; [`Error::is_conflict`] when it was lost.
    pub async fn heartbeat(&self, run_id: Uuid, extend_by_seconds: u64) -> Result<Heartbeat, Error> {
        let call =
            self.call(Method::POST, self.run_url(run_id, "heartbeat")?).json(&HeartbeatBody { extend_by_seconds });
        self.send(call).await?.decode()
    }

    fn run_url(&self, run_id: Uuid, action: &str) -> Result<reqwest::Url, Error> {
        self.api_url(&["runs", &run_id.to_string(), action])
    }
}

fn wait_outcome(raw: Raw) -> Result<WaitOutcome, Error> {
    if !matches!(raw.status, 200 | 202 | 408) {
        return Err(Error::from_response(raw.status, &raw.body));
    }
    let body: WaitBody = match serde_json::from_slice(&raw.body) {
        Ok(body) => body,
        // A 408 that is not the API's (a proxy's timeout page) is an error.
        Err(_) if raw.status == 408 => return Err(Error::from_response(raw.status, &raw.body)),
        Err(source) => {
            return Err(Error::Decode { status: raw.status, source });
        }
    };
    Ok(match raw.status {
        200 => WaitOutcome::Resolved { payload: body.payload },
        202 => WaitOutcome::Sleeping { message: body.message },
        _ => WaitOutcome::Timeout { message: body.message },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn raw(status: u16, body: &str) -> Raw {
        Raw { status, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn maps_wait_statuses_to_outcomes() {
        assert_eq!(
            wait_outcome(raw(200, r#"{"status": "resolved", "payload": {"ok": true}}"#)).unwrap(),
            WaitOutcome::Resolved { payload: json!({"ok": true}) }
        );
        assert_eq!(
            wait_outcome(raw(200, r#"{"status": "resolved"}"#)).unwrap(),
            WaitOutcome::Resolved { payload: Value::Null }
        );
        assert_eq!(
            wait_outcome(raw(408, r#"{"status": "timeout", "message": "timed out"}"#)).unwrap(),
            WaitOutcome::Timeout { message: "timed out".into() }
        );
        assert_eq!(
            wait_outcome(raw(202, r#"{"status": "sleeping", "message": "zz"}"#)).unwrap(),
            WaitOutcome::Sleeping { message: "zz".into() }
        );
    }

    #[test]
    fn other_wait_statuses_are_errors() {
        assert!(wait_outcome(raw(409, r#"{"error": "claim lost", "code": "CONFLICT"}"#)).unwrap_err().is_conflict());
        assert!(wait_outcome(raw(404, r#"{"error": "no run", "code": "NOT_FOUND"}"#)).unwrap_err().is_not_found());
        assert!(matches!(wait_outcome(raw(408, "<html>")), Err(Error::Api { status: 408, .. })));
        assert!(matches!(wait_outcome(raw(200, "not json")), Err(Error::Decode { status: 200, .. })));
    }
}
