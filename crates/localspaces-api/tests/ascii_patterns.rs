//! The models' patterns are Java regexes: `\d`, `\w` and `\s` (and their negations) match
//! ASCII only (inferred: AWS validates with Java's regex engine). One case per class the
//! models use, through the generated validation.

use localspaces_api::value::Value;
use localspaces_api::workspaces::{self as ws, decode_input, ErrorCode};

fn m(entries: Vec<(&'static str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

/// Whether decoding `input` as `T` reports a pattern violation at `member`.
fn pattern_fails<T: localspaces_api::shape::Shape>(input: Value, member: &str) -> bool {
    match decode_input::<T>(&input) {
        Ok(_) => false,
        Err(e) => {
            assert_eq!(e.code, ErrorCode::ValidationException, "{}", e.message);
            e.message.contains(&format!(
                "at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern"
            ))
        }
    }
}

#[test]
fn digits_are_ascii_digits() {
    let share = |account: &str| {
        m(vec![
            ("ImageId", s("wsi-123456789")),
            ("AllowCopyImage", Value::Bool(true)),
            ("SharedAccountId", s(account)),
        ])
    };
    let ok = share("222222222222");
    assert!(!pattern_fails::<ws::UpdateWorkspaceImagePermissionRequest>(
        ok,
        "sharedAccountId"
    ));
    // Fullwidth and Arabic-Indic digits are Unicode digits, not Java's `\d`.
    for bad in ["２２２２２２２２２２２２", "٢٢٢٢٢٢٢٢٢٢٢٢"] {
        assert!(
            pattern_fails::<ws::UpdateWorkspaceImagePermissionRequest>(share(bad), "sharedAccountId"),
            "{bad}"
        );
    }
}

#[test]
fn word_characters_are_ascii() {
    let cba = |arn: &str| {
        m(vec![
            ("ResourceId", s("d-1234567890")),
            (
                "CertificateBasedAuthProperties",
                m(vec![("CertificateAuthorityArn", s(arn))]),
            ),
        ])
    };
    let path = "certificateBasedAuthProperties.certificateAuthorityArn";
    assert!(!pattern_fails::<ws::ModifyCertificateBasedAuthPropertiesRequest>(
        cba("arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/ab_12"),
        path
    ));
    assert!(pattern_fails::<ws::ModifyCertificateBasedAuthPropertiesRequest>(
        cba("arn:awś:acm-pca:us-east-1:123456789012:certificate-authority/x"),
        path
    ));
}

#[test]
fn spaces_are_ascii_spaces() {
    let named = |name: &str| m(vec![("WorkspaceDirectoryName", s(name))]);
    for ok in ["my directory", "my\u{b}directory", "a\tb"] {
        assert!(
            !pattern_fails::<ws::RegisterWorkspaceDirectoryRequest>(named(ok), "workspaceDirectoryName"),
            "{ok:?}"
        );
    }
    // No-break and ideographic spaces are Unicode white space, not Java's `\s`.
    for bad in ["my\u{a0}directory", "my\u{3000}directory"] {
        assert!(
            pattern_fails::<ws::RegisterWorkspaceDirectoryRequest>(named(bad), "workspaceDirectoryName"),
            "{bad:?}"
        );
    }
}

#[test]
fn non_spaces_include_unicode_spaces() {
    let add_in = |url: &str| {
        m(vec![
            ("ResourceId", s("d-1234567890")),
            ("Name", s("add-in")),
            ("URL", s(url)),
        ])
    };
    // Java's `\S` is anything but the six ASCII spaces, so a no-break space is accepted.
    assert!(!pattern_fails::<ws::CreateConnectClientAddInRequest>(
        add_in("https://example.com/\u{a0}x"),
        "uRL"
    ));
    assert!(pattern_fails::<ws::CreateConnectClientAddInRequest>(
        add_in("https:// example.com"),
        "uRL"
    ));
}
