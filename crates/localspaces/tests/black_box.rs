//! Black-box tests of the `localspaces` binary: the ready line, durability across SIGKILL,
//! graceful SIGTERM, a port that is taken, the `LOCALSPACES_PORT` fallback and `--in-memory`;
//! and the hostile side: the data directory's lock, connection deadlines and the connection
//! cap, `Host` names and cross-site requests to the admin routes, the clock's bound.
//!
//! Every wait here is bounded only to turn a hang into a failure; no test asserts on timing.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::types::WorkspacesIpGroup;
use aws_sdk_workspaces::Client;
use common::{client_for, ok, random_account, rule, rule_no_desc, service_err, tag, tag_no_value, REGION};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for the ready line or for an exit (a hang guard, not a timing assertion).
const HANG_GUARD: Duration = Duration::from_secs(60);

const BIN: &str = env!("CARGO_BIN_EXE_localspaces");

/// A running `localspaces` process; killed (SIGKILL) when dropped.
struct Proc {
    child: Option<Child>,
    url: String,
    port: u16,
    ready_line: String,
    stderr_path: std::path::PathBuf,
    _logs: tempfile::TempDir,
}

/// What a process that did not become ready left behind.
struct Failed {
    status: ExitStatus,
    stderr: String,
}

/// A `localspaces` command with no `LOCALSPACES_*` variables inherited.
fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("LOCALSPACES_") {
            cmd.env_remove(k);
        }
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    cmd
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("localspaces did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `cmd` and waits for its ready line; `Err` when it exits first.
fn try_spawn(mut cmd: Command) -> Result<Proc, Failed> {
    let logs = tempfile::tempdir().expect("tempdir");
    let stderr_path = logs.path().join("stderr.log");
    let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
    cmd.stderr(Stdio::from(stderr));
    let mut child = cmd.spawn().expect("spawn localspaces");
    let stdout = child.stdout.take().expect("stdout");
    let rx = common::ready_line(stdout);
    let read_stderr = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    match rx.recv_timeout(HANG_GUARD) {
        Ok(Some(line)) => {
            let line = line.trim_end().to_string();
            let url = parse_ready_line(&line).unwrap_or_else(|| {
                panic!(
                    "unexpected ready line {line:?}; stderr:\n{}",
                    read_stderr(&stderr_path)
                )
            });
            let port: u16 = url
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("port in the ready line");
            Ok(Proc {
                child: Some(child),
                url,
                port,
                ready_line: line,
                stderr_path,
                _logs: logs,
            })
        }
        Ok(None) => {
            let status = wait_exit(&mut child);
            Err(Failed {
                status,
                stderr: read_stderr(&stderr_path),
            })
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no ready line from localspaces; stderr:\n{}",
                read_stderr(&stderr_path)
            );
        }
    }
}

fn spawn(cmd: Command) -> Proc {
    match try_spawn(cmd) {
        Ok(p) => p,
        Err(f) => panic!(
            "localspaces exited with {} before its ready line; stderr:\n{}",
            f.status, f.stderr
        ),
    }
}

/// `localspaces listening on http://127.0.0.1:PORT (...)` → `http://127.0.0.1:PORT`.
fn parse_ready_line(line: &str) -> Option<String> {
    let rest = line.strip_prefix("localspaces listening on ")?;
    let (url, tail) = rest.split_once(' ')?;
    if !tail.starts_with('(') || !tail.ends_with(')') || !url.starts_with("http://") {
        return None;
    }
    Some(url.to_string())
}

fn serve_on(data_dir: &Path, extra: &[&str]) -> Proc {
    let dir = data_dir.to_str().expect("utf-8 path");
    let mut args = vec!["--port", "0", "--data-dir", dir];
    args.extend_from_slice(extra);
    spawn(command(&args))
}

