//! Claim latency with few versus many finished runs in the table, and the
//! claim statement's plan. Finished runs are not in the partial index the
//! claim walks, so the latency should not grow with them.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p durable-postgres --example claim_latency
//! ```
//!
//! Creates (and at the end drops) a database `durable_claim_bench` on that
//! server. Optional: `SIZES=10000,1000000` (finished runs per phase),
//! `CLAIMS=500` (timed claims per phase).

use std::time::{Duration as StdDuration, Instant};

use durable_domain::command::Claim;
use durable_domain::{Queue, QueueName, TaskSpec};
use durable_ports::{Clock, Store, SystemClock};
use durable_postgres::{CLAIM_SQL, PgStore, migrate};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, Row};
use time::Duration;

const DATABASE: &str = "durable_claim_bench";
const PENDING: usize = 1_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let admin_url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL to a server to benchmark on")?;
    let sizes: Vec<i64> = std::env::var("SIZES")
        .unwrap_or_else(|_| "10000,1000000".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let claims: usize = std::env::var("CLAIMS").unwrap_or_else(|_| "500".into()).parse()?;

    let mut admin = PgConnection::connect(&admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")).execute(&mut admin).await?;
    sqlx::query(&format!("CREATE DATABASE {DATABASE}")).execute(&mut admin).await?;
    let url = with_database(&admin_url, DATABASE);
    let pool = PgPoolOptions::new().max_connections(2).connect(&url).await?;
    migrate(&pool).await?;
    let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&pool).await?;
    println!("PostgreSQL {version}; {PENDING} pending runs per phase; {claims} timed claims of 1 run each\n");

    let store = PgStore::from_pool(pool.clone());
    let queue = QueueName::parse("queue", "bench")?;
    let now = SystemClock.now();
    store
        .queue_create(
            Queue { name: queue.clone(), created_at: now, cleanup: Default::default(), flow: Default::default() },
            128,
        )
        .await?;

    let mut finished = 0;
    for target in sizes {
        seed_finished(&pool, queue.as_str(), target - finished).await?;
        finished = target;
        // Fresh pending work for each phase; nothing claimed is left over.
        sqlx::query("DELETE FROM tasks WHERE status = 'pending'").execute(&pool).await?;
        for _ in 0..PENDING / 1000 {
            let specs = (0..1000).map(|_| spec()).collect();
            store.tasks_create(&queue, specs, SystemClock.now()).await?;
        }
        sqlx::query("VACUUM ANALYZE tasks, runs").execute(&pool).await?;

        println!("== {finished} finished runs, {PENDING} pending ==");
        explain(&pool, queue.as_str()).await?;
        let claim = Claim { limit: 1, claim_timeout: Duration::minutes(5), long_poll: None, worker_id: None };
        for _ in 0..20 {
            store.runs_claim(&queue, &claim, SystemClock.now()).await?;
        }
        let mut samples = Vec::with_capacity(claims);
        for _ in 0..claims {
            let started = Instant::now();
            let claimed = store.runs_claim(&queue, &claim, SystemClock.now()).await?;
            samples.push(started.elapsed());
            assert_eq!(claimed.len(), 1, "ran out of pending runs");
        }
        report(&mut samples);
    }

    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {DATABASE} WITH (FORCE)")).execute(&mut admin).await?;
    Ok(())
}

/// `count` completed tasks with one completed run each, straight in SQL.
async fn seed_finished(pool: &sqlx::PgPool, queue: &str, count: i64) -> Result<(), sqlx::Error> {
    if count <= 0 {
        return Ok(());
    }
    let started = Instant::now();
    sqlx::query(
        "WITH ids AS ( \
             SELECT gen_random_uuid() AS task_id, gen_random_uuid() AS run_id, \
                    $3::timestamptz - (g || ' milliseconds')::interval AS at \
             FROM generate_series(1, $2) AS g \
         ), t AS ( \
             INSERT INTO tasks (id, queue, task_name, params, headers, max_attempts, status, attempts, failures, \
                 consecutive_expiries, current_run, result, created_at, first_claimed_at, completed_at) \
             SELECT task_id, $1, 'seed', '{}', '{}', 1, 'completed', 1, 0, 0, run_id, '1', at, at, at FROM ids \
         ) \
         INSERT INTO runs (id, task_id, queue, attempt, status, available_at, claimed_at, result, created_at, \
             completed_at) \
         SELECT run_id, task_id, $1, 1, 'completed', at, at, '1', at, at FROM ids",
    )
    .bind(queue)
    .bind(count)
    .bind(SystemClock.now())
    .execute(pool)
    .await?;
    println!("(seeded {count} finished runs in {:.1?})", started.elapsed());
    Ok(())
}

/// The claim statement's plan, executed in a transaction that is rolled
/// back, so it claims nothing.
async fn explain(pool: &sqlx::PgPool, queue: &str) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let now = SystemClock.now();
    let plan = sqlx::query(&format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {CLAIM_SQL}"))
        .bind(queue)
        .bind(vec![10_i64])
        .bind(vec![now])
        .bind(vec![now + Duration::minutes(5)])
        .bind(vec![None::<String>])
        .bind(now)
        .bind(10_i64)
        .fetch_all(&mut *tx)
        .await?;
    tx.rollback().await?;
    println!("EXPLAIN (ANALYZE, BUFFERS) of the claim statement, limit 10:");
    for row in plan {
        println!("    {}", row.try_get::<String, _>(0)?);
    }
    Ok(())
}

fn report(samples: &mut [StdDuration]) {
    samples.sort();
    let us = |d: StdDuration| d.as_secs_f64() * 1e6;
    let at = |q: f64| us(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    let mean = samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64;
    println!(
        "claim latency (limit 1, {} claims, client round trip incl. commit): \
         mean {mean:.0} µs, p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs\n",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

fn spec() -> TaskSpec {
    TaskSpec { params: serde_json::json!({"n": 1}), ..TaskSpec::named("bench") }
}

fn with_database(url: &str, database: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let query_start = url.find('?').unwrap_or(url.len());
    let path_start = url[authority_start..query_start].find('/').map_or(query_start, |i| authority_start + i);
    format!("{}/{database}{}", &url[..path_start], &url[query_start..])
}
