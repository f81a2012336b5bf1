//! One module per resource; [`run`] dispatches a parsed command line.

mod checkpoints;
mod config;
mod events;
mod queues;
mod runs;
mod schedules;
mod tasks;
mod workflows;

use anyhow::Context as _;
use clap::CommandFactory;
use durable_client::Client;

use crate::cli::{Cli, Command};
use crate::config::{ServerChoice, resolve_server};
use crate::output::Printer;

/// What every command that talks to the server gets.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The API client.
    pub client: Client,
    /// Where results go.
    pub out: Printer,
}

/// Runs the command line; an error becomes `error: …` and a non-zero exit.
pub(crate) async fn run(cli: Cli, out: Printer) -> anyhow::Result<()> {
    let Cli { server, token, command, .. } = cli;
    match command {
        Command::Config(cmd) => return config::run(cmd, server.as_deref(), out),
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics when a write fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "durablectl", &mut script);
            return Ok(crate::output::raw(&String::from_utf8_lossy(&script))?);
        }
        _ => {}
    }
    let server = resolve_server(server.as_deref())?;
    let ctx = Ctx { client: build_client(&server, token)?, out };
    let result = match command {
        Command::Queues(cmd) => queues::run(&ctx, cmd).await,
        Command::Tasks(cmd) => tasks::run(&ctx, cmd).await,
        Command::Runs(cmd) => runs::run(&ctx, cmd).await,
        Command::Checkpoints(cmd) => checkpoints::run(&ctx, cmd).await,
        Command::Events(cmd) => events::run(&ctx, cmd).await,
        Command::Workflows(cmd) => workflows::run(&ctx, cmd).await,
        Command::Schedules(cmd) => schedules::run(&ctx, cmd).await,
        Command::Config(_) | Command::Completions { .. } => Ok(()),
    };
    result.map_err(|error| {
        let unreachable = error
            .downcast_ref::<durable_client::Error>()
            .is_some_and(|e| matches!(e, durable_client::Error::Transport(_)));
        if unreachable {
            error.context(format!("cannot reach the server at {} (from {})", server.url, server.source))
        } else {
            error
        }
    })
}

fn build_client(server: &ServerChoice, token: Option<String>) -> anyhow::Result<Client> {
    let mut builder = Client::builder(&server.url);
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        builder = builder.token(token);
    }
    builder.build().with_context(|| format!("server URL from {}", server.source))
}
