"""Several localspaces replicas on one PostgreSQL database (`--store-url`) serve one
service: boto3 clients spread over three replicas see one set of records, quotas and
unique names hold across replicas, pages continue on any replica, a killed replica's
pending transitions are finished by the others, and a database outage gives clean errors
and then recovers with nothing lost.

Each module run starts its own throwaway PostgreSQL (initdb + pg_ctl); skipped with the
reason when the server binaries are missing."""
import concurrent.futures
import signal
import threading
import time

import botocore.exceptions
import pytest

import pg
from conftest import Server, make_client, random_account
from flows import admin, ds_client, ds_stage, poll, settle

pytestmark = pytest.mark.skipif(
    pg.bin_dir() is None, reason="PostgreSQL server binaries not found (install Debian's postgresql)"
)


def test_store_url_is_refused_with_a_data_dir():
    import subprocess

    from conftest import binary

    out = subprocess.run(
        [binary(), "--store-url", "postgres://x@127.0.0.1/db", "--data-dir", "/tmp/x"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert "'--store-url <STORE_URL>' cannot be used with '--data-dir <DATA_DIR>'" in out.stderr


def start_replicas(url, n, *args):
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: Server("--store-url", url, *args).start(), range(n)))


@pytest.fixture(scope="module")
def cluster():
    c = pg.Cluster().init()
    yield c
    c.destroy()


@pytest.fixture(scope="module")
def replicas(cluster):
    rs = start_replicas(cluster.url, 3, "--quota", "ip_groups=5")
    yield rs
    for r in rs:
        if r.proc.poll() is None:
            assert r.stop() == 0


def clients(replicas, account, protocol="json"):
    return [make_client(r.url, protocol, account) for r in replicas]


def code_of(e):
    return e.response["Error"]["Code"]


def retryable_by_botocore(code, status):
    """Whether botocore's standard retry mode retries an error answer."""
    from botocore.retries.standard import RetryContext, TransientRetryableChecker

    class Response:
        status_code = status

    ctx = RetryContext(attempt_number=1, parsed_response={"Error": {"Code": code}}, http_response=Response())
    return TransientRetryableChecker().is_retryable(ctx)


def test_the_ready_line_names_the_database(replicas):
    # The replicas answer, on one store: a group created on one is listed by all.
    account = random_account()
    a, b, c = clients(replicas, account)
    gid = a.create_ip_group(GroupName="shared")["GroupId"]
    for ws in (b, c):
        assert [g["groupId"] for g in ws.describe_ip_groups()["Result"]] == [gid]


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_racing_creates_never_exceed_the_quota(replicas, protocol):
    account = random_account()
    cs = clients(replicas, account, protocol)
    barrier = threading.Barrier(12)

    def create(i):
        barrier.wait()
        try:
            cs[i % 3].create_ip_group(GroupName=f"g{i}")
            return "ok"
        except botocore.exceptions.ClientError as e:
            return code_of(e)

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        results = list(pool.map(create, range(12)))
    assert results.count("ok") == 5, results
    assert set(results) == {"ok", "ResourceLimitExceededException"}, results
    for ws in cs:
        assert len(ws.describe_ip_groups()["Result"]) == 5


def test_racing_creates_never_duplicate_a_name(replicas):
    account = random_account()
    cs = clients(replicas, account)
    barrier = threading.Barrier(9)

    def create(i):
        barrier.wait()
        try:
            cs[i % 3].create_ip_group(GroupName="same-name")
            return "ok"
        except botocore.exceptions.ClientError as e:
            return code_of(e)

    with concurrent.futures.ThreadPoolExecutor(9) as pool:
        results = list(pool.map(create, range(9)))
    assert results.count("ok") == 1, results
    assert set(results) == {"ok", "ResourceAlreadyExistsException"}, results
    assert [g["groupName"] for g in cs[2].describe_ip_groups()["Result"]] == ["same-name"]


