//! `durablectl`: the admin command line of the durable task queue server,
//! built on `durable-client`.
//!
//! Exit status: 0 on success, 1 on an error (the server refused the request
//! or could not be reached; `tasks wait` on a task that did not complete),
//! 2 on a usage error (clap's, and JSON arguments that do not parse).

mod cli;
mod commands;
mod config;
mod json_arg;
mod output;
mod time_arg;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, OutputFormat};
use crate::json_arg::UsageError;
use crate::output::Printer;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli
        .output
        .unwrap_or_else(|| if std::io::stdout().is_terminal() { OutputFormat::Table } else { OutputFormat::Json });
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli, Printer::new(format))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", render(&error));
            if error.downcast_ref::<UsageError>().is_some() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

/// stdout closed early (`durablectl tasks list | head`): not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// The error and its causes on one line, without repeating a cause that its
/// parent's message already includes.
fn render(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if text.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_chain_without_repeats() {
        let inner = anyhow::anyhow!("connection refused");
        let error = inner.context("transport error: connection refused").context("cannot reach the server");
        assert_eq!(render(&error), "cannot reach the server: transport error: connection refused");
    }

    #[test]
    fn a_broken_pipe_is_recognized() {
        let error = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&error));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
