//! The official AWS SDK for Rust (`aws-sdk-workspaces`) against an in-process localspaces,
//! over the IP access control group and tag operations, on both store engines.
//!
//! Behaviour follows the AWS WorkSpaces API Reference (protocol, errors, pagination, quotas,
//! tags, IP access control groups). Where AWS's behaviour is unconfirmed, the comment says
//! so where a test relies on it.

mod common;

use aws_sdk_workspaces::error::ProvideErrorMetadata;
use aws_sdk_workspaces::operation::RequestId;
use aws_sdk_workspaces::types::{IpRuleItem, Tag, WorkspacesIpGroup};
use aws_sdk_workspaces::Client;
use common::{
    code_and_message, expect_err, is_ip_group_id, ok, random_account, rule, rule_no_desc, service_err, tag,
    tag_no_value, Engine, TestServer, REGION,
};
use std::collections::BTreeSet;

/// Asserts that a call failed with the (unmodeled) error code `$code`; yields the error.
macro_rules! expect_code {
    ($what:expr, $res:expr, $code:expr) => {{
        let what = $what;
        let e = service_err(&what, $res);
        let (code, message) = code_and_message(&e);
        assert_eq!(code, $code, "{what}: wrong error code (message {message:?})");
        e
    }};
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// An id that has the IP group format but names no group.
const MISSING_GROUP: &str = "wsipg-zzzzzzzz9";

async fn create(c: &Client, name: &str) -> String {
    let out = ok(
        &format!("CreateIpGroup {name}"),
        c.create_ip_group().group_name(name).send().await,
    );
    let id = out
        .group_id()
        .unwrap_or_else(|| panic!("CreateIpGroup {name}: no GroupId"))
        .to_string();
    assert!(
        is_ip_group_id(&id),
        "CreateIpGroup {name}: GroupId {id:?} is not wsipg-[0-9a-z]{{8,63}}"
    );
    id
}

async fn create_with_rules(c: &Client, name: &str, rules: Vec<IpRuleItem>) -> String {
    let out = ok(
        &format!("CreateIpGroup {name}"),
        c.create_ip_group()
            .group_name(name)
            .set_user_rules(Some(rules))
            .send()
            .await,
    );
    out.group_id().expect("GroupId").to_string()
}

/// All groups (optionally only `ids`), following NextToken to the end.
async fn describe(c: &Client, ids: Option<&[String]>) -> Vec<WorkspacesIpGroup> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..1000 {
        let page = ok(
            "DescribeIpGroups",
            c.describe_ip_groups()
                .set_group_ids(ids.map(|i| i.to_vec()))
                .set_next_token(token.take())
                .send()
                .await,
        );
        out.extend(page.result().iter().cloned());
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => return out,
        }
    }
    panic!("DescribeIpGroups: more than 1000 pages");
}

/// The one group `id`, which must exist.
async fn describe_one(c: &Client, id: &str) -> WorkspacesIpGroup {
    let found = describe(c, Some(&[id.to_string()])).await;
    assert_eq!(
        found.len(),
        1,
        "DescribeIpGroups [{id}]: expected exactly one group, got {found:?}"
    );
    found.into_iter().next().expect("one")
}

fn ids_of(groups: &[WorkspacesIpGroup]) -> Vec<String> {
    groups
        .iter()
        .map(|g| g.group_id().expect("groupId").to_string())
        .collect()
}

fn id_set(groups: &[WorkspacesIpGroup]) -> BTreeSet<String> {
    ids_of(groups).into_iter().collect()
}

fn rules_of(g: &WorkspacesIpGroup) -> Vec<(String, Option<String>)> {
    g.user_rules()
        .iter()
        .map(|r| {
            (
                r.ip_rule().expect("ipRule").to_string(),
                r.rule_desc().map(str::to_string),
            )
        })
        .collect()
}

fn rules(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    list.iter()
        .map(|(c, d)| (c.to_string(), d.map(str::to_string)))
        .collect()
}

/// Tags of `id`, sorted by key (AWS's order is unconfirmed, DescribeTags).
async fn tags_of(c: &Client, id: &str) -> Vec<(String, Option<String>)> {
    let out = ok(
        &format!("DescribeTags {id}"),
        c.describe_tags().resource_id(id).send().await,
    );
    assert!(
        out.tag_list.is_some(),
        "DescribeTags {id}: TagList must be present (empty list if none)"
    );
    let mut v: Vec<_> = out
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().map(str::to_string)))
        .collect();
    v.sort();
    v
}

fn kv(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = list
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect();
    v.sort();
    v
}

fn many_tags(prefix: &str, n: usize) -> Vec<Tag> {
    (0..n)
        .map(|i| tag(&format!("{prefix}{i}"), &format!("v{i}")))
        .collect()
}

