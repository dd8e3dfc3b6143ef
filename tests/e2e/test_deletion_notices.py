"""Deleting an account's data with notice (docs/deletion-notices.md) against
`holdfast dev`: the notice is recorded in the ledger with a receipt, delivered
to the account's webhook with retries while the receiver is down (every
attempt in the ledger), waits its period, is refused while a hold covers the
account, and only then deletes everything -- recorded as data_destroyed."""
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from cluster import DevCluster, free_port, wait_for


class Receiver:
    """A webhook endpoint on loopback that records what it is sent."""

    def __init__(self, port):
        self.port = port
        self.bodies = []
        self.server = None

    def start(self):
        received = self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture(scope="module")
def cluster():
    with DevCluster(extra_args=["--deletion-wait-s", "2", "--notice-retry-ms", "200"]) as c:
        yield c


def ledger_entries(cluster):
    request = urllib.request.Request(cluster.endpoint + "/_holdfast/v1/ledger/entries?first=0&limit=10000",
                                     headers={"Authorization": "HoldfastCluster " + cluster.cluster_secret()})
    return [json.loads(line) for line in urllib.request.urlopen(request, timeout=10).read().splitlines()]


def notice(cluster, notice_id):
    listed = json.loads(cluster.admin_cli("deletion-notice", "list", "--json").stdout)
    return next(n for n in listed["notices"] if n["id"] == notice_id)


def add_user(cluster, name):
    key = json.loads(cluster.admin_cli("user", "add", name, "--json").stdout)
    return cluster.client(access_key=key["access_key_id"], secret=key["secret_access_key"], retries=1)


def test_account_deletion_waits_for_delivery_period_and_holds(cluster):
    carol = add_user(cluster, "carol")
    carol.create_bucket(Bucket="carols")
    for i in range(3):
        carol.put_object(Bucket="carols", Key=f"k{i}", Body=os.urandom(32 * 1024))
    receiver = Receiver(free_port())  # not listening yet: deliveries fail
    url = f"http://127.0.0.1:{receiver.port}/hook"
    cluster.admin_cli("user", "webhook", "add", "carol", url)
    assert url in cluster.admin_cli("user", "webhook", "list", "carol").stdout
    hold = json.loads(cluster.admin_cli("hold", "place", "--user", "carol", "--case", "C-9", "--requested-by",
                                        "carol's lawyer", "--reason", "dispute", "--json").stdout)["hold"]["id"]
    issued = json.loads(cluster.admin_cli("deletion-notice", "issue", "--user", "carol", "--reason",
                                          "account closed", "--issued-by", "ops", "--wait-s", "2",
                                          "--json").stdout)
    notice_id = issued["notice"]["id"]
    assert issued["receipt"]["entry"]["kind"] == "deletion_notice"
    assert issued["receipt"]["entry"]["recipients"] == [url]
    try:
        # The receiver is down: attempts fail and are retried with backoff.
        wait_for(lambda: notice(cluster, notice_id)["deliveries"][0]["attempts"] >= 3, 30, "three failed attempts")
        assert "delivered_unix_ms" not in notice(cluster, notice_id)["deliveries"][0]
        receiver.start()
        wait_for(lambda: receiver.bodies, 30, "the notice to reach the webhook")
        assert receiver.bodies[0]["notice_id"] == notice_id and receiver.bodies[0]["target"] == "carol"
        # Delivered and past its effective time, but the hold refuses it.
        wait_for(lambda: "covered by hold" in notice(cluster, notice_id)["outcome"], 30, "the hold to block it")
        assert notice(cluster, notice_id)["state"] == "waiting"
        assert sorted(o["Key"] for o in carol.list_objects_v2(Bucket="carols")["Contents"]) == ["k0", "k1", "k2"]

        cluster.admin_cli("hold", "release", hold, "--by", "carol's lawyer", "--reason", "settled")
        wait_for(lambda: notice(cluster, notice_id)["state"] == "executed", 30, "the notice to execute")
        assert "3 version(s)" in notice(cluster, notice_id)["outcome"]
        with pytest.raises(ClientError) as gone:
            carol.list_buckets()
        assert gone.value.response["Error"]["Code"] == "InvalidAccessKeyId"
        wait_for(lambda: not cluster.shards_on_disk("carols"), 30, "GC to delete carol's shards")
    finally:
        receiver.stop()

    entries = ledger_entries(cluster)
    notice_index = issued["receipt"]["entry"]["index"]
    deliveries = [e for e in entries if e["kind"] == "notice_delivery" and e["notice_index"] == notice_index]
    attempts = notice(cluster, notice_id)["deliveries"][0]["attempts"]
    assert len(deliveries) == attempts >= 4
    assert [d["attempt"] for d in deliveries] == list(range(1, attempts + 1))
    assert all(d["error"] for d in deliveries[:-1]) and deliveries[-1]["http_status"] == 204
    destroyed = [e for e in entries if e["kind"] == "data_destroyed" and e.get("notice_id") == notice_id]
    assert len(destroyed) == 1 and destroyed[0]["what"] == "user carol" and destroyed[0]["versions"] == 3

    # Both verifiers accept the log with these entries (docs/ledger.md).
    exported = os.path.join(cluster.data_dir, "ledger-export")
    cluster.admin_cli("ledger", "head", "--sign")
    cluster.admin_cli("ledger", "export", "--out", exported)
    assert "OK" in subprocess.run([cluster.binary, "ledger", "verify", exported], capture_output=True, text=True,
                                  check=True, timeout=60).stdout
    tool = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "ledger_verify.py")
    assert "OK" in subprocess.run(["/usr/bin/python3", tool, "verify", exported], capture_output=True, text=True,
                                  check=True, timeout=60).stdout