impl Proc {
    fn client(&self, account: &str) -> Client {
        client_for(&self.url, account, REGION)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("child").id()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// SIGKILL, and wait for the process to be gone.
    fn kill(mut self) {
        let mut child = self.child.take().expect("child");
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
    }

    /// Sends SIGTERM and waits for the exit.
    fn terminate(self) -> (ExitStatus, String) {
        self.send_term();
        self.wait()
    }

    /// Sends SIGTERM.
    fn send_term(&self) {
        let pid = self.pid().to_string();
        let st = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -TERM {pid} failed");
    }

    /// Waits for the exit.
    fn wait(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("child");
        let status = wait_exit(&mut child);
        (status, self.stderr())
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

/// Everything an account can see: groups (sorted by id) and each group's sorted tags.
type Snapshot = Vec<(WorkspacesIpGroup, Vec<(String, Option<String>)>)>;

async fn snapshot(c: &Client) -> Snapshot {
    let mut groups = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let page = ok(
            "DescribeIpGroups",
            c.describe_ip_groups().set_next_token(token.take()).send().await,
        );
        groups.extend(page.result().iter().cloned());
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert!(token.is_none(), "DescribeIpGroups pagination did not end");
    groups.sort_by(|a, b| a.group_id().cmp(&b.group_id()));
    let mut out = Vec::new();
    for g in groups {
        let id = g.group_id().expect("groupId").to_string();
        let t = ok("DescribeTags", c.describe_tags().resource_id(&id).send().await);
        let mut tags: Vec<_> = t
            .tag_list()
            .iter()
            .map(|t| (t.key().to_string(), t.value().map(str::to_string)))
            .collect();
        tags.sort();
        out.push((g, tags));
    }
    out
}

async fn create(c: &Client, name: &str) -> String {
    ok(
        &format!("CreateIpGroup {name}"),
        c.create_ip_group().group_name(name).send().await,
    )
    .group_id()
    .expect("GroupId")
    .to_string()
}

fn names(s: &Snapshot) -> Vec<String> {
    let mut v: Vec<String> = s
        .iter()
        .map(|(g, _)| g.group_name().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn ready_line_names_a_real_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = serve_on(dir.path(), &[]);
    assert!(
        p.port != 0,
        "the ready line shows the bound port, not 0: {:?}",
        p.ready_line
    );
    assert!(p.url.starts_with("http://127.0.0.1:"), "{:?}", p.ready_line);
    // Something answers there.
    std::net::TcpStream::connect(("127.0.0.1", p.port)).expect("connect to the announced port");
    p.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_keeps_every_acknowledged_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acct = random_account();
    let other = random_account();

    let p = serve_on(dir.path(), &[]);
    let c = p.client(&acct);
    let g1 = ok(
        "CreateIpGroup g1",
        c.create_ip_group()
            .group_name("g1")
            .group_desc("first")
            .user_rules(rule("10.0.0.0/8", "ten"))
            .tags(tag("env", "prod"))
            .tags(tag_no_value("flag"))
            .send()
            .await,
    )
    .group_id()
    .expect("GroupId")
    .to_string();
    let g2 = create(&c, "g2").await;
    let g3 = create(&c, "g3").await;
    ok(
        "AuthorizeIpRules g1",
        c.authorize_ip_rules()
            .group_id(&g1)
            .user_rules(rule_no_desc("192.168.0.0/16"))
            .send()
            .await,
    );
    ok(
        "RevokeIpRules g1",
        c.revoke_ip_rules()
            .group_id(&g1)
            .user_rules("10.0.0.0/8")
            .send()
            .await,
    );
    ok(
        "UpdateRulesOfIpGroup g2",
        c.update_rules_of_ip_group()
            .group_id(&g2)
            .user_rules(rule("172.16.0.0/12", "a"))
            .user_rules(rule("203.0.113.7", "b"))
            .send()
            .await,
    );
    ok(
        "CreateTags g1",
        c.create_tags()
            .resource_id(&g1)
            .tags(tag("env", "staging"))
            .tags(tag("team", "x"))
            .send()
            .await,
    );
    ok(
        "CreateTags g2",
        c.create_tags()
            .resource_id(&g2)
            .tags(tag("owner", "me"))
            .tags(tag("tmp", "1"))
            .send()
            .await,
    );
    ok(
        "DeleteTags g2",
        c.delete_tags().resource_id(&g2).tag_keys("tmp").send().await,
    );
    ok("DeleteIpGroup g3", c.delete_ip_group().group_id(&g3).send().await);
    // A second account and a second region.
    create(&p.client(&other), "other-account").await;
    let west = client_for(&p.url, &acct, "eu-west-1");
    create(&west, "west").await;
    // A burst of concurrent writes acknowledged right before the kill.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.create_ip_group()
                .group_name(format!("burst-{i:02}"))
                .send()
                .await
        }));
    }
    for t in tasks {
        ok("burst CreateIpGroup", t.await.expect("task"));
    }
    let last = create(&c, "last").await;
    ok(
        "CreateTags last",
        c.create_tags()
            .resource_id(&last)
            .tags(tag("final", "yes"))
            .send()
            .await,
    );

