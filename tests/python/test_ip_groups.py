"""IP access control groups and tags through boto3, on both protocols and both engines."""
import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client


def rules(*cidrs):
    return [{"ipRule": c, "ruleDesc": f"rule {c}"} for c in cidrs]


def test_create_and_describe_with_exact_wire_names(ws):
    gid = ws.create_ip_group(
        GroupName="office", GroupDesc="head office", UserRules=rules("10.0.0.0/16"), Tags=[{"Key": "team", "Value": "vdi"}]
    )["GroupId"]
    assert gid.startswith("wsipg-") and len(gid) == 15
    got = ws.describe_ip_groups(GroupIds=[gid])["Result"]
    assert got == [
        {
            "groupId": gid,
            "groupName": "office",
            "groupDesc": "head office",
            "userRules": [{"ipRule": "10.0.0.0/16", "ruleDesc": "rule 10.0.0.0/16"}],
        }
    ]
    assert ws.describe_tags(ResourceId=gid)["TagList"] == [{"Key": "team", "Value": "vdi"}]


def test_create_minimal_has_empty_rules(ws):
    gid = ws.create_ip_group(GroupName="bare")["GroupId"]
    (g,) = ws.describe_ip_groups(GroupIds=[gid])["Result"]
    assert g["userRules"] == [] and "groupDesc" not in g


def test_describe_by_ids_omits_unknown_and_dedupes(ws):
    a = ws.create_ip_group(GroupName="a")["GroupId"]
    b = ws.create_ip_group(GroupName="b")["GroupId"]
    got = ws.describe_ip_groups(GroupIds=[b, "wsipg-000000000", a, b])["Result"]
    assert [g["groupId"] for g in got] == [a, b]


def test_pagination_pages_in_creation_order(ws):
    ids = [ws.create_ip_group(GroupName=f"g{i}")["GroupId"] for i in range(7)]
    seen, token, sizes = [], None, []
    while True:
        kw = {"MaxResults": 3, **({"NextToken": token} if token else {})}
        page = ws.describe_ip_groups(**kw)
        sizes.append(len(page["Result"]))
        seen += [g["groupId"] for g in page["Result"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sizes == [3, 3, 1] and seen == ids
    paged = [g["groupId"] for p in ws.get_paginator("describe_ip_groups").paginate(PaginationConfig={"PageSize": 2}) for g in p["Result"]]
    assert paged == ids


def test_bad_next_token_is_invalid_parameter(ws):
    with pytest.raises(ClientError) as e:
        ws.describe_ip_groups(NextToken="not-a-token")
    assert error_of(e)[0] == "InvalidParameterValuesException"


@pytest.mark.parametrize("n", [0, 26])
def test_max_results_out_of_range_is_validation(raw_ws, n):
    with pytest.raises(ClientError) as e:
        raw_ws.describe_ip_groups(MaxResults=n)
    code, msg = error_of(e)
    assert code == "ValidationException" and "maxResults" in msg


def test_duplicate_name_already_exists(ws):
    ws.create_ip_group(GroupName="dup")
    with pytest.raises(ClientError) as e:
        ws.create_ip_group(GroupName="dup")
    assert error_of(e)[0] == "ResourceAlreadyExistsException"


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "not-an-ip", "10.0.0/8", "::1/128"])
def test_invalid_cidrs_everywhere(ws, bad):
    gid = ws.create_ip_group(GroupName="c")["GroupId"]
    calls = [
        lambda: ws.create_ip_group(GroupName="c2", UserRules=[{"ipRule": bad}]),
        lambda: ws.authorize_ip_rules(GroupId=gid, UserRules=[{"ipRule": bad}]),
        lambda: ws.update_rules_of_ip_group(GroupId=gid, UserRules=[{"ipRule": bad}]),
        lambda: ws.revoke_ip_rules(GroupId=gid, UserRules=[bad]),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e)[0] == "InvalidParameterValuesException"


