"""Connection aliases through boto3 on both protocols and both store engines: the lifecycle
Terraform's aws_workspaces_connection_alias waits for (CREATING -> CREATED, DELETING -> gone)
on the default `fast` timing, then associations, sharing with a second account, every
modeled error, pagination and tags on `instant` servers."""
import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client, random_account
from flows import GONE, ds_client, poll, registered_directory, settle


def alias_state(ws, alias_id):
    got = ws.describe_connection_aliases(AliasIds=[alias_id])["ConnectionAliases"]
    return got[0]["State"] if got else GONE


def created_alias(ws, fqdn):
    alias_id = ws.create_connection_alias(ConnectionString=fqdn)["AliasId"]
    poll(lambda: alias_state(ws, alias_id), lambda s: s == "CREATED", {"CREATING", "CREATED"})
    return alias_id


def unique_fqdn(tag="desk"):
    return f"{tag}-{random_account()}.example.com"


@pytest.mark.parametrize("engine", ["memory", "sqlite"])
def test_create_describe_delete_as_terraform_waits(servers, engine, protocol, account):
    ws = make_client(servers[engine].url, protocol, account)  # default `fast` timing
    fqdn = unique_fqdn()
    alias_id = ws.create_connection_alias(ConnectionString=fqdn, Tags=[{"Key": "team", "Value": "vdi"}])["AliasId"]
    assert alias_id.startswith("wsca-")
    (a,) = ws.describe_connection_aliases(AliasIds=[alias_id])["ConnectionAliases"]
    assert a["State"] == "CREATING"
    assert a["ConnectionString"] == fqdn and a["OwnerAccountId"] == account
    assert "Associations" not in a
    log = poll(lambda: alias_state(ws, alias_id), lambda s: s == "CREATED", {"CREATING", "CREATED"})
    assert log.states[-1] == "CREATED"
    assert ws.describe_tags(ResourceId=alias_id)["TagList"] == [{"Key": "team", "Value": "vdi"}]

    ws.delete_connection_alias(AliasId=alias_id)
    poll(lambda: alias_state(ws, alias_id), lambda s: s == GONE, {"DELETING", "CREATED", GONE})
    # The same account may create the string again after deleting it.
    again = created_alias(ws, fqdn)
    assert again != alias_id


@pytest.fixture
def server(instant_server):
    """Everything but the first test runs on instant timing."""
    return instant_server


def test_connection_strings_are_reserved_to_their_first_account(server, protocol):
    a = make_client(server.url, protocol, random_account())
    b = make_client(server.url, protocol, random_account())
    fqdn = unique_fqdn()
    alias_id = created_alias(a, fqdn)
    with pytest.raises(ClientError) as e:
        a.create_connection_alias(ConnectionString=fqdn)
    assert error_of(e)[0] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as e:
        b.create_connection_alias(ConnectionString=fqdn.upper())
    assert error_of(e)[0] == "ResourceAlreadyExistsException"
    a.delete_connection_alias(AliasId=alias_id)
    settle(server.url)
    with pytest.raises(ClientError) as e:
        b.create_connection_alias(ConnectionString=fqdn)
    assert error_of(e)[0] == "ResourceAlreadyExistsException", "reserved forever"


def test_bad_input(raw_ws):
    for bad in ["no spaces allowed.example.com", "", "x" * 256]:
        with pytest.raises(ClientError) as e:
            raw_ws.create_connection_alias(ConnectionString=bad)
        assert error_of(e)[0] == "ValidationException", bad
    with pytest.raises(ClientError) as e:
        raw_ws.create_connection_alias(ConnectionString="localhost")
    assert error_of(e)[0] == "InvalidParameterValuesException"
    for op, kw in [
        ("describe_connection_alias_permissions", {"AliasId": "wsca-abc"}),
        ("delete_connection_alias", {"AliasId": "alias-123456789"}),
    ]:
        with pytest.raises(ClientError) as e:
            getattr(raw_ws, op)(**kw)
        assert error_of(e)[0] == "ValidationException", op


