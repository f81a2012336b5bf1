//! `durable-server`: serve the HTTP API, or apply migrations and exit.

use clap::{Parser, Subcommand};
use durable_app::server::{self, Settings};

#[derive(Debug, Parser)]
#[command(name = "durable-server", version, about = "durable: a durable task queue over HTTP")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let telemetry = server::init_telemetry(cli.settings.log_format)?;
    let outcome = run(cli).await;
    telemetry.shutdown();
    outcome
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let running = server::start(&cli.settings).await?;
            shutdown_signal().await;
            tracing::info!("shutting down: answering long polls, finishing in-flight requests");
            running.shutdown().await?;
            tracing::info!("stopped");
        }
        Command::Migrate => {
            server::migrate(&cli.settings).await?;
            tracing::info!("migrations applied");
        }
    }
    Ok(())
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