fn many_rules(n: usize) -> Vec<IpRuleItem> {
    (0..n)
        .map(|i| rule(&format!("10.{i}.0.0/16"), &format!("r{i}")))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Scenarios (each runs on the memory and the SQLite engine)
// ---------------------------------------------------------------------------------------

engine_tests!(
    create_and_describe_exact_fields,
    describe_all_and_by_ids,
    pagination_with_max_results,
    pagination_default_page_size,
    pagination_tokens_are_checked,
    authorize_revoke_update_rules,
    rule_validation_errors,
    rule_quota,
    unknown_group_is_not_found,
    delete_group,
    duplicate_names,
    group_quota_default_100,
    group_quota_is_per_account_and_region,
    create_time_tags_validation,
    tags_upsert_delete_describe,
    tag_limit_50,
    tags_on_unknown_resources,
    model_constraint_violations,
    account_isolation,
    non_numeric_keys_share_the_default_account,
    region_isolation,
    concurrent_creates_same_name,
    concurrent_creates_respect_quota,
    concurrent_tag_writes_keep_every_update,
    unimplemented_operation_is_not_implemented,
);

async fn create_and_describe_exact_fields(s: &TestServer) {
    let c = s.client();
    let out = ok(
        "CreateIpGroup engineering",
        c.create_ip_group()
            .group_name("engineering")
            .group_desc("Office networks")
            .user_rules(rule("10.0.0.0/16", "HQ"))
            .user_rules(rule_no_desc("192.168.1.1"))
            .tags(tag("team", "net"))
            .tags(tag_no_value("flag"))
            .send()
            .await,
    );
    assert!(
        out.request_id().is_some_and(|r| !r.is_empty()),
        "CreateIpGroup: no x-amzn-RequestId"
    );
    let id = out.group_id().expect("GroupId").to_string();
    assert!(
        is_ip_group_id(&id),
        "GroupId {id:?} is not wsipg-[0-9a-z]{{8,63}}"
    );

    let page = ok(
        "DescribeIpGroups",
        c.describe_ip_groups().group_ids(&id).send().await,
    );
    assert_eq!(page.next_token(), None);
    let expected = WorkspacesIpGroup::builder()
        .group_id(&id)
        .group_name("engineering")
        .group_desc("Office networks")
        .user_rules(rule("10.0.0.0/16", "HQ"))
        .user_rules(rule_no_desc("192.168.1.1"))
        .build();
    assert_eq!(page.result(), &[expected][..]);
    assert_eq!(
        tags_of(&c, &id).await,
        kv(&[("team", Some("net")), ("flag", None)])
    );

    // A group with only a name: no description, no rules, no tags.
    let bare = create(&c, "bare").await;
    assert_ne!(bare, id, "two groups got the same id");
    let g = describe_one(&c, &bare).await;
    assert_eq!(g.group_id(), Some(bare.as_str()));
    assert_eq!(g.group_name(), Some("bare"));
    assert_eq!(
        g.group_desc(),
        None,
        "a group created without GroupDesc has no groupDesc"
    );
    assert!(
        g.user_rules().is_empty(),
        "a group created without rules has none: {g:?}"
    );
    assert_eq!(tags_of(&c, &bare).await, vec![]);

    // Names and descriptions are free text (no model constraints).
    let odd = ok(
        "CreateIpGroup odd name",
        c.create_ip_group()
            .group_name("Büro / 東京 (main) #1")
            .group_desc("  spaced  ")
            .send()
            .await,
    );
    let g = describe_one(&c, odd.group_id().expect("GroupId")).await;
    assert_eq!(g.group_name(), Some("Büro / 東京 (main) #1"));
    assert_eq!(g.group_desc(), Some("  spaced  "));

    let all = describe(&c, None).await;
    assert_eq!(all.len(), 3, "DescribeIpGroups without ids: {all:?}");
}

async fn describe_all_and_by_ids(s: &TestServer) {
    let c = s.client();
    let empty = ok(
        "DescribeIpGroups (new account)",
        c.describe_ip_groups().send().await,
    );
    assert!(
        empty.result().is_empty(),
        "a new account has no groups: {:?}",
        empty.result()
    );
    assert_eq!(empty.next_token(), None);

    let a = create(&c, "a").await;
    let b = create(&c, "b").await;
    let cc = create(&c, "c").await;

    let all = describe(&c, None).await;
    assert_eq!(id_set(&all), BTreeSet::from([a.clone(), b.clone(), cc.clone()]));
    assert_eq!(all.len(), 3, "no duplicates: {all:?}");
    for g in &all {
        let want = if g.group_id() == Some(a.as_str()) {
            "a"
        } else if g.group_id() == Some(b.as_str()) {
            "b"
        } else {
            "c"
        };
        assert_eq!(g.group_name(), Some(want));
    }

    let some = describe(&c, Some(&[cc.clone(), a.clone()])).await;
    assert_eq!(id_set(&some), BTreeSet::from([a.clone(), cc.clone()]));
    assert_eq!(some.len(), 2);

    // Unknown ids are omitted (DescribeIpGroups, inferred).
    let with_unknown = describe(&c, Some(&[a.clone(), MISSING_GROUP.to_string()])).await;
    assert_eq!(ids_of(&with_unknown), vec![a.clone()]);
    let only_unknown = describe(&c, Some(&[MISSING_GROUP.to_string()])).await;
    assert!(only_unknown.is_empty(), "{only_unknown:?}");

    // The same id twice describes the group once.
    let twice = describe(&c, Some(&[b.clone(), b.clone()])).await;
    assert_eq!(ids_of(&twice), vec![b.clone()]);
}

async fn pagination_with_max_results(s: &TestServer) {
    let c = s.client();
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(create(&c, &format!("page-{i}")).await);
    }

    // Pages of 3, 3, 1; the last page has no NextToken.
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ok(
            "DescribeIpGroups MaxResults=3",
            c.describe_ip_groups()
                .max_results(3)
                .set_next_token(token.take())
                .send()
                .await,
        );
        sizes.push(page.result().len());
        seen.extend(ids_of(page.result()));
        match page.next_token() {
            Some(t) => {
                assert!(
                    !t.is_empty() && t.len() <= 2048,
                    "NextToken must be 1..2048 chars: {t:?}"
                );
                token = Some(t.to_string());
            }
            None => break,
        }
        assert!(sizes.len() < 10, "pagination does not end: {sizes:?}");
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    // Creation order (stable, so pages never skip or repeat).
    assert_eq!(seen, created);

    // Exactly a multiple of the page size: the last full page may carry a token, but the
    // following page then must be empty and final.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let page = ok(
            "DescribeIpGroups MaxResults=7",
            c.describe_ip_groups()
                .max_results(7)
                .set_next_token(token.take())
                .send()
                .await,
        );
        seen.extend(ids_of(page.result()));
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert!(token.is_none(), "pagination with MaxResults=7 did not end");
    assert_eq!(seen, created);

    // Pagination over GroupIds.
    let subset: Vec<String> = created[1..6].to_vec();
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ok(
            "DescribeIpGroups GroupIds MaxResults=2",
            c.describe_ip_groups()
                .set_group_ids(Some(subset.clone()))
                .max_results(2)
                .set_next_token(token.take())
                .send()
                .await,
        );
        sizes.push(page.result().len());
        seen.extend(ids_of(page.result()));
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(sizes.len() < 10, "pagination does not end: {sizes:?}");
    }
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>(),
        subset.iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(seen.len(), 5);

    // Groups created while paging: nothing already listed repeats, nothing is skipped.
    let first = ok(
        "DescribeIpGroups page 1",
        c.describe_ip_groups().max_results(3).send().await,
    );
    let mut seen = ids_of(first.result());
    let mut token = first.next_token().map(str::to_string);
    assert!(token.is_some());
    created.push(create(&c, "page-late-1").await);
    created.push(create(&c, "page-late-2").await);
    for _ in 0..10 {
        let Some(t) = token.take() else { break };
        let page = ok(
            "DescribeIpGroups next page",
            c.describe_ip_groups().max_results(3).next_token(t).send().await,
        );
        seen.extend(ids_of(page.result()));
        token = page.next_token().map(str::to_string);
    }
    assert!(token.is_none(), "pagination did not end");
    assert_eq!(seen, created, "pages while groups are added");
}

