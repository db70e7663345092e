//! Connect from the console in headless Chromium (`--desktops local`): the WorkSpace page's
//! Connect button opens the desktop through noVNC in a canvas, and typing into its terminal
//! through the browser creates a file that desktop-exec then sees. The screenshot is kept in
//! `target/desktop-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` and the desktop packages (scripts/test.sh
//! installs them); `LOCALSPACES_SKIP_BROWSER=1` or `LOCALSPACES_SKIP_DESKTOPS=1` skips it.

mod common;

use common::{http, on_path, random_account, registered_directory, Chromedriver, Engine, TestServer};
use fantoccini::{Client, ClientBuilder, Locator};
use std::time::{Duration, Instant};

async fn start_driver() -> Option<Chromedriver> {
    if std::env::var("LOCALSPACES_SKIP_BROWSER").as_deref() == Ok("1")
        || std::env::var("LOCALSPACES_SKIP_DESKTOPS").as_deref() == Ok("1")
    {
        eprintln!("desktop browser test skipped (LOCALSPACES_SKIP_BROWSER / LOCALSPACES_SKIP_DESKTOPS)");
        return None;
    }
    let path = on_path("chromedriver")
        .expect("chromedriver is not installed (apt-get install chromium chromium-driver)");
    assert!(
        on_path("Xvnc").is_some() && on_path("bwrap").is_some(),
        "the desktop packages are not installed (scripts/test.sh installs them)"
    );
    Some(Chromedriver::start(&path).await)
}

async fn browser(d: &Chromedriver) -> Client {
    let mut caps = serde_json::Map::new();
    let mut opts = serde_json::json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", "--hide-scrollbars"],
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

/// Runs `script` in the WorkSpace's desktop; answers (exit code, stdout).
async fn exec(server: &TestServer, account: &str, id: &str, script: &str) -> (i64, String) {
    let body = serde_json::json!({"command": ["sh", "-c", script]}).to_string();
    let (status, out) = http(
        server.addr(),
        &format!("/_localspaces/desktop-exec?account={account}&region=us-east-1&workspace_id={id}"),
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-Localspaces-Admin".into(), "1".into()),
        ],
        body.into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    (
        v["exit_code"].as_i64().unwrap_or(-1),
        v["stdout"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_from_the_console_and_type_into_the_desktop() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let server =
        TestServer::start_with(Engine::Memory, &["--desktops", "local", "--timing", "instant"]).await;
    let account = random_account();
    let sdk = server.client_as(&account, common::REGION);
    let dir = registered_directory(&server, &account).await;
    let bundle = sdk
        .describe_workspace_bundles()
        .owner("AMAZON")
        .send()
        .await
        .expect("bundles")
        .bundles()
        .iter()
        .find(|b| b.name().is_some_and(|n| n.contains("Linux")))
        .and_then(|b| b.bundle_id())
        .expect("a Linux bundle")
        .to_string();
    let out = sdk
        .create_workspaces()
        .workspaces(
            aws_sdk_workspaces::types::WorkspaceRequest::builder()
                .directory_id(&dir)
                .user_name("browser")
                .bundle_id(&bundle)
                .build()
                .expect("request"),
        )
        .send()
        .await
        .expect("create");
    let id = out.pending_requests()[0].workspace_id().expect("id").to_string();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let w = sdk
            .describe_workspaces()
            .workspace_ids(&id)
            .send()
            .await
            .expect("describe");
        let state = w.workspaces()[0].state().map(|s| s.as_str().to_string());
        if state.as_deref() == Some("AVAILABLE") {
            break;
        }
        assert!(Instant::now() < until, "never AVAILABLE: {state:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let c = browser(&driver).await;
    let base = server.url();
    let run = async {
        c.goto(&format!(
            "{base}/console/workspaces/{id}?account={account}&region=us-east-1"
        ))
        .await
        .expect("goto");
        c.find(Locator::Css("#action-connect"))
            .await
            .expect("Connect button")
            .click()
            .await
            .expect("click Connect");
        // noVNC connected and drew the desktop into its canvas.
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let status = match c.find(Locator::Css("#status")).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if status == "connected" {
                break;
            }
            assert!(
                Instant::now() < until,
                "noVNC never connected (status {status:?})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let canvas = c.find(Locator::Css("#screen canvas")).await.expect("canvas");
        tokio::time::sleep(Duration::from_secs(1)).await;
        let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/desktop-screenshots");
        std::fs::create_dir_all(&d).expect("screenshot dir");
        std::fs::write(d.join("connect.png"), c.screenshot().await.expect("screenshot")).expect("write");
        // The terminal has the desktop's keyboard focus; the page's canvas gets the browser's.
        let (_, _, w, h) = canvas.rectangle().await.expect("canvas box");
        assert!(w > 100.0 && h > 100.0, "canvas {w}x{h}");
        // pcmanfm may have taken the focus after the terminal came up: give it back.
        let (code, _) = exec(
            &server,
            &account,
            &id,
            "xdotool search --onlyvisible --class xterm windowactivate --sync",
        )
        .await;
        assert_eq!(code, 0, "xdotool could not focus the terminal");
        c.execute("window.localspacesRfb.focus();", vec![])
            .await
            .expect("focus the canvas");
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.active_element()
            .await
            .expect("focused element")
            .send_keys("touch typed-in-browser.txt\u{E007}")
            .await
            .expect("type");
        tokio::time::sleep(Duration::from_millis(700)).await;
        std::fs::write(d.join("typed.png"), c.screenshot().await.expect("screenshot")).expect("write");
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let (code, _) = exec(&server, &account, &id, "test -e ~/typed-in-browser.txt").await;
            if code == 0 {
                break;
            }
            assert!(
                Instant::now() < until,
                "typing in the browser never created the file"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        // The viewer counts as a connection while it is attached.
        let status = sdk
            .describe_workspaces_connection_status()
            .workspace_ids(&id)
            .send()
            .await
            .expect("connection status");
        assert_eq!(
            status.workspaces_connection_status()[0]
                .connection_state()
                .map(|s| s.as_str()),
            Some("CONNECTED")
        );
    };
    run.await;
    let _ = c.close().await;
    server.stop().await;
}
