//! Property-based fuzzing of the request path on both wire protocols (awsJson1_1 and
//! rpc-v2-cbor), against an in-process server over real HTTP/1.1 (keep-alive and fresh
//! connections).
//!
//! Inputs: arbitrary bytes; inputs built from the model (`model/workspaces/service-2.json`)
//! for every operation of [`ws::Operation::ALL`], then mutated — a member of the wrong type,
//! a missing or unknown member, duplicate keys, nulls, huge strings and lists, nesting past
//! the depth limit, numeric extremes, odd Unicode, invalid UTF-8, truncation and byte flips,
//! a top level that is not a structure; CBOR written by hand with indefinite lengths, chunked
//! strings, non-minimal heads, `undefined`, half floats and tags; JSON with odd whitespace
//! and `\u` escapes; odd routes and headers.
//!
//! Invariants, checked on every answer:
//! - a 200 with a body of the protocol, or a well-formed AWS error: 4xx (or 501
//!   `NotImplemented`) with `__type` and a message (JSON: `X-Amzn-ErrorType` equal to the
//!   bare `__type`; CBOR: `namespace#Name`) — never another 5xx, never a hang (every call is
//!   bounded), and bodies above `--max-body` are refused without being buffered;
//! - a failed call changes nothing: the server runs on a store wrapper that counts commits,
//!   lifecycle timing is `realistic` (nothing becomes due during a run), and every failed
//!   call must leave the count where it was;
//! - re-encoding a read-only request differently (indefinite lengths, chunks, whitespace,
//!   escapes) gives the same answer as the canonical encoding.
//!
//! Case counts are small in CI (the whole file runs in well under a minute); set
//! `LOCALSPACES_FUZZ_CASES` to multiply them (e.g. `LOCALSPACES_FUZZ_CASES=100` for a long
//! run) and `LOCALSPACES_FUZZ_SEED` to pick the random seed of the structured fuzzers.
//! Inputs that once broke the server are kept below as explicit regression tests.

mod common;

use common::serve_config;
use localspaces::server::Server;
use localspaces_api::value::{MapKey, Value};
use localspaces_api::workspaces as ws;
use localspaces_protocol::{cbor, json};
use localspaces_store::{Key, MemoryStore, Query, Record, Scope, Store, StoreError, Write};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The account every fuzz request acts as.
const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
/// A call that takes longer than this is a hang.
const HANG: Duration = Duration::from_secs(30);
/// `--max-body` of the fuzz servers (smaller than the default so the 413 path is cheap).
const MAX_BODY: usize = 4 * 1024 * 1024;

// ------------------------------------------------------------------------------ case counts

