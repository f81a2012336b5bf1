//! `durable-bench`: the load generator of durable.
//!
//! Starts nothing hidden: it loads a running `durable-server` over HTTP
//! through `durable-client`, or with `--in-process` drives
//! `durable_app::Engine` directly on `--database-url`, so the two can be
//! compared to see what HTTP costs. Each scenario prints one line of
//! results, or with `--json` one JSON object (and the line on stderr).
//!
//! ```sh
//! durable-bench --server http://127.0.0.1:8080 throughput --tasks 20000
//! durable-bench --in-process --database-url postgres://postgres@127.0.0.1/bench wakeup
//! durable-bench --database-url postgres://postgres@127.0.0.1/bench table-growth
//! ```

mod cli;
mod scenarios;
mod seed;
mod stats;
mod target;

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use crate::cli::{Cli, Scenario};
use crate::scenarios::{Ctx, keys, steady, table_growth, throughput, wakeup};
use crate::target::Target;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let target = Arc::new(Target::open(&cli.target).await?);
    let name = match &cli.scenario {
        Scenario::Throughput(_) => "throughput",
        Scenario::Wakeup(_) => "wakeup",
        Scenario::Steady(_) => "steady",
        Scenario::TableGrowth(_) => "table-growth",
        Scenario::Keys(_) => "keys",
    };
    let queue = cli.target.queue.clone().unwrap_or_else(|| format!("bench-{name}-{:08x}", fastrand::u32(..)));
    let ctx = Ctx { target, queue, database_url: cli.target.database_url.clone() };

    let report = match &cli.scenario {
        Scenario::Throughput(args) => throughput::run(&ctx, args).await,
        Scenario::Wakeup(args) => wakeup::run(&ctx, args).await,
        Scenario::Steady(args) => steady::run(&ctx, args).await,
        Scenario::TableGrowth(args) => table_growth::run(&ctx, args).await,
        Scenario::Keys(args) => keys::run(&ctx, args).await,
    }
    .with_context(|| format!("scenario {name} on queue {}", ctx.queue))?;

    let mode = ctx.target.mode();
    let line = format!("[{mode}] {}", report.line);
    if cli.json {
        let mut json = serde_json::json!({ "scenario": name, "mode": mode, "queue": ctx.queue });
        if let (Some(all), serde_json::Value::Object(fields)) = (json.as_object_mut(), report.json) {
            all.extend(fields);
        }
        println!("{json}");
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    if let Ok(target) = Arc::try_unwrap(ctx.target) {
        target.close().await;
    }
    Ok(())
}
