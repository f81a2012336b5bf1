//! The log lines of the servers of one test binary, captured through one
//! global subscriber (the server's tasks run on any thread). Tests pick out
//! their own server's lines by its address.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

use crate::raw_http::PATIENCE;

#[derive(Debug, Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub(crate) fn installed() -> &'static Self {
        static LOGS: OnceLock<Logs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs::default();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::INFO)
                .with_ansi(false)
                .with_writer(logs.clone());
            tracing::subscriber::set_global_default(subscriber.finish()).expect("no other subscriber in this binary");
            logs
        })
    }

    /// How many lines contain all of `needles`.
    pub(crate) fn count(&self, needles: &[&str]) -> usize {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap().lines().filter(|line| needles.iter().all(|n| line.contains(n))).count()
    }

    /// Waits until a line contains all of `needles`.
    pub(crate) async fn wait_for(&self, needles: &[&str]) {
        let logged = async {
            while self.count(needles) == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(PATIENCE, logged).await.unwrap_or_else(|_| panic!("nothing logged with {needles:?}"));
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