def test_a_tag_written_on_one_replica_is_read_on_the_others_at_once(replicas):
    account = random_account()
    cs = clients(replicas, account)
    gid = cs[0].create_ip_group(GroupName="tagged")["GroupId"]
    for i in range(12):
        writer, reader = cs[i % 3], cs[(i + 1) % 3]
        writer.create_tags(ResourceId=gid, Tags=[{"Key": "round", "Value": str(i)}])
        assert reader.describe_tags(ResourceId=gid)["TagList"] == [{"Key": "round", "Value": str(i)}]
        # Reading the same record first on another replica does not leave a stale copy.
        assert cs[(i + 2) % 3].describe_tags(ResourceId=gid)["TagList"][0]["Value"] == str(i)


def test_no_replica_reads_a_record_older_than_an_acknowledged_write(replicas):
    # Every replica has the record cached (read just before each write); a write
    # acknowledged by one replica must be what any other replica answers next.
    account = random_account()
    cs = clients(replicas, account)
    gids = [cs[0].create_ip_group(GroupName=f"fresh{i}")["GroupId"] for i in range(3)]

    def rounds(w):
        gid, stale = gids[w], []
        for n in range(25):
            for c in cs:
                c.describe_tags(ResourceId=gid)
            cs[(w + n) % 3].create_tags(ResourceId=gid, Tags=[{"Key": "n", "Value": str(n)}])
            for c in cs:
                got = c.describe_tags(ResourceId=gid)["TagList"]
                if got != [{"Key": "n", "Value": str(n)}]:
                    stale.append((n, got))
        return stale

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        assert list(pool.map(rounds, range(3))) == [[], [], []]


def test_the_console_activity_log_shows_every_replicas_calls(replicas):
    import urllib.request

    account = random_account()
    cs = clients(replicas, account)
    ids = []
    for i, ws in enumerate(cs[:2]):
        out = ws.create_ip_group(GroupName=f"logged{i}")
        ids.append(out["ResponseMetadata"]["RequestId"])

    def page():
        url = f"{replicas[2].url}/console/activity?account={account}&region=us-east-1"
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()

    # Written by each replica within a poll interval.
    poll(page, lambda html: all(i in html for i in ids), timeout=5)


def test_paginating_across_replicas_misses_and_repeats_nothing(cluster):
    # Its own replicas: the quota of the shared ones is 5 groups.
    rs = start_replicas(cluster.url, 3, "--quota", "ip_groups=100")
    try:
        account = random_account()
        cs = clients(rs, account, "cbor")
        created = [cs[i % 3].create_ip_group(GroupName=f"p{i:02}")["GroupId"] for i in range(23)]
        seen, token, page = [], None, 0
        while True:
            kw = {"MaxResults": 4}
            if token:
                kw["NextToken"] = token
            out = cs[page % 3].describe_ip_groups(**kw)
            seen += [g["groupId"] for g in out["Result"]]
            page += 1
            # Groups created while paging (on yet another replica) come after the cursor.
            if page == 2:
                created.append(cs[2].create_ip_group(GroupName="late")["GroupId"])
            token = out.get("NextToken")
            if not token:
                break
        assert seen == created
    finally:
        for r in rs:
            assert r.stop() == 0


