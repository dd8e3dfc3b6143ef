"""What operators see: `holdfast status` (report and --json), the Prometheus
endpoint, and the loss drill -- whose prediction must match what actually
happens when the same nodes are killed.

Every cluster here waits ten minutes before counting a down node as lost, so
repair moves nothing while a test looks (docs/admin-api.md)."""
import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from cluster import DevCluster, sha256, wait_for

BUCKET = "operations"
PATIENT = ["--loss-grace-ms", "600000"]
TINY = 4096  # below a few tens of KiB: one whole copy per provider (k=1)


@pytest.fixture()
def patient_cluster():
    with DevCluster(extra_args=PATIENT) as c:
        yield c


def holdfast(cluster, *args, check=True):
    """Runs an operator command against the dev cluster, as an operator would."""
    result = subprocess.run([cluster.binary, *args, "--dev-dir", cluster.data_dir],
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"holdfast {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def status_json(cluster):
    return json.loads(holdfast(cluster, "status", "--json").stdout)


def drill_json(cluster, *lose, limit=1000):
    args = ["drill", "--json", "--limit", str(limit)]
    for term in lose:
        args += ["--lose", term]
    return json.loads(holdfast(cluster, *args).stdout)


def put_objects(cluster, sizes):
    """key -> bytes for fresh random objects of `sizes`."""
    s3 = cluster.client()
    s3.create_bucket(Bucket=BUCKET)
    objects = {}
    for i, size in enumerate(sizes):
        key = f"obj-{i:03d}-{size}"
        data = os.urandom(size)
        # An empty PUT gets a connection of its own (botocore keep-alive quirk,
        # see test_repair.py).
        (cluster.client() if size == 0 else s3).put_object(Bucket=BUCKET, Key=key, Body=data)
        objects[key] = data
    return objects


# ---- status ---------------------------------------------------------------------


def put_more(cluster, sizes):
    """Like put_objects, into the bucket put_objects made."""
    s3 = cluster.client()
    objects = {}
    for i, size in enumerate(sizes):
        key = f"later-{i:03d}"
        data = os.urandom(size)
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        objects[key] = data
    return objects


def test_status_shows_nodes_by_provider_margin_and_a_node_going_down(patient_cluster):
    cluster = patient_cluster
    objects = put_objects(cluster, [TINY] * 5 + [(1 << 20) + 1] * 3)

    status = status_json(cluster)
    providers = {}
    for node in status["nodes"]:
        providers.setdefault(node["provider"], []).append(node["id"])
        assert node["state"] == "up", node
        assert node["capacity_bytes"] > 0, node
    assert {p: sorted(ids) for p, ids in providers.items()} == {
        "provider-a": ["a1", "a2", "a3"], "provider-b": ["b1", "b2", "b3"],
        "provider-c": ["c1", "c2", "c3"]}
    # Whole: tiny objects keep 3 copies (k=1, m=2), wide ones 5+4.
    assert status["versions"] == len(objects)
    assert status["versions_by_spare_shards"] == {"2": 5, "4": 3}
    assert status["under_protected_versions"] == 0
    assert status["policy"] == {"provider_losses": 1, "server_losses": 1}
    assert status["drain"]["drains"] == [] and status["drain"]["blocked"] == []
    assert status["gc"]["queued_shards"] >= 0
    assert "measured_rate_bytes_per_second" in status["repair"]

    report = holdfast(cluster, "status").stdout
    assert "9 nodes at 3 providers, 9 up" in report, report
    for provider in providers:
        assert f"{provider}  (3 nodes: 3 up)" in report, report
    assert "(8 versions; 0 under-protected)" in report, report
    assert "can lose 4 more shards" in report and "can lose 2 more shards" in report, report
    assert "nothing is being drained" in report, report

    # Which versions keep a shard on c1 (every wide one; a tiny one if its
    # provider-c copy landed there), as the drill sees it.
    on_c1 = drill_json(cluster, "node=c1")["degraded"]["by_spare_shards"]
    assert on_c1.get("3") == 3, on_c1

    # A server dies: status says so, the versions with a shard there have one
    # less to spare at once (long before the loss grace), and objects written
    # meanwhile have a shard that could not be placed (provider c has only
    # two nodes left) but none on c1.
    c1 = next(n for n in cluster.info["nodes"] if n["id"] == "c1")
    cluster.kill_node(c1, wipe=False)
    wait_for(lambda: {n["id"]: n["state"] for n in status_json(cluster)["nodes"]}["c1"] == "down",
             30, "status to show c1 down")
    more = put_more(cluster, [(1 << 20) + 1] * 2)
    status = status_json(cluster)
    tiny_on_c1 = on_c1.get("1", 0)
    expected = {"1": tiny_on_c1, "2": 5 - tiny_on_c1, "3": 3 + 2}
    assert status["versions_by_spare_shards"] == {s: n for s, n in expected.items() if n}, (status, on_c1)
    assert status["under_protected_versions"] == 2
    report = holdfast(cluster, "status").stdout
    assert "provider-c  (3 nodes: 1 down, 2 up)" in report, report
    c1_line = next(line for line in report.splitlines() if line.strip().startswith("c1 "))
    assert " down " in c1_line, c1_line
    assert "can lose 3 more shards" in report, report
    assert len(more) == 2


def test_status_without_the_secret_is_refused(patient_cluster):
    result = subprocess.run([patient_cluster.binary, "status", "--gateway",
                             patient_cluster.endpoint.removeprefix("http://")],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "HOLDFAST_CLUSTER_SECRET": "not-the-secret"})
    assert result.returncode == 1
    assert "401" in result.stderr and "cluster secret" in result.stderr, result.stderr


