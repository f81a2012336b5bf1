//! A benchmark of durable execution: tasks of five no-op steps, run once by
//! the SDK (`Durable`, `ctx.step`) and once by a worker written by hand over
//! the raw API (claim one, list its checkpoints, write each missing step,
//! complete), against a running server. Prints, for each, tasks per second
//! and the HTTP requests the server answered per task while the tasks ran
//! (read from its `/metrics`, so the count is the server's, not ours; the
//! enqueueing is not counted).
//!
//! ```sh
//! cargo run --release -p durable-client --example five_steps -- --server http://127.0.0.1:8080 --tasks 2000
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use durable_client::{
    ClaimRequest, Client, CreateQueue, CreateTask, Durable, DurableError, PutCheckpoint, TaskContext,
};
use serde_json::json;
use uuid::Uuid;

const STEPS: u32 = 5;
const CONCURRENCY: usize = 16;

struct Args {
    server: String,
    tasks: usize,
}

fn args() -> Result<Args, String> {
    let mut parsed = Args { server: "http://127.0.0.1:8080".to_owned(), tasks: 2000 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--server" => parsed.server = value,
            "--tasks" => parsed.tasks = value.parse().map_err(|e| format!("--tasks: {e}"))?,
            other => return Err(format!("unknown argument {other:?}; usage: five_steps [--server URL] [--tasks N]")),
        }
    }
    Ok(parsed)
}

/// Requests the server has answered so far: the sum of its request
/// duration histogram's counts.
async fn requests_answered(server: &str) -> Result<f64, Box<dyn std::error::Error>> {
    let text = reqwest::get(format!("{server}/metrics")).await?.text().await?;
    Ok(text
        .lines()
        .filter(|line| line.starts_with("durable_http_request_duration_seconds_count"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

async fn enqueue(client: &Client, name: &str, tasks: usize) -> Result<String, Box<dyn std::error::Error>> {
    let queue = format!("five-steps-{name}-{}", Uuid::now_v7().simple());
    client.create_queue(&CreateQueue::new(&queue)).await?;
    let batch: Vec<CreateTask> = (0..1000).map(|_| CreateTask::new("five-steps")).collect();
    let mut left = tasks;
    while left > 0 {
        let n = left.min(batch.len());
        client.create_tasks(&queue, &batch[..n]).await?;
        left -= n;
    }
    Ok(queue)
}

async fn by_the_sdk(client: &Client, queue: &str, tasks: usize) -> Result<(), Box<dyn std::error::Error>> {
    let done = Arc::new(AtomicUsize::new(0));
    let mut app = Durable::new(client.clone());
    let counter = done.clone();
    app.register("five-steps", move |ctx: TaskContext, (): ()| {
        let counter = counter.clone();
        async move {
            for i in 1..=STEPS {
                ctx.step(&format!("step-{i}"), || async move { Ok::<_, DurableError>(i) }).await?;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, DurableError>(json!({"steps": STEPS}))
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(app.worker(queue).concurrency(CONCURRENCY).long_poll_seconds(1).run_until(async {
        let _ = stopped.await;
    }));
    while done.load(Ordering::SeqCst) < tasks {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Shutting down reports the outcomes still waiting to ride on a claim.
    let _ = stop.send(());
    worker.await??;
    Ok(())
}

async fn by_hand(client: &Client, queue: &str, tasks: usize) -> Result<(), Box<dyn std::error::Error>> {
    let done = Arc::new(AtomicUsize::new(0));
    let mut loops = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, queue, done) = (client.clone(), queue.to_owned(), done.clone());
        loops.push(tokio::spawn(async move {
            while done.load(Ordering::SeqCst) < tasks {
                let claimed = client.claim(&queue, &ClaimRequest::new(1, 60).long_poll_seconds(1)).await?;
                for task in claimed {
                    let finished = client.list_checkpoints(task.task_id).await?;
                    for i in 1..=STEPS {
                        let step = format!("step-{i}");
                        if finished.iter().all(|c| c.step_name != step) {
                            let write = PutCheckpoint::new(task.run_id, json!(i));
                            client.put_checkpoint(task.task_id, &step, &write).await?;
                        }
                    }
                    client.complete_run(task.run_id, Some(&json!({"steps": STEPS}))).await?;
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }
            Ok::<_, durable_client::Error>(())
        }));
    }
    for worker in loops {
        worker.await??;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let client = Client::new(args.server.clone())?;
    for name in ["sdk", "by-hand"] {
        let queue = enqueue(&client, name, args.tasks).await?;
        let before = requests_answered(&args.server).await?;
        let started = Instant::now();
        if name == "sdk" {
            by_the_sdk(&client, &queue, args.tasks).await?;
        } else {
            by_hand(&client, &queue, args.tasks).await?;
        }
        let elapsed = started.elapsed().as_secs_f64();
        // The metrics read itself is the one request of ours in the count.
        let requests = requests_answered(&args.server).await? - before - 1.0;
        #[allow(clippy::cast_precision_loss)]
        let tasks = args.tasks as f64;
        println!(
            "{name}: {} tasks of {STEPS} steps in {elapsed:.2} s: {:.0} tasks/s, {:.2} HTTP requests per task",
            args.tasks,
            tasks / elapsed,
            requests / tasks
        );
    }
    Ok(())
}
