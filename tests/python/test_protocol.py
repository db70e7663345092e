"""The edge over raw HTTP: routing, content types, malformed bodies, error shapes."""
import http.client
import json
import urllib.parse

import cbor2
import pytest

AUTH = (
    "AWS4-HMAC-SHA256 Credential=111122223333/20260101/us-east-1/workspaces/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
CBOR_TYPE = "com.amazonaws.workspaces#"


def send(url, method="POST", path="/", headers=None, body=b"", auth=True):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = {"X-Amz-Date": "20260101T000000Z", **({"Authorization": AUTH} if auth else {}), **(headers or {})}
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def json_call(url, op, body=b"{}", target_prefix="WorkspacesService", ctype="application/x-amz-json-1.1", **kw):
    headers = {"X-Amz-Target": f"{target_prefix}.{op}", "Content-Type": ctype, **kw.pop("headers", {})}
    return send(url, headers=headers, body=body, **kw)


def cbor_call(url, op, body=b"\xa0", headers=None, service="WorkspacesService", **kw):
    h = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor", **(headers or {})}
    return send(url, path=f"/service/{service}/operation/{op}", headers=h, body=body, **kw)


def json_error(resp, status, code):
    st, h, body = resp
    assert st == status, (st, body)
    assert h.get("x-amzn-requestid")
    doc = json.loads(body)
    assert doc["__type"] == code, doc
    assert isinstance(doc.get("message"), str)
    assert h.get("x-amzn-errortype") == code
    assert h["content-type"] == "application/x-amz-json-1.1"
    return doc


def cbor_error(resp, status, code):
    st, h, body = resp
    assert st == status, (st, body)
    assert h.get("x-amzn-requestid")
    assert h.get("smithy-protocol") == "rpc-v2-cbor"
    assert "x-amzn-errortype" not in h
    doc = cbor2.loads(body)
    assert doc["__type"] == CBOR_TYPE + code, doc
    return doc


def test_success_in_each_protocol(server):
    st, h, body = json_call(server.url, "DescribeIpGroups")
    assert st == 200 and h.get("x-amzn-requestid") and json.loads(body) == {"Result": []}
    st, h, body = cbor_call(server.url, "DescribeIpGroups")
    assert st == 200 and h["content-type"] == "application/cbor" and h["smithy-protocol"] == "rpc-v2-cbor"
    assert cbor2.loads(body) == {"Result": []}


def test_empty_bodies_mean_empty_input(server):
    assert json_call(server.url, "DescribeIpGroups", body=b"")[0] == 200
    assert cbor_call(server.url, "DescribeIpGroups", body=b"")[0] == 200
    assert cbor_call(server.url, "DescribeIpGroups", body=b"\xbf\xff")[0] == 200  # indefinite-length map


def test_modeled_error_shapes(server):
    doc = json_error(json_call(server.url, "DeleteIpGroup", b'{"GroupId":"wsipg-000000000"}'), 400, "ResourceNotFoundException")
    assert doc["ResourceId"] == "wsipg-000000000"
    doc = cbor_error(cbor_call(server.url, "DeleteIpGroup", cbor2.dumps({"GroupId": "wsipg-000000000"})), 400, "ResourceNotFoundException")
    assert doc["ResourceId"] == "wsipg-000000000" and doc["message"]


@pytest.mark.parametrize(
    "req,status,code",
    [
        (dict(op="Nope"), 400, "UnknownOperationException"),
        (dict(op="DescribeIpGroups", target_prefix="Nope"), 400, "UnknownOperationException"),
        (dict(op="DescribeIpGroups", ctype="application/json"), 415, "UnsupportedMediaTypeException"),
        (dict(op="DescribeIpGroups", body=b"{"), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", body=b'{"MaxResults": 5'), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", body=b"[]"), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", body=b'{"a":1}}'), 400, "SerializationException"),
        (dict(op="CreateIpGroup", body=b'{"GroupName":5}'), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", body=b'{"MaxResults":"5"}'), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", body=b"\xff\xfe"), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", auth=False), 400, "MissingAuthenticationTokenException"),
        (dict(op="DescribeIpGroups", headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"}), 400, "IncompleteSignatureException"),
    ],
)
def test_malformed_json_requests(server, req, status, code):
    req = dict(req)
    json_error(json_call(server.url, req.pop("op"), **req), status, code)


def test_json_routing_errors(server):
    json_error(send(server.url, headers={"Content-Type": "application/x-amz-json-1.1"}, body=b"{}"), 400, "UnknownOperationException")
    json_error(send(server.url, method="GET"), 405, "MethodNotAllowedException")
    json_error(send(server.url, path="/nope", headers={"X-Amz-Target": "WorkspacesService.DescribeIpGroups"}), 400, "UnknownOperationException")


@pytest.mark.parametrize(
    "req,status,code",
    [
        (dict(op="Nope"), 400, "UnknownOperationException"),
        (dict(op="DescribeIpGroups", service="Other"), 400, "UnknownOperationException"),
        (dict(op="DescribeIpGroups", headers={"smithy-protocol": ""}), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", headers={"X-Amz-Target": "WorkspacesService.DescribeIpGroups"}), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", headers={"Content-Type": "application/json"}), 415, "UnsupportedMediaTypeException"),
        (dict(op="DescribeIpGroups", body=b"\xa1\x65Limit"), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", body=b"\xa0\x00"), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", body=b"\x80"), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", body=b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff"), 400, "SerializationException"),
        (dict(op="CreateIpGroup", body=cbor2.dumps({"GroupName": 5})), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", body=b"\x81" * 5000 + b"\xa0"), 400, "SerializationException"),
        (dict(op="DescribeIpGroups", auth=False), 400, "MissingAuthenticationTokenException"),
    ],
)
def test_malformed_cbor_requests(server, req, status, code):
    req = dict(req)
    cbor_error(cbor_call(server.url, req.pop("op"), **req), status, code)


def test_body_over_limit_is_413(server):
    big = b'{"GroupName":"' + b"x" * (17 * 1024 * 1024) + b'"}'
    json_error(json_call(server.url, "CreateIpGroup", body=big), 413, "RequestEntityTooLargeException")


def test_validation_in_both_protocols(server):
    doc = json_error(json_call(server.url, "DescribeIpGroups", b'{"MaxResults":30}'), 400, "ValidationException")
    assert doc["message"].endswith("Member must have value less than or equal to 25")
    doc = cbor_error(cbor_call(server.url, "DescribeIpGroups", cbor2.dumps({"MaxResults": 30})), 400, "ValidationException")
    assert "maxResults" in doc["message"]


def test_ds_operation_outside_the_subset_names_itself(server):
    # A Directory Service operation outside the subset WorkSpaces needs: the DS model's
    # UnsupportedOperationException, 400, with Message and RequestId (was 501 NotImplemented).
    st, h, body = json_call(server.url, "DescribeTrusts", target_prefix="DirectoryService_20150416")
    assert st == 400 and h.get("x-amzn-errortype") == "UnsupportedOperationException", (st, body)
    doc = json.loads(body)
    assert doc["__type"] == "UnsupportedOperationException" and "DescribeTrusts" in doc["Message"], doc  # DS: capital M
    assert doc["RequestId"] == h["x-amzn-requestid"]
    st, h, body = cbor_call(server.url, "DescribeTrusts", service="DirectoryService_20150416")
    assert st == 400 and h.get("smithy-protocol") == "rpc-v2-cbor", (st, body)
    doc = cbor2.loads(body)
    assert doc["__type"] == "com.amazonaws.directoryservice#UnsupportedOperationException"
    assert doc["RequestId"] == h["x-amzn-requestid"]


def test_health(server):
    st, _, body = send(server.url, method="GET", path="/_localspaces/health", auth=False)
    assert st == 200 and json.loads(body)["status"] == "ok"


