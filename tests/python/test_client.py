"""Client-facing directory settings through boto3 on both protocols and engines: client branding per platform (ImportClientBranding, DescribeClientBranding,
DeleteClientBranding), the Amazon Connect client add-in (Create/Describe/Update/Delete
ConnectClientAddIn) and ModifyEndpointEncryptionMode."""
import re

import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client, random_account
from flows import bundle_id, create_one, dir_state, ds_client, poll, registered_directory

PNG = b"\x89PNG\r\n\x1a\n"
UUID = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
DEFAULT_PLATFORMS = ["DeviceTypeWindows", "DeviceTypeOsx", "DeviceTypeAndroid", "DeviceTypeLinux", "DeviceTypeWeb"]
ALL_PLATFORMS = DEFAULT_PLATFORMS + ["DeviceTypeIos"]
UNKNOWN_DIR = "d-0123456789"


@pytest.fixture
def server(instant_server):
    return instant_server


@pytest.fixture
def did(ws, server, account):
    return registered_directory(ws, ds_client(server.url, account))


def png(size=64, fill=b"x"):
    return PNG + fill * (size - len(PNG))


def code(e):
    return error_of(e)[0]


def branding(ws, did):
    out = ws.describe_client_branding(ResourceId=did)
    out.pop("ResponseMetadata")
    return out


def test_import_describe_delete(ws, did):
    out = ws.import_client_branding(
        ResourceId=did,
        DeviceTypeWindows={
            "Logo": png(),
            "SupportEmail": "help@example.com",
            "ForgotPasswordLink": "https://example.com/reset",
            "LoginMessage": {"en_US": "Welcome to <b>Corp</b>"},
        },
        DeviceTypeIos={"Logo": png(), "Logo2x": png(128), "Logo3x": png(256), "SupportLink": "https://example.com/help"},
    )
    out.pop("ResponseMetadata")
    assert set(out) == {"DeviceTypeWindows", "DeviceTypeIos"}, "the answer echoes the imported platforms"
    win = out["DeviceTypeWindows"]
    assert win["SupportEmail"] == "help@example.com" and "SupportLink" not in win
    assert win["ForgotPasswordLink"] == "https://example.com/reset"
    assert win["LoginMessage"] == {"en_US": "Welcome to <b>Corp</b>"}
    assert win["LogoUrl"].startswith("https://") and win["LogoUrl"].endswith(".png") and "Logo" not in win
    ios = out["DeviceTypeIos"]
    assert {ios["LogoUrl"], ios["Logo2xUrl"], ios["Logo3xUrl"]}.__len__() == 3
    assert ios["SupportLink"] == "https://example.com/help" and "SupportEmail" not in ios
    assert branding(ws, did) == out, "Describe shows only configured platforms, logos as URLs"

    # A new import of a platform replaces its branding as a whole; others stay.
    ws.import_client_branding(ResourceId=did, DeviceTypeWindows={"SupportLink": "https://example.com/desk"})
    ws.import_client_branding(ResourceId=did, DeviceTypeWeb={"LoginMessage": {"en_US": ""}})
    got = branding(ws, did)
    assert got["DeviceTypeWindows"] == {"SupportLink": "https://example.com/desk"}
    assert got["DeviceTypeWeb"] == {"LoginMessage": {"en_US": ""}}
    assert got["DeviceTypeIos"] == ios

    ws.delete_client_branding(ResourceId=did, Platforms=["DeviceTypeWindows", "DeviceTypeWeb"])
    assert set(branding(ws, did)) == {"DeviceTypeIos"}
    ws.delete_client_branding(ResourceId=did, Platforms=["DeviceTypeOsx"])  # never set: a no-op
    assert set(branding(ws, did)) == {"DeviceTypeIos"}
    ws.delete_client_branding(ResourceId=did, Platforms=ALL_PLATFORMS)
    assert branding(ws, did) == {}
    ws.delete_client_branding(ResourceId=did, Platforms=["DeviceTypeIos"])


def test_every_platform(ws, did):
    req = {p: {"Logo": png(fill=p.encode()[-1:]), "SupportEmail": f"{p.lower()}@example.com"} for p in DEFAULT_PLATFORMS}
    req["DeviceTypeIos"] = {"Logo3x": png(), "SupportEmail": "ios@example.com"}
    ws.import_client_branding(ResourceId=did, **req)
    got = branding(ws, did)
    assert set(got) == set(ALL_PLATFORMS)
    urls = [got[p]["LogoUrl"] for p in DEFAULT_PLATFORMS]
    assert len(set(urls)) == len(urls), "each platform has its own logo URL"
    for p in DEFAULT_PLATFORMS:
        assert got[p]["SupportEmail"] == f"{p.lower()}@example.com"
        assert set(got[p]) == {"LogoUrl", "SupportEmail"}
    assert set(got["DeviceTypeIos"]) == {"Logo3xUrl", "SupportEmail"}, "only the iOS logos given"
    # Other accounts and Regions see nothing of it.
    other = make_client(ws.meta.endpoint_url, "json", random_account())
    with pytest.raises(ClientError) as e:
        other.describe_client_branding(ResourceId=did)
    assert code(e) == "ResourceNotFoundException"


