//! Everything the clients were told, with when: acknowledged creates,
//! acknowledged completions and failures (from the workers' lines), error
//! answers by operation and kind, and the faults injected.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use uuid::Uuid;

/// A create the server acknowledged (201, or 200 for a deduplicated retry).
#[derive(Clone, Debug)]
pub(crate) struct Created {
    pub key: String,
    /// How many times the worker fails it before completing it.
    pub fail_times: u64,
}

/// An outcome a server acknowledged to a worker.
#[derive(Clone, Debug)]
pub(crate) struct Ack {
    pub task: Uuid,
    pub run: Uuid,
    pub attempt: u32,
    pub at: Instant,
}

/// One injected fault: when it began and when the system was whole again
/// (the process restarted, the database back).
#[derive(Clone, Debug)]
pub(crate) struct FaultRecord {
    pub name: String,
    pub injected: Instant,
    pub restored: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    created: HashMap<Uuid, Created>,
    task_of_key: HashMap<String, Uuid>,
    completions: Vec<Ack>,
    failures: Vec<Ack>,
    errors: BTreeMap<(String, String), u64>,
    faults: Vec<FaultRecord>,
    anomalies: Vec<String>,
}

/// A copy of the ledger at the end of a scenario.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub created: HashMap<Uuid, Created>,
    pub completions: Vec<Ack>,
    pub failures: Vec<Ack>,
    pub errors: BTreeMap<(String, String), u64>,
    pub faults: Vec<FaultRecord>,
    pub anomalies: Vec<String>,
}

impl Ledger {
    pub(crate) fn created(&self, key: &str, task: Uuid, fail_times: u64) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(earlier) = inner.task_of_key.insert(key.to_owned(), task)
            && earlier != task
        {
            inner.anomalies.push(format!("idempotency key {key} answered two task ids: {earlier} and {task}"));
        }
        inner.created.insert(task, Created { key: key.to_owned(), fail_times });
    }

    pub(crate) fn error(&self, operation: &str, kind: &str) {
        let mut inner = self.inner.lock().unwrap();
        *inner.errors.entry((operation.to_owned(), kind.to_owned())).or_default() += 1;
    }

    pub(crate) fn fault(&self, record: FaultRecord) {
        self.inner.lock().unwrap().faults.push(record);
    }

    pub(crate) fn anomaly(&self, what: String) {
        self.inner.lock().unwrap().anomalies.push(what);
    }

    /// Reads one line of a worker's output (see `worker`).
    pub(crate) fn worker_line(&self, worker: &str, line: &str, at: Instant) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["error", operation, kind] => self.error(operation, kind),
            [verb @ ("complete" | "fail"), task, run, attempt, _server] => {
                let (Ok(task), Ok(run), Ok(attempt)) = (task.parse(), run.parse(), attempt.parse()) else {
                    return self.anomaly(format!("worker {worker} printed an unreadable line: {line}"));
                };
                let ack = Ack { task, run, attempt, at };
                let mut inner = self.inner.lock().unwrap();
                if *verb == "complete" { inner.completions.push(ack) } else { inner.failures.push(ack) }
            }
            _ => self.anomaly(format!("worker {worker} printed an unreadable line: {line}")),
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let inner = self.inner.lock().unwrap();
        Snapshot {
            created: inner.created.clone(),
            completions: inner.completions.clone(),
            failures: inner.failures.clone(),
            errors: inner.errors.clone(),
            faults: inner.faults.clone(),
            anomalies: inner.anomalies.clone(),
        }
    }
}

impl Snapshot {
    /// Error answers of `kind` (an HTTP status, `timeout`, …) over all operations.
    pub(crate) fn errors_of(&self, kind: &str) -> u64 {
        self.errors.iter().filter(|((_, k), _)| k == kind).map(|(_, n)| n).sum()
    }

    /// Answers with a 5xx status, over all operations.
    pub(crate) fn server_errors(&self) -> u64 {
        self.errors.iter().filter(|((_, k), _)| k.starts_with('5') && k.len() == 3).map(|(_, n)| n).sum()
    }
}