def test_notices_are_checked_and_can_be_cancelled(cluster):
    dave = add_user(cluster, "dave")
    dave.create_bucket(Bucket="daves")
    dave.put_object(Bucket="daves", Key="k", Body=b"keep me")
    nobody = cluster.admin_cli("deletion-notice", "issue", "--user", "dave", "--reason", "r", "--issued-by", "ops",
                               check=False)
    assert nobody.returncode != 0 and "nobody would be told" in nobody.stderr
    short = cluster.admin_cli("deletion-notice", "issue", "--user", "dave", "--reason", "r", "--issued-by", "ops",
                              "--wait-s", "1", "--notify", "http://127.0.0.1:9/x", check=False)
    assert short.returncode != 0 and "shorter than this gateway's minimum" in short.stderr
    not_http = cluster.admin_cli("deletion-notice", "issue", "--user", "dave", "--reason", "r", "--issued-by", "ops",
                                 "--notify", "https://example.org/", check=False)
    assert not_http.returncode != 0 and "not an http:// URL" in not_http.stderr

    receiver = Receiver(free_port())
    receiver.start()
    try:
        issued = json.loads(cluster.admin_cli(
            "deletion-notice", "issue", "--user", "dave", "--reason", "r", "--issued-by", "ops", "--wait-s", "10",
            "--notify", f"http://127.0.0.1:{receiver.port}/", "--json").stdout)
        notice_id = issued["notice"]["id"]
        cluster.admin_cli("deletion-notice", "cancel", notice_id, "--by", "ops", "--reason", "customer stayed")
        assert notice(cluster, notice_id)["state"] == "cancelled"
        again = cluster.admin_cli("deletion-notice", "cancel", notice_id, "--by", "ops", "--reason", "x", check=False)
        assert again.returncode != 0 and "is cancelled" in again.stderr
        # Past its effective time (same machine clock), nothing happens to dave's data.
        effective = notice(cluster, notice_id)["effective_unix_ms"]
        wait_for(lambda: time.time() * 1000 > effective + 1000, 20, "the effective time to pass")
        assert notice(cluster, notice_id)["state"] == "cancelled"
        listed = cluster.admin_cli("deletion-notice", "list").stdout
        assert notice_id in listed and "cancelled by ops: customer stayed" in listed
        assert dave.get_object(Bucket="daves", Key="k")["Body"].read() == b"keep me"
    finally:
        receiver.stop()


def test_a_provider_notice_waits_for_the_drain(cluster):
    receiver = Receiver(free_port())
    receiver.start()
    try:
        issued = json.loads(cluster.admin_cli(
            "deletion-notice", "issue", "--provider", "provider-c", "--reason", "contract ends",
            "--issued-by", "ops", "--notify", f"http://127.0.0.1:{receiver.port}/", "--json").stdout)
        notice_id = issued["notice"]["id"]
        wait_for(lambda: receiver.bodies and receiver.bodies[-1]["scope"] == "provider", 30, "delivery")
        # Delivered and due, but the provider still holds data: it waits and says why.
        wait_for(lambda: "drain it" in notice(cluster, notice_id)["outcome"], 30, "the notice to wait for a drain")
        assert notice(cluster, notice_id)["state"] == "waiting"
        cluster.admin_cli("deletion-notice", "cancel", notice_id, "--by", "ops", "--reason", "contract renewed")
        assert notice(cluster, notice_id)["state"] == "cancelled"
    finally:
        receiver.stop()
    unknown = cluster.admin_cli("deletion-notice", "issue", "--provider", "nowhere", "--reason", "r",
                                "--issued-by", "ops", "--notify", "http://127.0.0.1:9/", check=False)
    assert unknown.returncode != 0 and "no registered node belongs to provider nowhere" in unknown.stderr
