//! The Rust SDK finds localspaces through the environment alone: `aws-config` reads
//! `AWS_ENDPOINT_URL_WORKSPACES` (service-specific) and `AWS_ENDPOINT_URL` (every service),
//! the specific one first. One test in this binary, so changing the process environment
//! races with nothing.

mod common;

use aws_config::BehaviorVersion;
use common::{Engine, TestServer};

async fn group_names() -> Result<Vec<String>, String> {
    let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let ws = aws_sdk_workspaces::Client::new(&conf);
    let out = ws
        .describe_ip_groups()
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(out
        .result()
        .iter()
        .filter_map(|g| g.group_name().map(str::to_string))
        .collect())
}

#[tokio::test]
async fn the_sdk_reaches_localspaces_through_endpoint_environment_variables() {
    let server = TestServer::start(Engine::Memory).await;
    let url = server.url();
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_CONFIG_FILE", "/nonexistent/localspaces-test-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/localspaces-test-credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    for (k, v) in env {
        std::env::set_var(k, v);
    }
    std::env::remove_var("AWS_PROFILE");

    // The service-specific variable alone.
    std::env::remove_var("AWS_ENDPOINT_URL");
    std::env::set_var("AWS_ENDPOINT_URL_WORKSPACES", &url);
    let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let ws = aws_sdk_workspaces::Client::new(&conf);
    ws.create_ip_group()
        .group_name("from-env")
        .send()
        .await
        .expect("CreateIpGroup through AWS_ENDPOINT_URL_WORKSPACES");
    assert_eq!(group_names().await, Ok(vec!["from-env".to_string()]));

    // It wins over the general one (here an address where nothing listens).
    std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    assert_eq!(group_names().await, Ok(vec!["from-env".to_string()]));

    // The general one alone.
    std::env::remove_var("AWS_ENDPOINT_URL_WORKSPACES");
    std::env::set_var("AWS_ENDPOINT_URL", &url);
    assert_eq!(group_names().await, Ok(vec!["from-env".to_string()]));

    // The variable is what the SDK follows: pointed at a dead address, the call fails.
    std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    assert!(group_names().await.is_err(), "a dead endpoint must fail");
    std::env::remove_var("AWS_ENDPOINT_URL");
    server.stop().await;
}