# ---- metrics --------------------------------------------------------------------


def fetch_metrics(cluster, secret):
    request = urllib.request.Request(cluster.endpoint + "/_holdfast/metrics",
                                     headers={"Authorization": "HoldfastCluster " + secret})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.read().decode()


def parse_metrics(text):
    """{(name, frozenset(labels)): value}, checking each family is declared once."""
    samples, declared = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in declared, f"{name} declared twice"
            declared.add(name)
            continue
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        labels = frozenset()
        name = series
        if "{" in series:
            name, body = series[:-1].split("{", 1)
            labels = frozenset(tuple(pair.split("=", 1)) for pair in body.split(","))
            labels = frozenset((k, v.strip('"')) for k, v in labels)
        assert name in declared, f"{name} has samples before its TYPE line"
        samples[(name, labels)] = float(value)
    return samples


def comparable(status):
    """The status numbers the metrics must repeat, minus rates (which move)."""
    return json.dumps({"nodes": [{k: n.get(k) for k in ("id", "state", "used_bytes", "capacity_bytes",
                                                          "shard_count", "read_only")}
                                 for n in status["nodes"]],
                       "margin": status["versions_by_spare_shards"],
                       "under": status["under_protected_versions"],
                       "repair": {k: v for k, v in status["repair"].items() if "rate" not in k},
                       "gc": status["gc"]}, sort_keys=True)


def test_metrics_repeat_the_status_numbers(patient_cluster):
    cluster = patient_cluster
    put_objects(cluster, [TINY] * 3 + [200 << 10] * 2)
    b2 = next(n for n in cluster.info["nodes"] if n["id"] == "b2")
    cluster.kill_node(b2, wipe=False)
    wait_for(lambda: {n["id"]: n["state"] for n in cluster.status()["nodes"]}["b2"] == "down", 30,
             "b2 to be down")
    secret = cluster.cluster_secret()

    # Status, metrics, status again: compare once nothing moved in between.
    def consistent():
        before = cluster.status()
        text = fetch_metrics(cluster, secret)
        after = cluster.status()
        return (before, text) if comparable(before) == comparable(after) else None
    status, text = wait_for(consistent, 30, "a quiet moment to compare status and metrics")
    m = parse_metrics(text)

    assert m[("holdfast_metadata_up", frozenset())] == 1
    for node in status["nodes"]:
        labels = {("node", node["id"]), ("provider", node["provider"]), ("site", node["site"])}
        up = 1 if node["state"] in ("up", "suspect") else 0
        assert m[("holdfast_node_up", frozenset(labels))] == up, node["id"]
        for state in ("up", "suspect", "down", "lost"):
            assert m[("holdfast_node_state", frozenset(labels | {("state", state)}))] == \
                (1 if node["state"] == state else 0), (node["id"], state)
        assert m[("holdfast_node_used_bytes", frozenset(labels))] == node["used_bytes"]
        assert m[("holdfast_node_capacity_bytes", frozenset(labels))] == node["capacity_bytes"]
        assert m[("holdfast_node_shards", frozenset(labels))] == node["shard_count"]
    assert m[("holdfast_node_up", frozenset({("node", "b2"), ("provider", "provider-b"),
                                             ("site", "provider-b-dc1")}))] == 0
    assert m[("holdfast_under_protected_versions", frozenset())] == status["under_protected_versions"]
    assert m[("holdfast_versions", frozenset())] == status["versions"] == 5
    by_spare = {labels: v for (name, labels), v in m.items() if name == "holdfast_versions_by_spare_shards"}
    assert by_spare == {frozenset({("spare_shards", s)}): n
                        for s, n in status["versions_by_spare_shards"].items()}
    for field in ("shards_rebuilt", "bytes_rebuilt", "failures", "shards_marked_lost", "passes"):
        assert m[(f"holdfast_repair_{field}_total", frozenset())] == status["repair"][field], field
    assert m[("holdfast_repair_rate_limit_bytes_per_second", frozenset())] == \
        status["repair"]["rate_limit_bytes_per_second"]
    assert m[("holdfast_gc_queued_shards", frozenset())] == status["gc"]["queued_shards"]
    assert m[("holdfast_loss_grace_seconds", frozenset())] == 600

    # Behind the cluster secret like the rest of the admin API.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(cluster.endpoint + "/_holdfast/metrics", timeout=10)
    assert refused.value.code == 401


