//! The figures of a scenario: printed, and appended as a Markdown table
//! row to `$CHAOS_REPORT` when set (RELIABILITY.md is made from them).

use std::io::Write;
use std::time::Duration;

use crate::checks::Verdict;
use crate::ledger::Snapshot;

/// Set to a file path to collect the figures as Markdown.
pub(crate) const REPORT_ENV: &str = "CHAOS_REPORT";

/// Per fault: how long it lasted (until the process was restarted or the
/// database back) and when the first completion was acknowledged after it
/// ended, before the next fault began. Their sum is the recovery time: from
/// injecting the fault to the first completion after it.
#[derive(Debug)]
pub(crate) struct Recovery {
    pub fault: String,
    pub lasted: Duration,
    pub first_completion: Option<Duration>,
}

impl Recovery {
    pub(crate) fn total(&self) -> Option<Duration> {
        self.first_completion.map(|d| d + self.lasted)
    }
}

pub(crate) fn recoveries(snapshot: &Snapshot) -> Vec<Recovery> {
    let faults = &snapshot.faults;
    faults
        .iter()
        .enumerate()
        .map(|(index, fault)| {
            let next = faults.get(index + 1).map(|f| f.injected);
            let first = snapshot
                .completions
                .iter()
                .map(|a| a.at)
                .filter(|at| *at >= fault.restored && next.is_none_or(|next| *at < next))
                .min();
            Recovery {
                fault: fault.name.clone(),
                lasted: fault.restored - fault.injected,
                first_completion: first.map(|at| at - fault.restored),
            }
        })
        .collect()
}

fn millis(d: Option<Duration>) -> String {
    d.map_or_else(|| "none".to_owned(), |d| format!("{} ms", d.as_millis()))
}

pub(crate) struct Figures<'a> {
    pub scenario: &'a str,
    pub scale: &'a str,
    pub attempted: usize,
    pub verdict: &'a Verdict,
    pub snapshot: &'a Snapshot,
    pub elapsed: Duration,
}

impl Figures<'_> {
    fn recovery_text(&self) -> String {
        let all = recoveries(self.snapshot);
        if all.is_empty() {
            return "-".to_owned();
        }
        all.iter()
            .map(|r| {
                format!(
                    "{}: {} (fault {} ms, then {})",
                    r.fault,
                    millis(r.total()),
                    r.lasted.as_millis(),
                    millis(r.first_completion)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn others(&self) -> String {
        let s = self.snapshot;
        format!(
            "503: {}, timeouts: {}, refused/reset: {}, 409: {}, expired claims: {}",
            s.errors_of("503"),
            s.errors_of("timeout"),
            s.errors_of("transport"),
            s.errors_of("409"),
            self.verdict.expired_runs
        )
    }

    pub(crate) fn print(&self) {
        let v = self.verdict;
        println!(
            "chaos {} [{}]: {} tasks acknowledged of {} sent, {} in the database, {} completions acknowledged, \
             lost {}, double {}, 5xx {} ({}); recovery: {}; {:.1} s",
            self.scenario,
            self.scale,
            v.acknowledged,
            self.attempted,
            v.in_database,
            v.completions_acknowledged,
            v.lost,
            v.double,
            self.snapshot.server_errors(),
            self.others(),
            self.recovery_text(),
            self.elapsed.as_secs_f64()
        );
    }

    /// Appends one Markdown row; the header comes first when the file is new.
    pub(crate) fn append_to_report(&self) -> std::io::Result<()> {
        let Some((mut file, new)) = open_report()? else { return Ok(()) };
        if new {
            write_header(&mut file)?;
        }
        let v = self.verdict;
        let result = if v.violations.is_empty() {
            "ok".to_owned()
        } else {
            format!("FAILED: {} violation(s), e.g. {}", v.violations.len(), v.violations[0])
        };
        writeln!(
            file,
            "| {} | {} | {}/{} | {} | {} | {} | {} | {} | {:.0} s |",
            self.scenario,
            result,
            v.acknowledged,
            self.attempted,
            v.lost,
            v.double,
            self.snapshot.server_errors(),
            self.others(),
            self.recovery_text(),
            self.elapsed.as_secs_f64()
        )
    }
}

/// The report file, and whether it is new; `None` when none was asked for.
fn open_report() -> std::io::Result<Option<(std::fs::File, bool)>> {
    let Some(path) = std::env::var_os(REPORT_ENV) else { return Ok(None) };
    let new = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
    let file = std::fs::File::options().create(true).append(true).open(path)?;
    Ok(Some((file, new)))
}

fn write_header(file: &mut std::fs::File) -> std::io::Result<()> {
    writeln!(
        file,
        "| scenario | result | tasks (acked/sent) | lost | double | 5xx | other answers | recovery | time |"
    )?;
    writeln!(file, "|---|---|---|---|---|---|---|---|---|")
}

/// A scenario that stopped before its checks (a fault that could not be
/// injected, a queue that never drained) still gets its row.
pub(crate) fn append_failure(scenario: &str, error: &str) -> std::io::Result<()> {
    let Some((mut file, new)) = open_report()? else { return Ok(()) };
    if new {
        write_header(&mut file)?;
    }
    let first_line = error.lines().next().unwrap_or_default().replace('|', "/");
    writeln!(file, "| {scenario} | FAILED before the checks: {first_line} | | | | | | | |")
}
