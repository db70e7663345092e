//! Saved environments: a versioned JSON document of every stored resource (its tags are
//! part of it), grouped by (account, Region) and kind, with each pending lifecycle
//! transition as the time it has left.
//!
//! Exporting reads every record kind the service stores; importing decodes each record into
//! its type (older record versions migrated), re-derives its indexes and commits everything
//! in one atomic store commit that expects every key absent, so a conflict leaves the
//! server untouched. Imported transitions are due after their remaining time and run on the
//! engine like any other. Served by the admin routes `state/export` and `state/import`,
//! and used by `localspaces state export|import` and `serve --seed`.

use crate::app::App;
use crate::engine::{transition_key, PendingTransition, TransitionKind, TRANSITION_KIND};
use crate::service::saved::{stored_kinds, ImportRefused};
use crate::service::Service;
use bytes::Bytes;
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use localspaces_store::{Expect, Put, Scope, Write};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// Version of the document format (`localspaces_state`).
pub const FORMAT_VERSION: u32 = 1;

/// A saved environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Format version; this build reads [`FORMAT_VERSION`].
    pub localspaces_state: u32,
    /// One entry per (account, Region), sorted.
    pub scopes: Vec<ScopeState>,
}

/// The resources and pending transitions of one (account, Region). Account links and
/// connection-string reservations live in the scope `global/global`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeState {
    pub account: String,
    pub region: String,
    /// Records by store kind (`workspace`, `ipgroup`, …), each kind in creation order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, KindRecords>,
    /// Lifecycle transitions under way (at most one per resource).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<TransitionState>,
}

/// The records of one kind, in the body version they were written with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindRecords {
    /// Record version (older versions are migrated on import).
    pub version: u32,
    pub records: Vec<serde_json::Value>,
}

/// A pending transition: what it does to which resource, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionState {
    /// Transition kind (`workspace_create`, … as in `--timing`).
    pub kind: TransitionKind,
    pub resource_kind: String,
    pub resource_id: String,
    /// Seconds until it is due, at the time of the export (milliseconds precision).
    pub remaining_seconds: f64,
}

/// Which scopes an export covers. With an account or a Region given, only the matching
/// scopes (so not `global/global`).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Filter {
    fn matches(&self, scope: &Scope) -> bool {
        self.account.as_deref().is_none_or(|a| a == scope.account)
            && self.region.as_deref().is_none_or(|r| r == scope.region)
    }
}

/// Why a document cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The document is malformed or names something this build does not know.
    #[error("invalid document: {0}")]
    Invalid(String),
    /// Some resources already exist; nothing was imported.
    #[error("{} resource(s) already exist; nothing was imported: {}", .0.len(), .0.join(", "))]
    Conflicts(Vec<String>),
    /// An internal failure (the store).
    #[error("{0}")]
    Internal(String),
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imported {
    pub resources: u64,
    pub transitions: u64,
}

fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Every resource and pending transition of the scopes `filter` picks, read while no
/// request or transition writes (one consistent state).
pub fn export(svc: &Service, filter: &Filter) -> Result<Document, String> {
    svc.exclusive(|| export_now(svc, filter))
}

fn export_now(svc: &Service, filter: &Filter) -> Result<Document, String> {
    let store = svc.store();
    let now = svc.now();
    let mut scopes: BTreeMap<Scope, ScopeState> = BTreeMap::new();
    fn entry<'a>(scopes: &'a mut BTreeMap<Scope, ScopeState>, scope: &Scope) -> &'a mut ScopeState {
        scopes.entry(scope.clone()).or_insert_with(|| ScopeState {
            account: scope.account.clone(),
            region: scope.region.clone(),
            resources: BTreeMap::new(),
            transitions: Vec::new(),
        })
    }
    for codec in stored_kinds() {
        for r in store.scan_all_scopes(codec.kind).map_err(|e| e.to_string())? {
            if !filter.matches(&r.key.scope) {
                continue;
            }
            let mut value =
                (codec.to_json)(&r.body).map_err(|e| format!("{}/{}: {e}", codec.kind, r.key.id))?;
            if let Some(seq_ref) = codec.seq_ref {
                match svc
                    .seq_ref_export(&r.key.scope, &r.key.id, seq_ref, value)
                    .map_err(|e| e.to_string())?
                {
                    Some(v) => value = v,
                    None => continue,
                }
            }
            entry(&mut scopes, &r.key.scope)
                .resources
                .entry(codec.kind.to_string())
                .or_insert_with(|| KindRecords {
                    version: codec.version,
                    records: Vec::new(),
                })
                .records
                .push(value);
        }
    }
    for r in store
        .scan_all_scopes(TRANSITION_KIND)
        .map_err(|e| e.to_string())?
    {
        if !filter.matches(&r.key.scope) {
            continue;
        }
        let t: PendingTransition =
            serde_json::from_slice(&r.body).map_err(|e| format!("transition {}: {e}", r.key.id))?;
        entry(&mut scopes, &r.key.scope)
            .transitions
            .push(TransitionState {
                kind: t.kind,
                resource_kind: t.resource_kind,
                resource_id: t.resource_id,
                remaining_seconds: round_ms((t.due - now).max(0.0)),
            });
    }
    Ok(Document {
        localspaces_state: FORMAT_VERSION,
        scopes: scopes.into_values().collect(),
    })
}

