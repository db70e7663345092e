"""Account-level features through boto3 on both protocols and engines: BYOL (DescribeAccount,
ModifyAccount with its PENDING -> COMPLETED modification, DescribeAccountModifications,
ListAvailableManagementCidrRanges) and account links between two accounts of one server."""
import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client, random_account
from flows import admin, poll


@pytest.fixture
def server(instant_server):
    return instant_server


def byol(url, account, eligible=True):
    status, body = admin(url, "byol", account=account, region="us-east-1", eligible=str(eligible).lower())
    assert status == 200, body


def test_byol_is_refused_until_the_account_is_eligible(ws, server, account):
    assert ws.describe_account()["DedicatedTenancySupport"] == "DISABLED"
    assert "DedicatedTenancyManagementCidrRange" not in ws.describe_account()
    assert ws.describe_account_modifications()["AccountModifications"] == []
    with pytest.raises(ClientError) as e:
        ws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="10.0.0.0/8")
    assert error_of(e)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.0.0.0/16")
    assert error_of(e)[0] == "AccessDeniedException"


def test_available_ranges_and_pagination(ws, server, account):
    byol(server.url, account)
    out = ws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="10.0.0.0/8", MaxResults=5)
    assert out["ManagementCidrRanges"] == [f"10.{i}.0.0/16" for i in range(5)]
    pages = list(
        ws.get_paginator("list_available_management_cidr_ranges").paginate(
            ManagementCidrRangeConstraint="172.0.0.0/8", PaginationConfig={"PageSize": 5}
        )
    )
    ranges = [r for p in pages for r in p["ManagementCidrRanges"]]
    assert ranges == [f"172.{i}.0.0/16" for i in range(16, 32)] and len(pages) == 4
    assert ws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="192.168.0.0/16")[
        "ManagementCidrRanges"
    ] == ["192.168.0.0/16"]
    assert ws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="10.1.0.0/20")[
        "ManagementCidrRanges"
    ] == [], "a /20 holds no /16"
    assert ws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="8.8.0.0/16")[
        "ManagementCidrRanges"
    ] == []


def test_bad_input(raw_ws, server, account):
    byol(server.url, account)
    with pytest.raises(ClientError) as e:
        raw_ws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="10.0.0.0/33")
    assert error_of(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        raw_ws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="10.0.0.0/8", MaxResults=6)
    assert error_of(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        raw_ws.modify_account(DedicatedTenancySupport="DISABLED", DedicatedTenancyManagementCidrRange="10.0.0.0/16")
    assert error_of(e)[0] == "ValidationException", "only ENABLED can be requested"
    with pytest.raises(ClientError) as e:
        raw_ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.0.0.0/20")
    assert error_of(e)[0] == "ValidationException"
    for cidr in ["8.8.0.0/16", "172.15.0.0/16"]:
        with pytest.raises(ClientError) as e:
            raw_ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange=cidr)
        assert error_of(e)[0] == "InvalidParameterValuesException", cidr
    with pytest.raises(ClientError) as e:
        raw_ws.modify_account(DedicatedTenancySupport="ENABLED")
    assert error_of(e)[0] == "InvalidParameterValuesException"


def test_enable_byol(ws, server, account):
    byol(server.url, account)
    assert ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.7.0.0/16")[
        "ResponseMetadata"
    ]["HTTPStatusCode"] == 200
    (m,) = ws.describe_account_modifications()["AccountModifications"]
    assert m["ModificationState"] == "COMPLETED"  # instant timing
    assert m["DedicatedTenancySupport"] == "ENABLED"
    assert m["DedicatedTenancyManagementCidrRange"] == "10.7.0.0/16"
    assert m["StartTime"].year >= 2024
    acct = ws.describe_account()
    assert acct["DedicatedTenancySupport"] == "ENABLED"
    assert acct["DedicatedTenancyManagementCidrRange"] == "10.7.0.0/16"
    # The range in use is no longer offered, and cannot be requested again.
    offered = ws.list_available_management_cidr_ranges(ManagementCidrRangeConstraint="10.0.0.0/12", MaxResults=5)
    assert "10.7.0.0/16" not in [r for p in ws.get_paginator("list_available_management_cidr_ranges").paginate(
        ManagementCidrRangeConstraint="10.0.0.0/12") for r in p["ManagementCidrRanges"]]
    assert offered["ManagementCidrRanges"][0] == "10.0.0.0/16"
    # Once enabled, BYOL cannot be enabled again, with the same range or another one (this
    # used to move the range; AWS refuses it as an invalid state).
    for kw in (
        {"DedicatedTenancySupport": "ENABLED", "DedicatedTenancyManagementCidrRange": "10.7.0.0/16"},
        {"DedicatedTenancySupport": "ENABLED", "DedicatedTenancyManagementCidrRange": "192.168.0.0/16"},
    ):
        with pytest.raises(ClientError) as e:
            ws.modify_account(**kw)
        assert error_of(e)[0] == "InvalidResourceStateException", kw
    mods = ws.describe_account_modifications()["AccountModifications"]
    assert [m["DedicatedTenancyManagementCidrRange"] for m in mods] == ["10.7.0.0/16"]


