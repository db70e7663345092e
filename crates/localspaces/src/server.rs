//! The HTTP server: listener, connections, graceful shutdown, admin routes.

use crate::auth::Authenticator;
use crate::clock::{Clock, OffsetClock};
use crate::config::AuthMode;
use crate::config::ServeConfig;
use crate::edge::{self, App};
use crate::engine::{Applier, Engine, Timing};
use crate::service::BundleCatalog;
use crate::service::{Limits, Service};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use localspaces_store::{MemoryStore, SqliteStore, Store};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long a client may take to send a request head (hyper's HTTP/1 timer) and, before
/// that, the first bytes that tell HTTP/1 from HTTP/2.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits up to `limit` for the first bytes of a connection, until they tell HTTP/1 from the
/// HTTP/2 preface (what hyper-util's auto builder reads first, without a timer of its own:
/// a client that never sent a byte held its connection forever). False: close it.
async fn first_bytes(stream: &tokio::net::TcpStream, limit: Duration) -> bool {
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = [0u8; 24];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => return false,
        };
        if n == 0 {
            return false;
        }
        if n == buf.len() || buf[..n] != H2_PREFACE[..n] {
            return true;
        }
        // A prefix of the HTTP/2 preface: wait for the rest, within the same deadline.
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server that is listening.
pub struct Server {
    addr: SocketAddr,
    listener: TcpListener,
    app: Arc<App>,
    store: Arc<dyn Store>,
    store_desc: String,
}

impl Server {
    /// Opens the store and binds the listener (port 0 picks a free port).
    pub async fn bind(cfg: &ServeConfig) -> anyhow::Result<Server> {
        let (store, store_desc): (Arc<dyn Store>, String) = if cfg.in_memory {
            (Arc::new(MemoryStore::new()), "in-memory".to_string())
        } else {
            std::fs::create_dir_all(&cfg.data_dir)
                .map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", cfg.data_dir.display()))?;
            let path = cfg.data_dir.join("localspaces.db");
            let s = SqliteStore::open(&path)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
            (Arc::new(s), format!("sqlite {}", path.display()))
        };
        Self::bind_with_store(cfg, store, store_desc).await
    }

    /// Like [`Server::bind`], on a store the caller opened (tests wrap a store to watch
    /// its commits); `store_desc` is what [`Server::store_desc`] shows.
    pub async fn bind_with_store(
        cfg: &ServeConfig,
        store: Arc<dyn Store>,
        store_desc: String,
    ) -> anyhow::Result<Server> {
        let bundle_catalog = match &cfg.bundle_catalog {
            Some(path) => Some(Arc::new(
                BundleCatalog::load(path).map_err(|e| anyhow::anyhow!("--bundle-catalog {e}"))?,
            )),
            None => None,
        };
        let limits = Limits {
            byol_eligible: cfg.byol_eligible,
            bundle_catalog,
            ..Limits::default()
        }
        .with_overrides(&cfg.quotas)
        .map_err(|e| anyhow::anyhow!(e))?;
        let timing = Timing::parse(&cfg.timing).map_err(|e| anyhow::anyhow!("--timing: {e}"))?;
        let clock = Arc::new(OffsetClock::default());
        let dyn_clock: Arc<dyn Clock> = Arc::clone(&clock) as Arc<dyn Clock>;
        let engine = Engine::new(Arc::clone(&dyn_clock), timing);
        let pending = engine
            .recover(store.as_ref())
            .map_err(|e| anyhow::anyhow!("reading pending transitions: {e}"))?;
        if pending > 0 {
            tracing::info!(pending, "resuming pending lifecycle transitions");
        }
        let service = Arc::new(Service::new(Arc::clone(&store), dyn_clock, limits, engine));
        let app = Arc::new(App {
            service,
            auth: Authenticator::from_config(cfg)?,
            clock,
            max_body: cfg.max_body,
            admin_token: cfg.admin_token.clone(),
            admin_open: cfg.auth == AuthMode::Open,
            activity: Default::default(),
            console: Default::default(),
        });
        let listener = TcpListener::bind((cfg.host.as_str(), cfg.port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", cfg.host, cfg.port))?;
        let addr = listener.local_addr()?;
        Ok(Server {
            addr,
            listener,
            app,
            store,
            store_desc,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service (start-up work such as `--seed`).
    pub fn service(&self) -> &Arc<Service> {
        &self.app.service
    }

    /// A description of the store, for the ready line.
    pub fn store_desc(&self) -> &str {
        &self.store_desc
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish (up to 10 s)
    /// and closes the store.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let graceful = GracefulShutdown::new();
        let engine = self.app.service.engine().clone();
        let applier: Arc<dyn Applier> = Arc::clone(&self.app.service) as Arc<dyn Applier>;
        let engine_task = tokio::spawn(engine.run(applier));
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .timer(hyper_util::rt::TokioTimer::new());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let app = Arc::clone(&self.app);
                    let builder = builder.clone();
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        if !first_bytes(&stream, HEADER_READ_TIMEOUT).await {
                            return;
                        }
                        let client = crate::console::ClientAddr(peer.ip());
                        let svc = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                            req.extensions_mut().insert(client);
                            edge::handle(Arc::clone(&app), req)
                        });
                        let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                        let _ = watcher.watch(conn).await;
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        engine_task.abort();
        tracing::info!("shutting down: waiting for in-flight requests");
        if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not finish within 10 s");
        }
        self.store
            .close()
            .map_err(|e| anyhow::anyhow!("closing the store: {e}"))?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called (not
/// when the future is first polled), so a signal right after the ready line is not lost.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = int.recv() => {},
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
