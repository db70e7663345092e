//! The web console under `/console/`: plain HTTP tests (every page answers, actions go
//! through the API's own path, refusals are shown, strict mode asks to sign in) and browser
//! tests in headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`), which also write screenshots to `target/console-screenshots/`.
//!
//! Without chromedriver the browser test fails with a clear message, unless
//! `LOCALSPACES_SKIP_BROWSER=1` is set.

mod common;

use common::{random_account, registered_directory, settle, Engine, TestServer};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- a small HTTP client

struct Resp {
    status: u16,
    head: String,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Vec<String> {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
    fn location(&self) -> String {
        self.header("location").into_iter().next().unwrap_or_default()
    }
    /// `name=value` of the Set-Cookie headers (attributes dropped).
    fn cookies(&self) -> String {
        self.header("set-cookie")
            .iter()
            .filter_map(|c| c.split(';').next())
            .filter(|c| !c.ends_with('='))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn exchange(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    Resp {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

async fn get(addr: SocketAddr, path: &str, cookie: &str) -> Resp {
    let (path, cookie) = (path.to_string(), cookie.to_string());
    tokio::task::spawn_blocking(move || {
        let h: Vec<(&str, &str)> = if cookie.is_empty() {
            vec![]
        } else {
            vec![("Cookie", cookie.as_str())]
        };
        exchange(addr, "GET", &path, &h, "")
    })
    .await
    .expect("task")
}

async fn post(addr: SocketAddr, path: &str, form: &[(&str, &str)], extra: &[(&str, &str)]) -> Resp {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let path = path.to_string();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/x-www-form-urlencoded")];
        h.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        exchange(addr, "POST", &path, &h, &body)
    })
    .await
    .expect("task")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// POSTs an action and follows its redirect with the flash cookie: the page it lands on.
async fn act(addr: SocketAddr, action: &str, form: &[(&str, &str)]) -> (Resp, Resp) {
    let r = post(addr, &format!("/console/actions/{action}"), form, &[]).await;
    assert_eq!(r.status, 303, "{action}: {} {}", r.head, r.body);
    let next = get(addr, &r.location(), &r.cookies()).await;
    (r, next)
}

/// A launched WorkSpace of `user` in a registered directory, settled to AVAILABLE.
async fn seed(server: &TestServer, account: &str) -> (String, String, String) {
    let dir = registered_directory(server, account).await;
    let c = server.client_as(account, common::REGION);
    let bundle = c
        .describe_workspace_bundles()
        .owner("AMAZON")
        .send()
        .await
        .expect("bundles")
        .bundles()[0]
        .bundle_id()
        .expect("bundle id")
        .to_string();
    let out = c
        .create_workspaces()
        .workspaces(
            aws_sdk_workspaces::types::WorkspaceRequest::builder()
                .directory_id(&dir)
                .user_name("seeded")
                .bundle_id(&bundle)
                .build()
                .expect("request"),
        )
        .send()
        .await
        .expect("create workspaces");
    let ws = out.pending_requests()[0].workspace_id().expect("id").to_string();
    settle(server).await;
    (dir, bundle, ws)
}

// ---------------------------------------------------------------- plain HTTP

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_answers() {
    let server = TestServer::start(Engine::Memory).await;
    let addr = server.addr();
    let account = random_account();
    let (dir, bundle, ws) = seed(&server, &account).await;
    let c = server.client_as(&account, common::REGION);
    let group = c
        .create_ip_group()
        .group_name("office")
        .user_rules(common::rule("10.0.0.0/16", "hq"))
        .tags(common::tag("team", "blue"))
        .send()
        .await
        .expect("ip group")
        .group_id()
        .expect("group id")
        .to_string();
    let alias = c
        .create_connection_alias()
        .connection_string("www.example.com")
        .send()
        .await
        .expect("alias")
        .alias_id()
        .expect("alias id")
        .to_string();
    settle(&server).await;
    let q = format!("account={account}&region=us-east-1");
    let pages: Vec<(String, Vec<&str>)> = vec![
        (format!("/console/?{q}"), vec!["Dashboard", "WorkSpaces"]),
        (
            format!("/console/directories?{q}"),
            vec![dir.as_str(), "REGISTERED"],
        ),
        (
            format!("/console/workspaces?{q}"),
            vec![ws.as_str(), "seeded", "AVAILABLE"],
        ),
        (format!("/console/bundles?{q}"), vec![bundle.as_str(), "Amazon"]),
        (format!("/console/images?{q}"), vec!["Images"]),
        (format!("/console/ip-groups?{q}"), vec![group.as_str(), "office"]),
        (
            format!("/console/aliases?{q}"),
            vec![alias.as_str(), "www.example.com"],
        ),
        (
            format!("/console/activity?{q}"),
            vec!["CreateIpGroup", "CreateWorkspaces"],
        ),
        (
            format!("/console/activity?{q}&op=Create&status=ok&protocol=json"),
            vec!["CreateIpGroup"],
        ),
        (
            format!("/console/directories/{dir}?{q}"),
            vec!["DirectoryId", "Tags"],
        ),
        (
            format!("/console/workspaces/{ws}?{q}"),
            vec!["WorkspaceProperties.RunningMode", "Terminate"],
        ),
        (format!("/console/bundles/{bundle}?{q}"), vec!["ComputeType.Name"]),
        (
            format!("/console/ip-groups/{group}?{q}"),
            vec!["16 hq", "team", "blue"],
        ),
        (format!("/console/aliases/{alias}?{q}"), vec!["ConnectionString"]),
        ("/console/static/console.css".to_string(), vec![".badge"]),
        ("/console/static/console.js".to_string(), vec!["data-poll"]),
    ];
    for (path, needles) in &pages {
        let r = get(addr, path, "").await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        for n in needles {
            assert!(
                r.body.contains(n),
                "GET {path}: no {n:?} in the page:\n{}",
                r.body
            );
        }
    }
    // Live fragments are JSON with the rows and a spoken summary.
    for path in [
        format!("/console/workspaces?{q}&fragment=1"),
        format!("/console/?{q}&fragment=1"),
        format!("/console/workspaces/{ws}?{q}&fragment=1"),
    ] {
        let r = get(addr, &path, "").await;
        assert_eq!(r.status, 200, "GET {path}");
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("fragment JSON");
        assert!(
            v["rows"].as_str().is_some_and(|s| s.contains("AVAILABLE")),
            "{path}: {v}"
        );
        assert!(v["summary"].is_string(), "{path}: {v}");
    }
    assert_eq!(get(addr, "/console", "").await.location(), "/console/");
    assert_eq!(get(addr, "/console/nothing-here", "").await.status, 404);
    assert_eq!(
        get(addr, &format!("/console/workspaces/ws-0000000000?{q}"), "")
            .await
            .status,
        404
    );
    assert_eq!(
        get(addr, "/console/?account=12&region=us-east-1", "")
            .await
            .status,
        400
    );
    // Another account sees none of it.
    let other = get(
        addr,
        &format!(
            "/console/workspaces?account={}&region=us-east-1",
            random_account()
        ),
        "",
    )
    .await;
    assert!(!other.body.contains(&ws), "another account must not see {ws}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_go_through_the_api_and_refusals_are_shown() {
    let server = TestServer::start(Engine::Memory).await;
    let addr = server.addr();
    let account = random_account();
    let c = server.client_as(&account, common::REGION);
    let scope = [("account", account.as_str()), ("region", "us-east-1")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        scope.iter().copied().chain(extra.iter().copied()).collect()
    };

    // Create an IP group in the console; the SDK sees it.
    let (_, page) = act(
        addr,
        "create-ip-group",
        &with(&[
            ("name", "console-made"),
            ("description", "from the console"),
            ("rules", "10.1.0.0/16 lab\n192.168.0.1/32"),
        ]),
    )
    .await;
    assert!(page.body.contains("Created IP group"), "{}", page.body);
    let groups = c.describe_ip_groups().send().await.expect("describe");
    let g = groups
        .result()
        .iter()
        .find(|g| g.group_name() == Some("console-made"))
        .expect("the console's group through the SDK");
    let gid = g.group_id().expect("id").to_string();
    assert_eq!(g.user_rules().len(), 2);
    assert_eq!(g.group_desc(), Some("from the console"));

    // Tag it; the SDK sees the tag.
    let back = format!("/console/ip-groups/{gid}?account={account}&region=us-east-1");
    let form: Vec<(&str, &str)> = scope
        .iter()
        .copied()
        .chain([
            ("resource_id", gid.as_str()),
            ("key", "env"),
            ("value", "test"),
            ("back", back.as_str()),
        ])
        .collect();
    let (r, page) = act(addr, "add-tag", &form).await;
    assert_eq!(r.location(), back);
    assert!(page.body.contains("Tag env set"), "{}", page.body);
    let tags = c.describe_tags().resource_id(&gid).send().await.expect("tags");
    assert_eq!(tags.tag_list().len(), 1);

    // Refused: a duplicate name, in AWS's words, as an alert.
    let (_, page) = act(addr, "create-ip-group", &with(&[("name", "console-made")])).await;
    assert!(page.body.contains("role=\"alert\""), "{}", page.body);
    assert!(page.body.contains("AWS refused the request"), "{}", page.body);
    assert!(
        page.body.contains("ResourceAlreadyExistsException"),
        "{}",
        page.body
    );

    // Refused by validation: a reserved tag key.
    let bad: Vec<(&str, &str)> = scope
        .iter()
        .copied()
        .chain([
            ("resource_id", gid.as_str()),
            ("key", "aws:owner"),
            ("value", "x"),
        ])
        .collect();
    let (_, page) = act(addr, "add-tag", &bad).await;
    assert!(page.body.contains("AWS refused the request"), "{}", page.body);

    // Destructive actions ask first; nothing happens until confirmed.
    let del: Vec<(&str, &str)> = scope
        .iter()
        .copied()
        .chain([("group_id", gid.as_str())])
        .collect();
    let r = post(addr, "/console/actions/delete-ip-group", &del, &[]).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("Please confirm") && r.body.contains("name=\"confirmed\" value=\"yes\""),
        "{}",
        r.body
    );
    assert_eq!(
        c.describe_ip_groups()
            .group_ids(&gid)
            .send()
            .await
            .expect("d")
            .result()
            .len(),
        1
    );
    let mut yes = del.clone();
    yes.push(("confirmed", "yes"));
    let (_, page) = act(addr, "delete-ip-group", &yes).await;
    assert!(page.body.contains("Deleted IP group"), "{}", page.body);
    assert!(c
        .describe_ip_groups()
        .group_ids(&gid)
        .send()
        .await
        .expect("d")
        .result()
        .is_empty());
    // Deleting it again is refused with AWS's error.
    let (_, page) = act(addr, "delete-ip-group", &yes).await;
    assert!(page.body.contains("ResourceNotFoundException"), "{}", page.body);

    // Forms from another site are refused.
    let r = post(
        addr,
        "/console/actions/create-ip-group",
        &with(&[("name", "evil")]),
        &[("Origin", "http://evil.example")],
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(c
        .describe_ip_groups()
        .send()
        .await
        .expect("d")
        .result()
        .iter()
        .all(|g| g.group_name() != Some("evil")));

    // The activity log has the SDK's calls and the console's, filterable.
    let a = get(
        addr,
        &format!("/console/activity?account={account}&region=us-east-1&protocol=console"),
        "",
    )
    .await;
    assert!(
        a.body.contains("CreateIpGroup") && a.body.contains("DeleteIpGroup"),
        "{}",
        a.body
    );
    assert!(!a.body.contains("DescribeIpGroups"), "protocol filter");
    let a = get(
        addr,
        &format!("/console/activity?account={account}&region=us-east-1&protocol=json&status=ok"),
        "",
    )
    .await;
    assert!(
        a.body.contains("DescribeIpGroups") && a.body.contains(&gid),
        "{}",
        a.body
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_mode_asks_to_sign_in_and_binds_the_account() {
    let server = TestServer::start_with(
        Engine::Memory,
        &[
            "--auth",
            "strict",
            "--credentials",
            "AKIACONSOLE:s3cret:111122223333",
            "--admin-token",
            "tok-123",
        ],
    )
    .await;
    let addr = server.addr();
    let r = get(addr, "/console/", "").await;
    assert_eq!((r.status, r.location().as_str()), (303, "/console/login"));
    let r = get(addr, "/console/login", "").await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("Admin token") && r.body.contains("Access key"),
        "{}",
        r.body
    );
    let r = post(
        addr,
        "/console/login",
        &[("access_key", "AKIACONSOLE"), ("secret_key", "wrong")],
        &[],
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("not accepted"));
    assert_eq!(
        post(addr, "/console/actions/create-ip-group", &[("name", "x")], &[])
            .await
            .location(),
        "/console/login"
    );
    // An access key sees only its account, whatever the query asks.
    let r = post(
        addr,
        "/console/login",
        &[("access_key", "AKIACONSOLE"), ("secret_key", "s3cret")],
        &[],
    )
    .await;
    assert_eq!(r.status, 303);
    let cookie = r.cookies();
    assert!(cookie.starts_with("ls_session="), "{cookie}");
    let page = get(addr, "/console/?account=999999999999&region=us-east-1", &cookie).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("111122223333") && !page.body.contains("999999999999"),
        "{}",
        page.body
    );
    // The admin token may pick any account.
    let r = post(addr, "/console/login", &[("token", "tok-123")], &[]).await;
    let admin = r.cookies();
    let page = get(addr, "/console/?account=999999999999&region=us-east-1", &admin).await;
    assert!(page.body.contains("999999999999"), "{}", page.body);
    // Signing out ends the session.
    post(addr, "/console/logout", &[], &[("Cookie", admin.as_str())]).await;
    assert_eq!(get(addr, "/console/", &admin).await.status, 303);
    server.stop().await;
}

// ---------------------------------------------------------------- browser

mod browser {
    use super::*;
    use fantoccini::{Client, ClientBuilder, Locator};

    const DRIVER: &str = "/usr/bin/chromedriver";

    /// chromedriver on a free port; killed on drop.
    struct Driver(std::process::Child, u16);

    impl Drop for Driver {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn driver_path() -> Option<String> {
        if std::path::Path::new(DRIVER).exists() {
            return Some(DRIVER.to_string());
        }
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("chromedriver"))
                .find(|f| f.exists())
                .map(|f| f.display().to_string())
        })
    }

    async fn start_driver() -> Option<Driver> {
        let Some(path) = driver_path() else {
            if std::env::var("LOCALSPACES_SKIP_BROWSER").as_deref() == Ok("1") {
                eprintln!("chromedriver not installed: browser test skipped (LOCALSPACES_SKIP_BROWSER=1)");
                return None;
            }
            panic!(
                "chromedriver is not installed: the console's browser tests need Debian's `chromium` and \
                 `chromium-driver` (apt-get install -y chromium chromium-driver), or set \
                 LOCALSPACES_SKIP_BROWSER=1 to skip them"
            );
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = std::process::Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let d = Driver(child, port);
        let until = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "chromedriver did not listen within 20 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(d)
    }

    async fn browser(d: &Driver) -> Client {
        let mut caps = serde_json::Map::new();
        let mut opts = serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--hide-scrollbars", "--force-prefers-reduced-motion"],
        });
        if std::path::Path::new("/usr/bin/chromium").exists() {
            opts["binary"] = serde_json::json!("/usr/bin/chromium");
        }
        caps.insert("goog:chromeOptions".into(), opts);
        ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", d.1))
            .await
            .expect("WebDriver session in headless Chromium")
    }

    fn shots_dir() -> std::path::PathBuf {
        let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
        std::fs::create_dir_all(&d).expect("screenshot dir");
        d
    }

    async fn shot(c: &Client, name: &str) {
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(shots_dir().join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// The text of `css`, waiting up to 15 s for it to exist (a click's page may still load).
    async fn text_of(c: &Client, css: &str) -> String {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            match c.find(Locator::Css(css)).await {
                Ok(e) => return e.text().await.expect("text"),
                Err(e) => assert!(Instant::now() < until, "{css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css`'s text contains `needle` (the page itself changes it: no reload).
    async fn wait_text(c: &Client, css: &str, needle: &str, secs: u64) -> String {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let t = match c.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if t.contains(needle) {
                return t;
            }
            assert!(
                Instant::now() < until,
                "{css} never showed {needle:?} (last: {t:?})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn ws_state(c: &aws_sdk_workspaces::Client, id: &str) -> String {
        c.describe_workspaces()
            .workspace_ids(id)
            .send()
            .await
            .expect("describe")
            .workspaces()[0]
            .state()
            .expect("state")
            .as_str()
            .to_string()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn console_in_a_browser() {
        let Some(driver) = start_driver().await else {
            return;
        };
        // `fast` timing, with creation held 4 s so that PENDING is on screen after the
        // redirect even on a slow CI machine.
        let server = TestServer::start_with(Engine::Memory, &["--timing", "fast,workspace_create=4"]).await;
        let account = random_account();
        let sdk = server.client_as(&account, common::REGION);
        let base = server.url();
        let q = format!("account={account}&region=us-east-1");
        // Made through the SDK, seen in the console.
        let dir = registered_directory(&server, &account).await;
        sdk.create_ip_group()
            .group_name("sdk-office")
            .user_rules(common::rule("10.0.0.0/16", "hq"))
            .send()
            .await
            .expect("ip group");
        let c = browser(&driver).await;
        let (c2, sdk2) = (c.clone(), sdk.clone());
        let run = async move {
            let (c, sdk) = (c2, sdk2);
            c.goto(&format!("{base}/console/ip-groups?{q}"))
                .await
                .expect("goto");
            assert!(text_of(&c, "table.list tbody").await.contains("sdk-office"));
            shot(&c, "ip-groups").await;
            c.goto(&format!("{base}/console/directories?{q}"))
                .await
                .expect("goto");
            assert!(text_of(&c, "table.list tbody").await.contains(&dir));
            shot(&c, "directories").await;

            // Launch a WorkSpace in the console and watch it go PENDING → AVAILABLE live.
            c.goto(&format!("{base}/console/workspaces?{q}"))
                .await
                .expect("goto");
            c.find(Locator::Css("#launch-users"))
                .await
                .expect("users")
                .send_keys("alice")
                .await
                .expect("type");
            c.find(Locator::Css("#launch-tag-key"))
                .await
                .expect("tag")
                .send_keys("team")
                .await
                .expect("type");
            c.find(Locator::Css(
                "form[action$='launch-workspaces'] button[type=submit]",
            ))
            .await
            .expect("launch button")
            .click()
            .await
            .expect("click");
            let flash = wait_text(&c, ".flash", "Launching 1 WorkSpace", 15).await;
            let ws_id = flash
                .split_whitespace()
                .find(|w| w.starts_with("ws-"))
                .expect("id in the flash")
                .to_string();
            assert!(
                text_of(&c, "table.list tbody").await.contains("PENDING"),
                "starts PENDING"
            );
            c.execute("window.__noReload = 1;", vec![]).await.expect("mark");
            wait_text(&c, "table.list tbody", "AVAILABLE", 30).await;
            let marker = c
                .execute("return window.__noReload || 0;", vec![])
                .await
                .expect("marker");
            assert_eq!(
                marker,
                serde_json::json!(1),
                "the list must update without a reload"
            );
            let summary = text_of(&c, ".summary").await;
            assert!(summary.contains("AVAILABLE"), "{summary}");
            assert_eq!(ws_state(&sdk, &ws_id).await, "AVAILABLE");
            let tags = sdk
                .describe_tags()
                .resource_id(&ws_id)
                .send()
                .await
                .expect("tags");
            assert_eq!(tags.tag_list()[0].key(), "team");
            shot(&c, "workspaces").await;
            c.goto(&format!("{base}/console/?{q}")).await.expect("goto");
            wait_text(&c, "#card-workspaces", "WorkSpaces", 5).await;
            shot(&c, "dashboard").await;

            // Refused: AWS stops only AUTO_STOP and MANUAL WorkSpaces; the error is shown.
            c.goto(&format!("{base}/console/workspaces/{ws_id}?{q}"))
                .await
                .expect("goto");
            shot(&c, "workspace-detail").await;
            c.find(Locator::Id("action-stop"))
                .await
                .expect("stop")
                .click()
                .await
                .expect("click");
            let flash = wait_text(&c, ".flash", "AWS refused the request", 15).await;
            assert!(flash.contains("Refused"), "{flash}");
            assert_eq!(
                c.find(Locator::Css(".flash"))
                    .await
                    .expect("flash")
                    .attr("role")
                    .await
                    .expect("role"),
                Some("alert".to_string())
            );
            assert_eq!(ws_state(&sdk, &ws_id).await, "AVAILABLE");
            shot(&c, "refused").await;

            // Modify the running mode in the console; the SDK sees it.
            c.find(Locator::Css("#mod-mode"))
                .await
                .expect("mode")
                .select_by_value("AUTO_STOP")
                .await
                .expect("select");
            c.find(Locator::Css(
                "form[action$='modify-workspace'] button[type=submit]",
            ))
            .await
            .expect("save")
            .click()
            .await
            .expect("click");
            wait_text(&c, ".flash", "Modifying the properties", 15).await;
            let mode = sdk
                .describe_workspaces()
                .workspace_ids(&ws_id)
                .send()
                .await
                .expect("d")
                .workspaces()[0]
                .workspace_properties()
                .and_then(|p| p.running_mode())
                .map(|m| m.as_str().to_string());
            assert_eq!(mode.as_deref(), Some("AUTO_STOP"));
            wait_text(&c, ".state-line", "AVAILABLE", 30).await;

            // Now Stop works; the SDK sees it stopping, the badge follows live.
            c.find(Locator::Id("action-stop"))
                .await
                .expect("stop")
                .click()
                .await
                .expect("click");
            wait_text(&c, ".flash", "Stopping WorkSpace", 15).await;
            let st = ws_state(&sdk, &ws_id).await;
            assert!(st == "STOPPING" || st == "STOPPED", "{st}");
            wait_text(&c, ".state-line", "STOPPED", 30).await;

            // Terminate asks for confirmation first.
            c.find(Locator::Id("action-terminate"))
                .await
                .expect("terminate")
                .click()
                .await
                .expect("click");
            wait_text(&c, "h1", "Please confirm", 15).await;
            assert_eq!(
                ws_state(&sdk, &ws_id).await,
                "STOPPED",
                "nothing happens before confirming"
            );
            shot(&c, "confirm").await;
            c.find(Locator::Id("confirm-yes"))
                .await
                .expect("yes")
                .click()
                .await
                .expect("click");
            wait_text(&c, ".flash", "Terminating WorkSpace", 15).await;
            let st = ws_state(&sdk, &ws_id).await;
            assert!(st == "TERMINATING" || st == "TERMINATED", "{st}");

            // The activity log lists the SDK's and the console's calls.
            c.goto(&format!("{base}/console/activity?{q}"))
                .await
                .expect("goto");
            let log = text_of(&c, "table.list tbody").await;
            for op in [
                "CreateIpGroup",
                "CreateWorkspaces",
                "StopWorkspaces",
                "TerminateWorkspaces",
                "DescribeWorkspaces",
            ] {
                assert!(log.contains(op), "activity lacks {op}: {log}");
            }
            shot(&c, "activity").await;

            // Phone width: still usable.
            c.set_window_size(390, 844).await.expect("resize");
            c.goto(&format!("{base}/console/workspaces?{q}"))
                .await
                .expect("goto");
            shot(&c, "workspaces-390").await;
            let overflow = c
                .execute(
                    "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
                    vec![],
                )
                .await
                .expect("width");
            assert_eq!(
                overflow,
                serde_json::json!(true),
                "no horizontal scrolling at 390 px"
            );
        };
        // Close the browser even when an assertion fails.
        let outcome = tokio::spawn(run).await;
        let _ = c.close().await;
        drop(driver);
        server.stop().await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}