def test_branding_rules(ws, raw_ws, did):
    cases = {
        "no platform": {},
        "email and link": {"DeviceTypeOsx": {"SupportEmail": "a@example.com", "SupportLink": "https://example.com"}},
        "iOS email and link": {"DeviceTypeIos": {"SupportEmail": "a@example.com", "SupportLink": "https://x.example"}},
        "empty platform": {"DeviceTypeLinux": {}},
        "other locale": {"DeviceTypeWindows": {"LoginMessage": {"fr_FR": "Bonjour"}}},
        "script tag": {"DeviceTypeWindows": {"LoginMessage": {"en_US": "Hi <script>alert(1)</script>"}}},
        "not a PNG": {"DeviceTypeAndroid": {"Logo": b"GIF89a-not-png"}},
    }
    for what, req in cases.items():
        with pytest.raises(ClientError) as e:
            raw_ws.import_client_branding(ResourceId=did, **req)
        assert code(e) == "InvalidParameterValuesException", what
    model = {
        "email pattern": {"DeviceTypeOsx": {"SupportEmail": "not-an-email"}},
        "email too short": {"DeviceTypeOsx": {"SupportEmail": "a@b.c"}},
        "link pattern": {"DeviceTypeOsx": {"SupportLink": "ftp://example.com"}},
        "link too long": {"DeviceTypeOsx": {"SupportLink": "https://" + "x" * 193}},
        "locale pattern": {"DeviceTypeOsx": {"LoginMessage": {"english": "hi"}}},
        "message too long": {"DeviceTypeOsx": {"LoginMessage": {"en_US": "x" * 2001}}},
        "empty logo": {"DeviceTypeOsx": {"Logo": b""}},
    }
    for what, req in model.items():
        with pytest.raises(ClientError) as e:
            raw_ws.import_client_branding(ResourceId=did, **req)
        assert code(e) == "ValidationException", what
    with pytest.raises(ClientError) as e:
        raw_ws.delete_client_branding(ResourceId=did, Platforms=[])
    assert code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        raw_ws.delete_client_branding(ResourceId=did, Platforms=["DeviceTypeChromeOs"])
    assert code(e) == "ValidationException"
    assert branding(ws, did) == {}, "nothing was stored by the refused imports"
    ws.import_client_branding(ResourceId=did, DeviceTypeOsx={"LoginMessage": {"en_US": "<p>Hi <A href='x'>a</A></p> 1 < 2"}})


def test_logo_size_limits(ws, raw_ws, did):
    ws.import_client_branding(
        ResourceId=did,
        DeviceTypeWindows={"Logo": png(1_500_000)},
        DeviceTypeIos={"Logo": png(447_000), "Logo2x": png(1_770_000)},
    )
    assert set(branding(ws, did)["DeviceTypeIos"]) == {"LogoUrl", "Logo2xUrl"}
    too_big = {
        "default logo": {"DeviceTypeWindows": {"Logo": png(1_500_001)}},
        "iOS logo": {"DeviceTypeIos": {"Logo": png(447_001)}},
        "iOS 3x logo": {"DeviceTypeIos": {"Logo3x": png(1_770_001)}},
    }
    for what, req in too_big.items():
        with pytest.raises(ClientError) as e:
            raw_ws.import_client_branding(ResourceId=did, **req)
        assert code(e) == "ValidationException", what
    # Each logo within its limit, but more than 6 MB in one request.
    five = {p: {"Logo": png(1_500_000)} for p in DEFAULT_PLATFORMS}
    with pytest.raises(ClientError) as e:
        ws.import_client_branding(ResourceId=did, **five)
    assert code(e) == "InvalidParameterValuesException"
    assert "6 MB" in error_of(e)[1]
    four = {p: {"Logo": png(1_500_000)} for p in DEFAULT_PLATFORMS[:4]}
    ws.import_client_branding(ResourceId=did, **four)
    assert set(branding(ws, did)) == set(DEFAULT_PLATFORMS[:4]) | {"DeviceTypeIos"}


