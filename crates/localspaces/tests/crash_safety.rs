//! Crash safety of the real binary: concurrent mutating load through the Rust SDK
//! (CreateIpGroup with tags and rules, CreateTags, AuthorizeIpRules, CreateWorkspaces),
//! SIGKILL at a random moment, restart on the same data directory, and then:
//! - every acknowledged change is there (groups, their tags and rules, WorkSpaces);
//! - no call is half applied: an IP group always has the tags and rules of the call that
//!   created it, and the tags (rules) of one CreateTags (AuthorizeIpRules) call are all
//!   there or none is, whether or not the call was acknowledged;
//! - nothing appears that no call asked for, and what was found once stays;
//! - pending lifecycle transitions resume: every WorkSpace PENDING at a restart (one is
//!   created right before each kill) reaches AVAILABLE.
//!
//! `LOCALSPACES_CRASH_ROUNDS` sets the number of kills (default 6). Every wait is bounded
//! only to turn a hang into a failure.

mod common;

use aws_sdk_workspaces::types::{WorkspaceRequest, WorkspaceState};
use aws_sdk_workspaces::Client;
use common::{client_for, http, ok, rule, tag, REGION};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_localspaces");
const HANG_GUARD: Duration = Duration::from_secs(60);
const ACCOUNT: &str = "222233334444";
const WORKERS: usize = 8;

