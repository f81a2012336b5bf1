//! A TCP relay in front of a PostgreSQL server that can lose one reply: the
//! chosen message reaches the server, which runs it, and the client sees
//! its connection close instead of the answer. For testing what a store
//! does when it cannot know whether a write committed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Which message's reply the relay loses next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoseReplyTo {
    /// An extended-protocol Execute: a statement that runs (and, outside a
    /// transaction, commits) on its own.
    Execute,
    /// The simple query `COMMIT`.
    Commit,
}

/// The relay; stops when dropped.
#[derive(Debug)]
pub struct ReplyLoser {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Shared {
    armed: Mutex<Option<LoseReplyTo>>,
    lost: AtomicUsize,
}

impl ReplyLoser {
    /// Relays connections on a loopback port to the server of `options`.
    pub async fn start(options: &PgConnectOptions) -> Self {
        let upstream = format!("{}:{}", options.get_host(), options.get_port());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the relay");
        let addr = listener.local_addr().expect("the relay's address");
        let shared = Arc::new(Shared::default());
        let accept = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(relay(client, upstream.clone(), shared.clone()));
                }
            }
        });
        Self { addr, shared, accept }
    }

    /// `options` pointed at the relay, in plain text so it can read along.
    pub fn options(&self, options: &PgConnectOptions) -> PgConnectOptions {
        options.clone().host(&self.addr.ip().to_string()).port(self.addr.port()).ssl_mode(PgSslMode::Disable)
    }

    /// Loses the reply to the next such message, on whichever connection.
    pub fn lose_reply_to(&self, message: LoseReplyTo) {
        *self.shared.armed.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
    }

    /// Replies lost so far.
    pub fn lost(&self) -> usize {
        self.shared.lost.load(Ordering::SeqCst)
    }
}

impl Drop for ReplyLoser {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn relay(client: TcpStream, upstream: String, shared: Arc<Shared>) {
    let Ok(server) = TcpStream::connect(&upstream).await else { return };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let lose_next_reply = AtomicBool::new(false);
    let requests = async {
        let mut frames = Frames::default();
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from_client.read(&mut buf).await {
            if frames.feed(&buf[..n]).iter().any(|(kind, body)| shared.take_if_armed(*kind, body)) {
                lose_next_reply.store(true, Ordering::SeqCst);
            }
            if to_server.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let replies = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from_server.read(&mut buf).await {
            if lose_next_reply.load(Ordering::SeqCst) {
                // The server has answered, so it ran the message; dropping
                // both sides closes the client's connection unanswered.
                shared.lost.fetch_add(1, Ordering::SeqCst);
                return;
            }
            if to_client.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = requests => {}
        () = replies => {}
    }
}

impl Shared {
    fn take_if_armed(&self, kind: u8, body: &[u8]) -> bool {
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        let hit = match *armed {
            Some(LoseReplyTo::Execute) => kind == b'E',
            Some(LoseReplyTo::Commit) => kind == b'Q' && body.starts_with(b"COMMIT"),
            None => false,
        };
        if hit {
            *armed = None;
        }
        hit
    }
}

/// Splits the client's byte stream into protocol messages: untyped packets
/// (SSL or GSS requests, then the startup message), then typed ones.
#[derive(Debug, Default)]
struct Frames {
    pending: Vec<u8>,
    started: bool,
}

/// The startup message's protocol version, 3.0.
const PROTOCOL_3: i32 = 196_608;

impl Frames {
    fn feed(&mut self, bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        self.pending.extend_from_slice(bytes);
        let mut messages = Vec::new();
        loop {
            let (header, kind) = if self.started { (5, self.pending.first().copied()) } else { (8, None) };
            if self.pending.len() < header {
                return messages;
            }
            let at = usize::from(self.started);
            let length = i32::from_be_bytes(self.pending[at..at + 4].try_into().expect("four bytes"));
            let total = at + usize::try_from(length).expect("a message length");
            if self.pending.len() < total {
                return messages;
            }
            let packet: Vec<u8> = self.pending.drain(..total).collect();
            match kind {
                Some(kind) => messages.push((kind, packet[5..].to_vec())),
                None => self.started = i32::from_be_bytes(packet[4..8].try_into().expect("four bytes")) == PROTOCOL_3,
            }
        }
    }
}
