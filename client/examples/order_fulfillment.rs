//! An order, fulfilled by a durable task: charge, reserve, wait for the
//! warehouse's "packed" event, let the parcel rest, have a child task send
//! the e-mail, then notify. Every step is recorded, so a crash or a restart
//! anywhere resumes where it stopped.
//!
//! `cargo run -p durable-client --example order_fulfillment -- --server URL`
//! creates the `orders` queue if missing, spawns one order, works it in
//! this process, emits the shipment event once the task waits for it, and
//! prints `result: <json>` when the order is fulfilled.

use std::process::ExitCode;
use std::time::Duration;

use durable_client::{
    Client, CreateQueue, Durable, DurableError, EmitEvent, ListRuns, RunStatus, SpawnOptions, TaskContext, TaskOutcome,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

const QUEUE: &str = "orders";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Order {
    id: Uuid,
    email: String,
    items: Vec<String>,
    cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Payment {
    id: String,
    cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Reserved {
    items: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct Shipment {
    tracking: String,
}

/// Stands in for a payment provider's API.
async fn charge(order: &Order) -> Result<Payment, DurableError> {
    Ok(Payment { id: format!("pay-{}", order.id.simple()), cents: order.cents })
}

/// Stands in for the inventory service.
async fn reserve(items: &[String]) -> Result<Reserved, DurableError> {
    Ok(Reserved { items: items.len() })
}

async fn fulfill(ctx: TaskContext, order: Order) -> Result<Value, DurableError> {
    let payment: Payment = ctx.step("process-payment", || charge(&order)).await?;
    let reserved: Reserved = ctx.step("reserve-inventory", || reserve(&order.items)).await?;
    let shipment: Shipment = ctx.await_event(&format!("shipment.packed:{}", order.id), Duration::from_secs(60)).await?;
    // Durable: the run gives its claim up and comes back in a second.
    ctx.sleep_for(Duration::from_secs(1)).await?;
    let email = ctx.spawn("send-email", &json!({"to": order.email, "tracking": shipment.tracking})).await?;
    let sent: Value = ctx.await_task(&email).await?;
    ctx.step("notify", || async { Ok::<_, DurableError>(json!({"notified": order.email})) }).await?;
    Ok(json!({
        "order": order.id,
        "payment": payment.id,
        "charged_cents": payment.cents,
        "items": reserved.items,
        "tracking": shipment.tracking,
        "email": sent,
    }))
}

async fn send_email(_ctx: TaskContext, mail: Value) -> Result<Value, DurableError> {
    // … hand the e-mail to a mail service …
    Ok(json!({"sent_to": mail["to"], "tracking": mail["tracking"]}))
}

fn server_url() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut url = "http://127.0.0.1:8080".to_owned();
    while let Some(arg) = args.next() {
        match (arg.as_str(), arg.strip_prefix("--server=")) {
            (_, Some(value)) => value.clone_into(&mut url),
            ("--server", None) => url = args.next().ok_or("--server needs a URL")?,
            _ => return Err(format!("unknown argument {arg:?}; usage: order_fulfillment [--server URL]")),
        }
    }
    Ok(url)
}

/// Resolves once the order's run sleeps: it gave its claim up to wait for
/// the shipment event (the first wait of the handler).
async fn waiting(client: &Client, task_id: Uuid) -> Result<(), DurableError> {
    loop {
        let runs = client.list_runs(&ListRuns::default().task(task_id)).await?;
        if runs.runs.iter().any(|run| run.status == RunStatus::Sleeping) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run(url: String) -> Result<Value, DurableError> {
    let client = Client::new(url)?;
    match client.create_queue(&CreateQueue::new(QUEUE)).await {
        Err(error) if !error.is_conflict() => return Err(error.into()),
        _ => {}
    }
    let mut app = Durable::new(client.clone());
    app.register("order-fulfillment", fulfill).register("send-email", send_email);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(app.worker(QUEUE).concurrency(16).long_poll_seconds(5).run_until(async {
        let _ = stopped.await;
    }));

    let order = Order {
        id: Uuid::now_v7(),
        email: "ada@example.com".to_owned(),
        items: vec!["keyboard".to_owned(), "lamp".to_owned()],
        cents: 12_900,
    };
    let task = app.spawn(QUEUE, "order-fulfillment", &order, SpawnOptions::default().max_attempts(3)).await?;
    waiting(&client, task.task_id).await?;
    let packed = EmitEvent::new(format!("shipment.packed:{}", order.id), Some(json!({"tracking": "1Z-999"})));
    client.emit_event(&packed).await?;
    let outcome = app.wait_result::<Value>(task.task_id, Duration::from_secs(30)).await;
    let _ = stop.send(());
    if let Ok(Err(error)) = worker.await {
        eprintln!("worker: {error}");
    }
    match outcome? {
        TaskOutcome::Completed(result) => Ok(result),
        other => Err(DurableError::failed(format!("the order did not complete: {other:?}"))),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let url = match server_url() {
        Ok(url) => url,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(url).await {
        Ok(result) => {
            println!("result: {result}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("order_fulfillment: {error}");
            ExitCode::FAILURE
        }
    }
}