fn rounds() -> usize {
    std::env::var("LOCALSPACES_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(6)
}

// ------------------------------------------------------------------------------ the process

struct Proc {
    child: Option<Child>,
    url: String,
    addr: SocketAddr,
    stderr_path: std::path::PathBuf,
    _logs: tempfile::TempDir,
}

impl Proc {
    fn start(data_dir: &Path) -> Proc {
        let logs = tempfile::tempdir().expect("tempdir");
        let stderr_path = logs.path().join("stderr.log");
        let mut cmd = Command::new(BIN);
        cmd.args([
            "--port",
            "0",
            "--data-dir",
            data_dir.to_str().expect("utf-8 path"),
            "--timing",
            "fast",
            "--quota",
            "ip_groups=100000,workspaces=100000",
        ]);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("LOCALSPACES_") {
                cmd.env_remove(k);
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(&stderr_path).expect("stderr file"),
            ));
        let mut child = cmd.spawn().expect("spawn localspaces");
        let stdout = child.stdout.take().expect("stdout");
        let rx = common::ready_line(stdout);
        let line = match rx.recv_timeout(HANG_GUARD) {
            Ok(Some(l)) => l,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no ready line ({other:?}); stderr:\n{}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
        };
        let url = line
            .strip_prefix("localspaces listening on ")
            .and_then(|r| r.split(' ').next())
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
            .to_string();
        let addr: SocketAddr = url
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Proc {
            child: Some(child),
            url,
            addr,
            stderr_path,
            _logs: logs,
        }
    }

    fn client(&self) -> Client {
        client_for(&self.url, ACCOUNT, REGION)
    }

    fn kill(mut self) {
        let mut child = self.child.take().expect("child");
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn settle(addr: SocketAddr) {
    let (status, body) = http(
        addr,
        "/_localspaces/settle",
        vec![("X-Localspaces-Admin".into(), "1".into())],
        vec![],
    )
    .await;
    assert_eq!(status, 200, "settle: {body}");
}

/// A Simple AD directory registered with WorkSpaces.
async fn registered_directory(p: &Proc) -> String {
    let headers = vec![
        (
            "Content-Type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        (
            "X-Amz-Target".to_string(),
            "DirectoryService_20150416.CreateDirectory".to_string(),
        ),
        ("X-Amz-Date".to_string(), "20260101T000000Z".to_string()),
        (
            "Authorization".to_string(),
            format!(
                "AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/{REGION}/ds/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}",
                "0".repeat(64)
            ),
        ),
    ];
    let body = serde_json::json!({
        "Name": "corp.example.com", "Password": "Sup3r-Secret", "Size": "Small",
        "VpcSettings": {"VpcId": "vpc-0a1b2c3d", "SubnetIds": ["subnet-0a1b2c3d", "subnet-0e1f2a3b"]},
    });
    let (status, text) = http(p.addr, "/", headers, body.to_string().into_bytes()).await;
    assert_eq!(status, 200, "CreateDirectory: {text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let id = v["DirectoryId"].as_str().expect("DirectoryId").to_string();
    settle(p.addr).await;
    ok(
        "RegisterWorkspaceDirectory",
        p.client()
            .register_workspace_directory()
            .directory_id(&id)
            .send()
            .await,
    );
    settle(p.addr).await;
    id
}

// ------------------------------------------------------------------------------ the ledger

/// What one call asked for; `acked` once the server said yes (or the change was seen
/// after a restart, which makes it durable too).
#[derive(Debug, Clone)]
struct Change<T> {
    items: Vec<T>,
    acked: bool,
}

#[derive(Debug, Clone)]
struct GroupExp {
    worker: usize,
    id: Option<String>,
    created: Change<()>,
    /// Tags and rules of the CreateIpGroup call itself.
    create_tags: Vec<(String, String)>,
    create_rules: Vec<String>,
    tag_calls: Vec<Change<(String, String)>>,
    rule_calls: Vec<Change<String>>,
}

#[derive(Default)]
struct Ledger {
    /// By group name (unique per call).
    groups: BTreeMap<String, GroupExp>,
    /// Acknowledged WorkSpaces: id → user.
    workspaces: BTreeMap<String, String>,
    /// Users of unacknowledged CreateWorkspaces calls.
    maybe_users: BTreeSet<String>,
    acked_calls: u64,
    unacked_calls: u64,
}

impl Ledger {
    /// An acknowledged group of `worker` with room for more tags and rules.
    fn pick(&self, worker: usize, rng: &mut impl Rng) -> Option<(String, String)> {
        let mine: Vec<(&String, &GroupExp)> = self
            .groups
            .iter()
            .filter(|(_, g)| g.worker == worker && g.created.acked && g.id.is_some())
            .filter(|(_, g)| g.tag_calls.len() < 15 && g.rule_calls.len() < 3)
            .collect();
        if mine.is_empty() {
            return None;
        }
        let (name, g) = mine[rng.gen_range(0..mine.len())];
        Some((name.clone(), g.id.clone().expect("id")))
    }
}

// ------------------------------------------------------------------------------ the load

#[allow(clippy::too_many_arguments)]
async fn worker(
    w: usize,
    c: Client,
    dir: String,
    bundle: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    round: usize,
    seq: Arc<AtomicU64>,
) {
    while !stop.load(Ordering::SeqCst) {
        let i = seq.fetch_add(1, Ordering::SeqCst);
        let choice = rand::thread_rng().gen_range(0..10);
        let picked = {
            let l = ledger.lock().unwrap();
            l.pick(w, &mut rand::thread_rng())
        };
        let ok = match (choice, picked) {
            (0..=3, _) | (_, None) => {
                let name = format!("r{round}-w{w}-{i}");
                let tags = vec![
                    ("call".to_string(), name.clone()),
                    ("worker".to_string(), w.to_string()),
                ];
                let rules = vec![format!("10.{}.{}.0/24", i % 250, w)];
                ledger.lock().unwrap().groups.insert(
                    name.clone(),
                    GroupExp {
                        worker: w,
                        id: None,
                        created: Change {
                            items: vec![],
                            acked: false,
                        },
                        create_tags: tags.clone(),
                        create_rules: rules.clone(),
                        tag_calls: vec![],
                        rule_calls: vec![],
                    },
                );
                let mut req = c.create_ip_group().group_name(&name);
                for (k, v) in &tags {
                    req = req.tags(tag(k, v));
                }
                for r in &rules {
                    req = req.user_rules(rule(r, "crash"));
                }
                match req.send().await {
                    Ok(out) => {
                        let mut l = ledger.lock().unwrap();
                        let g = l.groups.get_mut(&name).expect("group");
                        g.created.acked = true;
                        g.id = out.group_id().map(str::to_string);
                        true
                    }
                    Err(_) => false,
                }
            }
            (4..=6, Some((name, id))) => {
                let tags = vec![
                    (format!("t{i}a"), format!("v{i}")),
                    (format!("t{i}b"), format!("w{w}")),
                ];
                let idx = {
                    let mut l = ledger.lock().unwrap();
                    let g = l.groups.get_mut(&name).expect("group");
                    g.tag_calls.push(Change {
                        items: tags.clone(),
                        acked: false,
                    });
                    g.tag_calls.len() - 1
                };
                let mut req = c.create_tags().resource_id(&id);
                for (k, v) in &tags {
                    req = req.tags(tag(k, v));
                }
                match req.send().await {
                    Ok(_) => {
                        ledger
                            .lock()
                            .unwrap()
                            .groups
                            .get_mut(&name)
                            .expect("group")
                            .tag_calls[idx]
                            .acked = true;
                        true
                    }
                    Err(_) => false,
                }
            }
            (7..=8, Some((name, id))) => {
                let rules = vec![
                    format!("172.16.{}.{}/32", i % 250, w),
                    format!("192.168.{}.{}/32", i % 250, w),
                ];
                let idx = {
                    let mut l = ledger.lock().unwrap();
                    let g = l.groups.get_mut(&name).expect("group");
                    g.rule_calls.push(Change {
                        items: rules.clone(),
                        acked: false,
                    });
                    g.rule_calls.len() - 1
                };
                let mut req = c.authorize_ip_rules().group_id(&id);
                for r in &rules {
                    req = req.user_rules(rule(r, "more"));
                }
                match req.send().await {
                    Ok(_) => {
                        ledger
                            .lock()
                            .unwrap()
                            .groups
                            .get_mut(&name)
                            .expect("group")
                            .rule_calls[idx]
                            .acked = true;
                        true
                    }
                    Err(_) => false,
                }
            }
            _ => create_workspace(&c, &dir, &bundle, &format!("u{round}w{w}n{i}"), &ledger).await,
        };
        {
            let mut l = ledger.lock().unwrap();
            if ok {
                l.acked_calls += 1;
            } else {
                l.unacked_calls += 1;
            }
        }
        if !ok {
            // The server is gone (or refusing): do not spin.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn create_workspace(c: &Client, dir: &str, bundle: &str, user: &str, ledger: &Mutex<Ledger>) -> bool {
    ledger.lock().unwrap().maybe_users.insert(user.to_string());
    let req = WorkspaceRequest::builder()
        .directory_id(dir)
        .user_name(user)
        .bundle_id(bundle)
        .build()
        .expect("request");
    match c.create_workspaces().workspaces(req).send().await {
        Ok(out) if out.failed_requests().is_empty() => {
            let mut l = ledger.lock().unwrap();
            for p in out.pending_requests() {
                if let Some(id) = p.workspace_id() {
                    l.workspaces.insert(id.to_string(), user.to_string());
                }
            }
            true
        }
        Ok(out) => panic!("CreateWorkspaces {user} failed: {:?}", out.failed_requests()),
        Err(_) => false,
    }
}

// ------------------------------------------------------------------------------ the checks

async fn all_groups(c: &Client) -> Vec<aws_sdk_workspaces::types::WorkspacesIpGroup> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ok(
            "DescribeIpGroups",
            c.describe_ip_groups().set_next_token(token.take()).send().await,
        );
        out.extend(page.result().iter().cloned());
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => return out,
        }
    }
}

async fn all_workspaces(c: &Client, dir: &str) -> HashMap<String, (String, WorkspaceState)> {
    let mut out = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = ok(
            "DescribeWorkspaces",
            c.describe_workspaces()
                .directory_id(dir)
                .set_next_token(token.take())
                .send()
                .await,
        );
        for w in page.workspaces() {
            out.insert(
                w.workspace_id().unwrap_or_default().to_string(),
                (
                    w.user_name().unwrap_or_default().to_string(),
                    w.state().cloned().expect("state"),
                ),
            );
        }
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => return out,
        }
    }
}