def test_authorize_revoke_update(ws):
    gid = ws.create_ip_group(GroupName="r", UserRules=rules("10.0.0.0/8"))["GroupId"]
    ws.authorize_ip_rules(GroupId=gid, UserRules=rules("192.168.0.0/16", "172.16.0.0/12"))
    cidrs = lambda: [r["ipRule"] for r in ws.describe_ip_groups(GroupIds=[gid])["Result"][0]["userRules"]]
    assert cidrs() == ["10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12"]
    ws.revoke_ip_rules(GroupId=gid, UserRules=["192.168.0.0/16", "1.2.3.4/32"])  # unknown CIDR ignored (unconfirmed)
    assert cidrs() == ["10.0.0.0/8", "172.16.0.0/12"]
    ws.update_rules_of_ip_group(GroupId=gid, UserRules=rules("8.8.8.8/32"))
    assert cidrs() == ["8.8.8.8/32"]
    ws.update_rules_of_ip_group(GroupId=gid, UserRules=[])
    assert cidrs() == []


def test_duplicate_cidr_refused_inferred(ws):
    gid = ws.create_ip_group(GroupName="d", UserRules=rules("10.0.0.0/8"))["GroupId"]
    with pytest.raises(ClientError) as e:
        ws.authorize_ip_rules(GroupId=gid, UserRules=rules("10.0.0.0/8"))
    assert error_of(e)[0] == "InvalidParameterValuesException"


def test_rule_limit_of_ten(ws):
    ten = [f"10.0.{i}.0/24" for i in range(10)]
    gid = ws.create_ip_group(GroupName="full", UserRules=rules(*ten))["GroupId"]
    for call in [
        lambda: ws.create_ip_group(GroupName="over", UserRules=rules(*ten, "11.0.0.0/8")),
        lambda: ws.authorize_ip_rules(GroupId=gid, UserRules=rules("11.0.0.0/8")),
        lambda: ws.update_rules_of_ip_group(GroupId=gid, UserRules=rules(*ten, "11.0.0.0/8")),
    ]:
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e)[0] == "ResourceLimitExceededException"
    assert len(ws.describe_ip_groups(GroupIds=[gid])["Result"][0]["userRules"]) == 10


def test_group_quota_of_one_hundred(server, account):
    ws = make_client(server.url, "json", account)
    for i in range(100):
        ws.create_ip_group(GroupName=f"q{i}")
    with pytest.raises(ClientError) as e:
        ws.create_ip_group(GroupName="q100")
    assert error_of(e)[0] == "ResourceLimitExceededException"


def test_delete_and_not_found(ws):
    gid = ws.create_ip_group(GroupName="gone")["GroupId"]
    ws.delete_ip_group(GroupId=gid)
    assert ws.describe_ip_groups(GroupIds=[gid])["Result"] == []
    for call in [
        lambda: ws.delete_ip_group(GroupId=gid),
        lambda: ws.authorize_ip_rules(GroupId=gid, UserRules=rules("1.1.1.1/32")),
        lambda: ws.revoke_ip_rules(GroupId=gid, UserRules=["1.1.1.1/32"]),
        lambda: ws.update_rules_of_ip_group(GroupId=gid, UserRules=[]),
    ]:
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e)[0] == "ResourceNotFoundException"
        assert e.value.response.get("ResourceId") == gid or "ResourceId" not in e.value.response


def test_malformed_id_and_missing_member_are_validation(raw_ws):
    with pytest.raises(ClientError) as e:
        raw_ws.delete_ip_group(GroupId="bad")
    code, msg = error_of(e)
    assert code == "ValidationException" and "regular expression pattern: wsipg-[0-9a-z]{8,63}$" in msg
    with pytest.raises(ClientError) as e:
        raw_ws.create_ip_group()
    assert error_of(e) == (
        "ValidationException",
        "1 validation error detected: Value null at 'groupName' failed to satisfy constraint: Member must not be null",
    )


