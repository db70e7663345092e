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
