//! The chaos suite: real processes, real faults, and proof at the end.
//!
//! Every scenario starts what a deployment runs — a private PostgreSQL
//! cluster (or a SQLite file), one or two `durable-server` processes (the
//! binary of this package), and worker processes — creates tasks under
//! load, injects one kind of fault a few times, lets the queue drain, and
//! then checks through the API and through SQL that every task whose create
//! was acknowledged reached its expected end exactly once: no task lost, no
//! completion acknowledged twice, exactly one completed run per task, and
//! the run a worker was told it completed is the run the database holds as
//! completed. It also counts 5xx answers and measures, per fault, the time
//! from injecting it to the first completion after it.
//!
//! The short form (the default) runs in CI as part of `cargo test`; the long
//! form is `CHAOS_LONG=1` (see RELIABILITY.md). `CHAOS_REPORT=<file>` appends
//! a Markdown table of the figures to that file.
//!
//! The workers are this same executable, re-executed with
//! `DURABLE_CHAOS_WORKER` set, so no extra binary has to be built.

mod checks;
mod faults;
mod ledger;
mod load;
mod processes;
mod report;
mod scale;
mod scenarios;
mod system;
mod worker;

use std::process::ExitCode;

use libtest_mimic::{Arguments, Trial};

fn main() -> ExitCode {
    if let Some(config) = worker::config_from_env() {
        return worker::run(config);
    }
    let mut args = Arguments::from_args();
    // The scenarios restart databases and servers and share two cores:
    // one at a time unless asked otherwise.
    args.test_threads.get_or_insert(1);
    let scale = scale::Scale::from_env();
    let trials = scenarios::all()
        .into_iter()
        .map(|scenario| {
            let scale = scale.clone();
            Trial::test(scenario.name, move || scenario.run(&scale).map_err(Into::into))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
