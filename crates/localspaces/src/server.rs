//! The HTTP server: listener, connections, graceful shutdown, admin routes.

use crate::auth::Authenticator;
use crate::clock::{Clock, SystemClock};
use crate::config::ServeConfig;
use crate::edge::{self, App};
use crate::service::{DirectoryService, Limits, Service};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use localspaces_store::{MemoryStore, SqliteStore, Store};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Prefix of the admin and health routes; cannot collide with `POST /` or `/service/…`.
pub const ADMIN_PREFIX: &str = "/_localspaces/";

/// Answers the admin routes (health for now); `None` for everything else.
pub fn admin_route(_app: &App, parts: &hyper::http::request::Parts) -> Option<Response<Full<Bytes>>> {
    let path = parts.uri.path();
    let rest = path.strip_prefix(ADMIN_PREFIX)?;
    let (status, body) = match (&parts.method, rest) {
        (&Method::GET, "health") => (
            200,
            format!(
                "{{\"status\":\"ok\",\"version\":\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            ),
        ),
        _ => (404, "{\"message\":\"no such admin route\"}".to_string()),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::NOT_FOUND);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Some(r)
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
        let limits = Limits::default()
            .with_overrides(&cfg.quotas)
            .map_err(|e| anyhow::anyhow!(e))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let app = Arc::new(App {
            service: Arc::new(Service::new(Arc::clone(&store), Arc::clone(&clock), limits)),
            ds: Arc::new(DirectoryService),
            auth: Authenticator::from_config(cfg)?,
            clock,
            max_body: cfg.max_body,
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

    /// A description of the store, for the ready line.
    pub fn store_desc(&self) -> &str {
        &self.store_desc
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish (up to 10 s)
    /// and closes the store.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let graceful = GracefulShutdown::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .header_read_timeout(Duration::from_secs(30))
            .timer(hyper_util::rt::TokioTimer::new());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, _) = match accepted {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let app = Arc::clone(&self.app);
                    let svc = service_fn(move |req| edge::handle(Arc::clone(&app), req));
                    let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
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

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
