"""Draining and retiring a provider (gateway/drain.h) with real processes:
the drain fails closed while the policy leaves nowhere to move shards, moves
everything once a fourth provider joins -- while clients keep reading and
writing -- and retire is refused until wiping the provider would lose
nothing; afterwards the provider is wiped and every object reads back."""
import glob
import json
import os
import threading
import urllib.error
import urllib.request

from cluster import DevCluster, read_footer, sha256, verify_shard_file, wait_for

BUCKET = "drain"


def objects(count):
    # Tiny objects (three copies) and striped ones (k=5, m=4) of a few sizes.
    sizes = [0, 1, 100, 4096, 70_000, 1 << 20, 3 * (1 << 20) + 17]
    return {f"obj-{i:03d}": os.urandom(sizes[i % len(sizes)]) for i in range(count)}


def provider_nodes(cluster, provider):
    return {n["id"] for n in cluster.nodes_of(provider)}


def shards_on(cluster, node_ids):
    """Shard files of BUCKET on `node_ids`' disks."""
    count = 0
    for version in cluster.shards_on_disk(BUCKET).values():
        for nodes in version["nodes"].values():
            count += sum(1 for n in nodes if n in node_ids)
    return count


def drain_entry(cluster, scope, name):
    for entry in cluster.status()["drain"]["drains"]:
        if entry["scope"] == scope and entry["name"] == name:
            return entry
    return None


class Load:
    """Reads (and writes) in a loop on another thread while a drain runs;
    counts every failure instead of hiding it."""

    def __init__(self, cluster, data):
        self.client = cluster.client(retries=1)
        self.data = data
        self.written = {}
        self.reads = 0
        self.failures = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        keys = sorted(self.data)
        i = 0
        while not self.stop.is_set():
            key = keys[i % len(keys)]
            try:
                body = self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                if body != self.data[key]:
                    self.failures.append(f"GET {key}: wrong bytes")
                self.reads += 1
                if i % 5 == 0:
                    new_key = f"during-drain-{i:05d}"
                    payload = os.urandom(50_000)
                    self.client.put_object(Bucket=BUCKET, Key=new_key, Body=payload)
                    self.written[new_key] = payload
            except Exception as e:  # noqa: BLE001 - every failure is reported
                self.failures.append(f"{key}: {e}")
            i += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)


