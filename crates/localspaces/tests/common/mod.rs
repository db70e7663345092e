//! Shared helpers of the integration tests: an in-process server on a free port (memory or
//! SQLite engine), SDK clients pointing at it, random accounts, and error helpers.

#![allow(dead_code)] // Each test binary uses a different subset.

use aws_sdk_workspaces::config::retry::RetryConfig;
use aws_sdk_workspaces::config::timeout::TimeoutConfig;
use aws_sdk_workspaces::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_workspaces::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_workspaces::types::{IpRuleItem, Tag};
use aws_sdk_workspaces::Client;
use clap::Parser;
use localspaces::config::ServeConfig;
use localspaces::server::Server;
use serde_json::Value;
use std::collections::hash_map::RandomState;
use std::fmt::Debug;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The default region of the test clients.
pub const REGION: &str = "us-east-1";

/// Upper bound for one SDK call, so that a hung server fails a test instead of hanging it.
/// This guards against hangs only; no test asserts on latency.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Which store engine a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Memory,
    Sqlite,
}

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    cfg: ServeConfig,
}

/// Builds a `ServeConfig` exactly as the command line would.
pub fn serve_config<I, S>(args: I) -> ServeConfig
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let mut all: Vec<std::ffi::OsString> = vec!["localspaces".into()];
    all.extend(args.into_iter().map(Into::into));
    Wrapper::try_parse_from(all).expect("server options parse").cfg
}

/// A server running in this process on the test's tokio runtime.
pub struct TestServer {
    addr: SocketAddr,
    engine: Engine,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), String>>>,
    dir: TempDir,
}

impl TestServer {
    /// Starts a server on 127.0.0.1, a free port, and the given engine.
    pub async fn start(engine: Engine) -> TestServer {
        Self::start_with(engine, &[]).await
    }

    /// Starts a server with extra command-line options (e.g. `--quota ip_groups=3`).
    pub async fn start_with(engine: Engine, extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(engine, dir, extra).await
    }

    /// Starts a server whose data directory is `dir` (SQLite keeps its database there).
    pub async fn start_in(engine: Engine, dir: TempDir, extra: &[&str]) -> TestServer {
        let data_dir = dir.path().to_str().expect("utf-8 temp path").to_string();
        let mut args: Vec<String> = vec![
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            "0".into(),
            "--data-dir".into(),
            data_dir,
        ];
        if engine == Engine::Memory {
            args.push("--in-memory".into());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let cfg = serve_config(args);
        let server = Server::bind(&cfg)
            .await
            .unwrap_or_else(|e| panic!("server failed to bind: {e:#}"));
        let addr = server.addr();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            server
                .run(async move {
                    let _ = rx.await;
                })
                .await
                .map_err(|e| format!("{e:#}"))
        });
        TestServer {
            addr,
            engine,
            shutdown: Some(tx),
            handle: Some(handle),
            dir,
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The engine the server runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The endpoint URL to give clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client acting with `access_key` (12 digits = that account) in `region`.
    pub fn client_as(&self, access_key: &str, region: &str) -> Client {
        client_for(&self.url(), access_key, region)
    }

    /// A client for a fresh random account in [`REGION`].
    pub fn client(&self) -> Client {
        self.client_as(&random_account(), REGION)
    }

    /// Stops the server gracefully and returns its data directory (for a restart).
    pub async fn stop(mut self) -> TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            match tokio::time::timeout(Duration::from_secs(60), h).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => panic!("server run() failed: {e}"),
                Ok(Err(e)) => panic!("server task panicked: {e}"),
                Err(_) => panic!("server did not stop after the shutdown signal"),
            }
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        std::mem::replace(&mut self.dir, tmp)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An SDK client for the endpoint `url`, without retries (a failure must show as a failure).
pub fn client_for(url: &str, access_key: &str, region: &str) -> Client {
    let config = aws_sdk_workspaces::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(access_key, "secret", None, None, "test"))
        .endpoint_url(url)
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_timeout(CALL_TIMEOUT).build())
        .build();
    Client::from_conf(config)
}

/// A random 12-digit account id (never the default account 123456789012).
pub fn random_account() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        h.write_u32(std::process::id());
        let n = h.finish() % 900_000_000_000 + 100_000_000_000;
        let s = n.to_string();
        if s != "123456789012" {
            return s;
        }
    }
}

