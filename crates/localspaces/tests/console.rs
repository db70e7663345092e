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
        (
            format!("/console/bundles?{q}&owner=AMAZON"),
            vec![bundle.as_str(), "Amazon"],
        ),
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
        (
            format!("/console/pools?{q}"),
            vec!["WorkSpaces Pools", "Create a WorkSpaces Pool"],
        ),
        (
            format!("/console/account?{q}"),
            vec!["DedicatedTenancySupport", "Account links", "Send invitation"],
        ),
        (
            format!("/console/workspaces/{ws}?{q}"),
            vec!["Create an image from this WorkSpace"],
        ),
        (
            format!("/console/directories/{dir}?{q}"),
            vec![
                "Self-service permissions",
                "WorkSpace creation properties",
                "Access from devices",
                "IP access control groups",
            ],
        ),
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
    // A malformed id in the URL is the client's mistake (400 or 404), never a 502.
    for path in [
        "workspaces/not-a-workspace",
        "directories/d-%ZZ",
        "bundles/wsb-%3Cx%3E",
        "images/..",
        "ip-groups/wsipg-",
        "aliases/x%20y",
    ] {
        let r = get(addr, &format!("/console/{path}?{q}"), "").await;
        assert!(
            r.status == 400 || r.status == 404,
            "GET {path}: {} {}",
            r.status,
            r.body
        );
        assert!(r.body.contains("role=\"alert\""), "GET {path}: {}", r.body);
    }
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

/// POSTs an action with the scope and `back`, then follows the redirect: the page's flash
/// text (panics when the action is refused unless `refused` says it should be).
async fn act_ok(addr: SocketAddr, account: &str, action: &str, form: &[(&str, &str)]) -> String {
    let mut f: Vec<(&str, &str)> = vec![
        ("account", account),
        ("region", "us-east-1"),
        ("confirmed", "yes"),
    ];
    f.extend_from_slice(form);
    let (_, page) = act(addr, action, &f).await;
    let flash = page
        .body
        .split("class=\"flash flash-")
        .nth(1)
        .and_then(|b| b.split("</div>").next())
        .unwrap_or_else(|| panic!("{action}: no flash on {}", page.body))
        .to_string();
    assert!(flash.starts_with("ok"), "{action} was refused: {flash}");
    flash
}

/// The flash of an action AWS refuses.
async fn act_refused(addr: SocketAddr, account: &str, action: &str, form: &[(&str, &str)]) -> String {
    let mut f: Vec<(&str, &str)> = vec![
        ("account", account),
        ("region", "us-east-1"),
        ("confirmed", "yes"),
    ];
    f.extend_from_slice(form);
    let (_, page) = act(addr, action, &f).await;
    assert!(page.body.contains("role=\"alert\""), "{action}: {}", page.body);
    page.body
}

