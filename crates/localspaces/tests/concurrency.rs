//! Concurrency: many clients racing on the same account, resource or name, on both store
//! engines. Every race must end as if the calls had run one after another: quotas never
//! exceeded, no duplicate user per directory, no lost tag update, only legal WorkSpace states
//! (and a consistent end state after settling), one owner per connection string.
//!
//! CI runs each race once with 16 concurrent tasks; `LOCALSPACES_CONCURRENCY_ROUNDS=N` repeats
//! every race N times (each round on a fresh account), e.g.
//! `LOCALSPACES_CONCURRENCY_ROUNDS=50 cargo test --release -p localspaces --test concurrency`.

mod common;

use aws_sdk_workspaces::config::http::HttpResponse;
use aws_sdk_workspaces::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_workspaces::types::{
    RebootRequest, RunningMode, StartRequest, StopRequest, TerminateRequest, WorkspaceProperties,
    WorkspaceRequest, WorkspaceState,
};
use aws_sdk_workspaces::Client;
use common::{ok, random_account, registered_directory, rule, settle, tag, Engine, TestServer, REGION};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

/// Concurrent tasks per race.
const TASKS: usize = 16;

/// Rounds per race (`LOCALSPACES_CONCURRENCY_ROUNDS`, default 1).
fn rounds() -> usize {
    std::env::var("LOCALSPACES_CONCURRENCY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

/// Runs `scenario` on a memory and a SQLite server started with `extra` options.
async fn both_engines<F, Fut>(extra: &[&str], scenario: F)
where
    F: Fn(Arc<TestServer>) -> Fut,
    Fut: Future<Output = ()>,
{
    for engine in [Engine::Memory, Engine::Sqlite] {
        let server = Arc::new(TestServer::start_with(engine, extra).await);
        for _ in 0..rounds() {
            scenario(Arc::clone(&server)).await;
        }
        let server = Arc::try_unwrap(server).unwrap_or_else(|_| panic!("server still shared"));
        server.stop().await;
    }
}

/// The outcome of one call: `Ok`, or the service error code. Panics on a 5xx, a
/// connection failure or a timeout: a race must never produce those.
fn outcome<T, E>(what: &str, r: Result<T, SdkError<E, HttpResponse>>) -> Result<T, String>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(v) => Ok(v),
        Err(SdkError::ServiceError(e)) => {
            let status = e.raw().status().as_u16();
            let code = e.err().code().unwrap_or("<no code>").to_string();
            assert!(
                status < 500,
                "{what}: HTTP {status} {code}: {:?}",
                e.err().message()
            );
            Err(code)
        }
        Err(e) => panic!(
            "{what}: no service answer: {}",
            aws_sdk_workspaces::error::DisplayErrorContext(&e)
        ),
    }
}

/// Spawns `TASKS` tasks running `f(i)` and returns their results in task order.
async fn race<T, F, Fut>(f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = (0..TASKS).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(TASKS);
    for h in handles {
        out.push(h.await.expect("race task panicked"));
    }
    out
}

async fn group_ids(c: &Client) -> BTreeSet<String> {
    ok("DescribeIpGroups", c.describe_ip_groups().send().await)
        .result()
        .iter()
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect()
}

// ------------------------------------------------------------------------ IP group quota

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ip_group_quota_holds_under_concurrent_creates() {
    const QUOTA: usize = 5;
    both_engines(
        &["--quota", "ip_groups=5", "--timing", "instant"],
        |server| async move {
            let account = random_account();
            let c = server.client_as(&account, REGION);
            // Two groups exist already; 16 clients race for the 3 free places.
            for i in 0..2 {
                ok(
                    "CreateIpGroup (setup)",
                    c.create_ip_group().group_name(format!("pre-{i}")).send().await,
                );
            }
            let results = race(|i| {
                let c = c.clone();
                async move {
                    outcome(
                        "CreateIpGroup",
                        c.create_ip_group()
                            .group_name(format!("g-{i}"))
                            .user_rules(rule("10.0.0.0/16", "race"))
                            .send()
                            .await,
                    )
                    .map(|o| o.group_id().expect("GroupId").to_string())
                }
            })
            .await;
            let won: BTreeSet<String> = results.iter().filter_map(|r| r.clone().ok()).collect();
            assert_eq!(
                won.len(),
                QUOTA - 2,
                "exactly the free places are taken: {results:?}"
            );
            for r in &results {
                if let Err(code) = r {
                    assert_eq!(code, "ResourceLimitExceededException", "{results:?}");
                }
            }
            let ids = group_ids(&c).await;
            assert_eq!(ids.len(), QUOTA, "never more than the quota exist");
            assert!(won.is_subset(&ids), "every acknowledged group exists");

            // The same name from 16 clients in a fresh account: exactly one wins.
            let c = server.client();
            let results = race(|_| {
                let c = c.clone();
                async move {
                    outcome(
                        "CreateIpGroup same name",
                        c.create_ip_group().group_name("same").send().await,
                    )
                    .map(|_| ())
                }
            })
            .await;
            assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
            for r in &results {
                if let Err(code) = r {
                    assert_eq!(code, "ResourceAlreadyExistsException", "{results:?}");
                }
            }
            assert_eq!(group_ids(&c).await.len(), 1);
        },
    )
    .await;
}