    let before = snapshot(&c).await;
    let before_other = snapshot(&p.client(&other)).await;
    let before_west = snapshot(&west).await;
    assert_eq!(before.len(), 23, "g1, g2, 20 bursts, last");
    p.kill();

    let p = serve_on(dir.path(), &[]);
    let c = p.client(&acct);
    let after = snapshot(&c).await;
    assert_eq!(after, before, "state after SIGKILL and restart");
    assert_eq!(snapshot(&p.client(&other)).await, before_other);
    assert_eq!(
        snapshot(&client_for(&p.url, &acct, "eu-west-1")).await,
        before_west
    );
    // Spot checks of what was written.
    let (g, tags) = after
        .iter()
        .find(|(g, _)| g.group_id() == Some(g1.as_str()))
        .expect("g1 survives");
    assert_eq!(g.group_desc(), Some("first"));
    assert_eq!(g.user_rules().len(), 1);
    assert_eq!(g.user_rules()[0].ip_rule(), Some("192.168.0.0/16"));
    assert_eq!(
        tags,
        &vec![
            ("env".to_string(), Some("staging".to_string())),
            ("flag".to_string(), None),
            ("team".to_string(), Some("x".to_string())),
        ]
    );
    assert!(
        !after.iter().any(|(g, _)| g.group_id() == Some(g3.as_str())),
        "the deleted g3 stays deleted"
    );
    assert!(!names(&after).contains(&"g3".to_string()));
    // Uniqueness survives: g1's name is taken, g3's is free; ids stay unique.
    let e = service_err(
        "CreateIpGroup g1 after restart",
        c.create_ip_group().group_name("g1").send().await,
    );
    assert!(e.is_resource_already_exists_exception(), "{:?}", e.code());
    let new_g3 = create(&c, "g3").await;
    assert!(
        !before.iter().any(|(g, _)| g.group_id() == Some(new_g3.as_str())),
        "a reused id after restart"
    );

    // And once more: kill right after acknowledged writes, restart, all there.
    ok("DeleteIpGroup g2", c.delete_ip_group().group_id(&g2).send().await);
    ok(
        "DeleteTags last",
        c.delete_tags().resource_id(&last).tag_keys("final").send().await,
    );
    let before = snapshot(&c).await;
    p.kill();
    let p = serve_on(dir.path(), &[]);
    assert_eq!(
        snapshot(&p.client(&acct)).await,
        before,
        "state after a second SIGKILL"
    );
    p.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_zero_and_keeps_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acct = random_account();
    let p = serve_on(dir.path(), &[]);
    let c = p.client(&acct);
    create(&c, "before-term").await;
    let before = snapshot(&c).await;
    let (status, stderr) = p.terminate();
    assert!(
        status.success(),
        "SIGTERM: expected exit 0, got {status}; stderr:\n{stderr}"
    );

    let p = serve_on(dir.path(), &[]);
    assert_eq!(snapshot(&p.client(&acct)).await, before);
    let (status, stderr) = p.terminate();
    assert!(
        status.success(),
        "SIGTERM: expected exit 0, got {status}; stderr:\n{stderr}"
    );
}

/// Reads one HTTP/1.1 answer with a `Content-Length` from `stream`: `(head, body)`.
fn read_answer(stream: &mut std::net::TcpStream) -> (String, String) {
    use std::io::Read;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .expect("a content-length");
            if body.len() >= len {
                return (head.to_ascii_lowercase(), body.to_string());
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => panic!("the connection closed mid-answer: {text:?}"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading an answer: {e}; got {text:?}"),
        }
    }
}