def test_a_killed_replicas_pending_transitions_are_finished_by_the_others_on_time(cluster):
    rs = start_replicas(cluster.url, 3, "--timing", "fast,ds_create=1.5")
    try:
        account = random_account()
        ds_victim = ds_client(rs[0].url, account)
        started = time.time()
        ids = [ds_victim.create_directory(
            Name=f"corp{i}.example.com",
            Password="Passw0rd!",
            Size="Small",
            VpcSettings={"VpcId": "vpc-0123456789abcdef0", "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]},
        )["DirectoryId"] for i in range(4)]
        gid = make_client(rs[0].url, "json", account).create_ip_group(GroupName="acked")["GroupId"]
        rs[0].proc.send_signal(signal.SIGKILL)
        rs[0].proc.wait(timeout=10)
        survivor = ds_client(rs[1].url, account)
        for did in ids:
            poll(lambda: ds_stage(survivor, did), lambda s: s == "Active", {"Requested", "Creating", "Active"}, timeout=20)
        # Two steps of 1.5 s: the others apply each when due (a replica's poll, 0.25 s, and
        # a request's time of slack), not a lease after it (2 s per step before claims).
        assert time.time() - started < 2 * 1.5 + 1.2, time.time() - started
        # Applied once: the directories are listed once each, and nothing is left pending.
        listed = [d["DirectoryId"] for d in survivor.describe_directories()["DirectoryDescriptions"]]
        assert sorted(listed) == sorted(ids)
        settle(rs[2].url)
        assert settle(rs[2].url)["applied"] == 0
        assert [g["groupId"] for g in make_client(rs[2].url, "json", account).describe_ip_groups()["Result"]] == [gid]
    finally:
        for r in rs[1:]:
            assert r.stop() == 0


def test_settle_and_advance_act_on_every_replicas_transitions(cluster):
    rs = start_replicas(cluster.url, 2, "--timing", "realistic")
    try:
        account = random_account()
        ds = ds_client(rs[0].url, account)
        did = ds.create_directory(
            Name="corp.example.com",
            Password="Passw0rd!",
            Size="Small",
            VpcSettings={"VpcId": "vpc-0123456789abcdef0", "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]},
        )["DirectoryId"]
        other = ds_client(rs[1].url, account)
        assert ds_stage(other, did) in ("Requested", "Creating")
        # The clock offset of `advance` on one replica reaches the other.
        status, body = admin(rs[0].url, "advance", seconds="3600")
        assert status == 200, body
        poll(lambda: ds_stage(other, did), lambda s: s != "Requested", {"Requested", "Creating"}, timeout=10)
        poll(lambda: admin(rs[1].url, "advance", seconds="0")[1]["clock_offset_seconds"], lambda o: o >= 3600, timeout=5)
        # The follow-up step, stored by the first replica, is applied by the second's advance.
        poll(
            lambda: admin(rs[1].url, "advance", seconds="3600") and ds_stage(other, did),
            lambda s: s == "Active",
            {"Creating", "Active"},
            timeout=10,
        )
    finally:
        for r in rs:
            assert r.stop() == 0


def test_a_database_outage_gives_clean_errors_then_recovers_with_nothing_lost():
    db = pg.Cluster().init()
    rs = []
    try:
        rs = start_replicas(db.url, 2)
        account = random_account()
        cs = clients(rs, account)
        gid = cs[0].create_ip_group(GroupName="outage")["GroupId"]
        acked, errors, stop = [], [], threading.Event()

        def load(i):
            n = 0
            while not stop.is_set():
                n += 1
                t0 = time.time()
                try:
                    cs[i % 2].create_tags(ResourceId=gid, Tags=[{"Key": f"k{i}", "Value": str(n)}])
                    acked.append((i, n))
                except botocore.exceptions.ClientError as e:
                    status = e.response["ResponseMetadata"]["HTTPStatusCode"]
                    errors.append((code_of(e), status))
                except botocore.exceptions.BotoCoreError as e:  # a broken connection would land here
                    errors.append((type(e).__name__, 0))
                assert time.time() - t0 < 15, "a request hung"
                time.sleep(0.05)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(load, i) for i in range(4)]
            time.sleep(1)
            db.stop()
            time.sleep(10)
            db.start()
            time.sleep(2)
            stop.set()
            for f in futures:
                f.result()
        assert errors, "the outage was not noticed"
        # AWS's answer to "try again later", which the SDKs retry (botocore's own rule).
        assert set(errors) == {("ServiceUnavailable", 503)}, set(errors)
        assert all(retryable_by_botocore(code, status) for code, status in set(errors))
        # Recovered without a restart, on both replicas, and no acknowledged write is lost.
        tags = {t["Key"]: int(t["Value"]) for t in cs[1].describe_tags(ResourceId=gid)["TagList"]}
        for i in range(4):
            last = max(n for j, n in acked if j == i)
            assert tags[f"k{i}"] >= last
        cs[0].create_ip_group(GroupName="after")
        assert len(cs[1].describe_ip_groups()["Result"]) == 2
    finally:
        for r in rs:
            assert r.stop() == 0
        db.destroy()