def test_pending_modification_is_visible_on_fast_timing(servers, protocol):
    account = random_account()
    url = servers["sqlite"].url
    ws = make_client(url, protocol, account)
    byol(url, account)
    ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.9.0.0/16")
    state = lambda: ws.describe_account_modifications()["AccountModifications"][0]["ModificationState"]  # noqa: E731
    assert state() == "PENDING"
    assert ws.describe_account()["DedicatedTenancySupport"] == "DISABLED"
    with pytest.raises(ClientError) as e:
        ws.modify_account(DedicatedTenancySupport="ENABLED", DedicatedTenancyManagementCidrRange="10.10.0.0/16")
    assert error_of(e)[0] == "InvalidResourceStateException"
    poll(state, lambda s: s == "COMPLETED", {"PENDING", "COMPLETED"})
    assert ws.describe_account()["DedicatedTenancySupport"] == "ENABLED"


def test_account_links_between_two_accounts(server, protocol):
    src_id, dst_id = random_account(), random_account()
    src = make_client(server.url, protocol, src_id)
    dst = make_client(server.url, protocol, dst_id)
    with pytest.raises(ClientError) as e:
        src.create_account_link_invitation(TargetAccountId=src_id)
    assert error_of(e)[0] == "ValidationException"
    link = src.create_account_link_invitation(TargetAccountId=dst_id, ClientToken="tok-1")["AccountLink"]
    assert link["AccountLinkId"].startswith("link-")
    assert link["AccountLinkStatus"] == "PENDING_ACCEPTANCE_BY_TARGET_ACCOUNT"
    assert (link["SourceAccountId"], link["TargetAccountId"]) == (src_id, dst_id)
    again = src.create_account_link_invitation(TargetAccountId=dst_id, ClientToken="tok-1")["AccountLink"]
    assert again == link, "same client token: same link"
    with pytest.raises(ClientError) as e:
        src.create_account_link_invitation(TargetAccountId=dst_id)
    assert error_of(e)[0] == "ConflictException"

    # Both parties see it; a third account does not.
    lid = link["AccountLinkId"]
    assert dst.get_account_link(LinkId=lid)["AccountLink"] == link
    assert src.get_account_link(LinkedAccountId=dst_id)["AccountLink"] == link
    assert [x["AccountLinkId"] for x in dst.list_account_links()["AccountLinks"]] == [lid]
    third = make_client(server.url, protocol, random_account())
    with pytest.raises(ClientError) as e:
        third.get_account_link(LinkId=lid)
    assert error_of(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        src.get_account_link()
    assert error_of(e)[0] == "ValidationException"

    # Only the target answers.
    with pytest.raises(ClientError) as e:
        src.accept_account_link_invitation(LinkId=lid)
    assert error_of(e)[0] == "AccessDeniedException"
    accepted = dst.accept_account_link_invitation(LinkId=lid)["AccountLink"]
    assert accepted["AccountLinkStatus"] == "LINKED"
    assert dst.accept_account_link_invitation(LinkId=lid)["AccountLink"] == accepted, "a retry is harmless"
    with pytest.raises(ClientError) as e:
        dst.reject_account_link_invitation(LinkId=lid)
    assert error_of(e)[0] == "ConflictException"
    with pytest.raises(ClientError) as e:
        src.delete_account_link_invitation(LinkId=lid)
    assert error_of(e)[0] == "ConflictException", "no unlinking after acceptance"
    assert src.describe_account()["DedicatedTenancyAccountType"] == "SOURCE_ACCOUNT"
    assert dst.describe_account()["DedicatedTenancyAccountType"] == "TARGET_ACCOUNT"
    assert src.list_account_links(LinkStatusFilter=["REJECTED"])["AccountLinks"] == []
    assert len(src.list_account_links(LinkStatusFilter=["LINKED"])["AccountLinks"]) == 1


def test_reject_delete_and_list_pagination(server, protocol):
    src_id = random_account()
    src = make_client(server.url, protocol, src_id)
    targets = [random_account() for _ in range(5)]
    links = [src.create_account_link_invitation(TargetAccountId=t)["AccountLink"]["AccountLinkId"] for t in targets]
    rejected = make_client(server.url, protocol, targets[0]).reject_account_link_invitation(LinkId=links[0])
    assert rejected["AccountLink"]["AccountLinkStatus"] == "REJECTED"
    # After a rejection the source may invite again.
    src.create_account_link_invitation(TargetAccountId=targets[0])
    deleted = src.delete_account_link_invitation(LinkId=links[1])["AccountLink"]
    assert deleted["AccountLinkId"] == links[1]
    with pytest.raises(ClientError) as e:
        src.get_account_link(LinkId=links[1])
    assert error_of(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        make_client(server.url, protocol, targets[2]).delete_account_link_invitation(LinkId=links[2])
    assert error_of(e)[0] == "AccessDeniedException"
    pages = list(src.get_paginator("list_account_links").paginate(PaginationConfig={"PageSize": 2}))
    ids = [x["AccountLinkId"] for p in pages for x in p["AccountLinks"]]
    assert len(ids) == 5 and len(set(ids)) == 5 and len(pages) == 3
    pending = src.list_account_links(LinkStatusFilter=["PENDING_ACCEPTANCE_BY_TARGET_ACCOUNT"])["AccountLinks"]
    assert len(pending) == 4
    with pytest.raises(ClientError) as e:
        src.accept_account_link_invitation(LinkId="link-doesnotexist")
    assert error_of(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        src.accept_account_link_invitation(LinkId="link-x")
    assert error_of(e)[0] == "ValidationException"