#[test]
fn sigterm_answers_the_request_in_flight_and_closes_idle_connections() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let p = serve_on(dir.path(), &["--in-memory"]);
    let port = p.port;
    let connect = || {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("read timeout");
        s
    };
    // A keep-alive connection, idle after one answer.
    let mut idle = connect();
    let health = format!("GET /_localspaces/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    idle.write_all(health.as_bytes()).expect("send");
    let (head, _) = read_answer(&mut idle);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    // A call whose body is still on its way when SIGTERM comes.
    let mut busy = connect();
    let call = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: WorkspacesService.DescribeIpGroups\r\nX-Amz-Date: 20260101T000000Z\r\n\
         Authorization: {SIGV4}\r\nContent-Length: 2\r\n\r\n{{"
    );
    busy.write_all(call.as_bytes()).expect("send");
    std::thread::sleep(Duration::from_millis(300));
    p.send_term();
    std::thread::sleep(Duration::from_millis(300));
    busy.write_all(b"}").expect("send the rest of the body");
    let (head, body) = read_answer(&mut busy);
    assert!(head.starts_with("http/1.1 200"), "{head}\n{body}");
    assert!(body.contains("\"Result\""), "{body}");
    assert!(
        head.contains("connection: close"),
        "no keep-alive while stopping: {head}"
    );
    // The idle connection was closed, and the server exits.
    let mut rest = [0u8; 64];
    assert_eq!(idle.read(&mut rest).expect("read the idle connection"), 0);
    let (status, stderr) = p.wait();
    assert!(
        status.success(),
        "expected exit 0, got {status}; stderr:\n{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_calls_are_answered_and_sigterm_ends_the_connection() {
    use http_body_util::BodyExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = serve_on(dir.path(), &["--in-memory"]);
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", p.port))
        .await
        .expect("connect");
    let (mut send, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    for round in 0..3 {
        let req = hyper::Request::post(format!("http://127.0.0.1:{}/", p.port))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "WorkspacesService.DescribeIpGroups")
            .header("x-amz-date", "20260101T000000Z")
            .header("authorization", SIGV4)
            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
            .expect("request");
        let resp = send.send_request(req).await.expect("an HTTP/2 answer");
        assert_eq!(resp.status(), 200, "round {round}");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        assert_eq!(&body[..], br#"{"Result":[]}"#, "round {round}");
    }
    // Stopping ends the connection (GOAWAY once its requests are done), and the server exits.
    p.send_term();
    let ended = tokio::time::timeout(Duration::from_secs(20), connection).await;
    assert!(
        ended.is_ok(),
        "the HTTP/2 connection was not closed by the stopping server"
    );
    let (status, stderr) = tokio::task::spawn_blocking(move || p.wait()).await.expect("wait");
    assert!(
        status.success(),
        "expected exit 0, got {status}; stderr:\n{stderr}"
    );
}

#[test]
fn sigterm_right_after_the_ready_line_exits_zero() {
    // A supervisor may stop the server as soon as it announced itself: the ready line must
    // only be printed once SIGTERM leads to a graceful exit. Several rounds, since a missing
    // handler shows only when the signal wins the race.
    for round in 0..20 {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = serve_on(dir.path(), &["--in-memory"]);
        let (status, stderr) = p.terminate();
        assert!(
            status.success(),
            "round {round}: SIGTERM right after the ready line: expected exit 0, got {status}; stderr:\n{stderr}"
        );
    }
}

#[test]
fn port_in_use_fails_with_a_clear_message() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_s = dir.path().to_str().expect("utf-8");
    let r = try_spawn(command(&[
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--data-dir",
        dir_s,
    ]));
    let f = match r {
        Ok(p) => panic!("localspaces started on a taken port: {:?}", p.ready_line),
        Err(f) => f,
    };
    assert!(
        !f.status.success(),
        "exit status must be non-zero, got {}",
        f.status
    );
    assert!(
        f.stderr.contains(&port),
        "the error names the port {port}; stderr:\n{}",
        f.stderr
    );
    assert!(
        f.stderr.to_ascii_lowercase().contains("in use"),
        "the error says the address is in use; stderr:\n{}",
        f.stderr
    );
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_from_localspaces_port_env() {
    // A port that was free a moment ago.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = command(&["--data-dir", dir.path().to_str().expect("utf-8")]);
    cmd.env("LOCALSPACES_PORT", port.to_string());
    let p = spawn(cmd);
    assert_eq!(
        p.port, port,
        "LOCALSPACES_PORT is used when --port is absent: {:?}",
        p.ready_line
    );
    let c = p.client(&random_account());
    create(&c, "via-env").await;
    assert_eq!(names(&snapshot(&c).await), vec!["via-env".to_string()]);

    // --port wins over the environment.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let mut cmd = command(&["--port", "0", "--data-dir", dir2.path().to_str().expect("utf-8")]);
    cmd.env("LOCALSPACES_PORT", port.to_string());
    let q = spawn(cmd);
    assert_ne!(q.port, port, "--port 0 must win over LOCALSPACES_PORT");
    q.kill();
    p.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_state_does_not_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acct = random_account();
    let p = serve_on(dir.path(), &["--in-memory"]);
    let c = p.client(&acct);
    create(&c, "fleeting").await;
    assert_eq!(snapshot(&c).await.len(), 1);
    p.kill();

    let p = serve_on(dir.path(), &["--in-memory"]);
    assert!(
        snapshot(&p.client(&acct)).await.is_empty(),
        "--in-memory state survived a restart"
    );
    let (status, _) = p.terminate();
    assert!(status.success());
    // And nothing of it reached the SQLite database of the same data dir.
    let p = serve_on(dir.path(), &[]);
    assert!(
        snapshot(&p.client(&acct)).await.is_empty(),
        "--in-memory wrote to the data dir's database"
    );
    p.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_subcommand_is_the_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = spawn(command(&[
        "serve",
        "--port",
        "0",
        "--in-memory",
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
    ]));
    let c = p.client(&random_account());
    create(&c, "sub").await;
    let e = service_err(
        "CreateIpGroup duplicate",
        c.create_ip_group().group_name("sub").send().await,
    );
    assert!(e.is_resource_already_exists_exception(), "{:?}", e.code());
    p.kill();
}

// ---------------------------------------------------------------- hostile clients

/// Sends `bytes` on a fresh connection and reads until the server closes it or `guard`
/// passes (a hang guard): `(what was read, whether the server closed it)`.
fn exchange_raw(port: u16, bytes: &[u8], guard: Duration) -> (Vec<u8>, bool) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let _ = s.write_all(bytes);
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < guard {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (got, true),
        }
    }
    (got, false)
}

/// One HTTP/1.1 request on a fresh connection: `(status, head, body)`.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let (got, closed) = exchange_raw(port, req.as_bytes(), HANG_GUARD);
    assert!(closed, "no complete answer to {method} {path}");
    let text = String::from_utf8_lossy(&got).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/workspaces/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";

fn describe_ip_groups(port: u16, host: &str) -> (u16, String) {
    let (status, _, body) = request(
        port,
        "POST",
        "/",
        &[
            ("Host", host),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "WorkspacesService.DescribeIpGroups"),
            ("X-Amz-Date", "20260101T000000Z"),
            ("Authorization", SIGV4),
        ],
        "{}",
    );
    (status, body)
}