def test_provider_drain_fails_closed_then_moves_everything_and_retires():
    with DevCluster(providers=3, nodes_per_provider=3) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket=BUCKET)
        data = objects(28)
        for key, body in data.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        leaving = provider_nodes(cluster, "provider-c")
        assert shards_on(cluster, leaving) > 0

        # Retiring what is not drained is refused, and says what to do.
        refused = cluster.admin_cli("provider", "retire", "provider-c", check=False)
        assert refused.returncode == 1, refused.stdout
        assert "not being drained" in refused.stderr and "drain it first" in refused.stderr

        # Three providers and a policy that survives the loss of one: the
        # other two have no room for provider-c's shards (at most one shard
        # per node, a per-provider cap). The drain says so and never
        # declares success.
        stuck = cluster.admin_cli("provider", "drain", "provider-c", "--poll-ms", "200", check=False)
        assert stuck.returncode == 3, stuck.stdout + stuck.stderr
        assert "cannot finish" in stuck.stdout
        assert "without breaking the policy" in stuck.stdout
        assert f"{BUCKET}/obj-" in stuck.stdout  # names the objects
        status = cluster.status()
        entry = drain_entry(cluster, "provider", "provider-c")
        assert entry["state"] == "draining" and not entry["ready_to_retire"]
        assert entry["objects_left"] == len(data)
        assert status["drain"]["blocked"], status["drain"]

        refused = cluster.admin_cli("provider", "retire", "provider-c", check=False)
        assert refused.returncode == 1
        assert f"{len(data)} object version(s) still have" in refused.stderr, refused.stderr
        assert "wiping it now would lose them" in refused.stderr

        # New objects avoid the draining provider already.
        s3.put_object(Bucket=BUCKET, Key="after-drain-began", Body=os.urandom(2 << 20))
        data["after-drain-began"] = s3.get_object(Bucket=BUCKET, Key="after-drain-began")["Body"].read()
        new_version = [v for v in cluster.shards_on_disk(BUCKET).values() if v["key"] == "after-drain-began"]
        assert new_version and all(not (set(nodes) & leaving) for nodes in new_version[0]["nodes"].values())

        # A fourth provider joins: the drain moves everything by itself
        # while clients read and write.
        for i in (1, 2, 3):
            cluster.add_node(f"d{i}", "provider-d", f"provider-d-site-{i}")
        with Load(cluster, dict(data)) as load:
            follow = cluster.admin_cli("provider", "drain", "provider-c", "--poll-ms", "200")
            wait_for(lambda: load.reads >= 20, 60, "reads during the drain")
        assert "left" in follow.stdout and "is drained" in follow.stdout, follow.stdout
        assert load.failures == [], load.failures[:5]

        entry = drain_entry(cluster, "provider", "provider-c")
        assert entry["ready_to_retire"] and entry["shards_left"] == 0, entry
        drain = cluster.status()["drain"]
        assert drain["shards_moved"] > 0 and drain["bytes_moved"] > 0
        request = urllib.request.Request(cluster.endpoint + "/_holdfast/metrics",
                                         headers={"Authorization": "HoldfastCluster " + cluster.cluster_secret()})
        metrics = urllib.request.urlopen(request, timeout=10).read().decode()
        moved = [line for line in metrics.splitlines() if line.startswith("holdfast_drain_shards_moved_total ")]
        assert moved and float(moved[0].split()[1]) >= drain["shards_moved"], moved
        left = [line for line in metrics.splitlines()
                if line.startswith("holdfast_drain_shards_left{") and 'name="provider-c"' in line]
        assert len(left) == 1 and left[0].endswith(" 0"), left
        # Writes made during the drain landed elsewhere too.
        for key in load.written:
            for version in cluster.shards_on_disk(BUCKET).values():
                if version["key"] == key:
                    assert not any(set(n) & leaving for n in version["nodes"].values()), key

        retired = cluster.admin_cli("provider", "retire", "provider-c", "--json")
        assert json.loads(retired.stdout)["retired"] == "provider provider-c"
        assert drain_entry(cluster, "provider", "provider-c")["state"] == "retired"
        # The notice ledger recorded the retirement as planned and as executed.
        request = urllib.request.Request(cluster.endpoint + "/_holdfast/v1/ledger/entries?first=0&limit=1000",
                                         headers={"Authorization": "HoldfastCluster " + cluster.cluster_secret()})
        entries = [json.loads(line) for line in urllib.request.urlopen(request, timeout=10).read().splitlines()]
        kinds = [e["kind"] for e in entries if e.get("scope") == "provider" and e.get("name") == "provider-c"]
        assert kinds == ["retirement_planned", "retirement_executed"], entries
        again = cluster.admin_cli("provider", "drain", "provider-c", "--no-wait", check=False)
        assert again.returncode == 1 and "retired" in again.stderr

        # Wipe the retired provider: nothing is lost, nothing is degraded.
        for node in cluster.nodes_of("provider-c"):
            cluster.kill_node(node, wipe=True)
        everything = dict(data, **load.written)
        reader = cluster.client()
        for key, body in everything.items():
            got = reader.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            assert sha256(got) == sha256(body), key
        status = cluster.status()
        assert status["under_protected_versions"] == 0, status
        # Every object keeps its full width on the disks that remain.
        for version in cluster.versions_on_disk(BUCKET).values():
            assert version["shards"] == version["total"], version


def test_node_drain_with_room_elsewhere_and_undrain():
    with DevCluster(providers=3, nodes_per_provider=3) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket=BUCKET)
        data = objects(12)
        for key, body in data.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        # A new server at provider-a gives the drained one's shards a home
        # within provider-a's cap.
        cluster.add_node("a-new", "provider-a", "provider-a-site-new")
        target = cluster.nodes_of("provider-a")[0]["id"]

        result = cluster.admin_cli("node", "drain", target, "--json", "--poll-ms", "200")
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        assert lines[-1]["ready_to_retire"] and lines[-1]["shards_left"] == 0
        wait_for(lambda: shards_on(cluster, {target}) == 0, 30, "GC of the drained node's old copies")
        for key, body in data.items():
            assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body, key

        # Undrain: the node takes shards again (a cancelled drain is forgotten).
        cluster.admin_cli("node", "undrain", target)
        assert drain_entry(cluster, "node", target) is None
        refused = cluster.admin_cli("node", "retire", target, check=False)
        assert refused.returncode == 1 and "not being drained" in refused.stderr

        unknown = cluster.admin_cli("node", "drain", "no-such-node", "--no-wait", check=False)
        assert unknown.returncode == 1 and "no registered node" in unknown.stderr