def test_quota_of_twenty_per_region(server, protocol):
    ws = make_client(server.url, protocol, random_account())
    for i in range(20):
        ws.create_connection_alias(ConnectionString=unique_fqdn(f"q{i}"))
    with pytest.raises(ClientError) as e:
        ws.create_connection_alias(ConnectionString=unique_fqdn("over"))
    assert error_of(e)[0] == "ResourceLimitExceededException"
    # Pagination: 20 aliases, pages of 7.
    seen, token, pages = [], None, 0
    while True:
        out = ws.describe_connection_aliases(Limit=7, **({"NextToken": token} if token else {}))
        seen += [a["AliasId"] for a in out["ConnectionAliases"]]
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    assert pages == 3 and len(set(seen)) == 20
    with pytest.raises(ClientError) as e:
        ws.describe_connection_aliases(NextToken="garbage-token")
    assert error_of(e)[0] == "InvalidParameterValuesException"


def test_unknown_aliases(ws):
    missing = "wsca-000000000"
    assert ws.describe_connection_aliases(AliasIds=[missing])["ConnectionAliases"] == []
    for op, kw in [
        ("delete_connection_alias", {"AliasId": missing}),
        ("describe_connection_alias_permissions", {"AliasId": missing}),
        ("associate_connection_alias", {"AliasId": missing, "ResourceId": "d-0000000000"}),
        ("disassociate_connection_alias", {"AliasId": missing}),
        (
            "update_connection_alias_permission",
            {"AliasId": missing, "ConnectionAliasPermission": {"SharedAccountId": "111122223333", "AllowAssociation": True}},
        ),
    ]:
        with pytest.raises(ClientError) as e:
            getattr(ws, op)(**kw)
        assert error_of(e)[0] == "ResourceNotFoundException", op


@pytest.mark.parametrize("engine", ["memory", "sqlite"])
def test_not_created_yet_is_an_invalid_state(servers, engine, protocol):
    ws = make_client(servers[engine].url, protocol, random_account())  # `fast`: CREATING is seen
    alias_id = ws.create_connection_alias(ConnectionString=unique_fqdn())["AliasId"]
    assert alias_state(ws, alias_id) == "CREATING"
    with pytest.raises(ClientError) as e:
        ws.delete_connection_alias(AliasId=alias_id)
    assert error_of(e)[0] == "InvalidResourceStateException"
    with pytest.raises(ClientError) as e:
        ws.update_connection_alias_permission(
            AliasId=alias_id,
            ConnectionAliasPermission={"SharedAccountId": random_account(), "AllowAssociation": True},
        )
    assert error_of(e)[0] == "InvalidResourceStateException"