async fn pagination_default_page_size(s: &TestServer) {
    let c = s.client();
    for i in 0..27 {
        create(&c, &format!("many-{i:02}")).await;
    }
    // Default page size when MaxResults is omitted = 25 (inferred).
    let first = ok("DescribeIpGroups", c.describe_ip_groups().send().await);
    assert_eq!(first.result().len(), 25);
    let token = first
        .next_token()
        .expect("a NextToken after 25 of 27 groups")
        .to_string();
    let second = ok(
        "DescribeIpGroups page 2",
        c.describe_ip_groups().next_token(token).send().await,
    );
    assert_eq!(second.result().len(), 2);
    assert_eq!(second.next_token(), None);
    let all: BTreeSet<String> = ids_of(first.result())
        .into_iter()
        .chain(ids_of(second.result()))
        .collect();
    assert_eq!(all.len(), 27);
    // MaxResults=25 (the maximum) is accepted.
    let max = ok(
        "DescribeIpGroups MaxResults=25",
        c.describe_ip_groups().max_results(25).send().await,
    );
    assert_eq!(max.result().len(), 25);
}

async fn pagination_tokens_are_checked(s: &TestServer) {
    let c = s.client();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(create(&c, &format!("tok-{i}")).await);
    }
    expect_err!(
        "DescribeIpGroups with a garbage NextToken",
        c.describe_ip_groups().next_token("not-a-token").send().await,
        is_invalid_parameter_values_exception
    );
    let page = ok(
        "DescribeIpGroups MaxResults=1",
        c.describe_ip_groups().max_results(1).send().await,
    );
    let token = page.next_token().expect("NextToken").to_string();
    // A token used with other filters is refused (unconfirmed).
    expect_err!(
        "DescribeIpGroups with a token issued for other GroupIds",
        c.describe_ip_groups()
            .set_group_ids(Some(ids.clone()))
            .max_results(1)
            .next_token(&token)
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    // The same token still works with the filters it was issued for.
    let next = ok(
        "DescribeIpGroups next page",
        c.describe_ip_groups()
            .max_results(1)
            .next_token(&token)
            .send()
            .await,
    );
    assert_eq!(next.result().len(), 1);
    // A token of another account does not leak that account's position or groups.
    let other = s.client();
    let r = other
        .describe_ip_groups()
        .max_results(1)
        .next_token(&token)
        .send()
        .await;
    if let Ok(out) = r {
        assert!(
            out.result().is_empty(),
            "another account's token showed groups: {:?}",
            out.result()
        );
    }
}

async fn authorize_revoke_update_rules(s: &TestServer) {
    let c = s.client();
    let id = create_with_rules(&c, "rules", vec![rule("10.0.0.0/8", "a")]).await;

    let out = ok(
        "AuthorizeIpRules",
        c.authorize_ip_rules()
            .group_id(&id)
            .user_rules(rule("172.16.0.0/12", "b"))
            .user_rules(rule_no_desc("192.168.0.1"))
            .send()
            .await,
    );
    assert!(out.request_id().is_some());
    let g = describe_one(&c, &id).await;
    assert_eq!(
        rules_of(&g),
        rules(&[
            ("10.0.0.0/8", Some("a")),
            ("172.16.0.0/12", Some("b")),
            ("192.168.0.1", None)
        ]),
        "AuthorizeIpRules appends"
    );
    assert_eq!(g.group_name(), Some("rules"), "rule changes keep the name");

    // Revoke by CIDR string; a CIDR that is not a rule is ignored (unconfirmed).
    ok(
        "RevokeIpRules",
        c.revoke_ip_rules()
            .group_id(&id)
            .user_rules("172.16.0.0/12")
            .user_rules("203.0.113.0/24")
            .send()
            .await,
    );
    let g = describe_one(&c, &id).await;
    assert_eq!(
        rules_of(&g),
        rules(&[("10.0.0.0/8", Some("a")), ("192.168.0.1", None)])
    );

    // Update replaces the whole list.
    ok(
        "UpdateRulesOfIpGroup",
        c.update_rules_of_ip_group()
            .group_id(&id)
            .user_rules(rule("1.2.3.0/24", "x"))
            .user_rules(rule("10.0.0.0/8", "again"))
            .send()
            .await,
    );
    let g = describe_one(&c, &id).await;
    assert_eq!(
        rules_of(&g),
        rules(&[("1.2.3.0/24", Some("x")), ("10.0.0.0/8", Some("again"))])
    );

    // Update to an empty list (the list has no min; : unconfirmed).
    ok(
        "UpdateRulesOfIpGroup []",
        c.update_rules_of_ip_group()
            .group_id(&id)
            .set_user_rules(Some(vec![]))
            .send()
            .await,
    );
    let g = describe_one(&c, &id).await;
    assert!(g.user_rules().is_empty(), "{g:?}");

    // Authorize into an empty group; revoking everything leaves it empty.
    ok(
        "AuthorizeIpRules",
        c.authorize_ip_rules()
            .group_id(&id)
            .user_rules(rule_no_desc("0.0.0.0/0"))
            .send()
            .await,
    );
    let g = describe_one(&c, &id).await;
    assert_eq!(rules_of(&g), rules(&[("0.0.0.0/0", None)]));
    ok(
        "RevokeIpRules",
        c.revoke_ip_rules()
            .group_id(&id)
            .user_rules("0.0.0.0/0")
            .send()
            .await,
    );
    let g = describe_one(&c, &id).await;
    assert!(g.user_rules().is_empty(), "{g:?}");
    // A revoked CIDR can be authorized again.
    ok(
        "AuthorizeIpRules",
        c.authorize_ip_rules()
            .group_id(&id)
            .user_rules(rule_no_desc("0.0.0.0/0"))
            .send()
            .await,
    );
    assert_eq!(
        rules_of(&describe_one(&c, &id).await),
        rules(&[("0.0.0.0/0", None)])
    );
}

