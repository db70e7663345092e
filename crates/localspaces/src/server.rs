//! The HTTP server: listener, connections, graceful shutdown, admin routes.

use crate::app::hosts::AllowedHosts;
use crate::app::{activity, App, Outcome};
use crate::auth::Authenticator;
use crate::clock::{Clock, OffsetClock};
use crate::config::AuthMode;
use crate::config::ServeConfig;
use crate::conn;
use crate::engine::{Applier, Engine, Timing};
use crate::service::BundleCatalog;
use crate::service::{Limits, Service};
use crate::{admin, console, edge};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use localspaces_store::{MemoryStore, PostgresStore, SqliteStore, Store};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Takes the data directory's lock file (`localspaces.lock`, holding the pid of the server
/// that owns the directory) for as long as the returned file is kept open. Two servers on
/// one database would each cache and number records on their own, and two replicas on one
/// desktops directory would drive each other's desktops, so a second one refuses to
/// start, naming the first one's pid and the flag (`flag`) that picks another directory.
fn lock_data_dir(dir: &std::path::Path, flag: &str) -> anyhow::Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    let path = dir.join("localspaces.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open the lock file {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("another localspaces (pid {holder})")
            };
            anyhow::bail!(
                "the directory {} is in use by {who}; stop it or pick another {flag}",
                dir.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("cannot lock {}: {e}", path.display())
        }
    }
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .and_then(|()| file.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the lock file {}: {e}", path.display()))?;
    Ok(file)
}

/// Answers one HTTP request: the console, the admin routes or the API, by path; then the
/// request log line and the activity log entry. Never fails and never panics out.
async fn serve_request(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let started = Instant::now();
    let mut id_buf = uuid::Uuid::encode_buffer();
    let request_id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id_buf);
    let request_id_header = HeaderValue::from_str(request_id);
    let request_id = request_id.to_owned();
    let (mut parts, body) = req.into_parts();
    if !app.allowed_hosts.allows_request(&parts) {
        return Ok(wrong_host(&parts, &request_id));
    }
    // The routes other than the API are awaited boxed: their futures are large (the desktop
    // stream's ~3.6 KB, the console's ~2.3 KB) and would otherwise be part of every API
    // request's future, which hyper moves (copies) as a whole.
    // desktop seam: the console's desktop stream (a WebSocket upgrade), page and noVNC.
    if app.service.desktops().is_some() {
        if let Some(resp) = Box::pin(crate::desktop::rfb::route(&app, &mut parts)).await {
            return Ok(resp);
        }
        if let Some(resp) = crate::desktop::viewer::route(&app, &parts) {
            return Ok(resp);
        }
    }
    if console::is_console_path(parts.uri.path()) {
        return Ok(Box::pin(console::handle(&app, parts, body, &request_id)).await);
    }
    let admin_path = parts.uri.path().strip_prefix(admin::PREFIX).map(str::to_string);
    // Saved-environment and desktop-exec routes read a body; any other path gets it back
    // (an API call without trying the admin routes).
    let admin_response = match &admin_path {
        None => Err(body),
        Some(rest) => {
            let response = Box::pin(async {
                match crate::state::admin_route(&app, &parts, body).await {
                    Ok(response) => Ok(response),
                    // desktop seam: the desktop-exec admin route.
                    Err(body) if crate::desktop::exec::is_exec_path(parts.uri.path()) => {
                        Ok(crate::desktop::exec::route(&app, &parts, body).await)
                    }
                    Err(body) => admin::route(&app, &parts).await.ok_or(body),
                }
            })
            .await;
            response.map(|r| (rest, r))
        }
    };
    let outcome = match admin_response {
        Ok((rest, response)) => Outcome {
            protocol: "admin",
            operation: Some(format!("admin {rest}").into()),
            account: None,
            region: None,
            resource: None,
            response,
        },
        Err(body) => edge::handle(&app, parts, body, &request_id).await,
    };
    let mut response = outcome.response;
    if let Ok(v) = request_id_header {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    let is_admin = admin_path.is_some();
    crate::logging::RequestLine {
        request_id: &request_id,
        account: outcome.account.as_deref().unwrap_or("-"),
        operation: if is_admin {
            "admin"
        } else {
            outcome.operation.as_deref().unwrap_or("-")
        },
        protocol: if is_admin { "json" } else { outcome.protocol },
        status: response.status().as_u16(),
        latency_us: started.elapsed().as_micros() as u64,
    }
    .log();
    app.activity.record(activity::Entry {
        seq: 0,
        time: app.clock.now(),
        account: outcome.account.unwrap_or_else(|| "-".into()),
        region: outcome.region.unwrap_or_else(|| "-".into()),
        operation: outcome.operation.unwrap_or("-".into()),
        resource: outcome.resource.unwrap_or_else(|| "-".into()),
        protocol: outcome.protocol,
        status: response.status().as_u16(),
        request_id,
    });
    Ok(response)
}