/// `LOCALSPACES_FUZZ_CASES` multiplies every case count (default 1).
fn factor() -> u32 {
    std::env::var("LOCALSPACES_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

fn runner(cases: u32) -> TestRunner {
    let seed: u64 = std::env::var("LOCALSPACES_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("fuzz seed {seed} (LOCALSPACES_FUZZ_SEED={seed} repeats this run)");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config {
            cases: cases.saturating_mul(factor()),
            failure_persistence: None,
            max_shrink_iters: 200,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

// ------------------------------------------------------------------------------ the server

/// A store that counts the commits that applied.
struct Counting {
    inner: Arc<dyn Store>,
    commits: Arc<AtomicU64>,
}

impl Store for Counting {
    fn get(&self, key: &Key) -> Result<Option<Record>, StoreError> {
        self.inner.get(key)
    }
    fn get_many(&self, scope: &Scope, kind: &str, ids: &[&str]) -> Result<Vec<Record>, StoreError> {
        self.inner.get_many(scope, kind, ids)
    }
    fn scan(&self, query: &Query) -> Result<Vec<Record>, StoreError> {
        self.inner.scan(query)
    }
    fn count(&self, query: &Query) -> Result<u64, StoreError> {
        self.inner.count(query)
    }
    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let r = self.inner.commit(writes);
        if r.is_ok() {
            self.commits.fetch_add(1, Ordering::SeqCst);
        }
        r
    }
    fn scan_all_scopes(&self, kind: &str) -> Result<Vec<Record>, StoreError> {
        self.inner.scan_all_scopes(kind)
    }
    fn clear_scope(&self, scope: &Scope) -> Result<u64, StoreError> {
        let r = self.inner.clear_scope(scope);
        self.commits.fetch_add(1, Ordering::SeqCst);
        r
    }
    fn close(&self) -> Result<(), StoreError> {
        self.inner.close()
    }
}

/// An in-process server on its own runtime, with the ids of a few seeded resources.
struct Fuzz {
    _rt: tokio::runtime::Runtime,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    addr: SocketAddr,
    commits: Arc<AtomicU64>,
    ids: Ids,
    conn: Mutex<Conn>,
    stats: Mutex<Stats>,
}

/// Ids that generated inputs draw from: seeded resources first, then well-formed fakes.
#[derive(Default, Debug)]
struct Ids {
    directory: Vec<String>,
    workspace: Vec<String>,
    group: Vec<String>,
    bundle: Vec<String>,
    alias: Vec<String>,
}

#[derive(Default)]
struct Stats {
    requests: u64,
    by_answer: BTreeMap<String, u64>,
    failed_calls_checked: u64,
}

impl Fuzz {
    fn start() -> Fuzz {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let commits = Arc::new(AtomicU64::new(0));
        let store: Arc<dyn Store> = Arc::new(Counting {
            inner: Arc::new(MemoryStore::new()),
            commits: Arc::clone(&commits),
        });
        let max_body = MAX_BODY.to_string();
        // `realistic`: no transition becomes due while a run lasts, so every commit comes
        // from a call (settled explicitly while seeding).
        let cfg = serve_config([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--in-memory",
            "--timing",
            "realistic",
            "--max-body",
            max_body.as_str(),
        ]);
        let server = rt
            .block_on(Server::bind_with_store(&cfg, store, "fuzz".into()))
            .expect("bind");
        let addr = server.addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(server.run(async move {
            let _ = rx.await;
        }));
        let mut f = Fuzz {
            _rt: rt,
            _shutdown: tx,
            addr,
            commits,
            ids: Ids::default(),
            conn: Mutex::new(Conn::new(addr)),
            stats: Mutex::new(Stats::default()),
        };
        f.seed();
        f
    }

    /// A directory (DS + register), an IP group, a WorkSpace and an alias, settled.
    fn seed(&mut self) {
        let mut conn = Conn::new(self.addr);
        let mut call = |target: &str, body: serde_json::Value| -> Option<serde_json::Value> {
            let (svc, op) = target.split_once('.').expect("target");
            let signing = if svc == "WorkspacesService" {
                "workspaces"
            } else {
                "ds"
            };
            let req = Req {
                path: "/".into(),
                headers: json_headers(target, signing),
                body: body.to_string().into_bytes(),
            };
            let r = conn.send(&req, false).expect("seed call");
            if r.status != 200 {
                eprintln!("seeding: {op} answered {}: {}", r.status, r.text());
                return None;
            }
            serde_json::from_slice(&r.body).ok()
        };
        let settle = |addr| {
            let r = Conn::new(addr)
                .send(
                    &Req {
                        path: "/_localspaces/settle".into(),
                        headers: vec![("X-Localspaces-Admin".into(), "1".into())],
                        body: vec![],
                    },
                    false,
                )
                .expect("settle");
            assert_eq!(r.status, 200, "settle: {}", r.text());
        };
        let dir = call(
            "DirectoryService_20150416.CreateDirectory",
            serde_json::json!({
                "Name": "corp.example.com", "Password": "Sup3r-Secret", "Size": "Small",
                "VpcSettings": {"VpcId": "vpc-0a1b2c3d", "SubnetIds": ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]},
            }),
        )
        .and_then(|v| v["DirectoryId"].as_str().map(str::to_string));
        settle(self.addr);
        if let Some(d) = &dir {
            call(
                "WorkspacesService.RegisterWorkspaceDirectory",
                serde_json::json!({"DirectoryId": d}),
            );
            settle(self.addr);
            self.ids.directory.push(d.clone());
        }
        if let Some(g) = call(
            "WorkspacesService.CreateIpGroup",
            serde_json::json!({"GroupName": "seed", "UserRules": [{"ipRule": "10.0.0.0/8"}]}),
        )
        .and_then(|v| v["GroupId"].as_str().map(str::to_string))
        {
            self.ids.group.push(g);
        }
        if let Some(bundles) = call(
            "WorkspacesService.DescribeWorkspaceBundles",
            serde_json::json!({"Owner": "AMAZON"}),
        ) {
            for b in bundles["Bundles"].as_array().into_iter().flatten().take(3) {
                if let Some(id) = b["BundleId"].as_str() {
                    self.ids.bundle.push(id.to_string());
                }
            }
        }
        if let (Some(d), Some(b)) = (&dir, self.ids.bundle.first()) {
            if let Some(out) = call(
                "WorkspacesService.CreateWorkspaces",
                serde_json::json!({"Workspaces": [{"DirectoryId": d, "UserName": "alice", "BundleId": b}]}),
            ) {
                for w in out["PendingRequests"].as_array().into_iter().flatten() {
                    if let Some(id) = w["WorkspaceId"].as_str() {
                        self.ids.workspace.push(id.to_string());
                    }
                }
            }
            settle(self.addr);
        }
        if let Some(a) = call(
            "WorkspacesService.CreateConnectionAlias",
            serde_json::json!({"ConnectionString": "fuzz.example.com"}),
        )
        .and_then(|v| v["AliasId"].as_str().map(str::to_string))
        {
            self.ids.alias.push(a);
        }
        settle(self.addr);
        eprintln!("seeded: {:?}", self.ids);
    }

    /// Sends one request and checks every invariant; `Ok` carries the answer's summary
    /// (`200` or the error's bare `__type`).
    fn exchange(&self, req: &Req, keep_alive: bool) -> Result<String, String> {
        let before = self.commits.load(Ordering::SeqCst);
        let started = Instant::now();
        let resp = self.conn.lock().unwrap().send(req, keep_alive)?;
        if started.elapsed() > HANG {
            return Err(format!("answer took {:?}", started.elapsed()));
        }
        let summary = match check_response(&resp) {
            Ok(s) => s,
            Err(e) => match known_bug(req, &resp) {
                Some(bug) => {
                    *self
                        .stats
                        .lock()
                        .unwrap()
                        .by_answer
                        .entry(format!("known bug: {bug}"))
                        .or_default() += 1;
                    return Ok(format!("known bug: {bug}"));
                }
                None => return Err(e),
            },
        };
        let mut st = self.stats.lock().unwrap();
        st.requests += 1;
        *st.by_answer
            .entry(format!("{} {summary}", resp.status))
            .or_default() += 1;
        if resp.status != 200 {
            st.failed_calls_checked += 1;
            let after = self.commits.load(Ordering::SeqCst);
            if after != before {
                return Err(format!(
                    "a failed call ({} {summary}) committed {} write batch(es)",
                    resp.status,
                    after - before
                ));
            }
        }
        Ok(summary)
    }

    fn report(&self, what: &str) {
        let st = self.stats.lock().unwrap();
        eprintln!(
            "{what}: {} requests, {} failed calls checked for no change; answers: {:?}",
            st.requests, st.failed_calls_checked, st.by_answer
        );
    }
}

/// Bugs found by this fuzzer in code it may not change (`service/`), reported and pending a
/// fix there: a 500 for a request that matches one is counted instead of failing the run.
/// Each has an `#[ignore]`d regression test below; delete the entry when it is fixed.
fn known_bug(_req: &Req, _resp: &Resp) -> Option<&'static str> {
    // None pending. (Fixed: DescribeAccountModifications with a NextToken it did not issue
    // answered an unmodeled error; see the regression test below.)
    None
}

/// Fails the test case with the request that broke an invariant.
fn verdict(r: Result<String, String>, req: &Req) -> Result<String, TestCaseError> {
    r.map_err(|e| {
        TestCaseError::fail(format!(
            "{e}\nrequest: POST {} {:?}\nbody ({} bytes): {:?}",
            req.path,
            req.headers,
            req.body.len(),
            preview(&req.body)
        ))
    })
}

fn preview(b: &[u8]) -> String {
    let cut = &b[..b.len().min(300)];
    format!(
        "{}{}",
        String::from_utf8_lossy(cut),
        if b.len() > 300 { "…" } else { "" }
    )
}

// ------------------------------------------------------------------------------ HTTP

struct Req {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn auth_headers(signing: &str) -> Vec<(String, String)> {
    vec![
        ("X-Amz-Date".into(), "20260101T000000Z".into()),
        (
            "Authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/{REGION}/{signing}/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, Signature={}",
                "0".repeat(64)
            ),
        ),
    ]
}

fn json_headers(target: &str, signing: &str) -> Vec<(String, String)> {
    let mut h = vec![
        (
            "Content-Type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        ("X-Amz-Target".to_string(), target.to_string()),
    ];
    h.extend(auth_headers(signing));
    h
}

fn cbor_headers() -> Vec<(String, String)> {
    let mut h = vec![
        ("Content-Type".to_string(), "application/cbor".to_string()),
        ("Accept".to_string(), "application/cbor".to_string()),
        ("smithy-protocol".to_string(), "rpc-v2-cbor".to_string()),
    ];
    h.extend(auth_headers("workspaces"));
    h
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Json,
    Cbor,
}

/// A WorkSpaces request for `op` with `body` already encoded in `proto`.
fn ws_request(proto: Proto, op: &str, body: Vec<u8>) -> Req {
    match proto {
        Proto::Json => Req {
            path: "/".into(),
            headers: json_headers(&format!("WorkspacesService.{op}"), "workspaces"),
            body,
        },
        Proto::Cbor => Req {
            path: format!("/service/WorkspacesService/operation/{op}"),
            headers: cbor_headers(),
            body,
        },
    }
}

fn encode(proto: Proto, v: &Value) -> Vec<u8> {
    match proto {
        Proto::Json => json::encode(v),
        Proto::Cbor => cbor::encode(v),
    }
}

/// A minimal HTTP/1.1 client: one connection reused while the server keeps it open.
struct Conn {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        Conn { addr, stream: None }
    }

    fn send(&mut self, req: &Req, keep_alive: bool) -> Result<Resp, String> {
        // A reused connection may have been closed by the server while idle: retry once on a
        // fresh one when nothing at all came back.
        let reused = self.stream.is_some() && keep_alive;
        match self.try_send(req, keep_alive) {
            Err((e, nothing_read)) if reused && nothing_read => {
                self.stream = None;
                self.try_send(req, keep_alive)
                    .map_err(|(e2, _)| format!("{e}; on a fresh connection: {e2}"))
            }
            r => r.map_err(|(e, _)| e),
        }
    }

    fn try_send(&mut self, req: &Req, keep_alive: bool) -> Result<Resp, (String, bool)> {
        if !keep_alive {
            self.stream = None;
        }
        if self.stream.is_none() {
            let s = TcpStream::connect(self.addr).map_err(|e| (format!("connect: {e}"), false))?;
            s.set_read_timeout(Some(HANG)).expect("read timeout");
            s.set_write_timeout(Some(HANG)).expect("write timeout");
            let _ = s.set_nodelay(true);
            self.stream = Some(BufReader::new(s));
        }
        let stream = self.stream.as_mut().expect("stream");
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            req.path,
            self.addr,
            req.body.len()
        );
        if !keep_alive {
            head.push_str("Connection: close\r\n");
        }
        for (k, v) in &req.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let w = stream.get_mut();
        let written = w
            .write_all(head.as_bytes())
            .and_then(|()| w.write_all(&req.body))
            .and_then(|()| w.flush());
        let result = read_response(stream);
        let resp = match (written, result) {
            (_, Ok(r)) => r,
            (Err(we), Err((re, nothing))) => {
                self.stream = None;
                return Err((format!("send: {we}; read: {re}"), nothing));
            }
            (Ok(()), Err((re, nothing))) => {
                self.stream = None;
                return Err((format!("read: {re}"), nothing));
            }
        };
        if !keep_alive
            || resp
                .header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            self.stream = None;
        }
        Ok(resp)
    }
}