/// A document turned into store writes, before anything is committed.
pub struct Prepared {
    writes: Vec<Write>,
    transitions: Vec<(Scope, PendingTransition)>,
    resources: u64,
}

impl Prepared {
    /// How many resource records (not transitions) it writes.
    pub fn resources(&self) -> u64 {
        self.resources
    }
}

/// How many records and transitions a document holds (for progress).
pub fn size(doc: &Document) -> u64 {
    doc.scopes
        .iter()
        .map(|s| {
            s.resources.values().map(|k| k.records.len() as u64).sum::<u64>() + s.transitions.len() as u64
        })
        .sum()
}

/// Checks a document and builds its writes (every record decoded into its type, indexes
/// re-derived), transitions due `remaining_seconds` after `now`. `progress` is called once
/// per record or transition.
pub fn prepare(doc: &Document, now: f64, progress: &dyn Fn()) -> Result<Prepared, ImportError> {
    let invalid = |m: String| ImportError::Invalid(m);
    if doc.localspaces_state != FORMAT_VERSION {
        return Err(invalid(format!(
            "format version {} is not readable by this build (it reads {FORMAT_VERSION})",
            doc.localspaces_state
        )));
    }
    let codecs = stored_kinds();
    let mut seen_scopes = HashSet::new();
    let mut seen = HashSet::new();
    let mut out = Prepared {
        writes: Vec::new(),
        transitions: Vec::new(),
        resources: 0,
    };
    for s in &doc.scopes {
        if s.account.is_empty() || s.region.is_empty() {
            return Err(invalid("every scope needs an account and a region".into()));
        }
        let scope = Scope::new(s.account.clone(), s.region.clone());
        if !seen_scopes.insert(scope.clone()) {
            return Err(invalid(format!("scope {}/{} appears twice", s.account, s.region)));
        }
        for (kind, recs) in &s.resources {
            let Some(codec) = codecs.iter().find(|c| c.kind == kind) else {
                return Err(invalid(format!("unknown resource kind {kind:?}")));
            };
            for value in &recs.records {
                let (id, put) = (codec.to_put)(&scope, recs.version, value.clone())
                    .map_err(|e| invalid(format!("{}/{}: {kind}: {e}", s.account, s.region)))?;
                if !seen.insert((scope.clone(), codec.kind, id.clone())) {
                    return Err(invalid(format!(
                        "{}/{}/{kind}/{id} appears twice",
                        s.account, s.region
                    )));
                }
                out.writes.push(put);
                out.resources += 1;
                progress();
            }
        }
        let mut seen_transitions = HashSet::new();
        for t in &s.transitions {
            if !t.remaining_seconds.is_finite() || t.remaining_seconds < 0.0 {
                return Err(invalid(format!(
                    "transition of {}/{}: remaining_seconds must be a number ≥ 0",
                    t.resource_kind, t.resource_id
                )));
            }
            if !seen_transitions.insert((t.resource_kind.clone(), t.resource_id.clone())) {
                return Err(invalid(format!(
                    "{}/{}: two transitions for {}/{}",
                    s.account, s.region, t.resource_kind, t.resource_id
                )));
            }
            let pending = PendingTransition {
                kind: t.kind,
                due: now + t.remaining_seconds,
                resource_kind: t.resource_kind.clone(),
                resource_id: t.resource_id.clone(),
            };
            let body = serde_json::to_vec(&pending).map_err(|e| ImportError::Internal(e.to_string()))?;
            out.writes.push(Write::Put(Put {
                key: transition_key(&scope, &t.resource_kind, &t.resource_id),
                body,
                indexes: Vec::new(),
                unique: Vec::new(),
                expect: Expect::Absent,
            }));
            out.transitions.push((scope.clone(), pending));
            progress();
        }
    }
    Ok(out)
}