async fn rule_validation_errors(s: &TestServer) {
    let c = s.client();
    let id = create_with_rules(&c, "validate", vec![rule("10.0.0.0/8", "keep")]).await;
    let before = rules(&[("10.0.0.0/8", Some("keep"))]);

    for bad in ["10.0.0.0/33", "not-an-ip", "256.1.1.1/32", "10.0.0/8", "::/0", ""] {
        expect_err!(
            format!("AuthorizeIpRules {bad:?}"),
            c.authorize_ip_rules()
                .group_id(&id)
                .user_rules(rule_no_desc(bad))
                .send()
                .await,
            is_invalid_parameter_values_exception
        );
        expect_err!(
            format!("UpdateRulesOfIpGroup {bad:?}"),
            c.update_rules_of_ip_group()
                .group_id(&id)
                .user_rules(rule_no_desc(bad))
                .send()
                .await,
            is_invalid_parameter_values_exception
        );
        expect_err!(
            format!("CreateIpGroup with rule {bad:?}"),
            c.create_ip_group()
                .group_name("never-created")
                .user_rules(rule_no_desc(bad))
                .send()
                .await,
            is_invalid_parameter_values_exception
        );
    }
    for bad in ["garbage", "10.0.0.0/99"] {
        expect_err!(
            format!("RevokeIpRules {bad:?}"),
            c.revoke_ip_rules().group_id(&id).user_rules(bad).send().await,
            is_invalid_parameter_values_exception
        );
    }
    // An item without ipRule.
    expect_err!(
        "AuthorizeIpRules without ipRule",
        c.authorize_ip_rules()
            .group_id(&id)
            .user_rules(IpRuleItem::builder().rule_desc("no cidr").build())
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    // Duplicates: of an existing rule, and within one request (unconfirmed).
    expect_err!(
        "AuthorizeIpRules duplicate of an existing rule",
        c.authorize_ip_rules()
            .group_id(&id)
            .user_rules(rule("10.0.0.0/8", "dup"))
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    expect_err!(
        "AuthorizeIpRules duplicate within the request",
        c.authorize_ip_rules()
            .group_id(&id)
            .user_rules(rule_no_desc("11.0.0.0/8"))
            .user_rules(rule_no_desc("11.0.0.0/8"))
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    // A request with one bad rule among good ones changes nothing.
    expect_err!(
        "AuthorizeIpRules good+bad",
        c.authorize_ip_rules()
            .group_id(&id)
            .user_rules(rule_no_desc("12.0.0.0/8"))
            .user_rules(rule_no_desc("bad"))
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    assert_eq!(
        rules_of(&describe_one(&c, &id).await),
        before,
        "failed rule changes must not change the group"
    );
    // Nothing was created by the failed creates: the name is free.
    create(&c, "never-created").await;
    assert_eq!(describe(&c, None).await.len(), 2);
}

async fn rule_quota(s: &TestServer) {
    let c = s.client();
    // 10 rules per group (unconfirmed): 10 at creation are fine, 11 are not.
    let id = create_with_rules(&c, "ten", many_rules(10)).await;
    assert_eq!(describe_one(&c, &id).await.user_rules().len(), 10);
    expect_err!(
        "CreateIpGroup with 11 rules",
        c.create_ip_group()
            .group_name("eleven")
            .set_user_rules(Some(many_rules(11)))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    expect_err!(
        "AuthorizeIpRules an 11th rule",
        c.authorize_ip_rules()
            .group_id(&id)
            .user_rules(rule_no_desc("192.0.2.0/24"))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    expect_err!(
        "UpdateRulesOfIpGroup with 11 rules",
        c.update_rules_of_ip_group()
            .group_id(&id)
            .set_user_rules(Some(many_rules(11)))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    let g = describe_one(&c, &id).await;
    assert_eq!(g.user_rules().len(), 10, "refused changes keep the 10 rules");

    // Authorize up to the limit in steps.
    let id2 = create(&c, "steps").await;
    let all = many_rules(10);
    ok(
        "AuthorizeIpRules 6",
        c.authorize_ip_rules()
            .group_id(&id2)
            .set_user_rules(Some(all[..6].to_vec()))
            .send()
            .await,
    );
    expect_err!(
        "AuthorizeIpRules 6 + 5",
        c.authorize_ip_rules()
            .group_id(&id2)
            .set_user_rules(Some(
                (0..5).map(|i| rule_no_desc(&format!("11.{i}.0.0/16"))).collect()
            ))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    assert_eq!(describe_one(&c, &id2).await.user_rules().len(), 6);
    ok(
        "AuthorizeIpRules 6 + 4",
        c.authorize_ip_rules()
            .group_id(&id2)
            .set_user_rules(Some(all[6..].to_vec()))
            .send()
            .await,
    );
    assert_eq!(describe_one(&c, &id2).await.user_rules().len(), 10);
    // Update with exactly 10 replaces within the limit.
    ok(
        "UpdateRulesOfIpGroup 10",
        c.update_rules_of_ip_group()
            .group_id(&id2)
            .set_user_rules(Some(many_rules(10)))
            .send()
            .await,
    );
    // Revoke then authorize again.
    ok(
        "RevokeIpRules",
        c.revoke_ip_rules()
            .group_id(&id2)
            .user_rules("10.0.0.0/16")
            .send()
            .await,
    );
    ok(
        "AuthorizeIpRules",
        c.authorize_ip_rules()
            .group_id(&id2)
            .user_rules(rule_no_desc("192.0.2.0/24"))
            .send()
            .await,
    );
    assert_eq!(describe_one(&c, &id2).await.user_rules().len(), 10);
}

async fn unknown_group_is_not_found(s: &TestServer) {
    let c = s.client();
    create(&c, "exists").await;
    let e = expect_err!(
        "DeleteIpGroup unknown",
        c.delete_ip_group().group_id(MISSING_GROUP).send().await,
        is_resource_not_found_exception
    );
    assert!(
        e.request_id().is_some_and(|r| !r.is_empty()),
        "error without x-amzn-RequestId"
    );
    match e {
        aws_sdk_workspaces::operation::delete_ip_group::DeleteIpGroupError::ResourceNotFoundException(x) => {
            assert_eq!(
                x.resource_id(),
                Some(MISSING_GROUP),
                "ResourceNotFoundException.ResourceId"
            );
        }
        other => panic!("{other:?}"),
    }
    expect_err!(
        "AuthorizeIpRules unknown",
        c.authorize_ip_rules()
            .group_id(MISSING_GROUP)
            .user_rules(rule_no_desc("10.0.0.0/8"))
            .send()
            .await,
        is_resource_not_found_exception
    );
    expect_err!(
        "RevokeIpRules unknown",
        c.revoke_ip_rules()
            .group_id(MISSING_GROUP)
            .user_rules("10.0.0.0/8")
            .send()
            .await,
        is_resource_not_found_exception
    );
    expect_err!(
        "UpdateRulesOfIpGroup unknown",
        c.update_rules_of_ip_group()
            .group_id(MISSING_GROUP)
            .user_rules(rule_no_desc("10.0.0.0/8"))
            .send()
            .await,
        is_resource_not_found_exception
    );
}

async fn delete_group(s: &TestServer) {
    let c = s.client();
    let keep = create(&c, "keep").await;
    let id = ok(
        "CreateIpGroup doomed",
        c.create_ip_group()
            .group_name("doomed")
            .user_rules(rule_no_desc("10.0.0.0/8"))
            .tags(tag("k", "v"))
            .send()
            .await,
    )
    .group_id()
    .expect("GroupId")
    .to_string();
    ok("DeleteIpGroup", c.delete_ip_group().group_id(&id).send().await);

    assert!(
        describe(&c, Some(std::slice::from_ref(&id))).await.is_empty(),
        "a deleted group is not described"
    );
    assert_eq!(ids_of(&describe(&c, None).await), vec![keep.clone()]);
    expect_err!(
        "DeleteIpGroup twice",
        c.delete_ip_group().group_id(&id).send().await,
        is_resource_not_found_exception
    );
    expect_err!(
        "AuthorizeIpRules on a deleted group",
        c.authorize_ip_rules()
            .group_id(&id)
            .user_rules(rule_no_desc("10.0.0.0/8"))
            .send()
            .await,
        is_resource_not_found_exception
    );
    expect_err!(
        "DescribeTags of a deleted group",
        c.describe_tags().resource_id(&id).send().await,
        is_resource_not_found_exception
    );
    expect_err!(
        "CreateTags on a deleted group",
        c.create_tags().resource_id(&id).tags(tag("a", "b")).send().await,
        is_resource_not_found_exception
    );
    expect_err!(
        "DeleteTags on a deleted group",
        c.delete_tags().resource_id(&id).tag_keys("k").send().await,
        is_resource_not_found_exception
    );
    // The name is free again and the new group has a new id and none of the old state.
    let again = create(&c, "doomed").await;
    assert_ne!(again, id);
    let g = describe_one(&c, &again).await;
    assert!(g.user_rules().is_empty());
    assert_eq!(tags_of(&c, &again).await, vec![]);
}

async fn duplicate_names(s: &TestServer) {
    let c = s.client();
    let id = create(&c, "dup").await;
    expect_err!(
        "CreateIpGroup same name",
        c.create_ip_group()
            .group_name("dup")
            .group_desc("other")
            .send()
            .await,
        is_resource_already_exists_exception
    );
    assert_eq!(
        ids_of(&describe(&c, None).await),
        vec![id.clone()],
        "the refused create added nothing"
    );
    // Another name is fine.
    create(&c, "dup2").await;
    // Renaming does not exist; deleting frees the name.
    ok("DeleteIpGroup", c.delete_ip_group().group_id(&id).send().await);
    create(&c, "dup").await;
}

async fn group_quota_default_100(s: &TestServer) {
    let c = s.client();
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(create(&c, &format!("q-{i:03}")).await);
    }
    expect_err!(
        "CreateIpGroup #101",
        c.create_ip_group().group_name("q-over").send().await,
        is_resource_limit_exceeded_exception
    );
    assert_eq!(describe(&c, None).await.len(), 100);
    // Another account is not affected.
    create(&s.client(), "q-over").await;
    // Deleting one makes room again.
    ok(
        "DeleteIpGroup",
        c.delete_ip_group().group_id(&ids[0]).send().await,
    );
    create(&c, "q-over").await;
    expect_err!(
        "CreateIpGroup #101 again",
        c.create_ip_group().group_name("q-over-2").send().await,
        is_resource_limit_exceeded_exception
    );
}

async fn group_quota_is_per_account_and_region(s: &TestServer) {
    // A server with a quota override (`--quota ip_groups=2`).
    let small = TestServer::start_with(s.engine(), &["--quota", "ip_groups=2"]).await;
    let acct = random_account();
    let east = small.client_as(&acct, "us-east-1");
    let west = small.client_as(&acct, "eu-west-1");
    create(&east, "one").await;
    create(&east, "two").await;
    expect_err!(
        "CreateIpGroup over the quota",
        east.create_ip_group().group_name("three").send().await,
        is_resource_limit_exceeded_exception
    );
    create(&west, "one").await;
    create(&west, "two").await;
    expect_err!(
        "CreateIpGroup over the quota (eu-west-1)",
        west.create_ip_group().group_name("three").send().await,
        is_resource_limit_exceeded_exception
    );
    let other = small.client();
    create(&other, "one").await;
    create(&other, "two").await;
    small.stop().await;
}

async fn create_time_tags_validation(s: &TestServer) {
    let c = s.client();
    // 50 tags at creation are fine, 51 are not.
    let id = ok(
        "CreateIpGroup 50 tags",
        c.create_ip_group()
            .group_name("fifty")
            .set_tags(Some(many_tags("t", 50)))
            .send()
            .await,
    )
    .group_id()
    .expect("GroupId")
    .to_string();
    assert_eq!(tags_of(&c, &id).await.len(), 50);
    expect_err!(
        "CreateIpGroup 51 tags",
        c.create_ip_group()
            .group_name("fifty-one")
            .set_tags(Some(many_tags("t", 51)))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    // Reserved aws: keys.
    expect_err!(
        "CreateIpGroup aws: tag",
        c.create_ip_group()
            .group_name("reserved")
            .tags(tag("aws:owner", "me"))
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    let names: BTreeSet<String> = describe(&c, None)
        .await
        .iter()
        .map(|g| g.group_name().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["fifty".to_string()]),
        "refused creates added nothing"
    );
}

async fn tags_upsert_delete_describe(s: &TestServer) {
    let c = s.client();
    let id = ok(
        "CreateIpGroup tagged",
        c.create_ip_group()
            .group_name("tagged")
            .tags(tag("a", "1"))
            .send()
            .await,
    )
    .group_id()
    .expect("GroupId")
    .to_string();
    assert_eq!(tags_of(&c, &id).await, kv(&[("a", Some("1"))]));

    // Upsert: existing key overwritten, new keys added, value optional.
    let out = ok(
        "CreateTags",
        c.create_tags()
            .resource_id(&id)
            .tags(tag("a", "2"))
            .tags(tag("b", "3"))
            .tags(tag_no_value("c"))
            .send()
            .await,
    );
    assert!(out.request_id().is_some());
    let want = kv(&[("a", Some("2")), ("b", Some("3")), ("c", None)]);
    assert_eq!(tags_of(&c, &id).await, want);
    // Idempotent.
    ok(
        "CreateTags again",
        c.create_tags()
            .resource_id(&id)
            .tags(tag("a", "2"))
            .tags(tag("b", "3"))
            .tags(tag_no_value("c"))
            .send()
            .await,
    );
    assert_eq!(tags_of(&c, &id).await, want);
    // Keys are case-sensitive; an empty value is a value.
    ok(
        "CreateTags A",
        c.create_tags()
            .resource_id(&id)
            .tags(tag("A", "upper"))
            .tags(tag("e", ""))
            .send()
            .await,
    );
    assert_eq!(
        tags_of(&c, &id).await,
        kv(&[
            ("a", Some("2")),
            ("A", Some("upper")),
            ("b", Some("3")),
            ("c", None),
            ("e", Some(""))
        ])
    );
    // An empty tag list is a no-op (CreateTags: unconfirmed).
    ok(
        "CreateTags []",
        c.create_tags()
            .resource_id(&id)
            .set_tags(Some(vec![]))
            .send()
            .await,
    );
    assert_eq!(
        tags_of(&c, &id).await,
        kv(&[
            ("a", Some("2")),
            ("A", Some("upper")),
            ("b", Some("3")),
            ("c", None),
            ("e", Some(""))
        ])
    );

    // DeleteTags removes the listed keys and ignores absent ones.
    ok(
        "DeleteTags",
        c.delete_tags()
            .resource_id(&id)
            .tag_keys("b")
            .tag_keys("missing")
            .tag_keys("A")
            .send()
            .await,
    );
    assert_eq!(
        tags_of(&c, &id).await,
        kv(&[("a", Some("2")), ("c", None), ("e", Some(""))])
    );
    ok(
        "DeleteTags only absent keys",
        c.delete_tags().resource_id(&id).tag_keys("nope").send().await,
    );
    ok(
        "DeleteTags rest",
        c.delete_tags()
            .resource_id(&id)
            .tag_keys("a")
            .tag_keys("c")
            .tag_keys("e")
            .send()
            .await,
    );
    assert_eq!(tags_of(&c, &id).await, vec![]);

    // Reserved aws: keys are refused and change nothing.
    expect_err!(
        "CreateTags aws:",
        c.create_tags()
            .resource_id(&id)
            .tags(tag("ok", "1"))
            .tags(tag("aws:cloudformation:stack", "x"))
            .send()
            .await,
        is_invalid_parameter_values_exception
    );
    assert_eq!(tags_of(&c, &id).await, vec![]);

    // Tags do not change the group itself.
    let g = describe_one(&c, &id).await;
    assert_eq!(g.group_name(), Some("tagged"));
    // Tags of one group do not appear on another.
    let other = create(&c, "untagged").await;
    ok(
        "CreateTags on first",
        c.create_tags()
            .resource_id(&id)
            .tags(tag("only", "here"))
            .send()
            .await,
    );
    assert_eq!(tags_of(&c, &other).await, vec![]);
}

async fn tag_limit_50(s: &TestServer) {
    let c = s.client();
    let id = create(&c, "limits").await;
    ok(
        "CreateTags 50",
        c.create_tags()
            .resource_id(&id)
            .set_tags(Some(many_tags("k", 50)))
            .send()
            .await,
    );
    assert_eq!(tags_of(&c, &id).await.len(), 50);
    expect_err!(
        "CreateTags 51st",
        c.create_tags()
            .resource_id(&id)
            .tags(tag("one-more", "x"))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    assert_eq!(tags_of(&c, &id).await.len(), 50);
    // Upserting existing keys at the limit is fine.
    ok(
        "CreateTags overwrite at 50",
        c.create_tags()
            .resource_id(&id)
            .tags(tag("k0", "new"))
            .send()
            .await,
    );
    let tags = tags_of(&c, &id).await;
    assert_eq!(tags.len(), 50);
    assert!(tags.contains(&("k0".to_string(), Some("new".to_string()))));
    // Free ten, then a batch that would end at 51 is refused whole.
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    ok(
        "DeleteTags 10",
        c.delete_tags()
            .resource_id(&id)
            .set_tag_keys(Some(keys))
            .send()
            .await,
    );
    assert_eq!(tags_of(&c, &id).await.len(), 40);
    expect_err!(
        "CreateTags 40 + 11",
        c.create_tags()
            .resource_id(&id)
            .set_tags(Some(many_tags("n", 11)))
            .send()
            .await,
        is_resource_limit_exceeded_exception
    );
    assert_eq!(tags_of(&c, &id).await.len(), 40, "a refused batch adds nothing");
    ok(
        "CreateTags 40 + 10",
        c.create_tags()
            .resource_id(&id)
            .set_tags(Some(many_tags("n", 10)))
            .send()
            .await,
    );
    assert_eq!(tags_of(&c, &id).await.len(), 50);
}

async fn tags_on_unknown_resources(s: &TestServer) {
    let c = s.client();
    create(&c, "present").await;
    for id in [
        MISSING_GROUP,
        "ws-abcdefgh1",
        "d-1234567890",
        "wsd-abcdefgh1",
        "wsb-abcdefgh1",
        "wsi-abcdefgh12",
        "wsca-abcdefgh1",
        "wspool-abcdefgh1",
        "nonsense",
    ] {
        expect_err!(
            format!("CreateTags {id}"),
            c.create_tags().resource_id(id).tags(tag("k", "v")).send().await,
            is_resource_not_found_exception
        );
        expect_err!(
            format!("DeleteTags {id}"),
            c.delete_tags().resource_id(id).tag_keys("k").send().await,
            is_resource_not_found_exception
        );
        expect_err!(
            format!("DescribeTags {id}"),
            c.describe_tags().resource_id(id).send().await,
            is_resource_not_found_exception
        );
    }
}

async fn model_constraint_violations(s: &TestServer) {
    // Model constraints the SDK does not check client-side are answered with the unmodeled
    // ValidationException.
    let c = s.client();
    let id = create(&c, "constraints").await;
    for n in [0, 26] {
        expect_code!(
            format!("DescribeIpGroups MaxResults={n}"),
            c.describe_ip_groups().max_results(n).send().await,
            "ValidationException"
        );
    }
    let long_key = "k".repeat(128);
    expect_code!(
        "CreateTags with a 128-char key",
        c.create_tags()
            .resource_id(&id)
            .tags(tag(&long_key, "v"))
            .send()
            .await,
        "ValidationException"
    );
    let long_value = "v".repeat(256);
    expect_code!(
        "CreateTags with a 256-char value",
        c.create_tags()
            .resource_id(&id)
            .tags(tag("k", &long_value))
            .send()
            .await,
        "ValidationException"
    );
    // The largest legal key and value are accepted.
    ok(
        "CreateTags 127/255",
        c.create_tags()
            .resource_id(&id)
            .tags(tag(&"k".repeat(127), &"v".repeat(255)))
            .send()
            .await,
    );
    expect_code!(
        "DeleteIpGroup with a malformed id",
        c.delete_ip_group().group_id("bad-id").send().await,
        "ValidationException"
    );
    expect_code!(
        "DescribeIpGroups with a malformed id",
        c.describe_ip_groups().group_ids("sg-12345678").send().await,
        "ValidationException"
    );
    let e = expect_code!(
        "CreateTags with an empty resource id",
        c.create_tags().resource_id("").tags(tag("k", "v")).send().await,
        "ValidationException"
    );
    assert!(
        e.message().is_some_and(|m| m.contains("validation error")),
        "Coral-style message: {:?}",
        e.message()
    );
}

async fn account_isolation(s: &TestServer) {
    let a = s.client();
    let b = s.client();
    let id = ok(
        "CreateIpGroup in A",
        a.create_ip_group()
            .group_name("shared-name")
            .user_rules(rule_no_desc("10.0.0.0/8"))
            .tags(tag("k", "v"))
            .send()
            .await,
    )
    .group_id()
    .expect("GroupId")
    .to_string();

    assert!(describe(&b, None).await.is_empty(), "B sees A's groups");
    assert!(
        describe(&b, Some(std::slice::from_ref(&id))).await.is_empty(),
        "B describes A's group by id"
    );
    expect_err!(
        "B DeleteIpGroup A's",
        b.delete_ip_group().group_id(&id).send().await,
        is_resource_not_found_exception
    );
    expect_err!(
        "B AuthorizeIpRules A's",
        b.authorize_ip_rules()
            .group_id(&id)
            .user_rules(rule_no_desc("11.0.0.0/8"))
            .send()
            .await,
        is_resource_not_found_exception
    );
    expect_err!(
        "B RevokeIpRules A's",
        b.revoke_ip_rules()
            .group_id(&id)
            .user_rules("10.0.0.0/8")
            .send()
            .await,
        is_resource_not_found_exception
    );
    expect_err!(
        "B UpdateRulesOfIpGroup A's",
        b.update_rules_of_ip_group()
            .group_id(&id)
            .set_user_rules(Some(vec![]))
            .send()
            .await,
        is_resource_not_found_exception
    );
    expect_err!(
        "B DescribeTags A's",
        b.describe_tags().resource_id(&id).send().await,
        is_resource_not_found_exception
    );
    expect_err!(
        "B CreateTags A's",
        b.create_tags().resource_id(&id).tags(tag("x", "y")).send().await,
        is_resource_not_found_exception
    );
    expect_err!(
        "B DeleteTags A's",
        b.delete_tags().resource_id(&id).tag_keys("k").send().await,
        is_resource_not_found_exception
    );
    // Names are unique per account only.
    let b_id = create(&b, "shared-name").await;
    assert_ne!(b_id, id);
    // A's group is untouched by B's attempts.
    let g = describe_one(&a, &id).await;
    assert_eq!(rules_of(&g), rules(&[("10.0.0.0/8", None)]));
    assert_eq!(tags_of(&a, &id).await, kv(&[("k", Some("v"))]));
    assert_eq!(ids_of(&describe(&a, None).await), vec![id]);
    assert_eq!(ids_of(&describe(&b, None).await), vec![b_id]);
}

async fn non_numeric_keys_share_the_default_account(s: &TestServer) {
    // Access keys that are not 12 digits act as account 123456789012.
    let akid = s.client_as("AKIDEXAMPLE", REGION);
    let other_key = s.client_as("ASIAOTHERKEY", REGION);
    let numeric = s.client_as("123456789012", REGION);
    let id = create(&akid, "default-account").await;
    assert_eq!(ids_of(&describe(&numeric, None).await), vec![id.clone()]);
    assert_eq!(ids_of(&describe(&other_key, None).await), vec![id.clone()]);
    // A 12-digit key that is another account does not see it; nor does an 11- or 13-digit key
    // map to its own account.
    assert!(describe(&s.client(), None).await.is_empty());
    assert_eq!(
        ids_of(&describe(&s.client_as("12345678901", REGION), None).await),
        vec![id.clone()]
    );
    assert_eq!(
        ids_of(&describe(&s.client_as("1234567890123", REGION), None).await),
        vec![id]
    );
}

async fn region_isolation(s: &TestServer) {
    let acct = random_account();
    let east = s.client_as(&acct, "us-east-1");
    let west = s.client_as(&acct, "eu-west-1");
    let id = ok(
        "CreateIpGroup us-east-1",
        east.create_ip_group()
            .group_name("regional")
            .tags(tag("k", "v"))
            .send()
            .await,
    )
    .group_id()
    .expect("GroupId")
    .to_string();
    assert!(
        describe(&west, None).await.is_empty(),
        "eu-west-1 sees us-east-1's groups"
    );
    assert!(describe(&west, Some(std::slice::from_ref(&id))).await.is_empty());
    expect_err!(
        "eu-west-1 DeleteIpGroup",
        west.delete_ip_group().group_id(&id).send().await,
        is_resource_not_found_exception
    );
    expect_err!(
        "eu-west-1 DescribeTags",
        west.describe_tags().resource_id(&id).send().await,
        is_resource_not_found_exception
    );
    expect_err!(
        "eu-west-1 CreateTags",
        west.create_tags()
            .resource_id(&id)
            .tags(tag("a", "b"))
            .send()
            .await,
        is_resource_not_found_exception
    );
    let west_id = create(&west, "regional").await;
    assert_eq!(ids_of(&describe(&east, None).await), vec![id.clone()]);
    assert_eq!(ids_of(&describe(&west, None).await), vec![west_id]);
    assert_eq!(tags_of(&east, &id).await, kv(&[("k", Some("v"))]));
}

async fn concurrent_creates_same_name(s: &TestServer) {
    let c = s.client();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.create_ip_group().group_name("race").send().await
        }));
    }
    let mut created = 0;
    let mut exists = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => created += 1,
            Err(e) => {
                let e = service_err("concurrent CreateIpGroup", Err::<(), _>(e));
                assert!(
                    e.is_resource_already_exists_exception(),
                    "concurrent CreateIpGroup: {:?}",
                    e.code()
                );
                exists += 1;
            }
        }
    }
    assert_eq!(
        (created, exists),
        (1, 7),
        "exactly one of 8 concurrent creates of one name succeeds"
    );
    assert_eq!(describe(&c, None).await.len(), 1);
}

async fn concurrent_creates_respect_quota(s: &TestServer) {
    let small = TestServer::start_with(s.engine(), &["--quota", "ip_groups=5"]).await;
    let c = small.client();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.create_ip_group().group_name(format!("par-{i}")).send().await
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => created += 1,
            Err(e) => {
                let e = service_err("concurrent CreateIpGroup", Err::<(), _>(e));
                assert!(
                    e.is_resource_limit_exceeded_exception(),
                    "concurrent CreateIpGroup: {:?}",
                    e.code()
                );
            }
        }
    }
    assert_eq!(created, 5, "the quota of 5 holds under concurrent creates");
    assert_eq!(describe(&c, None).await.len(), 5);
    small.stop().await;
}

async fn concurrent_tag_writes_keep_every_update(s: &TestServer) {
    let c = s.client();
    let id = create(&c, "busy").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let c = c.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            c.create_tags()
                .resource_id(id)
                .tags(tag(&format!("key{i}"), &format!("{i}")))
                .send()
                .await
        }));
    }
    for t in tasks {
        ok("concurrent CreateTags", t.await.expect("task"));
    }
    let tags = tags_of(&c, &id).await;
    assert_eq!(tags.len(), 16, "every acknowledged CreateTags is kept: {tags:?}");
    // Concurrent rule changes likewise.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let c = c.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            c.authorize_ip_rules()
                .group_id(id)
                .user_rules(rule_no_desc(&format!("10.{i}.0.0/16")))
                .send()
                .await
        }));
    }
    for t in tasks {
        ok("concurrent AuthorizeIpRules", t.await.expect("task"));
    }
    assert_eq!(describe_one(&c, &id).await.user_rules().len(), 8);
    assert_eq!(tags_of(&c, &id).await.len(), 16, "rule changes keep the tags");
}