def shard_file_of(cluster, node_id, key):
    """Path of `key`'s shard file on `node_id`'s disk."""
    node = next(n for n in cluster.info["nodes"] if n["id"] == node_id)
    for path in glob.glob(os.path.join(node["data_dir"], "shards", "*", "*")):
        footer = read_footer(path)
        if footer and footer["bucket"] == BUCKET and footer["key"] == key:
            return path
    raise AssertionError(f"no shard of {key} on {node_id}")


def flip_payload_byte(path):
    """Bitrot in the first block's payload (the block checksum then fails)."""
    with open(path, "r+b") as f:
        byte = f.read(1)[0]
        f.seek(0)
        f.write(bytes([byte ^ 0x5A]))


def test_node_drain_rebuilds_a_rotten_copy_and_stops_at_an_unreadable_object():
    # Scrub off: the drain, not the scrubber, must meet the damage.
    with DevCluster(providers=3, nodes_per_provider=3, extra_args=["--scrub-mib-per-s", "0"]) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket=BUCKET)
        data = {key: os.urandom(3 << 20) for key in ("healthy", "rotten", "doomed")}
        for key, body in data.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        cluster.add_node("a-new", "provider-a", "provider-a-site-new")
        target = cluster.nodes_of("provider-a")[0]["id"]

        # "rotten": its copy on the draining node has rotted; the other eight
        # are fine. "doomed": its copy there has rotted too, and four of the
        # other eight are gone, so four good shards remain where k=5 are needed.
        flip_payload_byte(shard_file_of(cluster, target, "rotten"))
        flip_payload_byte(shard_file_of(cluster, target, "doomed"))
        others = [n["id"] for n in cluster.info["nodes"] if n["id"] not in (target, "a-new")]
        for node_id in others[:4]:
            os.remove(shard_file_of(cluster, node_id, "doomed"))

        stuck = cluster.admin_cli("node", "drain", target, "--poll-ms", "200", check=False)
        assert stuck.returncode == 3, stuck.stdout + stuck.stderr
        assert "cannot finish" in stuck.stdout, stuck.stdout
        assert f"{BUCKET}/doomed" in stuck.stdout and "the object is unreadable" in stuck.stdout, stuck.stdout
        assert f"{BUCKET}/rotten" not in stuck.stdout and f"{BUCKET}/healthy" not in stuck.stdout, stuck.stdout
        entry = drain_entry(cluster, "node", target)
        assert entry["state"] == "draining" and not entry["ready_to_retire"], entry
        assert entry["objects_left"] == 1, entry

        # Retire is refused while "doomed" still depends on the node.
        refused = cluster.admin_cli("node", "retire", target, check=False)
        assert refused.returncode == 1, refused.stdout
        assert "1 object version(s) still have" in refused.stderr, refused.stderr

        # The rotten copy was not copied as it was: the new copy was rebuilt
        # from the other shards, and every file on the node that took it checks out.
        new_node = next(n for n in cluster.info["nodes"] if n["id"] == "a-new")
        moved = glob.glob(os.path.join(new_node["data_dir"], "shards", "*", "*"))
        assert {read_footer(p)["key"] for p in moved} >= {"healthy", "rotten"}, moved
        for path in moved:
            assert verify_shard_file(path) is None, path
        for key in ("healthy", "rotten"):
            assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data[key], key


def test_node_verifies_a_shard_from_its_own_disk():
    # GET /v1/shards/{id}/verify (docs/node-api.md): how a drain checks each
    # moved copy without reading it back over the network.
    with DevCluster(providers=3, nodes_per_provider=3) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="k", Body=os.urandom(3 << 20))
        node = cluster.info["nodes"][0]
        path = next(os.path.join(d, f) for d, _, files in os.walk(os.path.join(node["data_dir"], "shards"))
                    for f in files)
        shard_id = os.path.basename(path)

        def verify():
            request = urllib.request.Request(
                f"http://127.0.0.1:{node['port']}/v1/shards/{shard_id}/verify",
                headers={"Authorization": "HoldfastCluster " + cluster.cluster_secret()})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, json.load(response)
            except urllib.error.HTTPError as e:
                return e.code, json.load(e)

        status, footer = verify()
        assert status == 200 and footer["key"] == "k" and footer["block_count"] >= 1, footer
        with open(path, "r+b") as f:  # flip one byte of block 0's payload
            byte = f.read(1)
            f.seek(0)
            f.write(bytes([byte[0] ^ 0xFF]))
        status, error = verify()
        assert status == 422 and "checksum" in error["error"], error