/// Imports a document in one atomic commit and schedules its transitions. With
/// `skip_if_present`, a document whose resources all exist already imports nothing
/// (`Ok(None)`; `serve --seed` restarting on the same data).
pub fn import(
    svc: &Service,
    doc: &Document,
    skip_if_present: bool,
    progress: &dyn Fn(),
) -> Result<Option<Imported>, ImportError> {
    let prepared = prepare(doc, svc.now(), progress)?;
    let imported = Imported {
        resources: prepared.resources,
        transitions: prepared.transitions.len() as u64,
    };
    match svc.commit_import(prepared.writes, prepared.transitions, skip_if_present) {
        Ok(true) => Ok(Some(imported)),
        Ok(false) => Ok(None),
        Err(ImportRefused::Conflicts(c)) => Err(ImportError::Conflicts(c)),
        Err(ImportRefused::Store(e)) => Err(ImportError::Internal(e.to_string())),
    }
}

// ---- admin routes ----

fn json(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn message(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    json(status, body.to_string().into_bytes())
}

/// Answers `GET|POST /_localspaces/state/export[?account=A&region=R]` (the document) and
/// `POST /_localspaces/state/import` (body: a document; 409 with the conflicting keys when
/// some exist, 400 when malformed); gives the body back for any other path.
pub async fn admin_route(
    app: &Arc<App>,
    parts: &hyper::http::request::Parts,
    body: Incoming,
) -> Result<Response<Full<Bytes>>, Incoming> {
    let rest = parts.uri.path().strip_prefix(crate::admin::PREFIX);
    let route = match (rest, &parts.method) {
        (Some("state/export"), &Method::GET | &Method::POST) => "export",
        (Some("state/import"), &Method::POST) => "import",
        _ => return Err(body),
    };
    if let Some(refused) = crate::admin::refusal(app, parts) {
        return Ok(refused);
    }
    let service = Arc::clone(&app.service);
    if route == "export" {
        let param = |name: &str| {
            parts.uri.query().and_then(|q| {
                q.split('&').find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    (k == name && !v.is_empty()).then(|| v.to_string())
                })
            })
        };
        let filter = Filter {
            account: param("account"),
            region: param("region"),
        };
        let out = tokio::task::spawn_blocking(move || {
            export(&service, &filter).and_then(|d| serde_json::to_vec_pretty(&d).map_err(|e| e.to_string()))
        })
        .await;
        return Ok(match out {
            Ok(Ok(mut bytes)) => {
                bytes.push(b'\n');
                json(StatusCode::OK, bytes)
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "state export failed");
                message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    serde_json::json!({"message": "internal error"}),
                )
            }
            Err(_) => message(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"message": "internal error"}),
            ),
        });
    }
    let bytes = match Limited::new(body, app.max_body).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return Ok(message(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::json!({"message": format!(
                    "the document is larger than {} bytes (--max-body) or was cut short",
                    app.max_body
                )}),
            ))
        }
    };
    let doc: Document = match serde_json::from_slice(&bytes) {
        Ok(d) => d,
        Err(e) => {
            return Ok(message(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"message": format!("invalid document: {e}")}),
            ))
        }
    };
    let out = tokio::task::spawn_blocking(move || import(&service, &doc, false, &|| {})).await;
    Ok(match out {
        Ok(Ok(Some(done))) => message(StatusCode::OK, serde_json::json!({"imported": done})),
        Ok(Ok(None)) => message(
            StatusCode::OK,
            serde_json::json!({"imported": Imported { resources: 0, transitions: 0 }}),
        ),
        Ok(Err(ImportError::Conflicts(c))) => message(
            StatusCode::CONFLICT,
            serde_json::json!({
                "message": format!("{} resource(s) already exist; nothing was imported", c.len()),
                "conflicts": c,
            }),
        ),
        Ok(Err(e @ ImportError::Invalid(_))) => message(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"message": e.to_string()}),
        ),
        Ok(Err(ImportError::Internal(e))) => {
            tracing::error!(error = %e, "state import failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"message": "internal error"}),
            )
        }
        Err(_) => message(
            StatusCode::INTERNAL_SERVER_ERROR,
            serde_json::json!({"message": "internal error"}),
        ),
    })
}

// ---- the `localspaces state` command ----

/// `localspaces state …`: save and restore the state of a running server.
#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
}

/// The `state` subcommands.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Print the state of a running server as a saved-environment document (JSON).
    Export(ExportArgs),
    /// Load a saved-environment document into a running server (all or nothing).
    Import(ImportArgs),
}