fn read_response(r: &mut BufReader<TcpStream>) -> Result<Resp, (String, bool)> {
    let mut line = String::new();
    let n = r
        .read_line(&mut line)
        .map_err(|e| (format!("status line: {e}"), true))?;
    if n == 0 {
        return Err(("connection closed before an answer".into(), true));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| (format!("bad status line {line:?}"), false))?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).map_err(|e| (format!("header: {e}"), false))?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| (format!("bad header {h:?}"), false))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| {
            (
                format!("answer {status} without Content-Length: {headers:?}"),
                false,
            )
        })?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)
        .map_err(|e| (format!("body: {e}"), false))?;
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// Checks that an answer is a 200 or a well-formed AWS error; returns `200` or the bare
/// error name.
fn check_response(r: &Resp) -> Result<String, String> {
    let ct = r.header("content-type").unwrap_or("");
    let is_cbor = ct == "application/cbor";
    if !is_cbor && ct != "application/x-amz-json-1.1" {
        return Err(format!(
            "answer {} with Content-Type {ct:?}: {}",
            r.status,
            r.text()
        ));
    }
    if is_cbor && r.header("smithy-protocol") != Some("rpc-v2-cbor") {
        return Err("CBOR answer without smithy-protocol: rpc-v2-cbor".into());
    }
    if r.header("x-amzn-requestid").is_none() {
        return Err(format!("answer {} without x-amzn-RequestId", r.status));
    }
    let decoded = if is_cbor {
        cbor::decode(&r.body)
    } else {
        json::decode(&r.body)
    };
    let body = match decoded {
        Ok(Value::Map(m)) => m,
        Ok(other) => return Err(format!("answer {} body is not a structure: {other:?}", r.status)),
        Err(e) => {
            return Err(format!(
                "answer {} body does not decode ({}): {}",
                r.status,
                e.0,
                r.text()
            ))
        }
    };
    if r.status == 200 {
        return Ok("200".into());
    }
    let ty = body
        .iter()
        .find(|(k, _)| k == "__type")
        .and_then(|(_, v)| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .ok_or_else(|| format!("error {} without a string __type: {}", r.status, r.text()))?;
    if !body.iter().any(|(k, _)| k.eq_ignore_ascii_case("message")) {
        return Err(format!("error {} without a message: {}", r.status, r.text()));
    }
    let bare = if is_cbor {
        let (ns, name) = ty
            .split_once('#')
            .ok_or_else(|| format!("CBOR __type {ty:?} is not namespace#Name"))?;
        if !ns.starts_with("com.amazonaws.") {
            return Err(format!("CBOR __type {ty:?} outside com.amazonaws"));
        }
        name.to_string()
    } else {
        if r.header("x-amzn-errortype") != Some(ty.as_str()) {
            return Err(format!(
                "JSON error __type {ty:?} but X-Amzn-ErrorType {:?}",
                r.header("x-amzn-errortype")
            ));
        }
        ty.clone()
    };
    let ok_status = (400..500).contains(&r.status) || (r.status == 501 && bare == "NotImplemented");
    if !ok_status {
        return Err(format!("status {} ({bare}): {}", r.status, r.text()));
    }
    Ok(bare)
}

// ------------------------------------------------------------------------------ the model

struct Model {
    shapes: serde_json::Map<String, serde_json::Value>,
    /// (operation, input shape).
    ops: Vec<(ws::Operation, Option<String>)>,
}

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../model/workspaces/service-2.json"
        );
        let text = std::fs::read_to_string(path).expect("read the WorkSpaces model");
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("model JSON");
        let shapes = v["shapes"].as_object_mut().map(std::mem::take).expect("shapes");
        let ops = ws::Operation::ALL
            .iter()
            .map(|&op| {
                let input = v["operations"][op.name()]["input"]["shape"]
                    .as_str()
                    .map(str::to_string);
                (op, input)
            })
            .collect();
        Model { shapes, ops }
    })
}

fn is_read_only(op: &str) -> bool {
    op.starts_with("Describe") || op.starts_with("List") || op.starts_with("Get")
}

impl Model {
    fn input(&self, op_idx: usize, rng: &mut StdRng, ids: &Ids) -> Value {
        match &self.ops[op_idx].1 {
            Some(s) => self.gen(s, "", rng, ids, 0),
            None => Value::empty_map(),
        }
    }

