//! What the server does with connections that hold a slot without using it:
//! real sockets on loopback against the in-process server (memory store)
//! with 1 s timeouts. Each test waits for the outcome (the socket reading
//! end of stream) with a generous bound, never on elapsed time.

mod captured_logs;
mod raw_http;

use captured_logs::Logs;
use durable_app::server::{self, Server, Settings};
use raw_http::{Connection, PATIENCE};

/// A memory-store server with 1 s header and idle timeouts.
async fn start(settings: Settings) -> Server {
    Logs::installed();
    let settings = Settings { header_timeout_secs: 1, idle_timeout_secs: 1, ..settings };
    server::start(&settings).await.expect("server starts")
}

#[tokio::test]
async fn a_connection_that_sends_half_a_request_header_is_closed() {
    let server = start(Settings::default()).await;
    let mut half = Connection::open(server.local_addr()).await;
    half.send(b"GET /healthz HTTP/1.1\r\nHost: test\r\n").await;
    half.closed_by_server().await;

    let mut silent = Connection::open(server.local_addr()).await;
    silent.closed_by_server().await;

    // The server itself is fine.
    let mut next = Connection::open(server.local_addr()).await;
    assert_eq!(next.get("/healthz").await.0, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_while_a_longer_long_poll_is_answered() {
    let server = start(Settings::default()).await;
    let mut setup = Connection::open(server.local_addr()).await;
    assert_eq!(setup.post("/api/v1/queues", r#"{"name": "emails"}"#).await.0, 201);

    let mut idle = Connection::open(server.local_addr()).await;
    assert_eq!(idle.get("/healthz").await.0, 200);

    // A request first, so the long poll runs on a keep-alive connection that
    // has already been idle once; the poll (3 s) outlasts the idle timeout.
    let mut worker = Connection::open(server.local_addr()).await;
    assert_eq!(worker.get("/healthz").await.0, 200);
    let claim = r#"{"limit": 1, "claim_timeout": 30, "long_poll_seconds": 3}"#;
    let long_poll = tokio::spawn(async move {
        let answer = worker.post("/api/v1/queues/emails/tasks/claim", claim).await;
        (worker, answer)
    });

    idle.closed_by_server().await;
    let (mut worker, (status, body)) = long_poll.await.unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"tasks":[]}"#));
    // Idle again after its answer: closed in turn.
    worker.closed_by_server().await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_full_cap_of_idle_connections_holds_new_ones_until_the_timeout_frees_it() {
    let server = start(Settings { max_connections: 4, ..Settings::default() }).await;
    let address = server.local_addr().to_string();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(Connection::open(server.local_addr()).await);
    }
    // Waits in the backlog until a held connection times out, then is served.
    let mut waiting = Connection::open(server.local_addr()).await;
    assert_eq!(waiting.get("/healthz").await.0, 200);
    for connection in &mut held {
        connection.closed_by_server().await;
    }

    let mut after = Connection::open(server.local_addr()).await;
    assert_eq!(after.get("/healthz").await.0, 200);
    Logs::installed().wait_for(&[&address, "below the cap again"]).await;
    assert_eq!(Logs::installed().count(&[&address, "connection cap reached"]), 1, "one line for the episode");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_answers_a_long_poll_and_drains() {
    let server = start(Settings { idle_timeout_secs: 3600, ..Settings::default() }).await;
    let mut setup = Connection::open(server.local_addr()).await;
    assert_eq!(setup.post("/api/v1/queues", r#"{"name": "emails"}"#).await.0, 201);
    let mut idle = Connection::open(server.local_addr()).await;
    assert_eq!(idle.get("/healthz").await.0, 200);

    // A first request makes sure the server has accepted the connection (a
    // connection still in the backlog is refused at shutdown).
    let mut worker = Connection::open(server.local_addr()).await;
    assert_eq!(worker.get("/healthz").await.0, 200);
    let claim = r#"{"limit": 1, "claim_timeout": 30, "long_poll_seconds": 60}"#;
    let head = format!(
        "POST /api/v1/queues/emails/tasks/claim HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        claim.len()
    );
    worker.send(format!("{head}{claim}").as_bytes()).await;
    // A shutdown closes an idle connection, unread bytes and all, as any
    // keep-alive server does: wait until the claim is waiting in the engine.
    let waiting = async {
        while server.engine().waiting_claims() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(PATIENCE, waiting).await.expect("the long poll reaches the server");

    let address = server.local_addr();
    tokio::time::timeout(PATIENCE, server.shutdown()).await.expect("shutdown drains").unwrap();
    assert_eq!(worker.response().await.0, 200);
    worker.closed_by_server().await;
    idle.closed_by_server().await;
    assert!(tokio::net::TcpStream::connect(address).await.is_err(), "no longer accepting");
}
