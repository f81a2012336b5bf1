//! Fresh databases for tests, cloned from a migrated template.

use std::sync::atomic::{AtomicU64, Ordering};

use durable_postgres::PgStore;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::sync::OnceCell;

use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

use super::cluster::{PgCluster, find_binaries};

/// Where test databases come from: a server and its migrated template.
#[derive(Debug)]
struct Server {
    /// A database to run `CREATE DATABASE` from.
    admin_url: String,
    template: String,
    /// Kept alive for the whole process (statics are never dropped; the
    /// cluster's watchdog cleans up after the process).
    _cluster: Option<PgCluster>,
    /// The testcontainers container, when that is where the server runs;
    /// its reaper removes it once the test process is gone.
    _container: Option<ContainerAsync<Postgres>>,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database of its own for one test, with the schema applied. Dropped
/// (`DROP DATABASE … WITH (FORCE)`) when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
    admin_url: String,
}

/// A fresh, migrated database, from the first of:
///
/// 1. `DATABASE_URL`: a server someone else runs (the template is shared
///    between test processes under an advisory lock, named after the
///    migrations' checksums so a schema change gets a new one);
/// 2. a private cluster started once per test process from the local
///    PostgreSQL binaries (see [`PgCluster`]);
///
/// and panics with a message naming the ways to provide one otherwise.
pub async fn test_database() -> TestDatabase {
    match try_test_database().await {
        Ok(db) => db,
        Err(e) => panic!("{e}"),
    }
}

pub async fn try_test_database() -> Result<TestDatabase, String> {
    let server = SERVER.get_or_try_init(find_server).await?;
    create_database(server, &server.template).await
}

/// A fresh database without the schema, from the same server as
/// [`test_database`]: for testing the migrations themselves.
pub async fn empty_database() -> TestDatabase {
    let created = async {
        let server = SERVER.get_or_try_init(find_server).await?;
        create_database(server, "template0").await
    };
    match created.await {
        Ok(db) => db,
        Err(e) => panic!("{e}"),
    }
}