    /// A plausible value of `shape` (mostly valid: required members, enums, bounds, ids).
    fn gen(&self, shape: &str, member: &str, rng: &mut StdRng, ids: &Ids, depth: usize) -> Value {
        let s = &self.shapes[shape];
        let num = |k: &str| s.get(k).and_then(serde_json::Value::as_i64);
        match s["type"].as_str().unwrap_or("") {
            "structure" => {
                let required: Vec<&str> = s["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str())
                    .collect();
                let mut m = Vec::new();
                if depth > 6 {
                    return Value::Map(m);
                }
                for (name, mem) in s["members"].as_object().into_iter().flatten() {
                    if required.contains(&name.as_str()) || rng.gen_bool(0.4) {
                        let sh = mem["shape"].as_str().expect("member shape");
                        m.push((name.clone().into(), self.gen(sh, name, rng, ids, depth + 1)));
                    }
                }
                Value::Map(m)
            }
            "list" => {
                let min = num("min").unwrap_or(0).max(0) as usize;
                let max = num("max").unwrap_or(3).max(0) as usize;
                let n = rng.gen_range(1..=3usize).clamp(min, max.max(min));
                let item = s["member"]["shape"].as_str().expect("list member");
                Value::List(
                    (0..n)
                        .map(|_| self.gen(item, member, rng, ids, depth + 1))
                        .collect(),
                )
            }
            "map" => {
                let k = s["key"]["shape"].as_str().expect("map key");
                let v = s["value"]["shape"].as_str().expect("map value");
                let n = rng.gen_range(1..=2);
                Value::Map(
                    (0..n)
                        .map(|_| {
                            let key = match self.gen(k, member, rng, ids, depth + 1) {
                                Value::String(s) => s,
                                _ => "k".into(),
                            };
                            (key.into(), self.gen(v, member, rng, ids, depth + 1))
                        })
                        .collect(),
                )
            }
            "string" => Value::String(self.gen_string(s, member, rng, ids)),
            "integer" | "long" => {
                let min = num("min").unwrap_or(0);
                let max = num("max").unwrap_or(min + 100).max(min);
                Value::Int(match rng.gen_range(0..4) {
                    0 => min,
                    1 => max,
                    _ => rng.gen_range(min..=max.min(min + 1000)),
                })
            }
            "boolean" => Value::Bool(rng.gen()),
            "double" | "float" => Value::Float(rng.gen_range(0.0..100.0)),
            "blob" => Value::Blob((0..rng.gen_range(1..16)).map(|_| rng.gen()).collect()),
            "timestamp" => Value::Timestamp(1_700_000_000.0 + f64::from(rng.gen_range(0..1000u32))),
            other => panic!("shape type {other} of {shape} is not handled"),
        }
    }

    fn gen_string(&self, s: &serde_json::Value, member: &str, rng: &mut StdRng, ids: &Ids) -> String {
        if let Some(e) = s["enum"].as_array() {
            return e[rng.gen_range(0..e.len())].as_str().unwrap_or("").to_string();
        }
        let m = member.to_ascii_lowercase();
        let pick = |real: &[String], fake: &str, rng: &mut StdRng| -> String {
            if !real.is_empty() && rng.gen_bool(0.8) {
                real[rng.gen_range(0..real.len())].clone()
            } else {
                fake.to_string()
            }
        };
        if m.contains("directoryid") {
            return pick(&ids.directory, "d-1234567890", rng);
        }
        if m.contains("workspaceid") {
            return pick(&ids.workspace, "ws-abcdefgh1", rng);
        }
        if m.contains("groupid") {
            return pick(&ids.group, "wsipg-abcdefgh1", rng);
        }
        if m.contains("bundleid") {
            return pick(&ids.bundle, "wsb-abcdefgh1", rng);
        }
        if m.contains("aliasid") {
            return pick(&ids.alias, "wsca-abcdefgh1", rng);
        }
        if m.contains("resourceid") {
            let all: Vec<String> = [&ids.group, &ids.workspace, &ids.directory, &ids.alias]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            return pick(&all, "wsipg-abcdefgh1", rng);
        }
        if m.contains("imageid") {
            return "wsi-abcdefgh1".into();
        }
        if m.contains("poolid") {
            return "wspool-abcdefgh1".into();
        }
        if m.contains("iprule") || m.contains("cidr") {
            return "10.1.0.0/16".into();
        }
        if m.contains("username") {
            return "alice".into();
        }
        if m.contains("region") {
            return "us-west-2".into();
        }
        if m.contains("accountid") || m == "account" {
            return "444455556666".into();
        }
        if m.contains("arn") {
            return "arn:aws:iam::111122223333:role/fuzz".into();
        }
        let min = s
            .get("min")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(1)
            .max(0) as usize;
        let max = s
            .get("max")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(12)
            .max(0) as usize;
        let n = rng.gen_range(min.min(12)..=max.clamp(min.min(12), 12)).max(min);
        (0..n)
            .map(|_| {
                let c = rng.gen_range(0..36u8);
                char::from(if c < 26 { b'a' + c } else { b'0' + c - 26 })
            })
            .collect()
    }
}

// ------------------------------------------------------------------------------ mutations

/// Every position in a value tree (a path of map-entry or list indexes), root excluded.
fn positions(v: &Value, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    let children: Vec<&Value> = match v {
        Value::Map(m) => m.iter().map(|(_, v)| v).collect(),
        Value::List(l) => l.iter().collect(),
        _ => return,
    };
    for (i, c) in children.into_iter().enumerate() {
        cur.push(i);
        out.push(cur.clone());
        positions(c, cur, out);
        cur.pop();
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[usize]) -> &'a mut Value {
    match path.split_first() {
        None => v,
        Some((&i, rest)) => match v {
            Value::Map(m) => at_mut(&mut m[i].1, rest),
            Value::List(l) => at_mut(&mut l[i], rest),
            _ => unreachable!("positions only lead through containers"),
        },
    }
}

fn random_position(v: &Value, rng: &mut StdRng) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    positions(v, &mut Vec::new(), &mut out);
    if out.is_empty() {
        None
    } else {
        Some(out.swap_remove(rng.gen_range(0..out.len())))
    }
}

/// A value of another wire type than `v`.
fn wrong_type(v: &Value, rng: &mut StdRng) -> Value {
    loop {
        let w = match rng.gen_range(0..9) {
            0 => Value::String("7".into()),
            1 => Value::Int(7),
            2 => Value::Float(1.5),
            3 => Value::Bool(true),
            4 => Value::List(vec![Value::String("x".into())]),
            5 => Value::Map(vec![("x".into(), Value::Int(1))]),
            6 => Value::Blob(vec![0, 159, 255]),
            7 => Value::Timestamp(1.5),
            _ => Value::List(vec![]),
        };
        if std::mem::discriminant(&w) != std::mem::discriminant(v) {
            return w;
        }
    }
}

fn huge_string(rng: &mut StdRng) -> String {
    let n = rng.gen_range(64 * 1024..1024 * 1024);
    let unit = ["a", "é", "漢", "😀", "\u{0}"][rng.gen_range(0..5)];
    unit.repeat(n / unit.len())
}

fn deep(depth: usize, rng: &mut StdRng) -> Value {
    let mut v = Value::String("bottom".into());
    for _ in 0..depth {
        v = if rng.gen_bool(0.5) {
            Value::List(vec![v])
        } else {
            Value::Map(vec![("a".into(), v)])
        };
    }
    v
}

fn odd_number(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..10) {
        0 => Value::Int(i64::MAX),
        1 => Value::Int(i64::MIN),
        2 => Value::Int(i64::from(i32::MAX) + 1),
        3 => Value::Int(-1),
        4 => Value::Float(f64::NAN),
        5 => Value::Float(f64::INFINITY),
        6 => Value::Float(-0.0),
        7 => Value::Float(1e308),
        8 => Value::Float(9_223_372_036_854_775_808.0),
        _ => Value::Timestamp(-1e18),
    }
}

fn odd_text(rng: &mut StdRng) -> String {
    [
        "",
        " ",
        "\u{0}",
        "a\u{0}b",
        "\u{202e}evil",
        "e\u{301}\u{301}\u{301}",
        "😀😀😀",
        "\u{feff}GroupName",
        "${jndi:ldap://x}",
        "'; DROP TABLE records; --",
        "%s%n%x",
        "../../etc/passwd",
        "wsipg-",
        "ws-",
        "d-",
        "\\u0000",
        "\r\n\r\nHTTP/1.1 200 OK",
    ][rng.gen_range(0..17)]
    .to_string()
}

/// How a model input is damaged before it is sent.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    None,
    WrongType,
    WrongTypeEverywhere,
    RemoveMember,
    UnknownMember,
    DuplicateKey,
    Null,
    HugeString,
    HugeList,
    Deep,
    OddNumber,
    OddText,
    Truncate,
    FlipBytes,
    InvalidUtf8,
    NotAStructure,
    OddEncoding,
    OddEncodingWithTags,
}

const MUTATIONS: &[Mutation] = &[
    Mutation::None,
    Mutation::WrongType,
    Mutation::WrongTypeEverywhere,
    Mutation::RemoveMember,
    Mutation::UnknownMember,
    Mutation::DuplicateKey,
    Mutation::Null,
    Mutation::HugeString,
    Mutation::HugeList,
    Mutation::Deep,
    Mutation::OddNumber,
    Mutation::OddText,
    Mutation::Truncate,
    Mutation::FlipBytes,
    Mutation::InvalidUtf8,
    Mutation::NotAStructure,
    Mutation::OddEncoding,
    Mutation::OddEncodingWithTags,
];

const MARK: &str = "QQQQ";