/// A tag.
pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().expect("tag")
}

/// A tag without a value.
pub fn tag_no_value(key: &str) -> Tag {
    Tag::builder().key(key).build().expect("tag")
}

/// An IP rule with a description.
pub fn rule(cidr: &str, desc: &str) -> IpRuleItem {
    IpRuleItem::builder().ip_rule(cidr).rule_desc(desc).build()
}

/// An IP rule without a description.
pub fn rule_no_desc(cidr: &str) -> IpRuleItem {
    IpRuleItem::builder().ip_rule(cidr).build()
}

/// `expect_err!(what, result, is_some_exception)`: the service error of a failed SDK call,
/// asserting it is the expected one (the error type's `is_…` predicate) and carries a
/// message.
#[allow(unused_macros)] // Not every test binary asserts errors.
macro_rules! expect_err {
    ($what:expr, $res:expr, $pred:ident) => {{
        let what = $what;
        let e = $crate::common::service_err(&what, $res);
        assert!(
            e.$pred(),
            "{}: expected {}, got code {:?} message {:?}",
            what,
            stringify!($pred),
            e.code(),
            e.message()
        );
        assert!(
            e.message().is_some_and(|m| !m.is_empty()),
            "{what}: error without a message"
        );
        e
    }};
}
#[allow(unused_imports)] // Not every test binary asserts errors.
pub(crate) use expect_err;

/// The service error of a failed call, or a panic naming `what` when the call succeeded or
/// failed without a service answer (connection, timeout, ...).
pub fn service_err<T: Debug, E, R>(what: &str, r: Result<T, SdkError<E, R>>) -> E
where
    E: std::error::Error + Debug + 'static,
    R: Debug,
{
    match r {
        Ok(v) => panic!("{what}: expected an error, got success: {v:?}"),
        Err(SdkError::ServiceError(e)) => e.into_err(),
        Err(e) => panic!(
            "{what}: expected a service error, got {}",
            aws_sdk_workspaces::error::DisplayErrorContext(&e)
        ),
    }
}

/// The result of a call that must succeed, with the whole error chain on failure.
pub fn ok<T, E, R>(what: &str, r: Result<T, SdkError<E, R>>) -> T
where
    E: std::error::Error + 'static,
    R: Debug,
{
    match r {
        Ok(v) => v,
        Err(e) => panic!(
            "{what}: unexpected error: {}",
            aws_sdk_workspaces::error::DisplayErrorContext(&e)
        ),
    }
}

/// `(code, message)` of a service error.
pub fn code_and_message<E: ProvideErrorMetadata>(e: &E) -> (String, String) {
    (
        e.code().unwrap_or("<no code>").to_string(),
        e.message().unwrap_or("").to_string(),
    )
}

/// True for a group id in AWS's format (`wsipg-` + 8..63 of `[0-9a-z]`).
pub fn is_ip_group_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("wsipg-") else {
        return false;
    };
    (8..=63).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// Runs an async scenario on both engines: `engine_tests!(name1, name2, ...)` makes a
/// module per scenario with tests `memory` and `sqlite`, each on its own server.
#[macro_export]
macro_rules! engine_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    let server = $crate::common::TestServer::start($crate::common::Engine::Memory).await;
                    super::$name(&server).await;
                    server.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let server = $crate::common::TestServer::start($crate::common::Engine::Sqlite).await;
                    super::$name(&server).await;
                    server.stop().await;
                }
            }
        )*
    };
}

// ---------------------------------------------------------------- raw HTTP, admin, DS

/// One HTTP/1.1 exchange on a fresh connection (blocking; run on the blocking pool).
pub fn http_blocking(
    addr: SocketAddr,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the test server");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send request head");
    s.write_all(body).expect("send request body");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read response");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("malformed HTTP response: {text:?}"));
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
        "unexpected chunked response: {head}"
    );
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, rest.to_string())
}

pub async fn http(
    addr: SocketAddr,
    path: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> (u16, String) {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || http_blocking(addr, &path, &headers, &body))
        .await
        .expect("http task")
}

