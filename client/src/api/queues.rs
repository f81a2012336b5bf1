use reqwest::Method;

use crate::client::with_query;
use crate::retry::Idempotency;
use crate::types::queues::{CreateQueue, Queue, QueueList, QueueStats, UpdateQueue};
use crate::{Client, Error};

impl Client {
    /// `GET /queues`: every queue.
    pub async fn list_queues(&self) -> Result<Vec<Queue>, Error> {
        let call = self.call(Method::GET, self.api_url(&["queues"])?).idempotency(Idempotency::Idempotent);
        Ok(self.send(call).await?.decode::<QueueList>()?.queues)
    }

    /// `POST /queues`: creates a queue; [`Error::is_conflict`] if it exists.
    pub async fn create_queue(&self, queue: &CreateQueue) -> Result<Queue, Error> {
        let call = self.call(Method::POST, self.api_url(&["queues"])?).json(queue);
        self.send(call).await?.decode()
    }

    /// (ext) `PATCH /queues/{name}`: changes a queue's flow settings.
    pub async fn update_queue(&self, name: &str, update: &UpdateQueue) -> Result<Queue, Error> {
        // Setting the same values twice leaves the same queue: safe to retry.
        let call = self
            .call(Method::PATCH, self.api_url(&["queues", name])?)
            .json(update)
            .idempotency(Idempotency::Idempotent);
        self.send(call).await?.decode()
    }

    /// `DELETE /queues/{name}`: deletes an empty queue; [`Error::is_conflict`]
    /// while it holds unfinished tasks.
    pub async fn delete_queue(&self, name: &str) -> Result<(), Error> {
        self.delete_queue_with(name, false).await
    }

    /// (ext) `DELETE /queues/{name}?force=true`: deletes a queue with everything in it.
    pub async fn force_delete_queue(&self, name: &str) -> Result<(), Error> {
        self.delete_queue_with(name, true).await
    }

    async fn delete_queue_with(&self, name: &str, force: bool) -> Result<(), Error> {
        let url = with_query(self.api_url(&["queues", name])?, &[("force", force.then(|| "true".to_owned()))]);
        let call = self.call(Method::DELETE, url).idempotency(Idempotency::Idempotent);
        self.send(call).await?.expect_success()
    }

    /// `GET /queues/{name}/stats`.
    pub async fn queue_stats(&self, name: &str) -> Result<QueueStats, Error> {
        let call =
            self.call(Method::GET, self.api_url(&["queues", name, "stats"])?).idempotency(Idempotency::Idempotent);
        self.send(call).await?.decode()
    }
}