// ------------------------------------------------------------------ CreateWorkspaces race

async fn amazon_bundle(c: &Client) -> String {
    ok(
        "DescribeWorkspaceBundles",
        c.describe_workspace_bundles().owner("AMAZON").send().await,
    )
    .bundles()
    .first()
    .and_then(|b| b.bundle_id())
    .expect("an AMAZON bundle")
    .to_string()
}

fn wreq(dir: &str, user: &str, bundle: &str) -> WorkspaceRequest {
    WorkspaceRequest::builder()
        .directory_id(dir)
        .user_name(user)
        .bundle_id(bundle)
        .workspace_properties(
            WorkspaceProperties::builder()
                .running_mode(RunningMode::AutoStop)
                .running_mode_auto_stop_timeout_in_minutes(60)
                .build(),
        )
        .build()
        .expect("WorkspaceRequest")
}

/// `(user, state)` of every WorkSpace of `dir`.
async fn workspaces_of(c: &Client, dir: &str) -> Vec<(String, String, WorkspaceState)> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = ok(
            "DescribeWorkspaces",
            c.describe_workspaces()
                .directory_id(dir)
                .set_next_token(token)
                .send()
                .await,
        );
        for w in page.workspaces() {
            out.push((
                w.workspace_id().unwrap_or_default().to_string(),
                w.user_name().unwrap_or_default().to_string(),
                w.state().cloned().expect("State"),
            ));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_workspaces_never_duplicates_a_user() {
    both_engines(&[], |server| async move {
        let account = random_account();
        let c = server.client_as(&account, REGION);
        let dir = registered_directory(&server, &account).await;
        let bundle = amazon_bundle(&c).await;
        let users = ["alice", "bob", "carol", "dave"];
        // Every task asks for all four users, each in another order.
        let results = race(|i| {
            let (c, dir, bundle) = (c.clone(), dir.clone(), bundle.clone());
            async move {
                let reqs = (0..users.len())
                    .map(|k| wreq(&dir, users[(i + k) % users.len()], &bundle))
                    .collect();
                let out = outcome(
                    "CreateWorkspaces",
                    c.create_workspaces().set_workspaces(Some(reqs)).send().await,
                )
                .unwrap_or_else(|code| panic!("CreateWorkspaces failed as a whole: {code}"));
                let pending: Vec<String> = out
                    .pending_requests()
                    .iter()
                    .map(|w| w.user_name().unwrap_or_default().to_string())
                    .collect();
                let failed: Vec<String> = out
                    .failed_requests()
                    .iter()
                    .map(|f| f.error_code().unwrap_or_default().to_string())
                    .collect();
                (pending, failed)
            }
        })
        .await;
        let mut created: BTreeMap<String, usize> = BTreeMap::new();
        for (pending, failed) in &results {
            assert_eq!(pending.len() + failed.len(), users.len());
            for u in pending {
                *created.entry(u.clone()).or_default() += 1;
            }
            for code in failed {
                assert_eq!(code, "ResourceExists.WorkSpace", "{results:?}");
            }
        }
        assert_eq!(
            created,
            users.iter().map(|u| (u.to_string(), 1)).collect(),
            "each user acknowledged exactly once"
        );
        let listed = workspaces_of(&c, &dir).await;
        let mut listed_users: Vec<&str> = listed.iter().map(|(_, u, _)| u.as_str()).collect();
        listed_users.sort_unstable();
        assert_eq!(
            listed_users,
            ["alice", "bob", "carol", "dave"],
            "one WorkSpace per user"
        );
    })
    .await;
}

// ------------------------------------------------------------------------- tag updates

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tag_updates_are_not_lost() {
    both_engines(&["--timing", "instant"], |server| async move {
        let c = server.client();
        let gid = ok(
            "CreateIpGroup",
            c.create_ip_group().group_name("tags").send().await,
        )
        .group_id()
        .expect("GroupId")
        .to_string();
        // 16 tasks add 4 keys each (64 > the limit of 50) and delete 2 of theirs.
        let results = race(|i| {
            let (c, gid) = (c.clone(), gid.clone());
            async move {
                let mut added = Vec::new();
                let mut deleted = Vec::new();
                let mut refused = 0;
                for j in 0..4 {
                    let key = format!("k{i:02}-{j}");
                    match outcome(
                        "CreateTags",
                        c.create_tags()
                            .resource_id(&gid)
                            .tags(tag(&key, &format!("v{i}")))
                            .send()
                            .await,
                    ) {
                        Ok(_) => added.push(key),
                        Err(code) => {
                            assert_eq!(code, "ResourceLimitExceededException");
                            refused += 1;
                        }
                    }
                    if j % 2 == 1 {
                        let key = format!("k{i:02}-{}", j - 1);
                        outcome(
                            "DeleteTags",
                            c.delete_tags().resource_id(&gid).tag_keys(&key).send().await,
                        )
                        .unwrap_or_else(|code| panic!("DeleteTags: {code}"));
                        deleted.push(key);
                    }
                    let now = ok("DescribeTags", c.describe_tags().resource_id(&gid).send().await);
                    assert!(now.tag_list().len() <= 50, "more than 50 tags seen");
                }
                (added, deleted, refused)
            }
        })
        .await;
        let mut expected = BTreeSet::new();
        let mut refused = 0;
        for (added, deleted, r) in results {
            expected.extend(added);
            for d in deleted {
                expected.remove(&d);
            }
            refused += r;
        }
        let got: BTreeSet<String> = ok("DescribeTags", c.describe_tags().resource_id(&gid).send().await)
            .tag_list()
            .iter()
            .map(|t| t.key().to_string())
            .collect();
        assert_eq!(got, expected, "every acknowledged change, nothing else");
        assert!(got.len() <= 50);
        // 32 keys survive at most; how many creates were refused depends on the interleaving.
        assert!(refused <= TASKS * 4 - got.len());
    })
    .await;
}

// ------------------------------------------------------------ Start/Stop/Terminate race

fn legal(s: &WorkspaceState) -> bool {
    WorkspaceState::values().contains(&s.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn start_stop_terminate_races_keep_states_legal() {
    both_engines(&["--timing", "fast"], |server| async move {
        let account = random_account();
        let c = server.client_as(&account, REGION);
        let dir = registered_directory(&server, &account).await;
        let bundle = amazon_bundle(&c).await;
        let reqs = ["u0", "u1", "u2", "u3"]
            .iter()
            .map(|u| wreq(&dir, u, &bundle))
            .collect();
        let out = ok(
            "CreateWorkspaces",
            c.create_workspaces().set_workspaces(Some(reqs)).send().await,
        );
        assert!(out.failed_requests().is_empty());
        let ids: Vec<String> = out
            .pending_requests()
            .iter()
            .map(|w| w.workspace_id().expect("id").to_string())
            .collect();
        settle(&server).await;
        let ids = Arc::new(ids);
        // A sampler watches the states while 16 tasks start, stop, reboot and terminate.
        let stop_sampling = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (c, dir, stop) = (c.clone(), dir.clone(), Arc::clone(&stop_sampling));
            tokio::spawn(async move {
                let mut seen = BTreeSet::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for (_, _, s) in workspaces_of(&c, &dir).await {
                        assert!(legal(&s), "illegal state {s:?}");
                        seen.insert(s.as_str().to_string());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                seen
            })
        };
        let results = race(|i| {
            let (c, ids, server) = (c.clone(), Arc::clone(&ids), Arc::clone(&server));
            async move {
                let mut codes = Vec::new();
                for round in 0..6 {
                    let id = ids[(i + round) % ids.len()].clone();
                    // Only the last WorkSpace is terminated, by a few tasks at once.
                    let op = (i * 7 + round * 3) % 4;
                    let failed = match op {
                        0 => outcome(
                            "StartWorkspaces",
                            c.start_workspaces()
                                .start_workspace_requests(StartRequest::builder().workspace_id(&id).build())
                                .send()
                                .await,
                        )
                        .map(|o| o.failed_requests().to_vec()),
                        1 => outcome(
                            "StopWorkspaces",
                            c.stop_workspaces()
                                .stop_workspace_requests(StopRequest::builder().workspace_id(&id).build())
                                .send()
                                .await,
                        )
                        .map(|o| o.failed_requests().to_vec()),
                        2 => outcome(
                            "RebootWorkspaces",
                            c.reboot_workspaces()
                                .reboot_workspace_requests(
                                    RebootRequest::builder().workspace_id(&id).build().expect("req"),
                                )
                                .send()
                                .await,
                        )
                        .map(|o| o.failed_requests().to_vec()),
                        _ => {
                            let id = ids[ids.len() - 1].clone();
                            outcome(
                                "TerminateWorkspaces",
                                c.terminate_workspaces()
                                    .terminate_workspace_requests(
                                        TerminateRequest::builder()
                                            .workspace_id(&id)
                                            .build()
                                            .expect("req"),
                                    )
                                    .send()
                                    .await,
                            )
                            .map(|o| o.failed_requests().to_vec())
                        }
                    };
                    let failed = failed.unwrap_or_else(|code| panic!("batch call failed as a whole: {code}"));
                    codes.extend(
                        failed
                            .iter()
                            .map(|f| f.error_code().unwrap_or_default().to_string()),
                    );
                    if round == 3 && i % 4 == 0 {
                        // Transitions complete while others are still racing.
                        common::advance(&server, 2).await;
                    }
                }
                codes
            }
        })
        .await;
        stop_sampling.store(true, std::sync::atomic::Ordering::Relaxed);
        let seen = sampler.await.expect("sampler");
        for codes in &results {
            for code in codes {
                assert!(
                    // NotFound: the terminated WorkSpace is removed once its termination completes.
                    code == "InvalidResourceState.Workspace" || code == "ResourceNotFound.Workspace",
                    "unexpected failure code {code:?} in {results:?}"
                );
            }
        }
        // After settling, every WorkSpace rests in a stable state, and settling again changes nothing.
        settle(&server).await;
        let after = workspaces_of(&c, &dir).await;
        for (id, user, s) in &after {
            assert!(
                matches!(
                    s,
                    WorkspaceState::Available | WorkspaceState::Stopped | WorkspaceState::Terminated
                ),
                "{id} ({user}) is {s:?} after settle (states seen: {seen:?})"
            );
        }
        let terminated = &ids[ids.len() - 1];
        assert!(
            after
                .iter()
                .all(|(id, _, s)| id != terminated || *s == WorkspaceState::Terminated),
            "the terminated WorkSpace stays terminated or gone: {after:?}"
        );
        assert_eq!(
            after.iter().filter(|(id, _, _)| id != terminated).count(),
            ids.len() - 1,
            "the others still exist: {after:?}"
        );
        settle(&server).await;
        assert_eq!(
            workspaces_of(&c, &dir).await,
            after,
            "a second settle changes nothing"
        );
    })
    .await;
}

// ------------------------------------------------------------- connection string race

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_account_wins_a_connection_string() {
    both_engines(&["--timing", "instant"], |server| async move {
        let accounts = [random_account(), random_account()];
        let clients = [
            server.client_as(&accounts[0], REGION),
            server.client_as(&accounts[1], REGION),
        ];
        let fqdn = format!("race-{}.example.com", random_account());
        let results = race(|i| {
            let (c, fqdn) = (clients[i % 2].clone(), fqdn.clone());
            async move {
                outcome(
                    "CreateConnectionAlias",
                    c.create_connection_alias().connection_string(&fqdn).send().await,
                )
                .map(|o| o.alias_id().expect("AliasId").to_string())
            }
        })
        .await;
        let winners: Vec<usize> = (0..TASKS).filter(|i| results[*i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "exactly one creation wins: {results:?}");
        for r in &results {
            if let Err(code) = r {
                assert_eq!(code, "ResourceAlreadyExistsException", "{results:?}");
            }
        }
        let mut owners = 0;
        for c in &clients {
            let n = ok(
                "DescribeConnectionAliases",
                c.describe_connection_aliases().send().await,
            )
            .connection_aliases()
            .iter()
            .filter(|a| a.connection_string() == Some(fqdn.as_str()))
            .count();
            owners += n;
        }
        assert_eq!(owners, 1, "one alias for the string across both accounts");
    })
    .await;
}
