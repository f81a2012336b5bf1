//! HTTP/1.1 over a plain loopback socket, for tests that watch what the
//! server does with the connection itself (an HTTP client library would
//! hide a closed connection behind a fresh one).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for an outcome it expects: far beyond the
/// timeouts under test, so that only a server that never acts fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    /// Bytes read past the last response.
    buffer: Vec<u8>,
}

impl Connection {
    pub(crate) async fn open(address: SocketAddr) -> Self {
        Self { stream: TcpStream::connect(address).await.expect("connects"), buffer: Vec::new() }
    }

    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("sends");
    }

    pub(crate) async fn get(&mut self, path: &str) -> (u16, String) {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes()).await;
        self.response().await
    }

    pub(crate) async fn post(&mut self, path: &str, body: &str) -> (u16, String) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.send(format!("{head}{body}").as_bytes()).await;
        self.response().await
    }

    /// The next response's status and body (the server frames bodies with
    /// `Content-Length`).
    pub(crate) async fn response(&mut self) -> (u16, String) {
        let head_end = loop {
            if let Some(at) = self.buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await;
        };
        let head = String::from_utf8(self.buffer[..head_end].to_vec()).expect("an ASCII head");
        let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status line");
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
            })
            .unwrap_or_else(|| panic!("no Content-Length in {head}"));
        while self.buffer.len() < head_end + length {
            self.fill().await;
        }
        let body = String::from_utf8(self.buffer[head_end..head_end + length].to_vec()).expect("a UTF-8 body");
        self.buffer.drain(..head_end + length);
        (status, body)
    }

    /// Waits until the server closes the connection (end of stream, or a
    /// reset), sending nothing more.
    pub(crate) async fn closed_by_server(&mut self) {
        let mut byte = [0; 1];
        match tokio::time::timeout(PATIENCE, self.stream.read(&mut byte)).await {
            Ok(Ok(0)) => {}
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
            Ok(Ok(_)) => panic!("the server sent more instead of closing"),
            Ok(Err(error)) => panic!("reading failed: {error}"),
            Err(_) => panic!("the server did not close the connection in {PATIENCE:?}"),
        }
    }

    async fn fill(&mut self) {
        let mut chunk = [0; 4096];
        let read = tokio::time::timeout(PATIENCE, self.stream.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("no response in {PATIENCE:?}"))
            .expect("reads");
        assert!(read > 0, "the server closed the connection mid-response");
        self.buffer.extend_from_slice(&chunk[..read]);
    }
}