async fn create_database(server: &Server, template: &str) -> Result<TestDatabase, String> {
    let name = format!("durable_t{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut admin = connect(&server.admin_url).await?;
    // A leftover of a crashed run of a process with the same pid.
    execute(&mut admin, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
    execute(&mut admin, &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")).await?;
    let _ = admin.close().await;
    Ok(TestDatabase { url: with_database(&server.admin_url, &name), name, admin_url: server.admin_url.clone() })
}

impl TestDatabase {
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A pool of up to `max_connections` on this database, with the
    /// store's session settings.
    pub async fn pool(&self, max_connections: u32) -> PgPool {
        let options = durable_postgres::connect_options(&self.url).expect("the test database's URL");
        PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await
            .unwrap_or_else(|e| panic!("connecting to test database {}: {e}", self.name))
    }

    /// A store on this database with a pool of `max_connections`.
    pub async fn store(&self, max_connections: u32) -> PgStore {
        PgStore::from_pool(self.pool(max_connections).await)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs outside of any async context we could rely on (the
        // test's runtime may be shutting down), so use a thread with a
        // runtime of its own, and wait: the process may exit right after.
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut admin) = connect(&admin_url).await {
                    let _ = execute(&mut admin, &sql).await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

async fn find_server() -> Result<Server, String> {
    if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        let template = format!("durable_tpl_{}", migrations_fingerprint());
        ensure_template(&url, &template, true).await.map_err(|e| format!("DATABASE_URL={url}: {e}"))?;
        return Ok(Server { admin_url: url, template, _cluster: None, _container: None });
    }
    if find_binaries().is_some() {
        // initdb and the first start take a second or two of blocking work.
        let cluster = tokio::task::spawn_blocking(PgCluster::start)
            .await
            .map_err(|e| format!("starting a private PostgreSQL cluster: {e}"))?
            .map_err(|e| format!("starting a private PostgreSQL cluster: {e}"))?;
        let admin_url = cluster.url();
        let template = "durable_template".to_owned();
        ensure_template(&admin_url, &template, false).await?;
        return Ok(Server { admin_url, template, _cluster: Some(cluster), _container: None });
    }
    match start_container().await {
        Ok((admin_url, container)) => {
            let template = "durable_template".to_owned();
            ensure_template(&admin_url, &template, false).await?;
            Ok(Server { admin_url, template, _cluster: None, _container: Some(container) })
        }
        Err(docker) => Err(format!("{NO_SERVER}\n(Docker: {docker})")),
    }
}

/// A PostgreSQL container, when a Docker engine answers.
async fn start_container() -> Result<(String, ContainerAsync<Postgres>), String> {
    let container = Postgres::default().with_tag("15-alpine").start().await.map_err(|e| e.to_string())?;
    let host = container.get_host().await.map_err(|e| e.to_string())?;
    let port = container.get_host_port_ipv4(5432).await.map_err(|e| e.to_string())?;
    Ok((format!("postgres://postgres:postgres@{host}:{port}/postgres"), container))
}

const NO_SERVER: &str = "\
the PostgreSQL tests need a server, and none was found. Provide one of:
  1. DATABASE_URL=postgres://user:password@host:port/database — a server the tests may create databases on;
  2. the PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or under /usr/lib/postgresql/*/bin
     (e.g. `apt-get install postgresql`), from which a private throwaway cluster is started;
  3. a Docker engine, in which a PostgreSQL container is started with testcontainers.";

/// Creates the template database with the schema, unless it exists. With
/// `shared`, other test processes may race us: a session advisory lock on
/// the admin database serializes them, and the template is built under a
/// temporary name and renamed, so a crash never leaves half a template.
async fn ensure_template(admin_url: &str, template: &str, shared: bool) -> Result<(), String> {
    let mut admin = connect(admin_url).await?;
    if shared {
        execute(&mut admin, "SELECT pg_advisory_lock(7243, 1)").await?;
    }
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(template)
        .fetch_one(&mut admin)
        .await
        .map_err(|e| format!("looking for template {template}: {e}"))?;
    if !exists {
        let building = format!("{template}_building");
        execute(&mut admin, &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)")).await?;
        execute(&mut admin, &format!("CREATE DATABASE \"{building}\"")).await?;
        // One plain connection, closed before the rename: a pool's close can
        // leave a just-returned connection open until the pool is dropped.
        let mut conn = connect(&with_database(admin_url, &building)).await?;
        durable_postgres::MIGRATOR.run(&mut conn).await.map_err(|e| format!("migrating {building}: {e}"))?;
        conn.close().await.map_err(|e| format!("closing {building}: {e}"))?;
        wait_until_unused(&mut admin, &building).await?;
        execute(&mut admin, &format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\"")).await?;
        // Cloning fails while anyone is connected to the template; keep
        // everyone out.
        execute(&mut admin, &format!("ALTER DATABASE \"{template}\" WITH ALLOW_CONNECTIONS false")).await?;
    }
    if shared {
        execute(&mut admin, "SELECT pg_advisory_unlock(7243, 1)").await?;
    }
    let _ = admin.close().await;
    Ok(())
}

/// Waits for the server to end the sessions of a database whose clients
/// have disconnected: a backend exits shortly after its client says goodbye,
/// and renaming (or cloning) a database fails while any is left.
async fn wait_until_unused(admin: &mut PgConnection, database: &str) -> Result<(), String> {
    for _ in 0..200 {
        let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
            .bind(database)
            .fetch_one(&mut *admin)
            .await
            .map_err(|e| format!("watching sessions of {database}: {e}"))?;
        if sessions == 0 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    Err(format!("sessions on {database} did not end within 5 s"))
}

/// A short hash of the migrations, so each schema gets its own template.
fn migrations_fingerprint() -> String {
    // FNV-1a over every migration's version and checksum: stable across
    // processes and toolchains, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for migration in durable_postgres::MIGRATOR.iter() {
        for byte in migration.version.to_le_bytes().iter().chain(migration.checksum.iter()) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

async fn connect(url: &str) -> Result<PgConnection, String> {
    let options: PgConnectOptions = url.parse().map_err(|e| format!("invalid database URL {url}: {e}"))?;
    options.connect().await.map_err(|e| format!("connecting to {url}: {e}"))
}

async fn execute(conn: &mut PgConnection, sql: &str) -> Result<(), String> {
    sqlx::query(sql).execute(conn).await.map(drop).map_err(|e| format!("{sql}: {e}"))
}

/// `url` with its database (the path) replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let query_start = url.find('?').unwrap_or(url.len());
    let path_start = url[authority_start..query_start].find('/').map_or(query_start, |i| authority_start + i);
    format!("{}/{database}{}", &url[..path_start], &url[query_start..])
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(with_database("postgres://u@h:5/db", "x"), "postgres://u@h:5/x");
        assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
        assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    }
}