# ---- the loss drill -------------------------------------------------------------


def expected_outcome(versions, objects, lost):
    """From the shard files on disk (not from the catalogue the drill reads):
    key -> spare shards (remaining - k) once `lost` nodes are gone, None for
    unreadable. Empty objects are served from metadata alone."""
    outcome = {}
    for version in versions.values():
        remaining = sum(1 for holders in version["nodes"].values() if set(holders) - lost)
        if remaining == version["total"]:
            continue  # untouched: not part of the drill's answer
        readable = remaining >= version["k"] or len(objects[version["key"]]) == 0
        outcome[version["key"]] = max(0, remaining - version["k"]) if readable else None
    return outcome


def histogram(outcome):
    counts = {}
    for spare in outcome.values():
        if spare is not None:
            counts[str(spare)] = counts.get(str(spare), 0) + 1
    return counts


def test_the_drill_predicts_what_losing_nodes_does(patient_cluster):
    cluster = patient_cluster
    sizes = [0] + [TINY] * 24 + [64 << 10] * 2 + [(1 << 20) + 1] * 3 + [12 << 20]
    objects = put_objects(cluster, sizes)
    versions = cluster.shards_on_disk(BUCKET)
    assert sorted(v["key"] for v in versions.values()) == sorted(objects)
    # The drill also counts nodes that are down now as lost; on a loaded
    # machine a heartbeat may be late, so start from a cluster seen whole.
    wait_for(lambda: "down" not in cluster.node_states().values(), 30, "every node to be up")
    provider_a = {n["id"] for n in cluster.nodes_of("provider-a")}

    # Losing one whole provider loses nothing: the policy's promise.
    one = drill_json(cluster, "provider=provider-a")
    assert one["unreadable"]["versions"] == 0 and one["unreadable"]["list"] == []
    assert one["versions_affected"] == len(objects)  # every object keeps a shard there
    assert one["degraded"]["versions"] == len(objects)
    assert one["degraded"]["by_spare_shards"] == histogram(expected_outcome(versions, objects, provider_a))
    assert sorted(n["id"] for n in one["scenario"]["lost_nodes"]) == sorted(provider_a)
    # Nothing can be rebuilt while provider a is gone (every other provider
    # is at its cap), so its shards wait.
    assert one["repair"]["shards_to_rebuild"] == 0
    assert one["repair"]["shards_waiting_for_nodes"] == sum(
        sum(1 for holders in v["nodes"].values() if set(holders) & provider_a) for v in versions.values())
    assert one["repair"]["rate_source"] == "rate_limit"

    # Provider a plus one server each of b and c, chosen where some tiny
    # objects keep their last two copies: those become unreadable, the other
    # tiny ones stay readable, and every wide one (5 of 9 shards gone) is lost.
    pairs = {}
    for v in versions.values():
        if v["k"] == 1 and len(objects[v["key"]]) > 0:
            holders = [h for hs in v["nodes"].values() for h in hs]
            pair = (next(h for h in holders if h.startswith("b")), next(h for h in holders if h.startswith("c")))
            pairs[pair] = pairs.get(pair, 0) + 1
    (b_node, c_node), _ = max(pairs.items(), key=lambda item: item[1])
    lost = provider_a | {b_node, c_node}
    expected = expected_outcome(versions, objects, lost)
    expected_unreadable = {key for key, spare in expected.items() if spare is None}
    tiny_keys = {key for key, data in objects.items() if len(data) == TINY}
    assert expected_unreadable & tiny_keys and tiny_keys - expected_unreadable, "a discriminating scenario"

    drill = drill_json(cluster, "provider=provider-a", f"node={b_node}", f"node={c_node}")
    predicted = {v["key"] for v in drill["unreadable"]["list"]}
    assert not drill["unreadable"]["list_truncated"]
    assert drill["unreadable"]["versions"] == len(predicted)
    assert predicted == expected_unreadable
    assert drill["unreadable"]["bytes"] == sum(len(objects[k]) for k in predicted)
    assert drill["degraded"]["versions"] == len(objects) - len(predicted)
    assert drill["degraded"]["by_spare_shards"] == histogram(expected)
    assert not drill["degraded"]["list_truncated"]
    listed = {v["key"]: max(0, v["remaining_shards"] - v["data_shard_count"]) for v in drill["degraded"]["list"]}
    assert listed == {key: spare for key, spare in expected.items() if spare is not None}
    # Only copies (k=1) stay readable. Repair puts a lost b or c copy on
    # another node of its provider, reading one surviving copy; a copies wait
    # for provider a, since no other provider may hold a second copy.
    rebuilds = reads = writes = waiting = 0
    for v in versions.values():
        if expected.get(v["key"], None) is None:
            continue
        size = len(objects[v["key"]])
        if all(set(holders) & lost for holders in v["nodes"].values()):
            # Every copy lost (an empty object still counts as readable):
            # nothing to rebuild from, so all its shards wait.
            waiting += len(v["nodes"])
            continue
        moved = sum(1 for holders in v["nodes"].values() if set(holders) & {b_node, c_node})
        rebuilds += moved
        writes += moved * size
        reads += size if moved else 0
        waiting += sum(1 for holders in v["nodes"].values() if set(holders) & provider_a)
    repair = drill["repair"]
    assert (repair["shards_to_rebuild"], repair["write_bytes"], repair["read_bytes"],
            repair["shards_waiting_for_nodes"]) == (rebuilds, writes, reads, waiting)
    assert rebuilds > 0
    assert sum(repair["read_bytes_by_provider"].values()) == repair["read_bytes"]
    assert "provider-a" not in repair["read_bytes_by_provider"]
    assert repair["cross_provider_read_bytes"] == repair["read_bytes"]  # no repairer provider given
    assert repair["estimated_seconds"] == pytest.approx(repair["write_bytes"] / repair["rate_bytes_per_second"])

    report = holdfast(cluster, "drill", "--lose", "provider=provider-a", "--lose", f"node={b_node}",
                      "--lose", f"node={c_node}").stdout
    assert f"Unreadable: {len(predicted)} object versions" in report, report
    assert f"Degraded but readable: {len(objects) - len(predicted)} object versions" in report, report
    assert "no repair measured yet" in report, report

    # Now lose them for real and read everything back.
    for node in cluster.info["nodes"]:
        if node["id"] in lost:
            cluster.kill_node(node, wipe=True)
    wait_for(lambda: all(n["state"] == "down" for n in cluster.status()["nodes"] if n["id"] in lost),
             30, "the killed nodes to be down")
    reader = cluster.client(retries=1)
    failed = set()
    for key, data in objects.items():
        try:
            body = (cluster.client(retries=1) if len(data) == 0 else reader).get_object(
                Bucket=BUCKET, Key=key)["Body"].read()
        except Exception:  # noqa: BLE001 - an unreadable object is the finding
            failed.add(key)
            continue
        assert sha256(body) == sha256(data), f"{key}: wrong bytes"
    assert failed == predicted


def test_a_drill_that_names_nothing_known_is_refused(patient_cluster):
    result = holdfast(patient_cluster, "drill", "--lose", "provider=provider-z", check=False)
    assert result.returncode == 2
    assert "no registered node belongs to provider provider-z" in result.stderr, result.stderr
    result = holdfast(patient_cluster, "drill", "--lose", "rack=r1", check=False)
    assert result.returncode == 2 and "expected provider=NAME or node=ID" in result.stderr
