use std::time::Duration;

use futures::Stream;
use reqwest::Method;
use uuid::Uuid;

use super::pages::paginate;
use crate::client::with_query;
use crate::retry::Idempotency;
use crate::types::handoff::{Finished, Handoff, HandoffBody, HandoffResponse};
use crate::types::results::{ResultPoll, UnfinishedBody};
use crate::types::tasks::{
    BatchCreate, BatchCreated, ClaimRequest, ClaimResponse, ClaimedTask, CreateTask, ListTasks, Task, TaskCanceled,
    TaskCreated, TaskPage, TaskRetried, TaskSummary,
};
use crate::{Client, Error};

impl Client {
    /// `POST /queues/{queue}/tasks`: creates a task and its first run.
    ///
    /// Retried on connection errors and 503 only when the task has an
    /// `idempotency_key`; a repeat then returns the same ids with `deduplicated`.
    pub async fn create_task(&self, queue: &str, task: &CreateTask) -> Result<TaskCreated, Error> {
        let call = self
            .call(Method::POST, self.api_url(&["queues", queue, "tasks"])?)
            .json(task)
            .idempotency(Idempotency::when(task.idempotency_key.is_some()));
        self.send(call).await?.decode()
    }

    /// (ext) `POST /queues/{queue}/tasks/batch`: creates 1–1000 tasks in one
    /// transaction; the ids come back in request order. Retried only when
    /// every task has an `idempotency_key`.
    pub async fn create_tasks(&self, queue: &str, tasks: &[CreateTask]) -> Result<Vec<TaskCreated>, Error> {
        let all_keyed = !tasks.is_empty() && tasks.iter().all(|t| t.idempotency_key.is_some());
        let call = self
            .call(Method::POST, self.api_url(&["queues", queue, "tasks", "batch"])?)
            .json(&BatchCreate { tasks })
            .idempotency(Idempotency::when(all_keyed));
        Ok(self.send(call).await?.decode::<BatchCreated>()?.tasks)
    }

    /// `POST /queues/{queue}/tasks/claim`: claims due runs, possibly none.
    ///
    /// With `long_poll_seconds` the request timeout is that long plus the
    /// client's timeout. Never retried: a lost answer may hold claimed runs.
    pub async fn claim(&self, queue: &str, request: &ClaimRequest) -> Result<Vec<ClaimedTask>, Error> {
        let long_poll = Duration::from_secs(request.long_poll_seconds.unwrap_or(0));
        let call = self
            .call(Method::POST, self.api_url(&["queues", queue, "tasks", "claim"])?)
            .json(request)
            .extra_time(long_poll);
        Ok(self.send(call).await?.decode::<ClaimResponse>()?.tasks)
    }

    /// (ext) `POST /queues/{queue}/tasks/claim` with what this worker
    /// finished: completes and fails those runs (each fenced on its own, as
    /// the batch acknowledgement does), then claims as [`Client::claim`]
    /// does. One request per batch instead of two. Never retried: a lost
    /// answer may hold claimed runs, and the finished runs may or may not
    /// have been recorded (reporting them again answers 409 if they were).
    pub async fn claim_after(
        &self,
        queue: &str,
        request: &ClaimRequest,
        finished: &Finished,
    ) -> Result<Handoff, Error> {
        let long_poll = Duration::from_secs(request.long_poll_seconds.unwrap_or(0));
        let call = self
            .call(Method::POST, self.api_url(&["queues", queue, "tasks", "claim"])?)
            .json(&HandoffBody { claim: request, finished })
            .extra_time(long_poll);
        let answer = self.send(call).await?;
        let status = answer.status;
        answer.decode::<HandoffResponse>()?.into_handoff(status)
    }

    /// `GET /tasks`: one page of tasks, newest first.
    pub async fn list_tasks(&self, filter: &ListTasks) -> Result<TaskPage, Error> {
        let url = with_query(self.api_url(&["tasks"])?, &filter.query());
        self.send(self.call(Method::GET, url).idempotency(Idempotency::Idempotent)).await?.decode()
    }

    /// Every task matching `filter`, following `next_cursor` page by page
    /// (starting at `filter.cursor`).
    pub fn list_all_tasks(&self, filter: ListTasks) -> impl Stream<Item = Result<TaskSummary, Error>> + Send + 'static {
        let client = self.clone();
        paginate(filter.cursor.clone(), move |cursor| {
            let client = client.clone();
            let filter = ListTasks { cursor, ..filter.clone() };
            async move { client.list_tasks(&filter).await.map(|page| (page.tasks, page.next_cursor)) }
        })
    }

    /// (ext) `GET /tasks/{id}`: the whole task.
    pub async fn get_task(&self, task_id: Uuid) -> Result<Task, Error> {
        let url = self.api_url(&["tasks", &task_id.to_string()])?;
        self.send(self.call(Method::GET, url).idempotency(Idempotency::Idempotent)).await?.decode()
    }

    /// (ext) `GET /tasks?parent_task_id=…`: one page of the tasks `parent`
    /// spawned, with `filter`'s other filters.
    pub async fn list_child_tasks(&self, parent: Uuid, filter: &ListTasks) -> Result<TaskPage, Error> {
        let url = with_query(self.api_url(&["tasks"])?, &filter.query());
        let url = with_query(url, &[("parent_task_id", Some(parent.to_string()))]);
        self.send(self.call(Method::GET, url).idempotency(Idempotency::Idempotent)).await?.decode()
    }

    /// (ext) `GET /tasks/{id}/result?wait_seconds=N`: the task's end, waiting
    /// up to `wait_seconds` (0–60; 0 answers at once) for it.
    pub async fn task_result(&self, task_id: Uuid, wait_seconds: u64) -> Result<ResultPoll, Error> {
        let wait_seconds = wait_seconds.min(60);
        let url = self.api_url(&["tasks", &task_id.to_string(), "result"])?;
        let url = with_query(url, &[("wait_seconds", Some(wait_seconds.to_string()))]);
        let call = self
            .call(Method::GET, url)
            .idempotency(Idempotency::Idempotent)
            .extra_time(Duration::from_secs(wait_seconds));
        let raw = self.send(call).await?;
        if raw.status == 202 {
            let body: UnfinishedBody = raw.decode()?;
            return Ok(ResultPoll::Unfinished { task_id: body.task_id, status: body.status });
        }
        raw.decode().map(ResultPoll::Finished)
    }

    /// (ext) `POST /tasks/{id}/cancel`; [`Error::is_conflict`] if already finished.
    pub async fn cancel_task(&self, task_id: Uuid) -> Result<TaskCanceled, Error> {
        let url = self.api_url(&["tasks", &task_id.to_string(), "cancel"])?;
        self.send(self.call(Method::POST, url)).await?.decode()
    }

    /// (ext) `POST /tasks/{id}/retry`: a failed or canceled task gets a new
    /// run; [`Error::is_conflict`] for any other task.
    pub async fn retry_task(&self, task_id: Uuid) -> Result<TaskRetried, Error> {
        let url = self.api_url(&["tasks", &task_id.to_string(), "retry"])?;
        self.send(self.call(Method::POST, url)).await?.decode()
    }
}