/// The id after `prefix` in a flash text (`ws-…`, `wsi-…`).
fn id_in(text: &str, prefix: &str) -> String {
    let i = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {text}"));
    text[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// Images, custom bundles, aliases, pools, directory settings, the account and bulk
/// WorkSpace actions: each through the console, checked through the SDK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_family_goes_through_the_api() {
    let server = TestServer::start(Engine::Memory).await;
    let addr = server.addr();
    let account = random_account();
    let other = random_account();
    let (dir, _bundle, ws) = seed(&server, &account).await;
    let c = server.client_as(&account, common::REGION);
    let a = account.as_str();
    let q = format!("account={account}&region=us-east-1");

    // Images: capture, share and unshare, copy into another Region, delete (confirmed).
    let flash = act_ok(
        addr,
        a,
        "create-image",
        &[
            ("workspace_id", &ws),
            ("name", "golden"),
            ("description", "from the console"),
        ],
    )
    .await;
    let image = id_in(&flash, "wsi-");
    settle(&server).await;
    let img = c
        .describe_workspace_images()
        .image_ids(&image)
        .send()
        .await
        .expect("images");
    assert_eq!(img.images()[0].name(), Some("golden"));
    act_ok(
        addr,
        a,
        "share-image",
        &[("image_id", &image), ("shared_account_id", &other)],
    )
    .await;
    let perms = c
        .describe_workspace_image_permissions()
        .image_id(&image)
        .send()
        .await
        .expect("perms");
    assert_eq!(
        perms.image_permissions()[0].shared_account_id(),
        Some(other.as_str())
    );
    let page = get(addr, &format!("/console/images/{image}?{q}"), "").await;
    assert!(
        page.body.contains(&other) && page.body.contains("Stop sharing"),
        "{}",
        page.body
    );
    act_ok(
        addr,
        a,
        "unshare-image",
        &[("image_id", &image), ("shared_account_id", &other)],
    )
    .await;
    let perms = c
        .describe_workspace_image_permissions()
        .image_id(&image)
        .send()
        .await
        .expect("perms");
    assert!(perms.image_permissions().is_empty());
    let (_, page) = act(
        addr,
        "copy-image",
        &[
            ("account", a),
            ("region", "us-west-2"),
            ("source_image_id", &image),
            ("source_region", "us-east-1"),
            ("name", "golden-west"),
        ],
    )
    .await;
    assert!(page.body.contains("Copying image"), "{}", page.body);
    let west = server.client_as(&account, "us-west-2");
    let copies = west
        .describe_workspace_images()
        .send()
        .await
        .expect("west images");
    assert!(copies.images().iter().any(|i| i.name() == Some("golden-west")));
    let refused = act_refused(
        addr,
        a,
        "share-image",
        &[("image_id", &image), ("shared_account_id", "12345")],
    )
    .await;
    assert!(refused.contains("AWS refused the request"), "{refused}");

    // Custom bundles: create from the image, update to a second image, delete.
    let flash = act_ok(
        addr,
        a,
        "create-bundle",
        &[
            ("image_id", &image),
            ("name", "golden-bundle"),
            ("description", "d"),
            ("compute_type", "STANDARD"),
            ("root_storage", "80"),
            ("user_storage", "50"),
        ],
    )
    .await;
    let bundle = id_in(&flash, "wsb-");
    let b = c
        .describe_workspace_bundles()
        .bundle_ids(&bundle)
        .send()
        .await
        .expect("bundle");
    assert_eq!(b.bundles()[0].image_id(), Some(image.as_str()));
    let flash = act_ok(
        addr,
        a,
        "create-image",
        &[
            ("workspace_id", &ws),
            ("name", "golden2"),
            ("description", "second"),
        ],
    )
    .await;
    let image2 = id_in(&flash, "wsi-");
    settle(&server).await;
    let page = get(addr, &format!("/console/bundles/{bundle}?{q}"), "").await;
    assert!(
        page.body.contains(&image2) && page.body.contains("Update bundle"),
        "{}",
        page.body
    );
    act_ok(
        addr,
        a,
        "update-bundle",
        &[("bundle_id", &bundle), ("image_id", &image2)],
    )
    .await;
    let b = c
        .describe_workspace_bundles()
        .bundle_ids(&bundle)
        .send()
        .await
        .expect("bundle");
    assert_eq!(b.bundles()[0].image_id(), Some(image2.as_str()));
    let r = post(
        addr,
        "/console/actions/delete-bundle",
        &[("account", a), ("region", "us-east-1"), ("bundle_id", &bundle)],
        &[],
    )
    .await;
    assert!(r.status == 200 && r.body.contains("Please confirm"), "{}", r.body);
    act_ok(addr, a, "delete-bundle", &[("bundle_id", &bundle)]).await;
    act_ok(addr, a, "delete-image", &[("image_id", &image)]).await;
    let left = c
        .describe_workspace_images()
        .image_ids(&image)
        .send()
        .await
        .expect("images");
    assert!(left.images().is_empty());

    // Connection aliases: create, share, associate with the directory, disassociate, delete.
    let flash = act_ok(
        addr,
        a,
        "create-alias",
        &[("connection_string", "desk.example.com")],
    )
    .await;
    let alias = id_in(&flash, "wsca-");
    settle(&server).await;
    act_ok(
        addr,
        a,
        "share-alias",
        &[("alias_id", &alias), ("shared_account_id", &other)],
    )
    .await;
    let perms = c
        .describe_connection_alias_permissions()
        .alias_id(&alias)
        .send()
        .await
        .expect("perms");
    assert_eq!(
        perms.connection_alias_permissions()[0].shared_account_id(),
        other.as_str()
    );
    act_ok(
        addr,
        a,
        "associate-alias",
        &[("alias_id", &alias), ("resource_id", &dir)],
    )
    .await;
    settle(&server).await;
    let page = get(addr, &format!("/console/aliases/{alias}?{q}"), "").await;
    assert!(
        page.body.contains("ASSOCIATED_WITH_OWNER_ACCOUNT") && page.body.contains("Disassociate"),
        "{}",
        page.body
    );
    let refused = act_refused(addr, a, "delete-alias", &[("alias_id", &alias)]).await;
    assert!(
        refused.contains("AWS refused the request"),
        "an associated alias cannot be deleted"
    );
    act_ok(addr, a, "disassociate-alias", &[("alias_id", &alias)]).await;
    settle(&server).await;
    let refused = act_refused(addr, a, "delete-alias", &[("alias_id", &alias)]).await;
    assert!(refused.contains("stop sharing it first"), "{refused}");
    act_ok(
        addr,
        a,
        "unshare-alias",
        &[("alias_id", &alias), ("shared_account_id", &other)],
    )
    .await;
    act_ok(addr, a, "delete-alias", &[("alias_id", &alias)]).await;

    // Directory settings: self-service, creation and access properties, IP groups.
    act_ok(
        addr,
        a,
        "modify-selfservice",
        &[
            ("directory_id", &dir),
            ("RestartWorkspace", "DISABLED"),
            ("RebuildWorkspace", "ENABLED"),
        ],
    )
    .await;
    act_ok(
        addr,
        a,
        "modify-creation-properties",
        &[
            ("directory_id", &dir),
            ("EnableInternetAccess", "true"),
            ("DefaultOu", "OU=Desks,DC=corp,DC=example,DC=com"),
        ],
    )
    .await;
    act_ok(
        addr,
        a,
        "modify-access-properties",
        &[
            ("directory_id", &dir),
            ("DeviceTypeLinux", "ALLOW"),
            ("DeviceTypeWeb", "ALLOW"),
        ],
    )
    .await;
    let group = c
        .create_ip_group()
        .group_name("office")
        .send()
        .await
        .expect("ip group")
        .group_id()
        .expect("id")
        .to_string();
    act_ok(
        addr,
        a,
        "associate-ip-group",
        &[("directory_id", &dir), ("group_id", &group)],
    )
    .await;
    let d = c
        .describe_workspace_directories()
        .directory_ids(&dir)
        .send()
        .await
        .expect("dir");
    let d = &d.directories()[0];
    assert_eq!(d.ip_group_ids(), std::slice::from_ref(&group));
    let sp = d.selfservice_permissions().expect("self-service");
    assert_eq!(sp.restart_workspace().map(|v| v.as_str()), Some("DISABLED"));
    assert_eq!(sp.rebuild_workspace().map(|v| v.as_str()), Some("ENABLED"));
    let cp = d.workspace_creation_properties().expect("creation");
    assert_eq!(cp.enable_internet_access(), Some(true));
    assert_eq!(cp.default_ou(), Some("OU=Desks,DC=corp,DC=example,DC=com"));
    let ap = d.workspace_access_properties().expect("access");
    assert_eq!(ap.device_type_linux().map(|v| v.as_str()), Some("ALLOW"));
    let page = get(addr, &format!("/console/directories/{dir}?{q}"), "").await;
    assert!(
        page.body.contains("Self-service permissions") && page.body.contains(&group),
        "{}",
        page.body
    );
    act_ok(
        addr,
        a,
        "disassociate-ip-group",
        &[("directory_id", &dir), ("group_id", &group)],
    )
    .await;
    let d = c
        .describe_workspace_directories()
        .directory_ids(&dir)
        .send()
        .await
        .expect("dir");
    assert!(d.directories()[0].ip_group_ids().is_empty());

    // Pools: a pools directory, create, start, a user session, update, stop, terminate.
    let flash = act_ok(
        addr,
        a,
        "register-pools-directory",
        &[("name", "pools-dir"), ("description", "pools")],
    )
    .await;
    let pdir = id_in(&flash, "wsd-");
    settle(&server).await;
    let page = get(addr, &format!("/console/pools?{q}"), "").await;
    assert!(
        page.body.contains(&pdir) && page.body.contains("Create a WorkSpaces Pool"),
        "{}",
        page.body
    );
    let amazon = c
        .describe_workspace_bundles()
        .owner("AMAZON")
        .send()
        .await
        .expect("bundles");
    let pbundle = amazon.bundles()[0].bundle_id().expect("id").to_string();
    let flash = act_ok(
        addr,
        a,
        "create-pool",
        &[
            ("name", "sales"),
            ("description", "Sales"),
            ("directory_id", &pdir),
            ("bundle_id", &pbundle),
            ("desired_sessions", "2"),
            ("running_mode", "AUTO_STOP"),
        ],
    )
    .await;
    let pool = id_in(&flash, "wspool-");
    settle(&server).await;
    let pool_state = |c: aws_sdk_workspaces::Client, id: String| async move {
        let p = c
            .describe_workspaces_pools()
            .pool_ids(&id)
            .send()
            .await
            .expect("pools");
        let p = &p.workspaces_pools()[0];
        (
            p.state().as_str().to_string(),
            p.capacity_status().map(|s| s.desired_user_sessions()),
            p.description().map(str::to_string),
        )
    };
    assert_eq!(pool_state(c.clone(), pool.clone()).await.0, "STOPPED");
    act_ok(addr, a, "start-pool", &[("pool_id", &pool)]).await;
    settle(&server).await;
    assert_eq!(pool_state(c.clone(), pool.clone()).await.0, "RUNNING");
    let session = common::admin(
        &server,
        &format!("pool-session?account={account}&region=us-east-1&pool_id={pool}&user=alice"),
    )
    .await["session_id"]
        .as_str()
        .expect("session id")
        .to_string();
    let page = get(addr, &format!("/console/pools/{pool}?{q}"), "").await;
    assert!(
        page.body.contains("alice") && page.body.contains(&session),
        "{}",
        page.body
    );
    act_ok(addr, a, "terminate-pool-session", &[("session_id", &session)]).await;
    settle(&server).await;
    let sessions = c
        .describe_workspaces_pool_sessions()
        .pool_id(&pool)
        .send()
        .await
        .expect("sessions");
    assert!(
        sessions.sessions().iter().all(|x| x.session_id() != session),
        "{sessions:?}"
    );
    act_ok(
        addr,
        a,
        "update-pool",
        &[
            ("pool_id", &pool),
            ("description", "Sales and support"),
            ("desired_sessions", "3"),
        ],
    )
    .await;
    settle(&server).await;
    let (state, desired, desc) = pool_state(c.clone(), pool.clone()).await;
    assert_eq!(
        (state.as_str(), desired, desc.as_deref()),
        ("RUNNING", Some(3), Some("Sales and support"))
    );
    act_ok(addr, a, "stop-pool", &[("pool_id", &pool)]).await;
    settle(&server).await;
    act_ok(addr, a, "terminate-pool", &[("pool_id", &pool)]).await;
    assert_eq!(pool_state(c.clone(), pool.clone()).await.0, "DELETING");

    // Account: BYOL is refused until the account is eligible; links between two accounts.
    let refused = act_refused(addr, a, "modify-account", &[("cidr", "10.200.0.0/16")]).await;
    assert!(refused.contains("AccessDeniedException"), "{refused}");
    common::admin(
        &server,
        &format!("byol?account={account}&region=us-east-1&eligible=true"),
    )
    .await;
    let page = get(addr, &format!("/console/account?{q}"), "").await;
    assert!(
        page.body
            .contains("<datalist id=\"cidr-ranges\"><option value=\"10.0.0.0&#x2f;16\">"),
        "{}",
        page.body
    );
    act_ok(addr, a, "modify-account", &[("cidr", "10.200.0.0/16")]).await;
    settle(&server).await;
    let page = get(addr, &format!("/console/account?{q}"), "").await;
    assert!(
        page.body.contains("10.200.0.0&#x2f;16") && page.body.contains("badge-enabled\">ENABLED"),
        "{}",
        page.body
    );
    let flash = act_ok(addr, a, "create-account-link", &[("target_account_id", &other)]).await;
    let link = id_in(&flash, "link-");
    let theirs = get(
        addr,
        &format!("/console/account?account={other}&region=us-east-1"),
        "",
    )
    .await;
    assert!(
        theirs.body.contains(&link) && theirs.body.contains("Accept"),
        "{}",
        theirs.body
    );
    act_ok(addr, &other, "accept-account-link", &[("link_id", &link)]).await;
    let l = c.get_account_link().link_id(&link).send().await.expect("link");
    assert_eq!(
        l.account_link()
            .and_then(|l| l.account_link_status())
            .map(|s| s.as_str()),
        Some("LINKED")
    );
    let third = random_account();
    let flash = act_ok(addr, a, "create-account-link", &[("target_account_id", &third)]).await;
    let link2 = id_in(&flash, "link-");
    act_ok(addr, &third, "reject-account-link", &[("link_id", &link2)]).await;
    let refused = act_refused(addr, a, "delete-account-link", &[("link_id", &link)]).await;
    assert!(
        refused.contains("ConflictException"),
        "a LINKED link stays: {refused}"
    );
    let fourth = random_account();
    let flash = act_ok(addr, a, "create-account-link", &[("target_account_id", &fourth)]).await;
    let link3 = id_in(&flash, "link-");
    let r = post(
        addr,
        "/console/actions/delete-account-link",
        &[("account", a), ("region", "us-east-1"), ("link_id", &link3)],
        &[],
    )
    .await;
    assert!(r.status == 200 && r.body.contains("Please confirm"), "{}", r.body);
    act_ok(addr, a, "delete-account-link", &[("link_id", &link3)]).await;
    let l = c.get_account_link().link_id(&link2).send().await.expect("link");
    assert_eq!(
        l.account_link()
            .and_then(|l| l.account_link_status())
            .map(|s| s.as_str()),
        Some("REJECTED")
    );

    // Bulk: reboot two WorkSpaces at once; terminate asks first.
    let out = c
        .create_workspaces()
        .workspaces(
            aws_sdk_workspaces::types::WorkspaceRequest::builder()
                .directory_id(&dir)
                .user_name("second")
                .bundle_id(&pbundle)
                .build()
                .expect("request"),
        )
        .send()
        .await
        .expect("create");
    let ws2 = out.pending_requests()[0].workspace_id().expect("id").to_string();
    settle(&server).await;
    let flash = act_ok(
        addr,
        a,
        "bulk-workspaces",
        &[("op", "reboot"), ("workspace_ids", &ws), ("workspace_ids", &ws2)],
    )
    .await;
    assert!(flash.contains("Rebooting 2 WorkSpace(s)"), "{flash}");
    let states = c
        .describe_workspaces()
        .workspace_ids(&ws)
        .workspace_ids(&ws2)
        .send()
        .await
        .expect("d");
    assert!(
        states
            .workspaces()
            .iter()
            .all(|w| w.state().map(|s| s.as_str()) == Some("REBOOTING")),
        "{states:?}"
    );
    settle(&server).await;
    let r = post(
        addr,
        "/console/actions/bulk-workspaces",
        &[
            ("account", a),
            ("region", "us-east-1"),
            ("op", "terminate"),
            ("workspace_ids", &ws),
            ("workspace_ids", &ws2),
        ],
        &[],
    )
    .await;
    assert!(
        r.status == 200 && r.body.contains("Please confirm") && r.body.contains(&ws2),
        "{}",
        r.body
    );
    let refused = act_refused(
        addr,
        a,
        "bulk-workspaces",
        &[("op", "stop"), ("workspace_ids", &ws)],
    )
    .await;
    assert!(
        refused.contains(&format!("{ws}:")),
        "an ALWAYS_ON WorkSpace does not stop: {refused}"
    );
    let refused = act_refused(addr, a, "bulk-workspaces", &[("op", "start")]).await;
    assert!(refused.contains("select at least one"), "{refused}");
    server.stop().await;
}

/// Lists and their live fragments show one API page at a time (the API's own page size),
/// with a link to the next page; the fragment polls only the page shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_fragments_are_paginated() {
    let server = TestServer::start(Engine::Memory).await;
    let addr = server.addr();
    let account = random_account();
    let (dir, bundle, _) = seed(&server, &account).await;
    let c = server.client_as(&account, common::REGION);
    // 26 WorkSpaces in all (one seeded): DescribeWorkspaces pages hold 25.
    let requests: Vec<_> = (0..25)
        .map(|i| {
            aws_sdk_workspaces::types::WorkspaceRequest::builder()
                .directory_id(&dir)
                .user_name(format!("user{i:02}"))
                .bundle_id(&bundle)
                .build()
                .expect("request")
        })
        .collect();
    let out = c
        .create_workspaces()
        .set_workspaces(Some(requests))
        .send()
        .await
        .expect("create");
    assert_eq!(out.pending_requests().len(), 25);
    let q = format!("account={account}&region=us-east-1");
    let count_rows = |html: &str| html.matches("<tr>").count();
    let first = get(addr, &format!("/console/workspaces?{q}"), "").await;
    assert_eq!(first.status, 200);
    let tbody = first
        .body
        .split("poll-body\">")
        .nth(1)
        .and_then(|b| b.split("</tbody>").next())
        .expect("rows");
    assert_eq!(count_rows(tbody), 25, "{tbody}");
    let next = first
        .body
        .split("id=\"page-next\"")
        .next()
        .and_then(|b| b.rsplit("href=\"").next())
        .and_then(|h| h.split('"').next())
        .expect("a next-page link")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    assert!(next.contains("page="), "{next}");
    let poll = first
        .body
        .split("data-poll=\"")
        .nth(1)
        .and_then(|b| b.split('"').next())
        .expect("poll URL")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    let frag = get(addr, &poll, "").await;
    let v: serde_json::Value = serde_json::from_str(&frag.body).expect("fragment JSON");
    assert_eq!(count_rows(v["rows"].as_str().expect("rows")), 25);
    let second = get(addr, &next, "").await;
    assert_eq!(second.status, 200, "{next}: {}", second.body);
    let tbody = second
        .body
        .split("poll-body\">")
        .nth(1)
        .and_then(|b| b.split("</tbody>").next())
        .expect("rows");
    assert_eq!(count_rows(tbody), 1, "{tbody}");
    assert!(second.body.contains("page-first") && !second.body.contains("page-next"));
    let poll = second
        .body
        .split("data-poll=\"")
        .nth(1)
        .and_then(|b| b.split('"').next())
        .expect("poll URL")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    assert!(
        poll.contains("page="),
        "the fragment polls the page shown: {poll}"
    );
    let v: serde_json::Value = serde_json::from_str(&get(addr, &poll, "").await.body).expect("fragment JSON");
    assert_eq!(count_rows(v["rows"].as_str().expect("rows")), 1);
    // The activity log pages by 100 calls.
    for _ in 0..105 {
        c.describe_workspace_directories().send().await.expect("describe");
    }
    let act1 = get(
        addr,
        &format!("/console/activity?{q}&op=DescribeWorkspaceDirectories"),
        "",
    )
    .await;
    assert_eq!(act1.body.matches("<tr>").count(), 100 + 1, "header and 100 rows");
    let older = act1
        .body
        .split("id=\"page-next\"")
        .next()
        .and_then(|b| b.rsplit("href=\"").next())
        .and_then(|h| h.split('"').next())
        .expect("an older-calls link")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&");
    assert!(
        older.contains("op=DescribeWorkspaceDirectories") && older.contains("skip=100"),
        "{older}"
    );
    let act2 = get(addr, &older, "").await;
    assert!(
        act2.body.matches("<tr>").count() > 1 && act2.body.contains("page-first"),
        "{}",
        act2.body
    );
    // A forged page token is refused in AWS's words, as the client's mistake.
    let r = get(addr, &format!("/console/workspaces?{q}&page=bogus"), "").await;
    assert_eq!(r.status, 400, "{}", r.body);
    server.stop().await;
}

