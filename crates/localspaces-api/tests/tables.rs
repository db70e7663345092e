//! The generated tables agree with the vendored model and with the protocol rules.

use localspaces_api::error::{ErrorTable, Fault};
use localspaces_api::shape::Shape;
use localspaces_api::value::Value;
use localspaces_api::workspaces::{self as ws, decode_input, ErrorCode, Operation};

#[test]
fn all_91_operations_with_names_that_round_trip() {
    assert_eq!(Operation::ALL.len(), 91);
    for &op in Operation::ALL {
        assert_eq!(Operation::from_name(op.name()), Some(op));
    }
    assert_eq!(
        Operation::from_name("describeWorkspaces"),
        None,
        "names are case-sensitive"
    );
    // The Directory Service subset: three directory lifecycle operations, DescribeDirectories,
    // DeleteDirectory and the three tag operations Terraform reads and writes.
    assert_eq!(localspaces_api::ds::Operation::ALL.len(), 8);
}

#[test]
fn modeled_errors_are_client_faults_with_status_400() {
    let modeled: Vec<_> = ErrorCode::ALL.iter().filter(|c| c.is_modeled()).collect();
    assert_eq!(modeled.len(), 23, "the model has 23 exception shapes");
    for c in modeled {
        assert_eq!(c.status(), 400, "{c:?}");
        assert_eq!(c.fault(), Fault::Client);
        assert_eq!(c.namespace(), "com.amazonaws.workspaces");
        assert_eq!(c.message_member(), "message");
    }
    assert_eq!(
        ErrorCode::ResourceNotFoundException.members(),
        &["ResourceId", "message"]
    );
    assert_eq!(ErrorCode::InternalFailure.status(), 500);
    assert_eq!(ErrorCode::NotImplemented.status(), 501);
    assert_eq!(ErrorCode::SerializationException.status(), 400);
    for &c in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_name(c.name()), Some(c));
    }
}

#[test]
fn every_operation_lists_only_known_errors() {
    for &op in Operation::ALL {
        for e in op.errors() {
            assert!(e.is_modeled(), "{op}: {e:?}");
        }
    }
    assert_eq!(
        Operation::CreateIpGroup.errors(),
        &[
            ErrorCode::InvalidParameterValuesException,
            ErrorCode::ResourceLimitExceededException,
            ErrorCode::ResourceAlreadyExistsException,
            ErrorCode::ResourceCreationFailedException,
            ErrorCode::AccessDeniedException
        ]
    );
    // Start/Stop/Terminate report failures per item and model no errors at all.
    assert!(Operation::StartWorkspaces.errors().is_empty());
}

#[test]
fn ds_errors_use_capital_message() {
    use localspaces_api::ds::ErrorCode as Ds;
    assert_eq!(Ds::EntityDoesNotExistException.message_member(), "Message");
    assert_eq!(
        Ds::EntityDoesNotExistException.namespace(),
        "com.amazonaws.directoryservice"
    );
}

#[test]
fn paginators_come_from_the_model() {
    let p = Operation::DescribeIpGroups.paginator().unwrap();
    assert_eq!(
        (p.input_token, p.result_key, p.limit_key),
        ("NextToken", "Result", Some("MaxResults"))
    );
    assert!(Operation::CreateIpGroup.paginator().is_none());
}

#[test]
fn enums_are_case_sensitive_wire_values() {
    assert_eq!(
        ws::WorkspaceState::from_wire("AVAILABLE"),
        Some(ws::WorkspaceState::Available)
    );
    assert_eq!(ws::WorkspaceState::from_wire("available"), None);
    assert_eq!(ws::RunningMode::AutoStop.as_str(), "AUTO_STOP");
    assert_eq!(ws::WorkspaceState::VALUES.len(), 17);
}

fn m(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string().into(), v))
            .collect(),
    )
}

#[test]
fn validation_collects_every_violation_in_aws_format() {
    // Violations are listed in the order the members arrive on the wire.
    let v = m(vec![
        ("MaxResults", Value::Int(30)),
        ("GroupIds", Value::List(vec![Value::String("nope".into())])),
    ]);
    let err = decode_input::<ws::DescribeIpGroupsRequest>(&v).unwrap_err();
    assert_eq!(err.code, ErrorCode::ValidationException);
    assert_eq!(
        err.message,
        "2 validation errors detected: Value 30 at 'maxResults' failed to satisfy constraint: Member must \
         have value less than or equal to 25; Value 'nope' at 'groupIds.1.member' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: wsipg-[0-9a-z]{8,63}$"
    );
    let err = decode_input::<ws::CreateIpGroupRequest>(&m(vec![])).unwrap_err();
    assert_eq!(
        err.message,
        "1 validation error detected: Value null at 'groupName' failed to satisfy constraint: Member must not be null"
    );
    let err = decode_input::<ws::ModifyWorkspaceStateRequest>(&m(vec![
        ("WorkspaceId", Value::String("ws-abcdefghi".into())),
        ("WorkspaceState", Value::String("BROKEN".into())),
    ]))
    .unwrap_err();
    assert!(
        err.message
            .contains("Member must satisfy enum value set: [AVAILABLE, ADMIN_MAINTENANCE]"),
        "{}",
        err.message
    );
}

#[test]
fn wrong_wire_types_are_serialization_errors_and_nulls_are_absent() {
    let err = decode_input::<ws::CreateIpGroupRequest>(&m(vec![("GroupName", Value::Int(5))])).unwrap_err();
    assert_eq!(err.code, ErrorCode::SerializationException);
    let ok = decode_input::<ws::CreateIpGroupRequest>(&m(vec![
        ("GroupName", Value::String("g".into())),
        ("GroupDesc", Value::Null),
        ("Unknown", Value::Bool(true)),
    ]))
    .unwrap();
    assert_eq!(ok.group_name, "g");
    assert_eq!(ok.group_desc, None);
}

#[test]
fn outputs_omit_absent_members_and_keep_wire_casing() {
    let g = ws::WorkspacesIpGroup {
        group_id: Some("wsipg-123456789".into()),
        ..Default::default()
    };
    assert_eq!(
        g.encode(),
        m(vec![("groupId", Value::String("wsipg-123456789".into()))])
    );
}
