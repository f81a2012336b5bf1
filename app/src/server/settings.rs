//! Command line and environment configuration of `durable-server`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::ValueEnum;

#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Where state lives: `sqlite://path` (the embedded default, created
    /// when missing), `postgres://…`, or `memory:` (nothing survives).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://durable.db", global = true)]
    pub database_url: String,

    /// Address to listen on.
    #[arg(long, env = "DURABLE_LISTEN", default_value = "0.0.0.0:8080", global = true)]
    pub listen: SocketAddr,

    /// Maximum connections in the database pool.
    #[arg(long, env = "DURABLE_POOL_SIZE", default_value_t = 16, global = true)]
    pub pool_size: u32,

    /// How often the sweeper expires claims, wakes sleepers, enforces
    /// timeouts and deletes old data (milliseconds).
    #[arg(long, env = "DURABLE_SWEEP_INTERVAL_MS", default_value_t = 500, global = true)]
    pub sweep_interval_ms: u64,

    /// How often the metrics' gauges (queue depths, pool use) are read from
    /// storage (milliseconds). Scrapes read the last values, so scraping
    /// never loads the database.
    #[arg(long, env = "DURABLE_METRICS_INTERVAL_MS", default_value_t = 5000, global = true)]
    pub metrics_interval_ms: u64,

    /// Queues the server accepts.
    #[arg(long, env = "DURABLE_MAX_QUEUES", default_value_t = 128, global = true)]
    pub max_queues: usize,

    /// Claim expiries in a row after which a task fails.
    #[arg(long, env = "DURABLE_MAX_CONSECUTIVE_EXPIRIES", default_value_t = 10, global = true)]
    pub max_consecutive_expiries: u32,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "DURABLE_BODY_LIMIT", default_value_t = 1024 * 1024, global = true)]
    pub body_limit: usize,

    /// Seconds a new connection has to send its first complete request
    /// headers; it is closed otherwise.
    #[arg(long, env = "DURABLE_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub header_timeout_secs: u64,

    /// Seconds a keep-alive connection may go without a request in flight
    /// (from the end of a response to the end of the next request's headers)
    /// before it is closed. A long poll is a request in flight.
    #[arg(long, env = "DURABLE_IDLE_TIMEOUT_SECS", default_value_t = 75, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub idle_timeout_secs: u64,

    /// Connections served at once (each long-polling worker holds one);
    /// beyond, new connections wait in the listen backlog. Lowered at start
    /// to what the open-file limit leaves room for.
    #[arg(long, env = "DURABLE_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_connections: u32,

    /// Log format; the level comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "DURABLE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json, global = true)]
    pub log_format: LogFormat,

    /// When set, every `/api/v1` request must carry `Authorization: Bearer
    /// <token>` (401 otherwise). Probes, metrics and docs stay open.
    #[arg(long, env = "DURABLE_AUTH_TOKEN", global = true, hide_env_values = true)]
    pub auth_token: Option<String>,
}

impl Default for Settings {
    /// The memory store on a free loopback port: what tests want.
    fn default() -> Self {
        Self {
            database_url: "memory:".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            pool_size: 16,
            sweep_interval_ms: 500,
            metrics_interval_ms: 5000,
            max_queues: 128,
            max_consecutive_expiries: 10,
            body_limit: 1024 * 1024,
            header_timeout_secs: 10,
            idle_timeout_secs: 75,
            max_connections: 10_000,
            log_format: LogFormat::Json,
            auth_token: None,
        }
    }
}

impl Settings {
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_millis(self.sweep_interval_ms.max(10))
    }

    pub fn metrics_interval(&self) -> Duration {
        Duration::from_millis(self.metrics_interval_ms.max(10))
    }

    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    fn parse(args: &[&str]) -> Result<Settings, clap::Error> {
        Cli::try_parse_from(std::iter::once("durable-server").chain(args.iter().copied())).map(|cli| cli.settings)
    }

    #[test]
    fn connection_limits_have_defaults_and_flags() {
        let defaults = parse(&[]).unwrap();
        assert_eq!(
            (defaults.header_timeout(), defaults.idle_timeout()),
            (Duration::from_secs(10), Duration::from_secs(75))
        );
        assert_eq!(defaults.max_connections, 10_000);
        let set = parse(&["--header-timeout-secs", "2", "--idle-timeout-secs", "3", "--max-connections", "4"]).unwrap();
        assert_eq!((set.header_timeout_secs, set.idle_timeout_secs, set.max_connections), (2, 3, 4));
    }

    #[test]
    fn a_zero_timeout_or_cap_is_refused_naming_the_flag() {
        for flag in ["--header-timeout-secs", "--idle-timeout-secs", "--max-connections"] {
            let error = parse(&[flag, "0"]).unwrap_err().to_string();
            assert!(error.contains(flag), "{error}");
        }
    }
}
