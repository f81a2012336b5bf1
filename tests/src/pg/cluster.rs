//! A private, throwaway PostgreSQL cluster from the local server binaries.
//!
//! `initdb` into a fresh directory under the system temp dir, `pg_ctl start`
//! on a free loopback port, trust authentication for user `postgres`. As
//! root the binaries run as the `postgres` OS user (PostgreSQL refuses to
//! run as root). A watchdog process, in a session of its own so a Ctrl-C of
//! the test run does not take it down, stops the server and removes the
//! directory once the test process is gone, however it ended.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The OS user that runs the server when the tests run as root.
const SERVER_USER: &str = "postgres";

/// Settings for a disposable cluster: no durability work the tests do not
/// need (`fsync` off only loses data if the machine itself crashes; commits
/// are still written before they are acknowledged, so a server crash or
/// restart loses nothing), and room for many parallel test pools.
const SETTINGS: &str = "
listen_addresses = '127.0.0.1'
fsync = off
full_page_writes = off
max_connections = 400
shared_buffers = 128MB
log_min_messages = warning
";

/// A PostgreSQL cluster owned by this process.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    run_as: Option<&'static str>,
    running: bool,
    watchdog: Option<Child>,
}

impl PgCluster {
    /// Creates and starts a new cluster. Blocks for a second or two.
    pub fn start() -> Result<Self, String> {
        let bin = find_binaries().ok_or_else(|| {
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or under /usr/lib/postgresql/*/bin"
                .to_owned()
        })?;
        let run_as = is_root().then_some(SERVER_USER);
        let root = make_root(run_as)?;
        let mut cluster = Self { bin, root, port: 0, run_as, running: false, watchdog: None };
        cluster.watchdog = Some(cluster.spawn_watchdog()?);
        cluster.init()?;
        cluster.start_on_free_port()?;
        Ok(cluster)
    }

    /// The URL of the `postgres` database, as superuser `postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{SERVER_USER}@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server log, for diagnosing a failing test.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// Stops the server (fast shutdown: sessions are terminated, committed
    /// work is kept). The data directory stays for [`Self::start_again`].
    pub fn stop(&mut self) -> Result<(), String> {
        self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60"])?;
        self.running = false;
        Ok(())
    }

    /// Starts the stopped server again, on the same port and data.
    pub fn start_again(&mut self) -> Result<(), String> {
        self.start_server()
    }

    /// `pg_ctl restart -m fast`: every session is terminated, the server
    /// comes back on the same port and data.
    pub fn restart(&mut self) -> Result<(), String> {
        let log = self.log_path();
        let log = log.to_str().ok_or("temp dir path is not UTF-8")?.to_owned();
        let port = format!("-p {}", self.port);
        self.running = false;
        self.pg_ctl(&["restart", "-m", "fast", "-w", "-t", "60", "-l", &log, "-o", &port])?;
        self.running = true;
        Ok(())
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    fn init(&self) -> Result<(), String> {
        let data = self.data_dir();
        let data = data.to_str().ok_or("temp dir path is not UTF-8")?;
        let mut initdb = self.command("initdb");
        initdb.args(["-D", data, "-U", SERVER_USER, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
        run(initdb, "initdb")?;
        let conf = self.data_dir().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| format!("reading {}: {e}", conf.display()))?;
        text.push_str(SETTINGS);
        text.push_str(&format!("unix_socket_directories = '{}'\n", self.root.display()));
        std::fs::write(&conf, text).map_err(|e| format!("writing {}: {e}", conf.display()))
    }

    /// Picks a free port and starts; retries when another process took the
    /// port between our probe and the server's bind.
    fn start_on_free_port(&mut self) -> Result<(), String> {
        let mut last_error = String::new();
        for _ in 0..5 {
            self.port = free_port()?;
            match self.start_server() {
                Ok(()) => return Ok(()),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    fn start_server(&mut self) -> Result<(), String> {
        let log = self.log_path();
        let log = log.to_str().ok_or("temp dir path is not UTF-8")?.to_owned();
        let port = format!("-p {}", self.port);
        self.pg_ctl(&["start", "-w", "-t", "60", "-l", &log, "-o", &port])?;
        self.running = true;
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let data = self.data_dir();
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(&data).args(args);
        run(pg_ctl, "pg_ctl").map_err(|e| format!("{e}\nserver log:\n{}", self.log_tail()))
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut command = Command::new(runuser());
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// A shell loop that outlives us only long enough to clean up.
    fn spawn_watchdog(&self) -> Result<Child, String> {
        let pg_ctl = self.bin.join("pg_ctl");
        let as_user = self.run_as.map(|u| format!("{} -u {u} -- ", runuser().display())).unwrap_or_default();
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             {as_user}'{pg_ctl}' -D '{data}' stop -m immediate >/dev/null 2>&1; rm -rf '{root}'",
            pid = std::process::id(),
            pg_ctl = pg_ctl.display(),
            data = self.data_dir().display(),
            root = self.root.display(),
        );
        let mut command = if Path::new("/usr/bin/setsid").exists() || on_path("setsid").is_some() {
            let mut command = Command::new("setsid");
            command.arg("sh");
            command
        } else {
            Command::new("sh")
        };
        command.arg("-c").arg(script).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        command.spawn().map_err(|e| format!("starting the cluster watchdog: {e}"))
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
        }
        let _ = std::fs::remove_dir_all(&self.root);
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `PG_BIN` if
/// set, else the first on PATH, else the newest /usr/lib/postgresql/*/bin.
pub fn find_binaries() -> Option<PathBuf> {
    let complete = |dir: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file());
    if let Some(dir) = std::env::var_os("PG_BIN").map(PathBuf::from) {
        return complete(&dir).then_some(dir);
    }
    if let Some(dir) = on_path("initdb").and_then(|p| p.parent().map(Path::to_path_buf))
        && complete(&dir)
    {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            complete(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|p| p.is_file())
}

fn runuser() -> PathBuf {
    on_path("runuser").unwrap_or_else(|| PathBuf::from("/usr/sbin/runuser"))
}

/// `/proc/self` belongs to the process's effective user.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A fresh directory the server user owns.
fn make_root(run_as: Option<&str>) -> Result<PathBuf, String> {
    let template = std::env::temp_dir().join("durable-pg-XXXXXX");
    let template = template.to_str().ok_or("temp dir path is not UTF-8")?;
    let mut mktemp = if let Some(user) = run_as {
        let mut command = Command::new(runuser());
        command.args(["-u", user, "--", "mktemp", "-d", template]);
        command
    } else {
        let mut command = Command::new("mktemp");
        command.args(["-d", template]);
        command
    };
    let out = mktemp.stderr(Stdio::piped()).output().map_err(|e| format!("mktemp: {e}"))?;
    if !out.status.success() {
        return Err(format!("mktemp -d failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn free_port() -> Result<u16, String> {
    let probe = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    probe.local_addr().map(|a| a.port()).map_err(|e| format!("finding a free port: {e}"))
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    let out = command.stdin(Stdio::null()).output().map_err(|e| format!("running {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
