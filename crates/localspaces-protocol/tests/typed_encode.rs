//! Typed outputs written straight to the wire: the exact bytes for JSON, the same tree as the
//! `Value` path for both codecs, and `serde_json`'s string escaping.

use localspaces_api::encode::Encode;
use localspaces_api::value::Value;
use localspaces_api::workspaces as ws;
use localspaces_protocol::{cbor, json};
use proptest::prelude::*;

fn ip_group() -> ws::DescribeIpGroupsResult {
    ws::DescribeIpGroupsResult {
        result: Some(vec![ws::WorkspacesIpGroup {
            group_id: Some("wsipg-12345678".into()),
            group_name: Some("office \"hq\"\n".into()),
            group_desc: None,
            user_rules: Some(vec![
                ws::IpRuleItem {
                    ip_rule: Some("10.0.0.0/16".into()),
                    rule_desc: Some("é\u{1}".into()),
                },
                ws::IpRuleItem::default(),
            ]),
        }]),
        next_token: None,
    }
}

#[test]
fn json_bytes_are_exact() {
    assert_eq!(
        String::from_utf8(json::encode(&ip_group())).unwrap(),
        r#"{"Result":[{"groupId":"wsipg-12345678","groupName":"office \"hq\"\n","userRules":[{"ipRule":"10.0.0.0/16","ruleDesc":"é\u0001"},{}]}]}"#
    );
    let import = ws::DescribeCustomWorkspaceImageImportResult {
        created: Some(1_700_000_000.5),
        last_updated_time: Some(1_700_000_001.0),
        progress_percentage: Some(42),
        state: Some(ws::CustomWorkspaceImageImportState::InProgress),
        ..Default::default()
    };
    assert_eq!(
        String::from_utf8(json::encode(&import)).unwrap(),
        r#"{"Created":1700000000.5,"LastUpdatedTime":1700000001,"ProgressPercentage":42,"State":"IN_PROGRESS"}"#
    );
    let branding = ws::DefaultImportClientBrandingAttributes {
        login_message: Some(vec![
            ("en_US".into(), "hi".into()),
            ("de_DE".into(), "hallo".into()),
        ]),
        logo: Some(b"hi".to_vec()),
        ..Default::default()
    };
    assert_eq!(
        String::from_utf8(json::encode(&branding)).unwrap(),
        r#"{"LoginMessage":{"en_US":"hi","de_DE":"hallo"},"Logo":"aGk="}"#
    );
    assert_eq!(json::encode(&ws::CreateTagsResult {}), b"{}");
}

/// The typed path and the tree path give the same bytes in both codecs, and the CBOR reads
/// back as the tree.
fn same_bytes<T: Encode>(x: &T) {
    let tree = x.to_value();
    assert_eq!(json::encode(x), json::encode(&tree));
    assert_eq!(cbor::encode(x), cbor::encode(&tree));
    assert_eq!(cbor::decode(&cbor::encode(x)).unwrap(), tree);
}

#[test]
fn typed_and_tree_paths_agree() {
    same_bytes(&ip_group());
    same_bytes(&ws::DescribeCustomWorkspaceImageImportResult {
        created: Some(1_700_000_000.123),
        error_details: Some(vec![ws::CustomWorkspaceImageImportErrorDetails::default()]),
        progress_percentage: Some(-1),
        ..Default::default()
    });
    same_bytes(&ws::DefaultImportClientBrandingAttributes {
        login_message: Some(vec![("en_US".into(), "x".into())]),
        logo: Some(vec![0, 255, 7]),
        forgot_password_link: Some(String::new()),
        ..Default::default()
    });
    same_bytes(&ws::Workspace {
        workspace_id: Some("ws-abcdefghi".into()),
        state: Some(ws::WorkspaceState::Available),
        root_volume_encryption_enabled: Some(false),
        modification_states: Some(vec![]),
        workspace_properties: Some(ws::WorkspaceProperties {
            root_volume_size_gib: Some(80),
            ..Default::default()
        }),
        ..Default::default()
    });
}

proptest! {
    #[test]
    fn strings_are_escaped_like_serde_json(s in any::<String>()) {
        let ours = json::encode(&Value::String(s.clone()));
        prop_assert_eq!(ours, serde_json::to_vec(&s).unwrap());
    }

    #[test]
    fn numbers_are_written_like_serde_json(i in any::<i64>(), f in any::<f64>()) {
        prop_assert_eq!(json::encode(&Value::Int(i)), serde_json::to_vec(&i).unwrap());
        prop_assert_eq!(json::encode(&Value::Float(f)), serde_json::to_vec(&f).unwrap());
    }
}