/// How to reach a running server's admin routes.
#[derive(Debug, Clone, Args)]
pub struct AdminClient {
    /// The server's address.
    #[arg(
        long,
        env = "LOCALSPACES_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4599"
    )]
    pub endpoint_url: String,
    /// The server's admin token (`X-Localspaces-Admin-Token`), if it has one.
    #[arg(long, env = "LOCALSPACES_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

/// Options of `state export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub client: AdminClient,
    /// Only this account's scopes.
    #[arg(long)]
    pub account: Option<String>,
    /// Only this Region's scopes.
    #[arg(long)]
    pub region: Option<String>,
    /// Write the document here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Options of `state import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub client: AdminClient,
    /// The document (`-`: stdin).
    pub file: PathBuf,
}

impl AdminClient {
    /// The headers every admin call carries.
    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("x-localspaces-admin", "1".to_string())];
        if let Some(t) = &self.admin_token {
            h.push(("x-localspaces-admin-token", t.clone()));
        }
        h
    }

    /// One admin call; the answer's status and body.
    async fn call(&self, method: Method, path: &str, body: Vec<u8>) -> anyhow::Result<(StatusCode, Bytes)> {
        let base: hyper::Uri = self
            .endpoint_url
            .parse()
            .map_err(|e| anyhow::anyhow!("--endpoint-url {}: {e}", self.endpoint_url))?;
        if base.scheme_str() != Some("http") {
            anyhow::bail!("--endpoint-url must be an http:// address");
        }
        let authority = base
            .authority()
            .ok_or_else(|| anyhow::anyhow!("--endpoint-url has no host"))?
            .clone();
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach {}: {e}", self.endpoint_url))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", crate::admin::PREFIX))
            .header(hyper::header::HOST, authority.as_str())
            .header(CONTENT_TYPE, "application/json");
        for (name, value) in self.headers() {
            req = req.header(name, value);
        }
        let resp = sender
            .send_request(req.body(Full::new(Bytes::from(body)))?)
            .await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

fn failure(status: StatusCode, body: &[u8]) -> anyhow::Error {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let msg = v["message"].as_str().unwrap_or("no message").to_string();
    let mut text = format!("the server answered {status}: {msg}");
    if let Some(c) = v["conflicts"].as_array() {
        for k in c.iter().filter_map(|k| k.as_str()) {
            text.push_str("\n  ");
            text.push_str(k);
        }
    }
    anyhow::anyhow!(text)
}

/// A progress bar on stderr when it is a terminal (hidden otherwise).
pub fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Reads and parses a document file (`-`: stdin).
pub fn read_document(path: &std::path::Path) -> anyhow::Result<Document> {
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
        b
    } else {
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a saved environment: {e}", path.display()))
}

