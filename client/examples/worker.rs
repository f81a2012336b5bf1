//! The README's worker example: `cargo run -p durable-client --example worker`.

use durable_client::{Client, TaskError, Worker};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), durable_client::Error> {
    let client = Client::new("http://localhost:8080")?;
    Worker::new(client, "emails")
        .concurrency(8)
        .handler(|task| async move {
            let to = task.params["to"].as_str().ok_or(TaskError::Fail("params.to is missing".into()))?;
            // … send the e-mail …
            Ok(json!({ "sent_to": to }))
        })
        .run_until(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await
}
