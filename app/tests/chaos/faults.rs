//! The faults, each injected into a running [`System`] and recorded with
//! when it began and when the system was whole again.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};
use tokio::runtime::Runtime;

use crate::ledger::FaultRecord;
use crate::system::{PG_DATABASE, System};

/// The PostgreSQL `application_name` of a server's `LISTEN` connection.
const LISTENER: &str = "durable-listener";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// SIGKILL one worker mid-run (its claims are abandoned), start another.
    WorkerKill,
    /// SIGKILL one server replica, start it again a second later.
    ServerKill,
    /// `pg_ctl restart -m fast`.
    PgRestart,
    /// `pg_ctl stop -m fast`, the scale's outage, `pg_ctl start`.
    PgOutage,
    /// `pg_terminate_backend` on every connection of the servers, the
    /// `LISTEN` connections included; restored once every replica listens
    /// again on a new connection.
    BackendKill,
}

impl Fault {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::WorkerKill => "worker SIGKILL",
            Self::ServerKill => "server SIGKILL + restart",
            Self::PgRestart => "pg_ctl restart -m fast",
            Self::PgOutage => "PostgreSQL outage",
            Self::BackendKill => "pg_terminate_backend",
        }
    }

    /// Injects the fault (round `round` picks which worker or replica) and
    /// returns once the system is whole again.
    pub(crate) fn inject(
        self,
        system: &mut System,
        runtime: &Runtime,
        round: usize,
        outage: Duration,
    ) -> Result<FaultRecord, String> {
        let injected = Instant::now();
        let name = match self {
            Self::WorkerKill => {
                let index = round % system.worker_count();
                system.kill_worker(index)?;
                format!("{} (w{index})", self.name())
            }
            Self::ServerKill => {
                let index = round % system.servers.len();
                system.servers[index].kill();
                std::thread::sleep(Duration::from_secs(1));
                system.servers[index].start_again()?;
                format!("{} (replica {index})", self.name())
            }
            Self::PgRestart => {
                cluster(system)?.restart()?;
                self.name().to_owned()
            }
            Self::PgOutage => {
                cluster(system)?.stop()?;
                std::thread::sleep(outage);
                cluster(system)?.start_again()?;
                format!("{} ({} s)", self.name(), outage.as_secs())
            }
            Self::BackendKill => {
                let admin_url = cluster(system)?.url();
                let replicas = system.servers.len();
                runtime.block_on(kill_backends(&admin_url, replicas))?;
                self.name().to_owned()
            }
        };
        Ok(FaultRecord { name, injected, restored: Instant::now() })
    }
}

fn cluster(system: &mut System) -> Result<&mut durable_tests::pg::PgCluster, String> {
    system.cluster.as_mut().ok_or_else(|| "this fault needs the PostgreSQL store".to_owned())
}

/// Terminates every backend of the servers' database, then waits until each
/// replica has a `LISTEN` connection again, on a new backend.
async fn kill_backends(admin_url: &str, replicas: usize) -> Result<(), String> {
    let mut admin = PgConnection::connect(admin_url).await.map_err(|e| format!("connecting to {admin_url}: {e}"))?;
    // Chosen first, terminated second: in one statement the planner may
    // call pg_terminate_backend before it filters by database.
    let killed: Vec<(i32, String)> = sqlx::query_as(
        "SELECT pid, application_name FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(PG_DATABASE)
    .fetch_all(&mut admin)
    .await
    .map_err(|e| format!("listing the servers' backends: {e}"))?;
    let pids: Vec<i32> = killed.iter().map(|(pid, _)| *pid).collect();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid")
        .bind(&pids)
        .execute(&mut admin)
        .await
        .map_err(|e| format!("terminating the servers' backends: {e}"))?;
    let listeners = killed.iter().filter(|(_, app)| app == LISTENER).count();
    if listeners != replicas {
        return Err(format!(
            "expected {replicas} LISTEN connections ({LISTENER}) among the killed backends, found {listeners} \
             of {}",
            killed.len()
        ));
    }
    let old: HashSet<i32> = killed.iter().map(|(pid, _)| *pid).collect();
    // Bounded so a notifier that never comes back fails the scenario.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pids: Vec<i32> =
            sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2")
                .bind(PG_DATABASE)
                .bind(LISTENER)
                .fetch_all(&mut admin)
                .await
                .map_err(|e| format!("watching for LISTEN connections: {e}"))?;
        if pids.iter().filter(|pid| !old.contains(pid)).count() >= replicas {
            let _ = admin.close().await;
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("the servers did not re-establish their LISTEN connections within 60 s: {pids:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