/// One all-or-none change of a call that may or may not have been acknowledged.
fn check_change<T: Ord + Clone + std::fmt::Debug>(
    what: &str,
    ch: &mut Change<T>,
    present: &BTreeSet<T>,
) -> Result<(), String> {
    let found = ch.items.iter().filter(|x| present.contains(x)).count();
    if found == ch.items.len() {
        ch.acked = true; // seen after a restart: durable from now on
        Ok(())
    } else if found == 0 && !ch.acked {
        ch.items.clear(); // lost with the crash; must never show up later
        Ok(())
    } else {
        Err(format!(
            "{what}: {found} of {:?} present (acknowledged: {})",
            ch.items, ch.acked
        ))
    }
}

/// A group as found after a restart: id, tags, rules.
type Seen = (String, BTreeSet<(String, String)>, BTreeSet<String>);

/// Checks the whole state after a restart; returns (changes verified, WorkSpaces pending).
async fn verify(c: &Client, dir: &str, ledger: &Mutex<Ledger>) -> (u64, usize) {
    // WorkSpaces first: those created right before the kill are still PENDING.
    let workspaces = all_workspaces(c, dir).await;
    let groups = all_groups(c).await;
    let mut found: HashMap<String, Seen> = HashMap::new();
    for g in &groups {
        let id = g.group_id().expect("groupId").to_string();
        let name = g.group_name().unwrap_or_default().to_string();
        let t = ok("DescribeTags", c.describe_tags().resource_id(&id).send().await);
        let tags: BTreeSet<(String, String)> = t
            .tag_list()
            .iter()
            .map(|t| (t.key().to_string(), t.value().unwrap_or_default().to_string()))
            .collect();
        let rules: BTreeSet<String> = g
            .user_rules()
            .iter()
            .map(|r| r.ip_rule().unwrap_or_default().to_string())
            .collect();
        assert!(
            found.insert(name.clone(), (id, tags, rules)).is_none(),
            "two groups named {name}"
        );
    }
    let mut l = ledger.lock().unwrap();
    let mut verified = 0u64;
    let mut errors = Vec::new();
    let mut lost = Vec::new();
    for (name, g) in l.groups.iter_mut() {
        let Some((id, tags, rules)) = found.remove(name) else {
            if g.created.acked {
                errors.push(format!("acknowledged group {name} ({:?}) is gone", g.id));
            }
            lost.push(name.clone());
            continue;
        };
        if let Some(known) = &g.id {
            if known != &id {
                errors.push(format!("group {name} has id {id}, was {known}"));
            }
        }
        g.id = Some(id);
        g.created.acked = true;
        verified += 1;
        // The creating call: all of its tags and rules, or the group would be partial.
        for t in &g.create_tags {
            if !tags.contains(t) {
                errors.push(format!("group {name} lacks its creation tag {t:?}"));
            }
        }
        for r in &g.create_rules {
            if !rules.contains(r) {
                errors.push(format!("group {name} lacks its creation rule {r}"));
            }
        }
        verified += (g.create_tags.len() + g.create_rules.len()) as u64;
        let mut expected_tags: BTreeSet<(String, String)> = g.create_tags.iter().cloned().collect();
        for (i, ch) in g.tag_calls.iter_mut().enumerate() {
            if let Err(e) = check_change(&format!("group {name} CreateTags #{i}"), ch, &tags) {
                errors.push(e);
            }
            verified += ch.items.len() as u64;
            expected_tags.extend(ch.items.iter().cloned());
        }
        let mut expected_rules: BTreeSet<String> = g.create_rules.iter().cloned().collect();
        for (i, ch) in g.rule_calls.iter_mut().enumerate() {
            if let Err(e) = check_change(&format!("group {name} AuthorizeIpRules #{i}"), ch, &rules) {
                errors.push(e);
            }
            verified += ch.items.len() as u64;
            expected_rules.extend(ch.items.iter().cloned());
        }
        if tags != expected_tags {
            errors.push(format!("group {name}: tags {tags:?}, expected {expected_tags:?}"));
        }
        if rules != expected_rules {
            errors.push(format!(
                "group {name}: rules {rules:?}, expected {expected_rules:?}"
            ));
        }
    }
    for name in found.keys() {
        errors.push(format!("group {name} was never asked for"));
    }
    // Unacknowledged creations lost with a crash must never show up later.
    for name in lost {
        l.groups.remove(&name);
    }
    let mut pending = 0;
    for (id, user) in &l.workspaces {
        match workspaces.get(id) {
            None => errors.push(format!("acknowledged WorkSpace {id} ({user}) is gone")),
            Some((u, st)) => {
                if u != user {
                    errors.push(format!("WorkSpace {id} belongs to {u}, not {user}"));
                }
                if *st == WorkspaceState::Pending {
                    pending += 1;
                }
                verified += 1;
            }
        }
    }
    for (id, (user, _)) in &workspaces {
        if !l.workspaces.contains_key(id) {
            if l.maybe_users.contains(user) {
                // An unacknowledged CreateWorkspaces that did commit: durable from now on.
                l.workspaces.insert(id.clone(), user.clone());
            } else {
                errors.push(format!("WorkSpace {id} ({user}) was never asked for"));
            }
        }
    }
    assert!(errors.is_empty(), "after a restart:\n{}", errors.join("\n"));
    (verified, pending)
}