/// Applies `m` to the input `v` and encodes it in `proto`.
fn mutate(proto: Proto, mut v: Value, m: Mutation, rng: &mut StdRng) -> Vec<u8> {
    let pos = random_position(&v, rng);
    match m {
        Mutation::None => {}
        Mutation::WrongType => {
            if let Some(p) = pos {
                let slot = at_mut(&mut v, &p);
                *slot = wrong_type(slot, rng);
            }
        }
        Mutation::WrongTypeEverywhere => {
            // Every top-level member of the wrong type at once.
            if let Value::Map(m) = &mut v {
                for (_, x) in m.iter_mut() {
                    *x = wrong_type(x, rng);
                }
            }
        }
        Mutation::RemoveMember => {
            if let Some(p) = pos {
                let (last, parent) = p.split_last().expect("non-empty");
                match at_mut(&mut v, parent) {
                    Value::Map(m) => {
                        m.remove(*last);
                    }
                    Value::List(l) => {
                        l.remove(*last);
                    }
                    _ => {}
                }
            }
        }
        Mutation::UnknownMember => {
            if let Value::Map(m) = &mut v {
                m.push(("NoSuchMember".into(), deep(3, rng)));
                m.push(("__type".into(), Value::String("x".into())));
            }
        }
        Mutation::DuplicateKey => {
            let p = pos.unwrap_or_default();
            let (last, parent) = p
                .split_last()
                .map(|(l, p)| (*l, p.to_vec()))
                .unwrap_or((0, vec![]));
            if let Value::Map(m) = at_mut(&mut v, &parent) {
                if let Some((k, old)) = m.get(last).cloned() {
                    let dup = if rng.gen_bool(0.5) {
                        wrong_type(&old, rng)
                    } else {
                        old
                    };
                    let at = rng.gen_range(0..=m.len());
                    m.insert(at, (k, dup));
                }
            }
        }
        Mutation::Null => {
            if let Some(p) = pos {
                *at_mut(&mut v, &p) = Value::Null;
            }
        }
        Mutation::HugeString => {
            let s = huge_string(rng);
            match pos {
                Some(p) => *at_mut(&mut v, &p) = Value::String(s),
                None => {
                    if let Value::Map(m) = &mut v {
                        m.push(("Name".into(), Value::String(s)));
                    }
                }
            }
        }
        Mutation::HugeList => {
            let n = rng.gen_range(10_000..200_000);
            let item = match &pos {
                Some(p) => at_mut(&mut v, p).clone(),
                None => Value::String("x".into()),
            };
            let item = if matches!(item, Value::String(_) | Value::Int(_)) {
                item
            } else {
                Value::String("wsipg-abcdefgh1".into())
            };
            let list = Value::List(vec![item; n]);
            match pos {
                Some(p) => *at_mut(&mut v, &p) = list,
                None => {
                    if let Value::Map(m) = &mut v {
                        m.push(("ResourceIds".into(), list));
                    }
                }
            }
        }
        Mutation::Deep => {
            let d = rng.gen_range(20..200);
            match pos {
                Some(p) => *at_mut(&mut v, &p) = deep(d, rng),
                None => v = Value::Map(vec![("A".into(), deep(d, rng))]),
            }
        }
        Mutation::OddNumber => {
            if let Some(p) = pos {
                *at_mut(&mut v, &p) = odd_number(rng);
            }
        }
        Mutation::OddText => {
            if let Some(p) = pos {
                let slot = at_mut(&mut v, &p);
                if matches!(slot, Value::String(_)) || rng.gen_bool(0.3) {
                    *slot = Value::String(odd_text(rng));
                }
            }
            if rng.gen_bool(0.3) {
                if let Value::Map(m) = &mut v {
                    m.push((odd_text(rng).into(), Value::Int(1)));
                }
            }
        }
        Mutation::Truncate => {
            let mut b = encode(proto, &v);
            let cut = rng.gen_range(0..b.len().max(1));
            b.truncate(cut);
            return b;
        }
        Mutation::FlipBytes => {
            let mut b = encode(proto, &v);
            for _ in 0..rng.gen_range(1..4) {
                if b.is_empty() {
                    break;
                }
                let i = rng.gen_range(0..b.len());
                b[i] = match rng.gen_range(0..3) {
                    0 => b[i] ^ (1 << rng.gen_range(0..8)),
                    1 => rng.gen(),
                    _ => [0x00, 0xff, b'"', b'{', 0x9f, 0xbf, 0xc1][rng.gen_range(0..7)],
                };
            }
            return b;
        }
        Mutation::InvalidUtf8 => {
            let p = pos.unwrap_or_default();
            if p.is_empty() {
                if let Value::Map(m) = &mut v {
                    m.push((MARK.into(), Value::Int(1)));
                }
            } else {
                *at_mut(&mut v, &p) = Value::String(format!("ab{MARK}cd"));
            }
            let mut b = encode(proto, &v);
            let bad: [&[u8; 4]; 4] = [
                b"\xff\xfe\xfd\xfc",
                b"\xc3\x28\xa0\xa1",
                b"\xed\xa0\x80a",
                b"\xf4\x90\x80\x80",
            ];
            let bad = bad[rng.gen_range(0..4)];
            if let Some(i) = b.windows(4).position(|w| w == MARK.as_bytes()) {
                b[i..i + 4].copy_from_slice(bad);
            }
            return b;
        }
        Mutation::NotAStructure => {
            v = match rng.gen_range(0..5) {
                0 => Value::List(vec![v]),
                1 => Value::String("x".into()),
                2 => Value::Int(1),
                3 => Value::Null,
                _ => Value::Bool(false),
            };
            // The codecs' encoders write any value; the server must refuse a non-structure.
        }
        Mutation::OddEncoding => return odd_encoding(proto, &v, rng, false),
        Mutation::OddEncodingWithTags => return odd_encoding(proto, &v, rng, true),
    }
    encode(proto, &v)
}

/// The same value in an unusual but (without `tags`) valid encoding: CBOR with indefinite
/// lengths, chunked strings, non-minimal heads and half/single floats; JSON with whitespace
/// and `\u` escapes. With `tags`, CBOR items are also wrapped in tags and `undefined`s.
fn odd_encoding(proto: Proto, v: &Value, rng: &mut StdRng, tags: bool) -> Vec<u8> {
    let mut out = Vec::new();
    match proto {
        Proto::Cbor => write_cbor(v, &mut out, rng, tags),
        Proto::Json => write_json(v, &mut out, rng),
    }
    out
}

