"""The request log: one line per request with request id, account, operation, protocol,
status and latency, as text or (`--log-format json`) as JSON, on stderr."""
import json
import subprocess
import time

from conftest import binary, make_client


def run_and_log(fmt):
    proc = subprocess.Popen([binary(), "--port", "0", "--in-memory", "--log-format", fmt],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    url = line.split("listening on ")[1].split()[0]
    ws = make_client(url, "json", "111122223333")
    gid = ws.create_ip_group(GroupName="logged")["GroupId"]
    rid = ws.describe_ip_groups(GroupIds=[gid])["ResponseMetadata"]["RequestId"]
    make_client(url, "cbor", "111122223333").describe_ip_groups()
    time.sleep(0.2)
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    return [l for l in err.splitlines() if "localspaces::request" in l], rid


def test_text_request_lines():
    lines, rid = run_and_log("text")
    assert len(lines) == 3, lines
    line = next(l for l in lines if rid in l)
    # tracing's text format quotes string values.
    for part in [f"request_id={rid}", 'account="111122223333"', 'operation="DescribeIpGroups"',
                 'protocol="json"', "status=200", "latency_us="]:
        assert part in line, line
    assert 'protocol="cbor"' in lines[-1]


def test_json_request_lines():
    lines, rid = run_and_log("json")
    docs = [json.loads(l) for l in lines]
    assert len(docs) == 3
    d = next(d for d in docs if d["request_id"] == rid)
    assert d["account"] == "111122223333" and d["operation"] == "DescribeIpGroups"
    assert d["protocol"] == "json" and d["status"] == 200 and isinstance(d["latency_us"], int)
    assert d["level"] == "INFO" and d["target"] == "localspaces::request" and d["timestamp"].endswith("Z")
    assert docs[-1]["protocol"] == "cbor"