/// Runs `localspaces state …`.
pub async fn run(args: StateArgs) -> anyhow::Result<()> {
    match args.command {
        StateCommand::Export(a) => {
            let mut query = Vec::new();
            if let Some(acct) = &a.account {
                query.push(format!("account={acct}"));
            }
            if let Some(r) = &a.region {
                query.push(format!("region={r}"));
            }
            let path = if query.is_empty() {
                "state/export".to_string()
            } else {
                format!("state/export?{}", query.join("&"))
            };
            let (status, body) = a.client.call(Method::GET, &path, Vec::new()).await?;
            if status != StatusCode::OK {
                return Err(failure(status, &body));
            }
            match &a.output {
                Some(p) => std::fs::write(p, &body)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?,
                None => std::io::Write::write_all(&mut std::io::stdout(), &body)?,
            }
            Ok(())
        }
        StateCommand::Import(a) => {
            let doc = read_document(&a.file)?;
            // Checked here first (the same decoding the server does), so a bad document
            // fails before the upload, with progress on a terminal.
            let bar = progress_bar(size(&doc), "checking");
            let prepared = prepare(&doc, 0.0, &|| bar.inc(1)).map_err(|e| anyhow::anyhow!(e.to_string()))?;
            bar.finish_and_clear();
            let spinner = if std::io::stderr().is_terminal() {
                let s = indicatif::ProgressBar::new_spinner();
                s.set_message(format!("importing {} resources", prepared.resources()));
                s.enable_steady_tick(std::time::Duration::from_millis(100));
                s
            } else {
                indicatif::ProgressBar::hidden()
            };
            let body = serde_json::to_vec(&doc)?;
            let (status, answer) = a.client.call(Method::POST, "state/import", body).await?;
            spinner.finish_and_clear();
            if status != StatusCode::OK {
                return Err(failure(status, &answer));
            }
            let v: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
            eprintln!(
                "imported {} resources and {} pending transitions",
                v["imported"]["resources"], v["imported"]["transitions"]
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{prepare, Document, Filter, ImportError};
    use localspaces_store::{Expect, Scope, Write};
    use serde_json::json;

    fn doc(v: serde_json::Value) -> Document {
        serde_json::from_value(v).expect("a document")
    }

    fn group(id: &str, name: &str) -> serde_json::Value {
        json!({"id": id, "name": name, "rules": [], "tags": [{"key": "k", "value": "v"}], "created": 1.0})
    }

    fn invalid(d: &Document) -> String {
        match prepare(d, 0.0, &|| {}) {
            Err(ImportError::Invalid(m)) => m,
            Err(e) => panic!("not invalid: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn a_document_becomes_creates_with_indexes_and_transitions_due_after_their_remaining_time() {
        let d = doc(json!({"localspaces_state": 1, "scopes": [{
            "account": "111122223333", "region": "us-east-1",
            "resources": {"ipgroup": {"version": 1, "records": [group("wsipg-aaaaaaaaa", "office")]}},
            "transitions": [{"kind": "workspace_create", "resource_kind": "workspace",
                             "resource_id": "ws-abcdefghi", "remaining_seconds": 2.5}]}]}));
        let count = std::cell::Cell::new(0);
        let p = prepare(&d, 100.0, &|| count.set(count.get() + 1)).expect("valid");
        assert_eq!((p.resources(), count.get(), p.writes.len()), (1, 2, 2));
        let Write::Put(put) = &p.writes[0] else {
            panic!("a put")
        };
        assert_eq!(put.expect, Expect::Absent);
        assert_eq!(put.key.id, "wsipg-aaaaaaaaa");
        assert!(put.indexes.iter().any(|i| i.key == "office"), "{:?}", put.indexes);
        assert!(!put.unique.is_empty());
        let (scope, t) = &p.transitions[0];
        assert_eq!(scope, &Scope::new("111122223333", "us-east-1"));
        assert_eq!(t.due, 102.5);
    }

    #[test]
    fn malformed_documents_are_refused_with_the_reason() {
        let scope = |resources: serde_json::Value| {
            doc(json!({"localspaces_state": 1, "scopes": [
                {"account": "111122223333", "region": "us-east-1", "resources": resources}]}))
        };
        assert!(invalid(&doc(json!({"localspaces_state": 7, "scopes": []}))).contains("format version 7"));
        assert!(
            invalid(&scope(json!({"nope": {"version": 1, "records": []}}))).contains("unknown resource kind")
        );
        assert!(
            invalid(&scope(json!({"ipgroup": {"version": 1, "records": [{"id": 1}]}}))).contains("ipgroup")
        );
        assert!(invalid(&scope(
            json!({"ipgroup": {"version": 9, "records": [group("wsipg-aaaaaaaaa", "a")]}})
        ))
        .contains("version 9"));
        let twice = json!({"ipgroup": {"version": 1, "records": [
            group("wsipg-aaaaaaaaa", "a"), group("wsipg-aaaaaaaaa", "b")]}});
        assert!(invalid(&scope(twice)).contains("appears twice"));
        let same_scope = doc(json!({"localspaces_state": 1, "scopes": [
            {"account": "111122223333", "region": "us-east-1"},
            {"account": "111122223333", "region": "us-east-1"}]}));
        assert!(invalid(&same_scope).contains("appears twice"));
        let negative = doc(json!({"localspaces_state": 1, "scopes": [
            {"account": "111122223333", "region": "us-east-1", "transitions": [
                {"kind": "pool_start", "resource_kind": "workspaces_pool", "resource_id": "p",
                 "remaining_seconds": -1.0}]}]}));
        assert!(invalid(&negative).contains("remaining_seconds"));
        assert!(
            serde_json::from_value::<Document>(json!({"localspaces_state": 1, "scopes": [], "x": 1}))
                .is_err()
        );
    }

    #[test]
    fn a_filter_picks_scopes_by_account_and_region() {
        let f = Filter {
            account: Some("111122223333".into()),
            region: None,
        };
        assert!(f.matches(&Scope::new("111122223333", "eu-west-1")));
        assert!(!f.matches(&Scope::new("global", "global")));
        assert!(Filter::default().matches(&Scope::new("global", "global")));
        let r = Filter {
            account: None,
            region: Some("us-east-1".into()),
        };
        assert!(!r.matches(&Scope::new("111122223333", "eu-west-1")));
    }
}
