//! Accept failing for want of file descriptors (EMFILE): the server backs
//! off and logs instead of spinning, and serves the waiting connection once
//! descriptors are free again. A test binary of its own: it lowers this
//! process's open-file limit.
#![cfg(target_os = "linux")]

mod captured_logs;
// Shared with connections.rs, which uses all of it.
#[allow(dead_code)]
mod raw_http;

use std::fs::File;

use captured_logs::Logs;
use durable_app::server::{self, Settings};
use raw_http::Connection;
use rlimit::Resource;

const EMFILE: i32 = 24;

#[tokio::test]
async fn accepting_without_file_descriptors_backs_off_and_recovers() {
    Logs::installed();
    let server = server::start(&Settings::default()).await.expect("server starts");
    let address = server.local_addr().to_string();

    // Fill the descriptor table but for one, which the client's socket takes:
    // the server's accept then has none left.
    let (soft, hard) = Resource::NOFILE.get().unwrap();
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
    Resource::NOFILE.set(open + 16, hard).unwrap();
    let mut files = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(file) => files.push(file),
            Err(error) if error.raw_os_error() == Some(EMFILE) => break,
            Err(error) => panic!("opening /dev/null: {error}"),
        }
    }
    files.pop();
    let mut client = Connection::open(server.local_addr()).await;
    client.send(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await;
    Logs::installed().wait_for(&[&address, "accepting connections failed"]).await;

    drop(files);
    assert_eq!(client.response().await.0, 200);
    Logs::installed().wait_for(&[&address, "accepting connections again"]).await;
    assert_eq!(Logs::installed().count(&[&address, "accepting connections failed"]), 1, "one line for the episode");

    Resource::NOFILE.set(soft, hard).unwrap();
    server.shutdown().await.unwrap();
}