/// Every WorkSpaces operation is real; a Directory Service operation outside the subset
/// WorkSpaces needs answers its modeled UnsupportedOperationException (400) naming itself.
async fn unimplemented_operation_is_not_implemented(s: &TestServer) {
    let (status, body) = common::ds_call(s, &random_account(), "DescribeTrusts", serde_json::json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["__type"], "UnsupportedOperationException", "{body}");
    assert!(body["RequestId"].is_string(), "{body}");
    // Directory Service errors carry `Message` (capital M), as its model says.
    let message = body["Message"].as_str().unwrap_or_default();
    assert!(
        message.contains("DescribeTrusts"),
        "the message names the operation: {message:?}"
    );
}

// ---------------------------------------------------------------------------------------
// SQLite only: state survives a graceful in-process restart.
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_state_survives_graceful_restart() {
    let server = TestServer::start(Engine::Sqlite).await;
    let acct = random_account();
    let c = server.client_as(&acct, REGION);
    let id = ok(
        "CreateIpGroup",
        c.create_ip_group()
            .group_name("persist")
            .group_desc("d")
            .user_rules(rule("10.0.0.0/8", "r"))
            .tags(tag("k", "v"))
            .send()
            .await,
    )
    .group_id()
    .expect("GroupId")
    .to_string();
    let gone = create(&c, "gone").await;
    ok("DeleteIpGroup", c.delete_ip_group().group_id(&gone).send().await);
    let before = describe(&c, None).await;
    let dir = server.stop().await;

    let server = TestServer::start_in(Engine::Sqlite, dir, &[]).await;
    let c = server.client_as(&acct, REGION);
    assert_eq!(describe(&c, None).await, before);
    assert_eq!(tags_of(&c, &id).await, kv(&[("k", Some("v"))]));
    expect_err!(
        "CreateIpGroup existing name after restart",
        c.create_ip_group().group_name("persist").send().await,
        is_resource_already_exists_exception
    );
    create(&c, "gone").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_state_does_not_survive_restart() {
    let server = TestServer::start(Engine::Memory).await;
    let acct = random_account();
    create(&server.client_as(&acct, REGION), "fleeting").await;
    let dir = server.stop().await;
    let server = TestServer::start_in(Engine::Memory, dir, &[]).await;
    assert!(describe(&server.client_as(&acct, REGION), None).await.is_empty());
    server.stop().await;
}
