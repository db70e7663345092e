//! The edge under hostile or unusual clients: slow clients (headers sent byte by byte, a
//! body that never finishes) do not block others and are closed after a bounded time (the
//! server's 30 s header and body read timeouts); hundreds of idle connections do not stop the
//! server from answering; and strict SigV4 with the Rust SDK's own signing.
//!
//! The slow-client test waits for the 30 s timeouts once (its waits overlap). The numbers of
//! connections scale with `LOCALSPACES_EDGE_CONNECTIONS` (default 500).

mod common;

use aws_sdk_workspaces::config::retry::RetryConfig;
use aws_sdk_workspaces::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::Client;
use common::{ok, service_err, Engine, TestServer, REGION};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The server's header and body read timeout (server.rs, edge.rs).
const READ_TIMEOUT: Duration = Duration::from_secs(30);

fn connections() -> usize {
    std::env::var("LOCALSPACES_EDGE_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// Waits until the server closes `s` (EOF or reset), reading and discarding what it sends;
/// returns how long that took and what was read.
fn wait_closed(mut s: TcpStream, limit: Duration) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (start.elapsed(), got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (start.elapsed(), got),
        }
        assert!(start.elapsed() < limit, "connection still open after {limit:?}");
    }
}

/// An answer from another client, within a few seconds, while the slow ones hang around.
async fn others_are_served(c: &Client) {
    let start = Instant::now();
    ok("DescribeIpGroups", c.describe_ip_groups().send().await);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "another client waited {:?}",
        start.elapsed()
    );
}

fn slow_headers(addr: SocketAddr) -> (Duration, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let head = format!("POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: WorkspacesService.DescribeIpGroups\r\nContent-Length: 2\r\n\r\n{{}}");
    let start = Instant::now();
    // One byte every 200 ms: the head alone would take ~30 s; the server gives up first.
    for b in head.bytes() {
        if s.write_all(&[b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if start.elapsed() > READ_TIMEOUT + Duration::from_secs(15) {
            break;
        }
    }
    let (_, got) = wait_closed(s, Duration::from_secs(20));
    (start.elapsed(), got)
}

fn unfinished_body(addr: SocketAddr) -> (Duration, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: WorkspacesService.DescribeIpGroups\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/workspaces/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: 1000\r\n\r\n{{\"Gr"
    );
    s.write_all(head.as_bytes()).expect("send");
    wait_closed(s, READ_TIMEOUT + Duration::from_secs(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_do_not_block_others() {
    let server = TestServer::start(Engine::Memory).await;
    let addr = server.addr();
    let c = server.client();
    let n = connections();

    // Hundreds of idle connections: some never send a byte, some stop inside the head.
    let idle: Vec<TcpStream> = (0..n)
        .map(|i| {
            let mut s = TcpStream::connect(addr).expect("idle connect");
            if i % 2 == 1 {
                s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
                    .expect("partial head");
            }
            s
        })
        .collect();
    others_are_served(&c).await;

    let slow_head = tokio::task::spawn_blocking(move || slow_headers(addr));
    let slow_body = tokio::task::spawn_blocking(move || unfinished_body(addr));
    // Meanwhile everyone else is served, again and again.
    let start = Instant::now();
    let mut served = 0;
    while start.elapsed() < Duration::from_secs(10) {
        others_are_served(&c).await;
        served += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (took, answer) = slow_body.await.expect("slow body");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(
        took <= READ_TIMEOUT + Duration::from_secs(5),
        "unfinished body held {took:?}"
    );
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("Timed out reading the request body"),
        "an unfinished body gets a 400 when the body timeout ends: {answer:?}"
    );
    let (took, answer) = slow_head.await.expect("slow head");
    assert!(
        took <= READ_TIMEOUT + Duration::from_secs(5),
        "slow head held {took:?}"
    );
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // The idle connections: the ones that started a head are closed by now; report the rest.
    let mut closed = [0usize; 2];
    for (i, s) in idle.into_iter().enumerate() {
        s.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 64];
        let is_closed = match (&s).read(&mut buf) {
            Ok(_) => true,
            Err(e) => e.kind() != ErrorKind::WouldBlock,
        };
        if is_closed {
            closed[i % 2] += 1;
        }
    }
    println!(
        "{n} idle connections; {served} answers to another client meanwhile; after {:?}: \
         closed {}/{} silent and {}/{} partial-head connections",
        start.elapsed(),
        closed[0],
        n.div_ceil(2),
        closed[1],
        n / 2
    );
    assert_eq!(
        closed[1],
        n / 2,
        "every partial head is closed after the header timeout"
    );
    assert_eq!(
        closed[0],
        n.div_ceil(2),
        "every silent connection is closed after the header timeout"
    );
    others_are_served(&c).await;
    server.stop().await;
}

// ----------------------------------------------------------------- strict, Rust SDK

fn strict_client(server: &TestServer, key: &str, secret: &str) -> Client {
    let config = aws_sdk_workspaces::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(key, secret, None, None, "test"))
        .endpoint_url(server.url())
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_auth_accepts_the_rust_sdk_signature() {
    for engine in [Engine::Memory, Engine::Sqlite] {
        let server = TestServer::start_with(
            engine,
            &[
                "--auth",
                "strict",
                "--credentials",
                "AKIDRUST:rust-secret:333333333333",
            ],
        )
        .await;
        let good = strict_client(&server, "AKIDRUST", "rust-secret");
        let gid = ok(
            "CreateIpGroup",
            good.create_ip_group()
                .group_name("rust-strict")
                .user_rules(common::rule("10.0.0.0/16", "hq"))
                .send()
                .await,
        )
        .group_id()
        .expect("GroupId")
        .to_string();
        let got = ok(
            "DescribeIpGroups",
            good.describe_ip_groups().group_ids(&gid).send().await,
        );
        assert_eq!(got.result().len(), 1);
        let e = service_err(
            "wrong secret",
            strict_client(&server, "AKIDRUST", "nope")
                .describe_ip_groups()
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("InvalidSignatureException"));
        let e = service_err(
            "unknown key",
            strict_client(&server, "AKIDNOBODY", "x")
                .describe_ip_groups()
                .send()
                .await,
        );
        assert_eq!(e.code(), Some("UnrecognizedClientException"));
        server.stop().await;
    }
}