/// `POST /_localspaces/<route>`; panics unless it answers 200.
pub async fn admin(server: &TestServer, route: &str) -> Value {
    let (status, body) = http(
        server.addr(),
        &format!("/_localspaces/{route}"),
        vec![("X-Localspaces-Admin".into(), "1".into())],
        Vec::new(),
    )
    .await;
    assert_eq!(status, 200, "admin route {route}: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// Applies every pending lifecycle transition now (timers excepted).
pub async fn settle(server: &TestServer) {
    admin(server, "settle").await;
}

/// Moves the service clock ahead and applies what became due.
pub async fn advance(server: &TestServer, seconds: u64) {
    admin(server, &format!("advance?seconds={seconds}")).await;
}

/// A Directory Service call (awsJson1_1, `X-Amz-Target: DirectoryService_20150416.<op>`)
/// as `account` with a syntactically valid SigV4 header (the test servers run in
/// `--auth open`): `(HTTP status, JSON body)`.
pub async fn ds_call(
    server: &TestServer,
    account: &str,
    op: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    ds_call_in(server, account, REGION, op, body).await
}

/// [`ds_call`] in another Region.
pub async fn ds_call_in(
    server: &TestServer,
    account: &str,
    region: &str,
    op: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let headers = vec![
        (
            "Content-Type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        (
            "X-Amz-Target".to_string(),
            format!("DirectoryService_20150416.{op}"),
        ),
        ("X-Amz-Date".to_string(), "20260101T000000Z".to_string()),
        (
            "Authorization".to_string(),
            format!(
                "AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/ds/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
                "0".repeat(64)
            ),
        ),
    ];
    let (status, text) = http(server.addr(), "/", headers, body.to_string().into_bytes()).await;
    let v =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("DS {op}: body is not JSON ({e}): {text:?}"));
    (status, v)
}

/// A Simple AD directory of `account`, Active and REGISTERED with WorkSpaces (settling the
/// lifecycle through the admin route).
pub async fn registered_directory(server: &TestServer, account: &str) -> String {
    registered_directory_in(server, account, REGION).await
}

/// [`registered_directory`] in another Region.
pub async fn registered_directory_in(server: &TestServer, account: &str, region: &str) -> String {
    let (status, out) = ds_call_in(
        server,
        account,
        region,
        "CreateDirectory",
        serde_json::json!({
            "Name": "corp.example.com",
            "Password": "Sup3r-Secret",
            "Size": "Small",
            "VpcSettings": {"VpcId": "vpc-0a1b2c3d", "SubnetIds": ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]},
        }),
    )
    .await;
    assert_eq!(status, 200, "CreateDirectory: {out}");
    let id = out["DirectoryId"].as_str().expect("DirectoryId").to_string();
    settle(server).await;
    let c = server.client_as(account, region);
    ok(
        "RegisterWorkspaceDirectory",
        c.register_workspace_directory().directory_id(&id).send().await,
    );
    settle(server).await;
    id
}

/// Reads a spawned server's first stdout line (its ready line) on a thread: `Some(line)`, or
/// `None` when stdout closed first. The thread then keeps draining stdout so the server
/// never blocks on a full pipe.
pub fn ready_line(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<Option<String>> {
    use std::io::{BufRead, Read};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(n) if n > 0 => {
                let _ = tx.send(Some(line));
                let mut rest = String::new();
                let _ = reader.read_to_string(&mut rest);
            }
            _ => {
                let _ = tx.send(None);
            }
        }
    });
    rx
}

/// The first `bin` in a directory of `PATH`.
pub fn on_path(bin: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(bin))
            .find(|f| f.exists())
    })
}

/// A chromedriver on a free port, killed on drop. Chromium writes its shared-memory files to
/// `TMPDIR` (with `--disable-dev-shm-usage`) and leaves some behind when killed, so the
/// driver gets a temporary directory of its own that goes with it.
pub struct Chromedriver {
    child: std::process::Child,
    /// The WebDriver port on 127.0.0.1.
    pub port: u16,
    _tmp: tempfile::TempDir,
}

impl Chromedriver {
    /// Starts the driver at `path` and waits (up to 20 s) until it listens.
    pub async fn start(path: &std::path::Path) -> Chromedriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let tmp = tempfile::Builder::new()
            .prefix("ls-chrome-")
            .tempdir()
            .expect("chromedriver TMPDIR");
        let child = std::process::Command::new(path)
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let d = Chromedriver {
            child,
            port,
            _tmp: tmp,
        };
        let until = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < until,
                "chromedriver did not listen within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        d
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