def test_associate_share_and_tear_down_in_order(server, protocol):
    owner_acct, other_acct = random_account(), random_account()
    owner = make_client(server.url, protocol, owner_acct)
    other = make_client(server.url, protocol, other_acct)
    d_owner = registered_directory(owner, ds_client(server.url, owner_acct))
    d_other = registered_directory(other, ds_client(server.url, other_acct))
    alias_id = created_alias(owner, unique_fqdn())

    # The owner associates with its own directory.
    with pytest.raises(ClientError) as e:
        owner.associate_connection_alias(AliasId=alias_id, ResourceId="d-0000000000")
    assert error_of(e)[0] == "ResourceNotFoundException"
    ident = owner.associate_connection_alias(AliasId=alias_id, ResourceId=d_owner)["ConnectionIdentifier"]
    assert ident.isalnum() and 1 <= len(ident) <= 20
    status = lambda ws, acct: next(  # noqa: E731
        (x["AssociationStatus"] for x in ws.describe_connection_aliases(AliasIds=[alias_id])["ConnectionAliases"][0].get("Associations", []) if x["AssociatedAccountId"] == acct),
        GONE,
    )
    poll(lambda: status(owner, owner_acct), lambda s: s == "ASSOCIATED_WITH_OWNER_ACCOUNT",
         {"PENDING_ASSOCIATION", "ASSOCIATED_WITH_OWNER_ACCOUNT"})
    with pytest.raises(ClientError) as e:
        owner.associate_connection_alias(AliasId=alias_id, ResourceId=d_owner)
    assert error_of(e)[0] == "ResourceAssociatedException"
    assert [a["AliasId"] for a in owner.describe_connection_aliases(ResourceId=d_owner)["ConnectionAliases"]] == [alias_id]
    with pytest.raises(ClientError) as e:
        owner.delete_connection_alias(AliasId=alias_id)
    assert error_of(e)[0] == "ResourceAssociatedException"

    # Not shared yet: the other account does not see it.
    assert other.describe_connection_aliases(AliasIds=[alias_id])["ConnectionAliases"] == []
    with pytest.raises(ClientError) as e:
        other.associate_connection_alias(AliasId=alias_id, ResourceId=d_other)
    assert error_of(e)[0] == "ResourceNotFoundException"

    # Share it.
    with pytest.raises(ClientError) as e:
        owner.update_connection_alias_permission(
            AliasId=alias_id, ConnectionAliasPermission={"SharedAccountId": owner_acct, "AllowAssociation": True})
    assert error_of(e)[0] == "InvalidParameterValuesException"
    owner.update_connection_alias_permission(
        AliasId=alias_id, ConnectionAliasPermission={"SharedAccountId": other_acct, "AllowAssociation": True})
    perms = owner.describe_connection_alias_permissions(AliasId=alias_id)
    assert perms["AliasId"] == alias_id
    assert perms["ConnectionAliasPermissions"] == [{"SharedAccountId": other_acct, "AllowAssociation": True}]
    with pytest.raises(ClientError) as e:
        other.describe_connection_alias_permissions(AliasId=alias_id)
    assert error_of(e)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        other.delete_connection_alias(AliasId=alias_id)
    assert error_of(e)[0] == "AccessDeniedException"
    (seen,) = other.describe_connection_aliases()["ConnectionAliases"]
    assert seen["AliasId"] == alias_id and seen["OwnerAccountId"] == owner_acct
    assert "Associations" not in seen, "a shared account sees only its own association"

    # The shared account associates with its directory.
    other.associate_connection_alias(AliasId=alias_id, ResourceId=d_other)
    poll(lambda: status(other, other_acct), lambda s: s == "ASSOCIATED_WITH_SHARED_ACCOUNT",
         {"PENDING_ASSOCIATION", "ASSOCIATED_WITH_SHARED_ACCOUNT"})
    owner_view = owner.describe_connection_aliases(AliasIds=[alias_id])["ConnectionAliases"][0]["Associations"]
    assert {(x["AssociatedAccountId"], x["ResourceId"]) for x in owner_view} == {(owner_acct, d_owner), (other_acct, d_other)}

    # Out of order: unsharing while associated fails.
    with pytest.raises(ClientError) as e:
        owner.update_connection_alias_permission(
            AliasId=alias_id, ConnectionAliasPermission={"SharedAccountId": other_acct, "AllowAssociation": False})
    assert error_of(e)[0] == "ResourceAssociatedException"

    # In order: the shared account disassociates, the owner unshares, disassociates, deletes.
    other.disassociate_connection_alias(AliasId=alias_id)
    poll(lambda: status(other, other_acct), lambda s: s == GONE, {"PENDING_DISASSOCIATION", GONE})
    with pytest.raises(ClientError) as e:
        other.disassociate_connection_alias(AliasId=alias_id)
    assert error_of(e)[0] == "InvalidResourceStateException"
    owner.update_connection_alias_permission(
        AliasId=alias_id, ConnectionAliasPermission={"SharedAccountId": other_acct, "AllowAssociation": False})
    assert owner.describe_connection_alias_permissions(AliasId=alias_id)["ConnectionAliasPermissions"] == []
    assert other.describe_connection_aliases()["ConnectionAliases"] == []
    with pytest.raises(ClientError) as e:
        owner.delete_connection_alias(AliasId=alias_id)
    assert error_of(e)[0] == "ResourceAssociatedException"
    owner.disassociate_connection_alias(AliasId=alias_id)
    poll(lambda: status(owner, owner_acct), lambda s: s == GONE, {"PENDING_DISASSOCIATION", GONE})
    owner.delete_connection_alias(AliasId=alias_id)
    poll(lambda: alias_state(owner, alias_id), lambda s: s == GONE, {"DELETING", GONE})