/// Failed sign-ins are limited per client address (right credentials included while locked
/// out), and a session unused for 30 minutes of the service clock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_rate_limited_and_idle_sessions_expire() {
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
    let token = [("X-Localspaces-Admin-Token", "tok-123")];
    let advance = |secs: u64| async move {
        let r = post(
            addr,
            &format!("/_localspaces/advance?seconds={secs}"),
            &[],
            &token,
        )
        .await;
        assert_eq!(r.status, 200, "advance: {}", r.body);
    };
    for i in 0..5 {
        let r = post(addr, "/console/login", &[("token", &format!("guess-{i}"))], &[]).await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.body);
    }
    // Locked out now, even with the right token, for a minute.
    let r = post(addr, "/console/login", &[("token", "tok-123")], &[]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Too many failed sign-ins"), "{}", r.body);
    let wait: u64 = r.header("retry-after")[0].parse().expect("Retry-After seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let r = post(
        addr,
        "/console/login",
        &[("access_key", "AKIACONSOLE"), ("secret_key", "s3cret")],
        &[],
    )
    .await;
    assert_eq!(r.status, 429);
    advance(61).await;
    let r = post(addr, "/console/login", &[("token", "tok-123")], &[]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let session = r.cookies();
    // Use keeps the session alive; 30 idle minutes end it.
    advance(25 * 60).await;
    assert_eq!(get(addr, "/console/", &session).await.status, 200);
    advance(25 * 60).await;
    assert_eq!(get(addr, "/console/", &session).await.status, 200);
    advance(31 * 60).await;
    let r = get(addr, "/console/", &session).await;
    assert_eq!((r.status, r.location().as_str()), (303, "/console/login"));
    server.stop().await;
}

// ---------------------------------------------------------------- browser

mod browser {
    use super::*;
    use crate::common::{on_path, Chromedriver};
    use fantoccini::{Client, ClientBuilder, Locator};

    const DRIVER: &str = "/usr/bin/chromedriver";

    fn driver_path() -> Option<std::path::PathBuf> {
        let debian = std::path::Path::new(DRIVER);
        if debian.exists() {
            return Some(debian.to_path_buf());
        }
        on_path("chromedriver")
    }

    async fn start_driver() -> Option<Chromedriver> {
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
        Some(Chromedriver::start(&path).await)
    }

    async fn browser(d: &Chromedriver) -> Client {
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
            .connect(&format!("http://127.0.0.1:{}", d.port))
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

    async fn admin_post(addr: SocketAddr, route: &str) {
        let (status, body) = common::http(
            addr,
            &format!("/_localspaces/{route}"),
            vec![("X-Localspaces-Admin".into(), "1".into())],
            Vec::new(),
        )
        .await;
        assert_eq!(status, 200, "{route}: {body}");
    }

    async fn fill(c: &Client, css: &str, text: &str) {
        let e = c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    async fn click(c: &Client, css: &str) {
        c.find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Submits the form posting to `action` (its submit button) and waits for the flash.
    async fn submit(c: &Client, action: &str, needle: &str) -> String {
        click(c, &format!("form[action$='/{action}'] button[type=submit]")).await;
        let flash = wait_text(c, ".flash", needle, 15).await;
        assert!(!flash.contains("Refused"), "{action}: {flash}");
        flash
    }

    fn id_after(text: &str, prefix: &str) -> String {
        let i = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no {prefix} in {text}"));
        text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect()
    }

    /// One action of each family added beside the WorkSpace actions, through real clicks.
    async fn families(
        c: &Client,
        sdk: &aws_sdk_workspaces::Client,
        addr: SocketAddr,
        base: &str,
        account: &str,
        dir: &str,
    ) {
        let q = format!("account={account}&region=us-east-1");
        let other = random_account();
        let bundle = sdk
            .describe_workspace_bundles()
            .owner("AMAZON")
            .send()
            .await
            .expect("bundles")
            .bundles()[0]
            .bundle_id()
            .expect("id")
            .to_string();
        let mut ids = Vec::new();
        for user in ["bob", "carol"] {
            let out = sdk
                .create_workspaces()
                .workspaces(
                    aws_sdk_workspaces::types::WorkspaceRequest::builder()
                        .directory_id(dir)
                        .user_name(user)
                        .bundle_id(&bundle)
                        .build()
                        .expect("request"),
                )
                .send()
                .await
                .expect("create");
            ids.push(out.pending_requests()[0].workspace_id().expect("id").to_string());
        }
        admin_post(addr, "settle").await;

        // Images: capture from a WorkSpace, share, make a bundle of it.
        c.goto(&format!("{base}/console/workspaces/{}?{q}", ids[0]))
            .await
            .expect("goto");
        fill(c, "#img-name", "golden").await;
        fill(c, "#img-desc", "captured in the browser").await;
        let image = id_after(&submit(c, "create-image", "Creating image").await, "wsi-");
        admin_post(addr, "settle").await;
        c.goto(&format!("{base}/console/images/{image}?{q}"))
            .await
            .expect("goto");
        fill(c, "#share-account", &other).await;
        submit(c, "share-image", "is shared with").await;
        let perms = sdk
            .describe_workspace_image_permissions()
            .image_id(&image)
            .send()
            .await
            .expect("perms");
        assert_eq!(perms.image_permissions().len(), 1);
        fill(c, "#bundle-name", "golden-bundle").await;
        fill(c, "#bundle-desc", "from the browser").await;
        let custom = id_after(&submit(c, "create-bundle", "Created bundle").await, "wsb-");
        shot(c, "bundles").await;
        assert!(text_of(c, "table.list tbody").await.contains(&custom));

        // Aliases: create, associate with the directory.
        c.goto(&format!("{base}/console/aliases?{q}"))
            .await
            .expect("goto");
        fill(c, "#alias-cs", "desk.example.com").await;
        let alias = id_after(
            &submit(c, "create-alias", "Created connection alias").await,
            "wsca-",
        );
        admin_post(addr, "settle").await;
        c.goto(&format!("{base}/console/aliases/{alias}?{q}"))
            .await
            .expect("goto");
        c.find(Locator::Css("#alias-dir"))
            .await
            .expect("dir")
            .select_by_value(dir)
            .await
            .expect("select");
        submit(c, "associate-alias", "Associating alias").await;
        shot(c, "alias-detail").await;

        // Directory settings: self-service permissions.
        c.goto(&format!("{base}/console/directories/{dir}?{q}"))
            .await
            .expect("goto");
        c.find(Locator::Css("#ss-RestartWorkspace"))
            .await
            .expect("select")
            .select_by_value("DISABLED")
            .await
            .expect("select");
        submit(c, "modify-selfservice", "self-service permissions").await;
        let d = sdk
            .describe_workspace_directories()
            .directory_ids(dir)
            .send()
            .await
            .expect("dir");
        let restart = d.directories()[0]
            .selfservice_permissions()
            .and_then(|p| p.restart_workspace())
            .map(|v| v.as_str().to_string());
        assert_eq!(restart.as_deref(), Some("DISABLED"));
        shot(c, "directory-settings").await;

        // Pools: register a pools directory, create a pool, start it.
        c.goto(&format!("{base}/console/directories?{q}"))
            .await
            .expect("goto");
        fill(c, "#pd-name", "pools-dir").await;
        fill(c, "#pd-desc", "for pools").await;
        submit(c, "register-pools-directory", "Registering pools directory").await;
        admin_post(addr, "settle").await;
        c.goto(&format!("{base}/console/pools?{q}")).await.expect("goto");
        fill(c, "#pool-name", "sales").await;
        fill(c, "#pool-cdesc", "Sales desktops").await;
        let pool = id_after(&submit(c, "create-pool", "Creating pool").await, "wspool-");
        admin_post(addr, "settle").await;
        c.goto(&format!("{base}/console/pools/{pool}?{q}"))
            .await
            .expect("goto");
        click(c, "#action-start-pool").await;
        wait_text(c, ".flash", "Starting pool", 15).await;
        admin_post(addr, "settle").await;
        wait_text(c, ".state-line", "RUNNING", 30).await;
        shot(c, "pool-detail").await;

        // Account: enable BYOL on an eligible account.
        admin_post(
            addr,
            &format!("byol?account={account}&region=us-east-1&eligible=true"),
        )
        .await;
        c.goto(&format!("{base}/console/account?{q}"))
            .await
            .expect("goto");
        fill(c, "#byol-cidr", "10.200.0.0/16").await;
        submit(c, "modify-account", "Enabling BYOL").await;
        fill(c, "#link-target", &other).await;
        submit(c, "create-account-link", "Invited account").await;
        shot(c, "account").await;

        // Bulk: reboot the two selected WorkSpaces; terminate asks first, Cancel keeps them.
        c.goto(&format!("{base}/console/workspaces?{q}"))
            .await
            .expect("goto");
        for id in &ids {
            click(c, &format!("input[type=checkbox][value='{id}']")).await;
        }
        click(c, "#bulk-reboot").await;
        wait_text(c, ".flash", "Rebooting 2 WorkSpace(s)", 15).await;
        for id in &ids {
            let st = ws_state(sdk, id).await;
            assert!(st == "REBOOTING" || st == "AVAILABLE", "{st}");
        }
        admin_post(addr, "settle").await;
        // By keyboard alone: Space ticks the row, Enter presses the button.
        c.find(Locator::Css(&format!("input[type=checkbox][value='{}']", ids[1])))
            .await
            .expect("checkbox")
            .send_keys(" ")
            .await
            .expect("space");
        c.find(Locator::Css("#bulk-terminate"))
            .await
            .expect("button")
            .send_keys("\u{E007}")
            .await
            .expect("enter");
        wait_text(c, "h1", "Please confirm", 15).await;
        assert!(text_of(c, ".confirm").await.contains(&ids[1]));
        click(c, "#confirm-cancel").await;
        wait_text(c, "h1", "WorkSpaces", 15).await;
        assert_eq!(
            ws_state(sdk, &ids[1]).await,
            "AVAILABLE",
            "cancelled: nothing terminated"
        );
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
        let addr = server.addr();
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

            // Every other action family, one form each, in the same session.
            families(&c, &sdk, addr, &base, &account, &dir).await;

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