/// Serves a connection until it ends or its watchdog's verdict comes: on
/// [`conn::Closed::Draining`] the connection is asked (`drain`) to finish the requests in
/// progress and close, and is served until it has; on any other verdict it is closed.
async fn serve_until<C: Future>(
    connection: C,
    closed: tokio::sync::oneshot::Receiver<conn::Closed>,
    drain: impl FnOnce(std::pin::Pin<&mut C>),
) {
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        Ok(why) = closed => {
            if why == conn::Closed::Draining {
                drain(connection.as_mut());
                connection.await;
            } else {
                tracing::debug!(?why, "closed a connection");
            }
        }
    }
}

/// The answer to a request whose `Host` is not an allowed name (a DNS-rebinding page, a
/// proxy that was not declared with `--allowed-hosts`): 403, in the caller's terms.
fn wrong_host(parts: &hyper::http::request::Parts, request_id: &str) -> Response<Full<Bytes>> {
    let host = parts
        .uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| parts.headers.get("host").and_then(|v| v.to_str().ok()))
        .unwrap_or("");
    tracing::warn!(
        request_id,
        host,
        path = parts.uri.path(),
        "refused a request for a host name that is not allowed"
    );
    let text = format!(
        "This server does not answer to the host name {host:?}: add it with --allowed-hosts if it is yours."
    );
    let path = parts.uri.path();
    let mut r = if console::is_console_path(path) || path.starts_with(admin::PREFIX) {
        let mut r = Response::new(Full::new(Bytes::from(
            serde_json::json!({"message": text}).to_string(),
        )));
        *r.status_mut() = hyper::StatusCode::FORBIDDEN;
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    } else {
        let protocol = crate::app::router::protocol_of(path);
        let mut e = crate::app::ErrorOut::ws(
            localspaces_api::workspaces::ErrorCode::AccessDeniedException,
            text,
        );
        e.status = 403;
        edge::error_response(protocol, &e)
    };
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut()
            .insert(HeaderName::from_static("x-amzn-requestid"), v);
    }
    r
}

/// A server that is listening.
pub struct Server {
    addr: SocketAddr,
    listener: TcpListener,
    app: Arc<App>,
    store: Arc<dyn Store>,
    store_desc: String,
    /// The data directory's lock, held until the server stops.
    lock: Option<std::fs::File>,
    max_connections: usize,
    read_timeout: Duration,
    idle_timeout: Duration,
    /// One of several replicas on a shared store (see [`crate::replicas`]).
    shared: bool,
}