fn cbor_head(major: u8, n: u64, out: &mut Vec<u8>, rng: &mut StdRng) {
    let m = major << 5;
    let minimal = if n < 24 {
        0
    } else if n < 0x100 {
        1
    } else if n < 0x1_0000 {
        2
    } else if n < 0x1_0000_0000 {
        3
    } else {
        4
    };
    let width = if rng.gen_bool(0.2) {
        rng.gen_range(minimal.max(1)..=4)
    } else {
        minimal
    };
    match width {
        0 => out.push(m | n as u8),
        1 => out.extend([m | 24, n as u8]),
        2 => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        3 => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

fn cbor_text(major: u8, bytes: &[u8], is_str: bool, out: &mut Vec<u8>, rng: &mut StdRng) {
    if rng.gen_bool(0.3) {
        out.push((major << 5) | 31);
        let text = std::str::from_utf8(bytes).ok().filter(|_| is_str);
        let mut i = 0;
        while i < bytes.len() {
            let mut j = (i + rng.gen_range(1..8)).min(bytes.len());
            if let Some(t) = text {
                while !t.is_char_boundary(j) {
                    j += 1;
                }
            }
            cbor_head(major, (j - i) as u64, out, rng);
            out.extend(&bytes[i..j]);
            i = j;
        }
        if rng.gen_bool(0.3) {
            cbor_head(major, 0, out, rng);
        }
        out.push(0xff);
    } else {
        cbor_head(major, bytes.len() as u64, out, rng);
        out.extend(bytes);
    }
}

fn write_cbor(v: &Value, out: &mut Vec<u8>, rng: &mut StdRng, tags: bool) {
    if tags && rng.gen_bool(0.15) {
        let t = [0u64, 1, 2, 3, 21, 24, 32, 55799, 1 << 40][rng.gen_range(0..9)];
        cbor_head(6, t, out, rng);
    }
    match v {
        Value::Null => out.push(if rng.gen_bool(0.5) { 0xf6 } else { 0xf7 }),
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Int(i) if *i >= 0 => cbor_head(0, *i as u64, out, rng),
        Value::Int(i) => cbor_head(1, (-1 - *i) as u64, out, rng),
        Value::Float(f) => write_float(*f, out, rng),
        Value::String(s) => cbor_text(3, s.as_bytes(), true, out, rng),
        Value::Blob(b) => cbor_text(2, b, false, out, rng),
        Value::Timestamp(t) => {
            out.push(0xc1);
            if t.fract() == 0.0 && t.abs() < 1e15 && rng.gen_bool(0.5) {
                write_cbor(&Value::Int(*t as i64), out, rng, false);
            } else {
                write_float(*t, out, rng);
            }
        }
        Value::List(l) => {
            let indef = rng.gen_bool(0.4);
            if indef {
                out.push(0x9f);
            } else {
                cbor_head(4, l.len() as u64, out, rng);
            }
            for x in l {
                write_cbor(x, out, rng, tags);
            }
            if indef {
                out.push(0xff);
            }
        }
        Value::Map(m) => {
            let indef = rng.gen_bool(0.4);
            if indef {
                out.push(0xbf);
            } else {
                cbor_head(5, m.len() as u64, out, rng);
            }
            for (k, x) in m {
                cbor_text(3, k.as_bytes(), true, out, rng);
                write_cbor(x, out, rng, tags);
            }
            if indef {
                out.push(0xff);
            }
        }
    }
    if tags && rng.gen_bool(0.02) {
        // A stray simple value or break after an item.
        out.push([0xf7, 0xe0, 0xf8, 0xff][rng.gen_range(0..4)]);
    }
}

fn write_float(f: f64, out: &mut Vec<u8>, rng: &mut StdRng) {
    let half = match f {
        x if x == 0.0 && x.is_sign_positive() => Some(0x0000u16),
        1.0 => Some(0x3c00),
        -2.0 => Some(0xc000),
        x if x == f64::INFINITY => Some(0x7c00),
        x if x.is_nan() => Some(0x7e00),
        _ => None,
    };
    match half {
        Some(h) if rng.gen_bool(0.5) => {
            out.push(0xf9);
            out.extend(h.to_be_bytes());
        }
        _ if f64::from(f as f32) == f && rng.gen_bool(0.5) => {
            out.push(0xfa);
            out.extend((f as f32).to_be_bytes());
        }
        _ => {
            out.push(0xfb);
            out.extend(f.to_be_bytes());
        }
    }
}

fn ws_pad(out: &mut Vec<u8>, rng: &mut StdRng) {
    for _ in 0..rng.gen_range(0..3) {
        out.push([b' ', b'\t', b'\n', b'\r'][rng.gen_range(0..4)]);
    }
}

fn json_string(s: &str, out: &mut Vec<u8>, rng: &mut StdRng) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend(b"\\\""),
            '\\' => out.extend(b"\\\\"),
            c if (c as u32) < 0x20 || rng.gen_bool(0.1) => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.extend(format!("\\u{:04x}", u).as_bytes());
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

fn write_json(v: &Value, out: &mut Vec<u8>, rng: &mut StdRng) {
    ws_pad(out, rng);
    match v {
        Value::Map(m) => {
            out.push(b'{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                ws_pad(out, rng);
                json_string(k, out, rng);
                ws_pad(out, rng);
                out.push(b':');
                write_json(x, out, rng);
            }
            ws_pad(out, rng);
            out.push(b'}');
        }
        Value::List(l) => {
            out.push(b'[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(x, out, rng);
            }
            ws_pad(out, rng);
            out.push(b']');
        }
        Value::String(s) => json_string(s, out, rng),
        other => out.extend(json::encode(other)),
    }
    ws_pad(out, rng);
}

// ------------------------------------------------------------------------------ the fuzzers

fn server() -> &'static Fuzz {
    // One server per test binary; tests take turns on it (the commit check needs calls to
    // run one at a time), through `LOCK`.
    static F: OnceLock<Fuzz> = OnceLock::new();
    F.get_or_init(Fuzz::start)
}

static LOCK: Mutex<()> = Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn proto_of(b: bool) -> Proto {
    if b {
        Proto::Cbor
    } else {
        Proto::Json
    }
}

#[test]
fn arbitrary_bytes_on_both_protocols() {
    let _g = exclusive();
    let f = server();
    let n_ops = model().ops.len();
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        prop::collection::vec(any::<u8>(), 0..600).prop_map(|mut b| {
            b.insert(0, b'{');
            b
        }),
        prop::collection::vec(any::<u8>(), 0..600).prop_map(|mut b| {
            b.insert(0, 0xbf);
            b
        }),
        "[ -~]{0,200}".prop_map(|s| format!("{{\"{s}").into_bytes()),
    ];
    runner(400)
        .run(
            &(any::<bool>(), 0..n_ops, bodies, any::<bool>()),
            |(cbor, op, body, keep)| {
                let req = ws_request(proto_of(cbor), model().ops[op].0.name(), body);
                verdict(f.exchange(&req, keep), &req)?;
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    f.report("after arbitrary bytes");
}

#[test]
fn model_inputs_with_mutations() {
    let _g = exclusive();
    let f = server();
    let m = model();
    runner(1500)
        .run(
            &(
                any::<bool>(),
                0..m.ops.len(),
                0..MUTATIONS.len(),
                any::<u64>(),
                any::<bool>(),
            ),
            |(cbor, op, mutation, seed, keep)| {
                let mut rng = StdRng::seed_from_u64(seed);
                let proto = proto_of(cbor);
                let input = m.input(op, &mut rng, &f.ids);
                let body = mutate(proto, input, MUTATIONS[mutation], &mut rng);
                let req = ws_request(proto, m.ops[op].0.name(), body);
                verdict(f.exchange(&req, keep), &req)?;
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    f.report("after model inputs");
}

#[test]
fn every_operation_every_member_of_the_wrong_type() {
    // Exhaustive over the model: for each operation and each top-level member, the member
    // alone with a value of every other wire type, on both protocols.
    let _g = exclusive();
    let f = server();
    let m = model();
    let mut rng = StdRng::seed_from_u64(7);
    let kinds = [
        Value::String("7".into()),
        Value::Int(7),
        Value::Float(1.5),
        Value::Bool(true),
        Value::List(vec![Value::Int(1)]),
        Value::Map(vec![("x".into(), Value::Int(1))]),
        Value::Blob(vec![1, 2]),
        Value::Timestamp(1.0),
        Value::Null,
    ];
    let mut n = 0u64;
    for (op_idx, (op, _)) in m.ops.iter().enumerate() {
        let valid = m.input(op_idx, &mut rng, &f.ids);
        let Value::Map(members) = &valid else { continue };
        for i in 0..members.len() {
            for k in &kinds {
                for proto in [Proto::Json, Proto::Cbor] {
                    let mut v = valid.clone();
                    if let Value::Map(mm) = &mut v {
                        mm[i].1 = k.clone();
                    }
                    let req = ws_request(proto, op.name(), encode(proto, &v));
                    if let Err(e) = verdict(f.exchange(&req, true), &req) {
                        panic!("{op:?}: {e}");
                    }
                    n += 1;
                }
            }
        }
    }
    eprintln!("wrong-type sweep: {n} requests");
    f.report("after the wrong-type sweep");
}

#[test]
fn reencoding_a_read_only_request_changes_nothing() {
    let _g = exclusive();
    let f = server();
    let m = model();
    let read_only: Vec<usize> = (0..m.ops.len())
        .filter(|&i| is_read_only(m.ops[i].0.name()))
        .collect();
    runner(300)
        .run(
            &(any::<bool>(), 0..read_only.len(), any::<u64>()),
            |(cbor, i, seed)| {
                let op = read_only[i];
                let mut rng = StdRng::seed_from_u64(seed);
                let proto = proto_of(cbor);
                let input = m.input(op, &mut rng, &f.ids);
                let name = m.ops[op].0.name();
                let canonical = ws_request(proto, name, encode(proto, &input));
                let odd = ws_request(proto, name, odd_encoding(proto, &input, &mut rng, false));
                let a = verdict(f.exchange(&canonical, true), &canonical)?;
                let b = verdict(f.exchange(&odd, true), &odd)?;
                prop_assert_eq!(
                    &a,
                    &b,
                    "{} answered differently to the same input encoded as {:?}",
                    name,
                    preview(&odd.body)
                );
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    f.report("after re-encodings");
}

#[test]
fn odd_routes_and_headers() {
    let _g = exclusive();
    let f = server();
    let targets = prop_oneof![
        Just("WorkspacesService.CreateIpGroup".to_string()),
        Just("WorkspacesService.".to_string()),
        Just("WorkspacesService.createipgroup".to_string()),
        Just("DirectoryService_20150416.DescribeDirectories".to_string()),
        Just("DirectoryService_20150416.CreateIpGroup".to_string()),
        "[ -~]{0,60}",
    ];
    let cts = prop_oneof![
        Just("application/x-amz-json-1.1".to_string()),
        Just("application/x-amz-json-1.0; charset=utf-8".to_string()),
        Just("application/cbor".to_string()),
        Just("application/json".to_string()),
        Just(String::new()),
        "[ -~]{0,40}",
    ];
    let paths = prop_oneof![
        Just("/".to_string()),
        Just("/service/WorkspacesService/operation/DescribeIpGroups".to_string()),
        Just("/service/WorkspacesService/operation/".to_string()),
        Just("/service/WorkspacesService/operation/DescribeIpGroups/x".to_string()),
        Just("/service/DirectoryService_20150416/operation/DescribeDirectories".to_string()),
        Just("/service/Nope/operation/DescribeIpGroups".to_string()),
        Just("/x/service/WorkspacesService/operation/DescribeIpGroups".to_string()),
        Just("//".to_string()),
        "/[a-zA-Z0-9/._%-]{0,60}",
    ];
    let auths = prop_oneof![Just(true), Just(false),];
    let bodies = prop_oneof![
        Just(b"{}".to_vec()),
        Just(vec![0xa0]),
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 0..64),
    ];
    runner(300)
        .run(
            &(targets, cts, paths, auths, bodies, any::<bool>(), any::<bool>()),
            |(target, ct, path, auth, body, smithy, keep)| {
                if path.starts_with("/_localspaces") {
                    return Ok(());
                }
                let mut headers = vec![
                    ("Content-Type".to_string(), ct),
                    ("X-Amz-Target".to_string(), target),
                ];
                if smithy {
                    headers.push(("smithy-protocol".into(), "rpc-v2-cbor".into()));
                }
                if auth {
                    headers.extend(auth_headers("workspaces"));
                } else {
                    headers.push(("Authorization".into(), "AWS4-HMAC-SHA256 Credential=/".into()));
                }
                let req = Req { path, headers, body };
                verdict(f.exchange(&req, keep), &req)?;
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    f.report("after odd routes and headers");
}

#[test]
fn bodies_at_the_limits() {
    let _g = exclusive();
    let f = server();
    let send = |req: Req| -> String {
        match verdict(f.exchange(&req, true), &req) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    };
    for proto in [Proto::Json, Proto::Cbor] {
        // Larger than --max-body: refused with 413, in the request's protocol.
        let big = vec![b' '; MAX_BODY + 1];
        let r = send(ws_request(proto, "DescribeIpGroups", big));
        assert_eq!(r, "RequestEntityTooLargeException");
        // Just under it: a structure with one huge string member.
        let s = "a".repeat(MAX_BODY - 64);
        let v = Value::Map(vec![
            ("ResourceId".into(), Value::String("wsipg-abcdefgh1".into())),
            (
                "Tags".into(),
                Value::List(vec![Value::Map(vec![("Key".into(), Value::String(s))])]),
            ),
        ]);
        let r = send(ws_request(proto, "CreateTags", encode(proto, &v)));
        assert_eq!(r, "ValidationException");
        // A list with a million elements.
        let v = Value::Map(vec![(
            "GroupIds".into(),
            Value::List(vec![Value::Int(1); 1_000_000]),
        )]);
        send(ws_request(proto, "DescribeIpGroups", encode(proto, &v)));
        let v = Value::Map(vec![(
            "ResourceIds".into(),
            Value::List(vec![Value::String("wsipg-abcdefgh1".into()); 200_000]),
        )]);
        send(ws_request(proto, "DescribeTags", encode(proto, &v)));
        // A structure with many duplicate keys.
        let dups: Vec<(MapKey, Value)> = (0..200_000)
            .map(|_| ("GroupName".into(), Value::String("x".into())))
            .collect();
        send(ws_request(
            proto,
            "CreateIpGroup",
            encode(proto, &Value::Map(dups)),
        ));
    }
    // Nesting far past the depth limit, as raw bytes (the encoders would recurse).
    let deep_json = format!("{{\"A\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        send(ws_request(
            Proto::Json,
            "DescribeIpGroups",
            deep_json.into_bytes()
        )),
        "SerializationException"
    );
    let mut deep_cbor = vec![0xa1, 0x61, b'A'];
    deep_cbor.extend(std::iter::repeat_n(0x81u8, 100_000));
    deep_cbor.push(0xa0);
    assert_eq!(
        send(ws_request(Proto::Cbor, "DescribeIpGroups", deep_cbor)),
        "SerializationException"
    );
    let mut deep_indef = vec![0xbf, 0x61, b'A'];
    deep_indef.extend(std::iter::repeat_n(0x9fu8, 100_000));
    assert_eq!(
        send(ws_request(Proto::Cbor, "DescribeIpGroups", deep_indef)),
        "SerializationException"
    );
    // Declared lengths far beyond the body.
    for body in [
        vec![0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        vec![
            0xa1, 0x61, b'A', 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![0xa1, 0x61, b'A', 0x5a, 0xff, 0xff, 0xff, 0xff],
    ] {
        assert_eq!(
            send(ws_request(Proto::Cbor, "DescribeIpGroups", body)),
            "SerializationException"
        );
    }
    f.report("after bodies at the limits");
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(l) = status.lines().find(|l| l.starts_with("VmHWM")) {
            eprintln!("peak memory of the test process (server included): {l}");
        }
    }
}

/// Raw bytes on a fresh connection (`half_close`: shut the write side after them); reads
/// until the server closes or [`HANG`] passes.
fn raw_exchange(addr: SocketAddr, bytes: &[u8], half_close: bool) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(HANG)).expect("read timeout");
    let _ = s.write_all(bytes);
    if half_close {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    got
}

/// HTTP framing a hostile or confused client sends: each gets a complete AWS-shaped answer
/// (or, where hyper itself refuses the framing, a plain 4xx), never a hang, a reset before
/// the answer or a lost answer.
#[test]
fn framing_cases_are_answered() {
    let _g = exclusive();
    let f = server();
    let host = f.addr.to_string();
    // A declared body over --max-body, never sent: 413 at once, not a timeout.
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: WorkspacesService.DescribeIpGroups\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY * 10
    );
    let mut s = TcpStream::connect(f.addr).expect("connect");
    s.set_read_timeout(Some(HANG)).expect("read timeout");
    s.write_all(head.as_bytes()).expect("send head");
    let resp = read_response(&mut BufReader::new(s))
        .map_err(|(e, _)| e)
        .expect("an answer before the body");
    assert_eq!(resp.status, 413);
    assert_eq!(
        check_response(&resp).expect("AWS-shaped"),
        "RequestEntityTooLargeException"
    );

    // An unknown operation with a large body (within --max-body): the body is read first,
    // so the client that is still sending gets UnknownOperationException, not a reset.
    let body = vec![b' '; MAX_BODY - 1];
    for keep in [false, true] {
        let r = f
            .conn
            .lock()
            .unwrap()
            .send(
                &Req {
                    path: "/".into(),
                    headers: json_headers("WorkspacesService.NoSuchOperation", "workspaces"),
                    body: body.clone(),
                },
                keep,
            )
            .expect("an answer");
        assert_eq!(
            check_response(&r).expect("AWS-shaped"),
            "UnknownOperationException"
        );
    }

    // Twenty pipelined requests, then a half-close: twenty answers.
    let one = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: WorkspacesService.DescribeIpGroups\r\nX-Amz-Date: 20260101T000000Z\r\nAuthorization: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        auth_headers("workspaces")[1].1
    );
    let got = raw_exchange(f.addr, one.repeat(20).as_bytes(), true);
    let answers = String::from_utf8_lossy(&got).matches("HTTP/1.1 200 OK").count();
    assert_eq!(
        answers, 20,
        "pipelined then half-closed: {answers} of 20 answered"
    );

    // Bytes that are not HTTP (a TLS ClientHello, a NUL): an AWS-shaped 400, then close.
    for junk in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
        &b"\x00\x00\x00\x00"[..],
    ] {
        let got = raw_exchange(f.addr, junk, false);
        let mut r = BufReader::new(&got[..]);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        assert!(line.starts_with("HTTP/1.1 400"), "{junk:?}: {line:?}");
        let text = String::from_utf8_lossy(&got);
        assert!(text.contains("\"__type\":\"SerializationException\""), "{text}");
    }

    // Framing hyper refuses itself (oversized or NUL-bearing heads, bad Content-Length):
    // a 4xx and a closed connection, never a hang or a 5xx.
    for bad in [
        format!("POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 12abc\r\n\r\n"),
        format!("POST / HTTP/1.1\r\nHost: {host}\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n"),
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nX-Big: {}\r\n\r\n",
            "a".repeat(2 << 20)
        ),
        format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\n{}\r\n",
            "X-H: 1\r\n".repeat(10_000)
        ),
    ] {
        let got = raw_exchange(f.addr, bad.as_bytes(), false);
        let text = String::from_utf8_lossy(&got);
        let status: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(
            (400..500).contains(&status),
            "{}…: {text:?}",
            &bad[..40.min(bad.len())]
        );
    }
    f.report("after framing cases");
}