// ------------------------------------------------------------------------------ the test

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_concurrent_load_keeps_every_acknowledged_change() {
    let data = tempfile::tempdir().expect("tempdir");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let seq = Arc::new(AtomicU64::new(0));
    let mut p = Proc::start(data.path());
    let dir = registered_directory(&p).await;
    let bundles = ok(
        "DescribeWorkspaceBundles",
        p.client()
            .describe_workspace_bundles()
            .owner("AMAZON")
            .send()
            .await,
    );
    let bundle = bundles.bundles()[0].bundle_id().expect("bundle id").to_string();
    let mut total_verified = 0u64;
    let mut pending_at_restart = 0usize;
    let started = Instant::now();
    let n = rounds();
    for round in 0..n {
        let stop = Arc::new(AtomicBool::new(false));
        let c = p.client();
        let tasks: Vec<_> = (0..WORKERS)
            .map(|w| {
                tokio::spawn(worker(
                    w,
                    c.clone(),
                    dir.clone(),
                    bundle.clone(),
                    Arc::clone(&ledger),
                    Arc::clone(&stop),
                    round,
                    Arc::clone(&seq),
                ))
            })
            .collect();
        let run_for = rand::thread_rng().gen_range(300..1500);
        tokio::time::sleep(Duration::from_millis(run_for)).await;
        // One WorkSpace acknowledged right before the kill: its PENDING → AVAILABLE
        // transition is due about a second later, so it must resume after the restart.
        create_workspace(&c, &dir, &bundle, &format!("last{round}"), &ledger).await;
        // Kill while the workers are mid-call.
        let stderr = p.stderr();
        p.kill();
        stop.store(true, Ordering::SeqCst);
        for t in tasks {
            tokio::time::timeout(HANG_GUARD, t)
                .await
                .expect("worker stops")
                .expect("worker task");
        }
        p = Proc::start(data.path());
        let (verified, pending) = verify(&p.client(), &dir, &ledger).await;
        assert!(
            !stderr.contains("panicked"),
            "the server panicked before the kill:\n{stderr}"
        );
        total_verified += verified;
        pending_at_restart += pending;
        let l = ledger.lock().unwrap();
        eprintln!(
            "round {round}: killed after {run_for} ms; {} calls acknowledged, {} not so far; \
             {verified} changes verified; {pending} WorkSpaces PENDING at restart",
            l.acked_calls, l.unacked_calls
        );
    }
    assert!(pending_at_restart > 0, "no WorkSpace was PENDING across a crash");
    // Pending transitions resume on their own (no settle): every WorkSpace reaches AVAILABLE.
    let c = p.client();
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        let ws = all_workspaces(&c, &dir).await;
        let not_yet: Vec<_> = ws
            .iter()
            .filter(|(_, (_, st))| *st != WorkspaceState::Available)
            .collect();
        if not_yet.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "WorkSpaces never became AVAILABLE after the restart: {not_yet:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The final state, once every transition is done.
    let (v, _) = verify(&c, &dir, &ledger).await;
    total_verified += v;
    let l = ledger.lock().unwrap();
    eprintln!(
        "{n} crashes survived in {:?}: {} calls acknowledged, {} unacknowledged, {} changes \
         verified in all, {} WorkSpaces (PENDING across a crash: {pending_at_restart})",
        started.elapsed(),
        l.acked_calls,
        l.unacked_calls,
        total_verified,
        l.workspaces.len()
    );
    drop(l);
    p.kill();
}