impl Server {
    /// Opens the store and binds the listener (port 0 picks a free port).
    pub async fn bind(cfg: &ServeConfig) -> anyhow::Result<Server> {
        let mut lock = None;
        let (store, store_desc): (Arc<dyn Store>, String) = if let Some(url) = &cfg.store_url {
            let (url, wait) = (url.clone(), Duration::from_secs(cfg.store_wait));
            let s = tokio::task::spawn_blocking(move || PostgresStore::connect(&url, wait))
                .await?
                .map_err(|e| anyhow::anyhow!("cannot open the store database: {e}"))?;
            let desc = format!("postgres {}", s.description());
            (Arc::new(s), desc)
        } else if cfg.in_memory {
            (Arc::new(MemoryStore::new()), "in-memory".to_string())
        } else {
            std::fs::create_dir_all(&cfg.data_dir)
                .map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", cfg.data_dir.display()))?;
            lock = Some(lock_data_dir(&cfg.data_dir, "--data-dir")?);
            let path = cfg.data_dir.join("localspaces.db");
            let s = SqliteStore::open(&path)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
            (Arc::new(s), format!("sqlite {}", path.display()))
        };
        // Several replicas with desktops: each keeps its desktops in its own locked
        // directory, with its replica id.
        let mut replica_id = None;
        let mut desktops_cfg = None;
        if cfg.store_url.is_some() && cfg.desktops != crate::desktop::DesktopsMode::None {
            let dir = cfg.desktops_dir.clone().unwrap_or_else(|| cfg.data_dir.clone());
            std::fs::create_dir_all(&dir).map_err(|e| {
                anyhow::anyhow!("cannot create the desktops directory {}: {e}", dir.display())
            })?;
            lock = Some(lock_data_dir(&dir, "--desktops-dir")?);
            replica_id = Some(crate::membership::id_in(&dir)?);
            let mut c = cfg.clone();
            c.data_dir = dir;
            desktops_cfg = Some(c);
        }
        let mut server =
            Self::bind_with_store(desktops_cfg.as_ref().unwrap_or(cfg), store, store_desc).await?;
        server.lock = lock;
        if cfg.store_url.is_some() {
            server.shared = true;
            server.app.service.engine().share(Arc::clone(&server.store));
            server.app.activity.share(Arc::clone(&server.store));
        }
        if let Some(id) = replica_id {
            let url = match &cfg.advertise_url {
                Some(u) => {
                    let u = u.trim_end_matches('/');
                    if !(u.starts_with("http://") && u.len() > "http://".len()) {
                        anyhow::bail!("--advertise-url must be an http:// URL (got {u:?})");
                    }
                    u.to_string()
                }
                None => {
                    let mut addr = server.addr;
                    if addr.ip().is_unspecified() {
                        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                    }
                    format!("http://{addr}")
                }
            };
            let m = Arc::new(crate::membership::Membership::new(
                &id,
                &url,
                crate::membership::LEASE,
            ));
            let (m2, store) = (Arc::clone(&m), Arc::clone(&server.store));
            tokio::task::spawn_blocking(move || {
                // Registered, and the others' heartbeats read, before the first request.
                m2.secret(store.as_ref())?;
                m2.beat(store.as_ref())?;
                m2.refresh(store.as_ref(), std::time::Instant::now()).map(|_| ())
            })
            .await?
            .map_err(|e| anyhow::anyhow!("registering this replica in the store: {e}"))?;
            tracing::info!(replica = %id, url = %url, "desktops live on this replica");
            server.app.service.set_membership(m);
            let svc = Arc::clone(&server.app.service);
            tokio::task::spawn_blocking(move || svc.desktop_reconcile())
                .await?
                .map_err(|e| anyhow::anyhow!("reconciling desktops: {}", e.message))?;
        }
        Ok(server)
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
        // On a blocking thread: a store may block (the Postgres client runs its own I/O).
        let pending = {
            let (engine, store) = (engine.clone(), Arc::clone(&store));
            tokio::task::spawn_blocking(move || engine.recover(store.as_ref())).await?
        }
        .map_err(|e| anyhow::anyhow!("reading pending transitions: {e}"))?;
        if pending > 0 {
            tracing::info!(pending, "resuming pending lifecycle transitions");
        }
        let service = Arc::new(Service::new(Arc::clone(&store), dyn_clock, limits, engine));
        // desktop seam: `--desktops local` or `kvm` puts a driver behind the WorkSpaces.
        let driver: Option<Arc<dyn crate::desktop::DesktopDriver>> = match cfg.desktops {
            crate::desktop::DesktopsMode::None => None,
            crate::desktop::DesktopsMode::Local => {
                let max = cfg
                    .max_desktops
                    .unwrap_or_else(crate::desktop::local::default_max_desktops);
                Some(Arc::new(crate::desktop::local::LocalDriver::new(
                    &cfg.data_dir,
                    max,
                )?))
            }
            crate::desktop::DesktopsMode::Kvm => {
                use crate::desktop::kvm;
                Some(Arc::new(kvm::KvmDriver::new(kvm::KvmOptions {
                    image_dir: cfg
                        .kvm_image
                        .clone()
                        .unwrap_or_else(|| kvm::default_image_dir(&cfg.data_dir)),
                    dir: cfg.data_dir.join("kvm"),
                    allow_tcg: cfg.kvm_allow_tcg,
                    memory_budget_mib: cfg.kvm_memory_mib,
                    boot_timeout: Duration::from_secs(cfg.kvm_boot_timeout.max(1)),
                    max_desktops: cfg.max_desktops,
                })?))
            }
        };
        if let Some(driver) = driver {
            // Desktops a killed predecessor left running (their parent-death signal lost)
            // go before reconciliation starts the ones that should run.
            let killed = driver.kill_orphans();
            if killed > 0 {
                tracing::warn!(
                    count = killed,
                    "killed desktops a previous localspaces left running"
                );
            }
            service.set_desktops(driver);
            // Among several replicas, once this one knows its id (`bind`).
            if cfg.store_url.is_none() {
                service
                    .desktop_reconcile()
                    .map_err(|e| anyhow::anyhow!("reconciling desktops: {}", e.message))?;
            }
        }
        let app = Arc::new(App {
            service,
            auth: Authenticator::from_config(cfg)?,
            clock,
            max_body: cfg.max_body,
            admin_token: cfg.admin_token.clone(),
            admin_open: cfg.auth == AuthMode::Open,
            activity: Default::default(),
            console: Default::default(),
            read_timeout: Duration::from_secs(cfg.read_timeout.max(1)),
            allowed_hosts: AllowedHosts::new(&cfg.host, &cfg.allowed_hosts),
            writers: tokio::sync::Semaphore::new(crate::app::WRITERS),
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
            lock: None,
            max_connections: cfg.max_connections.max(1),
            read_timeout: Duration::from_secs(cfg.read_timeout.max(1)),
            idle_timeout: Duration::from_secs(cfg.idle_timeout.max(1)),
            shared: false,
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
        // Set when the server stops: each connection's watchdog then asks its connection to
        // finish the requests in progress and close (idle ones close at once).
        let (draining_tx, draining) = tokio::sync::watch::channel(false);
        let engine = self.app.service.engine().clone();
        let applier: Arc<dyn Applier> = Arc::clone(&self.app.service) as Arc<dyn Applier>;
        let engine_task = tokio::spawn(engine.clone().run(applier));
        let replica_task = self.shared.then(|| {
            let clock = Arc::clone(&self.app.clock);
            let app = Arc::clone(&self.app);
            let svc = Arc::clone(&self.app.service);
            let svc2 = Arc::clone(&self.app.service);
            let lost: crate::replicas::Lost =
                Arc::new(move |id: &str| svc2.desktops_lost(id).map(|_| ()).map_err(|e| e.message));
            let hooks = crate::replicas::Hooks {
                flush: Arc::new(move || app.activity.flush()),
                keep: Arc::new(move |k, t| svc.queues_here(k, t)),
                membership: self.app.service.membership().map(|m| (Arc::clone(m), lost)),
            };
            tokio::spawn(crate::replicas::run(
                Arc::clone(&self.store),
                engine,
                clock,
                hooks,
            ))
        });
        // desktop seam: dead desktops and due snapshots are noticed every half second.
        let desktop_task = self.app.service.desktops().map(|_| {
            let svc = Arc::clone(&self.app.service);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let svc = Arc::clone(&svc);
                    let _ = tokio::task::spawn_blocking(move || svc.desktop_tick()).await;
                }
            })
        });
        // hyper's HTTP/1 and HTTP/2 connections, each served directly: `conn::first_bytes`
        // has told them apart (by peeking) already. (hyper-util's auto builder reads the
        // preface again and wraps every read in a replaying buffer; its graceful shutdown
        // polls a shutdown signal on every wake of every connection. Here the watchdog task,
        // which wakes on its own ticks, watches the signal instead.)
        let mut h1 = http1::Builder::new();
        // No `header_read_timeout`: the connection's watchdog bounds HTTP/1 heads (one
        // check a tick per connection instead of a timer per request; see `conn`).
        // A client that half-closes after pipelining requests still gets every answer.
        h1.half_close(true);
        // An answer's head and body are written as one buffer (one `sendto`): copying a body
        // is cheaper than hyper's queue of two buffers for `writev` (~350 instructions a
        // DescribeWorkspaces answer of ~570 bytes, measured with callgrind).
        h1.writev(false);
        let h2 = http2::Builder::new(TokioExecutor::new());
        // One permit per open connection: over the cap a connection is refused, and when the
        // server stops, all permits back means every connection has finished.
        let cap = u32::try_from(self.max_connections).unwrap_or(u32::MAX);
        let slots = Arc::new(tokio::sync::Semaphore::new(cap as usize));
        let (read_timeout, idle_timeout) = (self.read_timeout, self.idle_timeout);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (mut stream, peer) = match accepted {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    // Over the cap the connection is closed at once: clients see a refused
                    // connection, the server keeps its descriptors and memory.
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        tracing::debug!("connection refused: --max-connections reached");
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let app = Arc::clone(&self.app);
                    let (h1, h2) = (h1.clone(), h2.clone());
                    let mut draining = draining.clone();
                    tokio::spawn(async move {
                        let _slot = slot;
                        let first = tokio::select! {
                            first = conn::first_bytes(&stream, read_timeout) => first,
                            _ = draining.wait_for(|d| *d) => return,
                        };
                        let http1 = match first {
                            conn::FirstBytes::Http1 => true,
                            conn::FirstBytes::Http2 => false,
                            conn::FirstBytes::NotHttp => {
                                use tokio::io::AsyncWriteExt;
                                let _ = tokio::time::timeout(read_timeout, async {
                                    let _ = stream.write_all(conn::NOT_HTTP_RESPONSE).await;
                                    let _ = stream.shutdown().await;
                                })
                                .await;
                                return;
                            }
                            conn::FirstBytes::Silent => return,
                        };
                        let activity = conn::Activity::new(http1);
                        let requests = Arc::clone(&activity);
                        let client = crate::console::ClientAddr(peer.ip());
                        let svc = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                            // Only the console's sign-in reads the peer address; an
                            // extension costs an allocation, so API calls go without.
                            if console::is_console_path(req.uri().path()) {
                                req.extensions_mut().insert(client);
                            }
                            let guard = requests.request();
                            let app = Arc::clone(&app);
                            async move {
                                let r = serve_request(app, req).await;
                                drop(guard);
                                r
                            }
                        });
                        let io = TokioIo::new(conn::Watched::new(stream, Arc::clone(&activity)));
                        // The watchdog runs as its own task and sends its verdict: awaited
                        // here beside the connection, its timer would be polled on every
                        // wake of the connection, twice per request (~230 instructions).
                        let (verdict, closed) = tokio::sync::oneshot::channel();
                        let dog = tokio::spawn(async move {
                            let why = tokio::select! {
                                why = activity.watchdog(idle_timeout, read_timeout) => why,
                                _ = draining.wait_for(|d| *d) => conn::Closed::Draining,
                            };
                            let _ = verdict.send(why);
                        });
                        if http1 {
                            // Upgrades: the console's desktop stream is a WebSocket.
                            let c = h1.serve_connection(io, svc).with_upgrades();
                            serve_until(c, closed, |c| c.graceful_shutdown()).await;
                        } else {
                            let c = h2.serve_connection(io, svc);
                            serve_until(c, closed, |c| c.graceful_shutdown()).await;
                        }
                        dog.abort();
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        engine_task.abort();
        if let Some(task) = replica_task {
            task.abort();
            let app = Arc::clone(&self.app);
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || app.activity.flush()).await {
                tracing::warn!(error = %e, "cannot write the last activity entries");
            }
        }
        if let Some(t) = desktop_task {
            t.abort();
        }
        tracing::info!("shutting down: waiting for in-flight requests");
        let _ = draining_tx.send(true);
        if tokio::time::timeout(Duration::from_secs(10), slots.acquire_many(cap))
            .await
            .is_err()
        {
            tracing::warn!("some connections did not finish within 10 s");
        }
        // desktop seam: desktops stop with the server.
        if let Some(d) = self.app.service.desktops() {
            tokio::task::spawn_blocking(move || d.shutdown()).await.ok();
        }
        self.store
            .close()
            .map_err(|e| anyhow::anyhow!("closing the store: {e}"))?;
        drop(self.lock);
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