/// What a web page can make a browser send to the admin routes (a simple form POST, a
/// `fetch` with `no-cors`, a rebinding `Host`) is refused and changes nothing.
#[test]
fn cross_site_shapes_to_the_admin_routes_are_refused() {
    let _g = exclusive();
    let f = server();
    let host = f.addr.to_string();
    let before = f.commits.load(Ordering::SeqCst);
    let shapes = [
        "Content-Type: text/plain\r\nOrigin: http://evil.example\r\n".to_string(),
        "Content-Type: application/x-www-form-urlencoded\r\nOrigin: null\r\n".to_string(),
        "Content-Type: multipart/form-data; boundary=x\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n".to_string(),
        "Content-Type: text/plain\r\n".to_string(),
        "X-Localspaces-Admin: 1\r\nSec-Fetch-Site: same-site\r\n".to_string(),
        "X-Localspaces-Admin: 1\r\nOrigin: http://127.0.0.1\r\n".to_string(),
    ];
    for route in [
        "reset?account=111122223333&region=us-east-1",
        "settle",
        "advance?seconds=60",
    ] {
        for (i, extra) in shapes.iter().enumerate() {
            let req = format!(
                "POST /_localspaces/{route} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}Content-Length: 3\r\n\r\na=b"
            );
            let got = raw_exchange(f.addr, req.as_bytes(), false);
            let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
            assert!(text.starts_with("http/1.1 403"), "{route} shape {i}: {text}");
            assert!(
                !text.contains("access-control-allow"),
                "{route} shape {i}: {text}"
            );
        }
        let rebinding = format!(
            "POST /_localspaces/{route} HTTP/1.1\r\nHost: rebind.evil.example\r\nX-Localspaces-Admin: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
        let text = String::from_utf8_lossy(&raw_exchange(f.addr, rebinding.as_bytes(), false)).to_string();
        assert!(
            text.starts_with("HTTP/1.1 403"),
            "{route} with a rebinding Host: {text}"
        );
    }
    assert_eq!(
        f.commits.load(Ordering::SeqCst),
        before,
        "a refused admin call wrote"
    );
}

// ------------------------------------------------------------------------------ regressions

/// A body that must answer in the request's protocol with a well-formed error (never 5xx).
fn expect_error(req: Req) -> String {
    let f = server();
    let summary = match f.conn.lock().unwrap().send(&req, false).and_then(|r| {
        let s = check_response(&r)?;
        if r.status == 200 {
            Err("expected an error, got 200".into())
        } else {
            Ok(s)
        }
    }) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    summary
}

/// Found by `bodies_at_the_limits`: a map member (ImportClientBranding's LoginMessage) with
/// 200 000 keys took minutes, because duplicate keys were looked up linearly (n² compares
/// in `localspaces_api::shape::read_map`). Now answered at once.
#[test]
fn regression_a_map_with_many_keys_decodes_in_linear_time() {
    let _g = exclusive();
    for proto in [Proto::Json, Proto::Cbor] {
        let many: Vec<(MapKey, Value)> = (0..200_000)
            .map(|i| (format!("k{i}").into(), Value::String("x".into())))
            .collect();
        let v = Value::Map(vec![
            ("ResourceId".into(), Value::String("d-1234567890".into())),
            (
                "DeviceTypeWindows".into(),
                Value::Map(vec![("LoginMessage".into(), Value::Map(many))]),
            ),
        ]);
        let started = Instant::now();
        let r = expect_error(ws_request(proto, "ImportClientBranding", encode(proto, &v)));
        assert!(
            started.elapsed() < HANG,
            "{proto:?}: took {:?}",
            started.elapsed()
        );
        assert_eq!(r, "ValidationException", "{proto:?}");
    }
}

/// Found by the wrong-type sweep: ModifyWorkspaceProperties with DataReplication and no
/// WorkspaceProperties answers OperationNotSupportedException, which the model does not
/// list for the operation, so the dispatcher's debug assertion panicked (500). Fixed in
/// `service/workspaces.rs` with standby WorkSpaces.
#[test]
fn regression_modify_workspace_properties_data_replication_is_a_modeled_error() {
    let _g = exclusive();
    for proto in [Proto::Json, Proto::Cbor] {
        let v = Value::Map(vec![
            ("WorkspaceId".into(), Value::String("ws-abcdefgh1".into())),
            (
                "DataReplication".into(),
                Value::String("PRIMARY_AS_SOURCE".into()),
            ),
        ]);
        expect_error(ws_request(proto, "ModifyWorkspaceProperties", encode(proto, &v)));
    }
}

/// Found by the model fuzzer: DescribeAccountModifications with a NextToken it did not issue
/// answered InvalidParameterValuesException, which the model does not list for the operation
/// (only AccessDeniedException), so the dispatcher's debug assertion panicked (500). It now
/// answers ValidationException.
#[test]
fn regression_describe_account_modifications_bad_token_is_a_modeled_error() {
    let _g = exclusive();
    for proto in [Proto::Json, Proto::Cbor] {
        let v = Value::Map(vec![("NextToken".into(), Value::String("g7i7p9q03".into()))]);
        expect_error(ws_request(
            proto,
            "DescribeAccountModifications",
            encode(proto, &v),
        ));
    }
}

/// Found by the outside attack: a string member the model leaves without a maximum length
/// (CreateIpGroup's GroupName) was stored as sent, 15 MB of it. Such members now hold at
/// most 2048 characters (an inferred limit, listed in COVERAGE.md).
#[test]
fn regression_strings_the_model_leaves_unbounded_are_bounded() {
    let _g = exclusive();
    for proto in [Proto::Json, Proto::Cbor] {
        for len in [2049, 3 * 1024 * 1024] {
            let v = Value::Map(vec![("GroupName".into(), Value::String("g".repeat(len)))]);
            let r = expect_error(ws_request(proto, "CreateIpGroup", encode(proto, &v)));
            assert_eq!(r, "ValidationException", "{proto:?}, {len} characters");
        }
    }
}