#[test]
fn a_second_server_on_the_same_data_dir_refuses_to_start_naming_the_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = serve_on(dir.path(), &[]);
    let d = dir.path().to_str().expect("utf-8");
    let f = match try_spawn(command(&["--port", "0", "--data-dir", d])) {
        Ok(_) => panic!("a second server started on a data directory in use"),
        Err(f) => f,
    };
    assert!(!f.status.success());
    assert!(
        f.stderr.contains(&format!("pid {}", first.pid())) && f.stderr.contains("in use"),
        "the error names the holder's pid {}; stderr:\n{}",
        first.pid(),
        f.stderr
    );
    // Once the first is gone (even killed), the directory is free again.
    first.kill();
    serve_on(dir.path(), &[]).kill();
}

#[test]
fn silent_connections_of_every_kind_are_closed_and_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = serve_on(
        dir.path(),
        &[
            "--in-memory",
            "--idle-timeout",
            "1",
            "--read-timeout",
            "2",
            "--max-connections",
            "24",
        ],
    );
    let port = p.port;
    let guard = Duration::from_secs(30);
    // HTTP/2 prior knowledge: the preface and a SETTINGS frame, then nothing.
    let h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    // A console form whose declared body never arrives (strict or open alike).
    let console = format!(
        "POST /console/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    );
    // An HTTP/1.1 keep-alive connection left idle after one answer.
    let idle = format!("GET /_localspaces/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("http/2 preface and settings", h2.to_vec()),
        ("console body never sent", console.into_bytes()),
        ("http/1.1 keep-alive idle", idle.into_bytes()),
        ("nothing at all", Vec::new()),
    ];
    let handles: Vec<_> = cases
        .into_iter()
        .map(|(name, bytes)| std::thread::spawn(move || (name, exchange_raw(port, &bytes, guard))))
        .collect();
    for h in handles {
        let (name, (_, closed)) = h.join().expect("thread");
        assert!(closed, "{name}: the connection was still open after {guard:?}");
    }

    // The cap: with every slot held by silent clients, one more connection is closed
    // at once, and an answer comes again once the deadlines free the slots.
    let holders: Vec<std::net::TcpStream> = (0..24)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (got, closed) = exchange_raw(
        port,
        format!("GET /_localspaces/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes(),
        guard,
    );
    assert!(
        closed && got.is_empty(),
        "over the cap a connection is refused: {:?}",
        String::from_utf8_lossy(&got)
    );
    let start = Instant::now();
    loop {
        let (got, _) = exchange_raw(
            port,
            format!(
                "GET /_localspaces/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
            guard,
        );
        if got.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(
            start.elapsed() < guard,
            "health never answered again after the flood"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(holders);
    p.kill();
}

#[test]
fn host_names_and_cross_site_requests_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = serve_on(dir.path(), &["--in-memory", "--allowed-hosts", "localspaces"]);
    let port = p.port;
    let local = format!("127.0.0.1:{port}");
    // The API in open mode: loopback names, addresses and --allowed-hosts only.
    for host in [
        local.clone(),
        format!("localhost:{port}"),
        format!("localspaces:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(describe_ip_groups(port, &host).0, 200, "Host: {host}");
    }
    let (status, body) = describe_ip_groups(port, &format!("evil.example:{port}"));
    assert_eq!(status, 403, "a DNS-rebinding Host: {body}");
    assert!(body.contains("\"__type\":\"AccessDeniedException\""), "{body}");
    // The console: pages and forms, even "same-origin" under the rebinding name.
    let evil = format!("evil.example:{port}");
    let evil_origin = format!("http://evil.example:{port}");
    assert_eq!(request(port, "GET", "/console/", &[("Host", &evil)], "").0, 403);
    let form = "account=123456789012&region=us-east-1&name=x";
    let (status, _, _) = request(
        port,
        "POST",
        "/console/ipgroups/create",
        &[
            ("Host", &evil),
            ("Origin", &evil_origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form,
    );
    assert_eq!(status, 403);
    assert_eq!(request(port, "GET", "/console/", &[], "").0, 200);

    // Admin routes: the shapes a web page can send are refused.
    let reset = "/_localspaces/reset?account=123456789012&region=us-east-1";
    let page = "http://evil.example".to_string();
    let refused: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "simple text/plain form",
            vec![("Content-Type", "text/plain"), ("Origin", page.as_str())],
        ),
        ("no origin, no admin header", vec![]),
        (
            "urlencoded form",
            vec![("Content-Type", "application/x-www-form-urlencoded")],
        ),
        (
            "admin header with Origin",
            vec![("X-Localspaces-Admin", "1"), ("Origin", page.as_str())],
        ),
        (
            "admin header, cross-site fetch",
            vec![("X-Localspaces-Admin", "1"), ("Sec-Fetch-Site", "cross-site")],
        ),
        (
            "rebinding host",
            vec![("X-Localspaces-Admin", "1"), ("Host", evil.as_str())],
        ),
    ];
    for (name, headers) in refused {
        let (status, head, body) = request(port, "POST", reset, &headers, "x=1");
        assert_eq!(status, 403, "{name}: {body}");
        assert!(
            !head.contains("access-control-allow"),
            "{name}: CORS answer {head}"
        );
    }
    // A preflight gets no CORS grant.
    let (_, head, _) = request(
        port,
        "OPTIONS",
        reset,
        &[
            ("Origin", page.as_str()),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "x-localspaces-admin"),
        ],
        "",
    );
    assert!(
        !head.contains("access-control-allow"),
        "preflight granted: {head}"
    );
    let (status, _, body) = request(port, "POST", reset, &[("X-Localspaces-Admin", "1")], "");
    assert_eq!(status, 200, "a script's admin call: {body}");

    // The clock's offset: bounded, monotonic, refused without moving.
    let advance = |secs: &str| {
        request(
            port,
            "POST",
            &format!("/_localspaces/advance?seconds={secs}"),
            &[("X-Localspaces-Admin", "1")],
            "",
        )
    };
    for bad in ["1e300", "-5", "NaN", "inf", "253402300799"] {
        let (status, _, body) = advance(bad);
        assert_eq!(status, 400, "seconds={bad}: {body}");
    }
    let (status, _, body) = advance("10");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"clock_offset_seconds\":10"),
        "the refused calls did not move the clock: {body}"
    );
    assert_eq!(describe_ip_groups(port, &local).0, 200);
    p.kill();
}
