use futures::Stream;
use reqwest::Method;
use uuid::Uuid;

use super::pages::paginate;
use crate::client::with_query;
use crate::retry::Idempotency;
use crate::types::workflows::{
    CreateWorkflowRun, ListWorkflowRuns, UpdateWorkflowRun, WorkflowRun, WorkflowRunCreated, WorkflowRunPage,
    WorkflowRunUpdated,
};
use crate::{Client, Error};

impl Client {
    /// `POST /workflow-runs`: starts tracking a workflow run (status `pending`).
    pub async fn create_workflow_run(&self, run: &CreateWorkflowRun) -> Result<WorkflowRunCreated, Error> {
        let call = self.call(Method::POST, self.api_url(&["workflow-runs"])?).json(run);
        self.send(call).await?.decode()
    }

    /// `PATCH /workflow-runs/{id}`: sets the fields given.
    pub async fn update_workflow_run(&self, id: Uuid, update: &UpdateWorkflowRun) -> Result<WorkflowRunUpdated, Error> {
        let url = self.api_url(&["workflow-runs", &id.to_string()])?;
        let call = self.call(Method::PATCH, url).json(update).idempotency(Idempotency::Idempotent);
        self.send(call).await?.decode()
    }

    /// (ext) `GET /workflow-runs/{id}`: all its fields and its tasks.
    pub async fn get_workflow_run(&self, id: Uuid) -> Result<WorkflowRun, Error> {
        let url = self.api_url(&["workflow-runs", &id.to_string()])?;
        self.send(self.call(Method::GET, url).idempotency(Idempotency::Idempotent)).await?.decode()
    }

    /// (ext) `GET /workflow-runs`: one page of workflow runs.
    pub async fn list_workflow_runs(&self, filter: &ListWorkflowRuns) -> Result<WorkflowRunPage, Error> {
        let url = with_query(self.api_url(&["workflow-runs"])?, &filter.query());
        self.send(self.call(Method::GET, url).idempotency(Idempotency::Idempotent)).await?.decode()
    }

    /// Every workflow run matching `filter`, following `next_cursor` page by page.
    pub fn list_all_workflow_runs(
        &self,
        filter: ListWorkflowRuns,
    ) -> impl Stream<Item = Result<WorkflowRun, Error>> + Send + 'static {
        let client = self.clone();
        paginate(filter.cursor.clone(), move |cursor| {
            let client = client.clone();
            let filter = ListWorkflowRuns { cursor, ..filter.clone() };
            async move { client.list_workflow_runs(&filter).await.map(|page| (page.workflow_runs, page.next_cursor)) }
        })
    }
}