def test_directory_must_be_registered(ws, server, account, did):
    ds = ds_client(server.url, account)
    unregistered = ds.create_directory(
        Name="other.example.com",
        Password="Passw0rd!",
        Size="Small",
        VpcSettings={"VpcId": "vpc-0123456789abcdef0", "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]},
    )["DirectoryId"]
    aid = "01234567-89ab-cdef-0123-456789abcdef"
    calls = [
        lambda d: ws.import_client_branding(ResourceId=d, DeviceTypeWeb={"SupportEmail": "a@example.com"}),
        lambda d: ws.describe_client_branding(ResourceId=d),
        lambda d: ws.delete_client_branding(ResourceId=d, Platforms=["DeviceTypeWeb"]),
        lambda d: ws.create_connect_client_add_in(ResourceId=d, Name="cc", URL="https://x.example"),
        lambda d: ws.describe_connect_client_add_ins(ResourceId=d),
        lambda d: ws.update_connect_client_add_in(ResourceId=d, AddInId=aid, Name="n"),
        lambda d: ws.delete_connect_client_add_in(ResourceId=d, AddInId=aid),
        lambda d: ws.modify_endpoint_encryption_mode(DirectoryId=d, EndpointEncryptionMode="FIPS_VALIDATED"),
    ]
    for d in [UNKNOWN_DIR, unregistered]:
        for i, call in enumerate(calls):
            with pytest.raises(ClientError) as e:
                call(d)
            assert code(e) == "ResourceNotFoundException", (d, i)
            assert error_of(e)[1]

    # Deregistering discards branding and the add-in; a new registration starts clean.
    ws.import_client_branding(ResourceId=did, DeviceTypeWeb={"SupportEmail": "a@example.com"})
    ws.create_connect_client_add_in(ResourceId=did, Name="cc", URL="https://x.example")
    ws.modify_endpoint_encryption_mode(DirectoryId=did, EndpointEncryptionMode="FIPS_VALIDATED")
    ws.deregister_workspace_directory(DirectoryId=did)
    poll(lambda: dir_state(ws, did), lambda s: s == "<gone>")
    for call in calls[:2] + calls[4:5]:
        with pytest.raises(ClientError) as e:
            call(did)
        assert code(e) == "ResourceNotFoundException"
    ws.register_workspace_directory(DirectoryId=did)
    poll(lambda: dir_state(ws, did), lambda s: s == "REGISTERED")
    assert branding(ws, did) == {}
    assert ws.describe_connect_client_add_ins(ResourceId=did)["AddIns"] == []
    (d,) = ws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    assert d["EndpointEncryptionMode"] == "STANDARD_TLS"
    aid = ws.create_connect_client_add_in(ResourceId=did, Name="cc", URL="https://x.example")["AddInId"]
    assert UUID.match(aid)


def test_connect_add_in_lifecycle(ws, did):
    assert ws.describe_connect_client_add_ins(ResourceId=did)["AddIns"] == []
    aid = ws.create_connect_client_add_in(ResourceId=did, Name="Contact center", URL="https://corp.my.connect.aws/ccp")[
        "AddInId"
    ]
    assert UUID.match(aid)
    want = {"AddInId": aid, "ResourceId": did, "Name": "Contact center", "URL": "https://corp.my.connect.aws/ccp"}
    out = ws.describe_connect_client_add_ins(ResourceId=did)
    assert out["AddIns"] == [want] and "NextToken" not in out
    with pytest.raises(ClientError) as e:
        ws.create_connect_client_add_in(ResourceId=did, Name="second", URL="https://x.example")
    assert code(e) == "ResourceAlreadyExistsException", "at most one add-in per directory"

    ws.update_connect_client_add_in(ResourceId=did, AddInId=aid, Name="CCP")
    ws.update_connect_client_add_in(ResourceId=did, AddInId=aid, URL="http://ccp.example/v2")
    ws.update_connect_client_add_in(ResourceId=did, AddInId=aid)  # nothing to change
    want.update(Name="CCP", URL="http://ccp.example/v2")
    assert ws.describe_connect_client_add_ins(ResourceId=did)["AddIns"] == [want]

    other = "01234567-89ab-cdef-0123-456789abcdef"
    with pytest.raises(ClientError) as e:
        ws.update_connect_client_add_in(ResourceId=did, AddInId=other, Name="x")
    assert code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        ws.delete_connect_client_add_in(ResourceId=did, AddInId=other)
    assert code(e) == "ResourceNotFoundException"
    ws.delete_connect_client_add_in(ResourceId=did, AddInId=aid)
    assert ws.describe_connect_client_add_ins(ResourceId=did)["AddIns"] == []
    for call in [
        lambda: ws.delete_connect_client_add_in(ResourceId=did, AddInId=aid),
        lambda: ws.update_connect_client_add_in(ResourceId=did, AddInId=aid, Name="x"),
    ]:
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "ResourceNotFoundException"
    again = ws.create_connect_client_add_in(ResourceId=did, Name="new", URL="https://x.example")["AddInId"]
    assert again != aid


def test_add_in_pagination_and_validation(ws, raw_ws, did):
    aid = ws.create_connect_client_add_in(ResourceId=did, Name="cc", URL="https://x.example")["AddInId"]
    out = ws.describe_connect_client_add_ins(ResourceId=did, MaxResults=1)
    assert [a["AddInId"] for a in out["AddIns"]] == [aid] and "NextToken" not in out
    # botocore has no paginator for it: follow NextToken by hand.
    seen, kw = [], {}
    while True:
        page = ws.describe_connect_client_add_ins(ResourceId=did, MaxResults=1, **kw)
        seen += [a["AddInId"] for a in page["AddIns"]]
        if "NextToken" not in page:
            break
        kw = {"NextToken": page["NextToken"]}
    assert seen == [aid]
    with pytest.raises(ClientError) as e:
        ws.describe_connect_client_add_ins(ResourceId=did, NextToken="not-a-token")
    assert code(e) == "InvalidParameterValuesException"
    bad = [
        lambda: raw_ws.describe_connect_client_add_ins(ResourceId=did, MaxResults=26),
        lambda: raw_ws.describe_connect_client_add_ins(ResourceId=did, MaxResults=0),
        lambda: raw_ws.create_connect_client_add_in(ResourceId=did, Name="", URL="https://x.example"),
        lambda: raw_ws.create_connect_client_add_in(ResourceId=did, Name="x" * 65, URL="https://x.example"),
        lambda: raw_ws.create_connect_client_add_in(ResourceId=did, Name="cc", URL="ftp://x.example"),
        lambda: raw_ws.create_connect_client_add_in(ResourceId=did, Name="cc"),
        lambda: raw_ws.update_connect_client_add_in(ResourceId=did, AddInId="not-a-uuid", Name="x"),
        lambda: raw_ws.update_connect_client_add_in(ResourceId=did, AddInId=aid, URL="https://x.example/" + "y" * 1010),
        lambda: raw_ws.delete_connect_client_add_in(ResourceId=did, AddInId=aid.upper()),
        lambda: raw_ws.describe_connect_client_add_ins(ResourceId="wrong-id"),
    ]
    for i, call in enumerate(bad):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == "ValidationException", i
    assert ws.describe_connect_client_add_ins(ResourceId=did)["AddIns"][0]["Name"] == "cc"


def encryption(ws, did):
    (d,) = ws.describe_workspace_directories(DirectoryIds=[did])["Directories"]
    return d["EndpointEncryptionMode"]


def test_endpoint_encryption_mode(ws, raw_ws, did):
    assert encryption(ws, did) == "STANDARD_TLS"
    ws.modify_endpoint_encryption_mode(DirectoryId=did, EndpointEncryptionMode="FIPS_VALIDATED")
    assert encryption(ws, did) == "FIPS_VALIDATED"
    ws.modify_endpoint_encryption_mode(DirectoryId=did, EndpointEncryptionMode="FIPS_VALIDATED")
    assert encryption(ws, did) == "FIPS_VALIDATED"
    ws.modify_endpoint_encryption_mode(DirectoryId=did, EndpointEncryptionMode="STANDARD_TLS")
    assert encryption(ws, did) == "STANDARD_TLS"
    with pytest.raises(ClientError) as e:
        raw_ws.modify_endpoint_encryption_mode(DirectoryId=did, EndpointEncryptionMode="TLS_1_3")
    assert code(e) == "ValidationException"

    # A directory with WorkSpaces on standard TLS cannot switch to FIPS (it must be new).
    create_one(ws, did, bundle_id(ws), "alice")
    with pytest.raises(ClientError) as e:
        ws.modify_endpoint_encryption_mode(DirectoryId=did, EndpointEncryptionMode="FIPS_VALIDATED")
    assert code(e) == "OperationNotSupportedException"
    assert encryption(ws, did) == "STANDARD_TLS"
    ws.modify_endpoint_encryption_mode(DirectoryId=did, EndpointEncryptionMode="STANDARD_TLS")


def test_fips_only_in_us_regions(server, protocol, account):
    region = "eu-west-1"
    ws = make_client(server.url, protocol, account, region=region)
    did = registered_directory(ws, ds_client(server.url, account, region=region))
    with pytest.raises(ClientError) as e:
        ws.modify_endpoint_encryption_mode(DirectoryId=did, EndpointEncryptionMode="FIPS_VALIDATED")
    assert code(e) == "OperationNotSupportedException"
    ws.modify_endpoint_encryption_mode(DirectoryId=did, EndpointEncryptionMode="STANDARD_TLS")
    assert encryption(ws, did) == "STANDARD_TLS"