def test_tags_upsert_delete_describe(ws):
    gid = ws.create_ip_group(GroupName="t")["GroupId"]
    ws.create_tags(ResourceId=gid, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ws.create_tags(ResourceId=gid, Tags=[{"Key": "a", "Value": "3"}])
    assert ws.describe_tags(ResourceId=gid)["TagList"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    ws.delete_tags(ResourceId=gid, TagKeys=["a", "absent"])
    assert ws.describe_tags(ResourceId=gid)["TagList"] == [{"Key": "b", "Value": "2"}]


def test_fifty_tag_limit_and_failed_call_changes_nothing(ws):
    gid = ws.create_ip_group(GroupName="many")["GroupId"]
    ws.create_tags(ResourceId=gid, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as e:
        ws.create_tags(ResourceId=gid, Tags=[{"Key": "k0", "Value": "changed"}, {"Key": "k50", "Value": "v"}])
    assert error_of(e)[0] == "ResourceLimitExceededException"
    tags = ws.describe_tags(ResourceId=gid)["TagList"]
    assert len(tags) == 50 and tags[0] == {"Key": "k0", "Value": "v"}


def test_reserved_aws_prefix_inferred(ws):
    gid = ws.create_ip_group(GroupName="aws")["GroupId"]
    with pytest.raises(ClientError) as e:
        ws.create_tags(ResourceId=gid, Tags=[{"Key": "aws:owner", "Value": "x"}])
    assert error_of(e)[0] == "InvalidParameterValuesException"


@pytest.mark.parametrize("rid", ["ws-abcdefghi", "d-1234567890", "wsi-abcdefghi", "wsb-abcdefghi", "wsca-abcdefghi", "wsipg-abcdefghi"])
def test_tags_on_unknown_resources_not_found(ws, rid):
    for call in [
        lambda: ws.describe_tags(ResourceId=rid),
        lambda: ws.create_tags(ResourceId=rid, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: ws.delete_tags(ResourceId=rid, TagKeys=["k"]),
    ]:
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e)[0] == "ResourceNotFoundException"


def test_accounts_and_regions_are_isolated(server, protocol, account):
    a = make_client(server.url, protocol, account)
    gid = a.create_ip_group(GroupName="mine", Tags=[{"Key": "k", "Value": "v"}])["GroupId"]
    other = make_client(server.url, protocol)
    west = make_client(server.url, protocol, account, region="us-west-2")
    for c in (other, west):
        assert c.describe_ip_groups(GroupIds=[gid])["Result"] == []
        assert c.describe_ip_groups()["Result"] == []
        for call in [lambda: c.delete_ip_group(GroupId=gid), lambda: c.describe_tags(ResourceId=gid)]:
            with pytest.raises(ClientError) as e:
                call()
            assert error_of(e)[0] == "ResourceNotFoundException"
        # The same name is free in another account or Region.
        c.create_ip_group(GroupName="mine")
    assert len(a.describe_ip_groups()["Result"]) == 1


def test_cbor_client_really_speaks_cbor(server, account):
    c = make_client(server.url, "cbor", account)
    seen = []
    c.meta.events.register("before-send.workspaces.*", lambda request, **kw: seen.append(request))
    c.create_ip_group(GroupName="wire")
    (req,) = seen
    assert req.url.endswith("/service/WorkspacesService/operation/CreateIpGroup")
    assert req.headers["smithy-protocol"] == b"rpc-v2-cbor" or req.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert c.meta.service_model.resolved_protocol == "smithy-rpc-v2-cbor"


def test_not_implemented_operation_names_itself(server, account):
    # Every WorkSpaces operation is real; the Directory Service API beyond the subset that
    # WorkSpaces needs is not, and answers like any unimplemented operation.
    import boto3

    ds = boto3.client("ds", endpoint_url=server.url, region_name="us-east-1",
                      aws_access_key_id=account, aws_secret_access_key="x")
    with pytest.raises(ClientError) as e:
        ds.describe_trusts()
    err = e.value.response
    # The DS model's own UnsupportedOperationException (was 501 NotImplemented).
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err["Error"]["Code"] == "UnsupportedOperationException"
    assert "DescribeTrusts" in err["Error"]["Message"] and err["RequestId"]
