"""Scrub: every node reads back and verifies every shard it holds; bitrot it
finds is quarantined, reported to the gateway and repaired, and no read ever
returns corrupt bytes meanwhile. Also: a node that comes back with a stale,
partly deleted or damaged data directory serves no wrong data and is healed.

Shard files are checked independently of Holdfast at the end: the XXH3
checksums of docs/shard-format.md are recomputed (cluster.verify_shard_file)."""
import glob
import os
import random
import re
import threading
import time

import pytest

from cluster import TAIL_BYTES, DevCluster, read_footer, sha256, verify_shard_file, wait_for

BUCKET = "scrubbed"
SCRUB_ARGS = ["--scrub-mib-per-s", "256", "--scrub-interval-s", "1"]
FOUND_RE = re.compile(r"scrub: shard ([0-9a-f]{32}\.\d+) failed verification")


# ---- shard files, read as docs/shard-format.md specifies ---------------

def shard_files(cluster):
    """(node id, shard id, path) of every committed shard file."""
    out = []
    for node in cluster.info["nodes"]:
        for path in glob.glob(os.path.join(node["data_dir"], "shards", "*", "*")):
            out.append((node["id"], os.path.basename(path), path))
    return out


def quarantined_files(cluster):
    return [p for n in cluster.info["nodes"]
            for p in glob.glob(os.path.join(n["data_dir"], "quarantine", "*"))]


def flip_byte(path, rng, kind):
    """Damages one byte of the shard file in place, as bitrot would: in a
    block's payload, in a block's stored checksum, or in the footer."""
    footer = read_footer(path)
    block, count = footer["block_size_bytes"], footer["block_count"]
    size = os.path.getsize(path)
    if kind == "payload":
        offset = rng.randrange(count) * (block + 8) + rng.randrange(block)
    elif kind == "checksum":
        offset = rng.randrange(count) * (block + 8) + block + rng.randrange(8)
    else:  # footer JSON
        offset = count * (block + 8) + rng.randrange(size - count * (block + 8) - TAIL_BYTES)
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ rng.randrange(1, 256)]))


def found_in_logs(cluster):
    """{(node id, shard id)} the nodes logged as failing a scrub."""
    found = set()
    for node in cluster.info["nodes"]:
        for log in glob.glob(os.path.join(cluster.data_dir, "logs", node["id"] + "*.log")):
            with open(log, errors="replace") as f:
                found |= {(node["id"], m.group(1)) for m in FOUND_RE.finditer(f.read())}
    return found


def fully_redundant(cluster, keys):
    """No under-protected version, nothing left in quarantine, and on disk
    every key in `keys` has a version with all k+m shards on distinct nodes."""
    if cluster.status()["under_protected_versions"] != 0 or quarantined_files(cluster):
        return False
    complete = set()
    for version in cluster.shards_on_disk(BUCKET).values():
        nodes = [n for holders in version["nodes"].values() for n in holders]
        if len(version["nodes"]) == version["total"] and len(set(nodes)) == version["total"]:
            complete.add(version["key"])
    return set(keys) <= complete


class Reader(threading.Thread):
    """Reads objects over and over, half of them from `hot` (the damaged
    ones), checking every byte. Reads are not retried: any failure counts."""

    def __init__(self, cluster, expected, hot):
        super().__init__(daemon=True)
        self.s3 = cluster.client(retries=1)
        self.expected = expected
        self.keys = sorted(expected)
        self.hot = sorted(hot) or self.keys
        self.stopping = threading.Event()
        self.failures = []
        self.wrong_bytes = []
        self.reads = 0
        self.rng = random.Random(7)

    def run(self):
        while not self.stopping.is_set():
            key = self.rng.choice(self.hot if self.reads % 2 else self.keys)
            self.reads += 1
            try:
                body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            except Exception as e:  # noqa: BLE001 - every failure is a finding
                self.failures.append(f"GET {key}: {e!r}")
                continue
            if sha256(body) != self.expected[key]:
                self.wrong_bytes.append(f"GET {key}: wrong bytes ({len(body)} bytes)")


def node_scrub(cluster):
    return {n["id"]: n["scrub"] for n in cluster.status()["nodes"]}


# ---- 1% bitrot ---------------------------------------------------------------

@pytest.fixture()
def scrubbing_cluster():
    with DevCluster(extra_args=SCRUB_ARGS) as c:
        yield c


def test_bitrot_in_one_percent_of_shard_files_is_found_and_repaired(scrubbing_cluster, capsys):
    cluster = scrubbing_cluster
    s3 = cluster.client()
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(20240611)
    # Tiny objects are 3 copies (k=1), the others 5+4 shards; the large ones
    # have 2-3 blocks of 1 MiB per shard.
    sizes = ([4096] * 60 + [rng.randint(64 << 10, 256 << 10) for _ in range(100)] +
             [rng.randint(5 << 20, 12 << 20) for _ in range(8)])
    expected = {}
    for i, size in enumerate(sizes):
        data = rng.randbytes(size)
        key = f"obj/{i:03d}-{size}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        expected[key] = sha256(data)

    # A clean pass over everything first: the damage below is all there is.
    files = shard_files(cluster)
    passes = {n: s["passes_completed"] for n, s in node_scrub(cluster).items()}
    wait_for(lambda: all(s["passes_completed"] >= passes[n] + 2
                         for n, s in node_scrub(cluster).items()), 30, "a clean scrub pass")
    assert cluster.status()["scrub"]["corrupt_found"] == 0
    assert cluster.status()["scrub"]["shards_verified"] >= len(files)

    # Flip a byte in 1% of the shard files, chosen at random (one per object
    # at most, so every object stays readable and repairable).
    flip_count = max(10, round(len(files) / 100))
    key_of = {}
    for version_id, version in cluster.shards_on_disk(BUCKET).items():
        key_of[version_id] = version["key"]
    flipped, damaged_versions = set(), set()
    kinds = ["payload"] * 4 + ["checksum"]
    for node_id, shard_id, path in rng.sample(files, len(files)):
        version_id = shard_id.split(".")[0]
        if version_id in damaged_versions:
            continue
        kind = "footer" if not flipped else kinds[len(flipped) % len(kinds)]
        flip_byte(path, rng, kind)
        flipped.add((node_id, shard_id))
        damaged_versions.add(version_id)
        if len(flipped) == flip_count:
            break
    assert len(flipped) == flip_count
    damaged_keys = {key_of[v] for v in damaged_versions}
    started = time.monotonic()

    reader = Reader(cluster, expected, damaged_keys)
    reader.start()
    try:
        wait_for(lambda: cluster.status()["scrub"]["corrupt_found"] >= flip_count, 30,
                 "the scrub to find every damaged file")
        found_at = time.monotonic() - started
        wait_for(lambda: fully_redundant(cluster, expected), 60, "repair of every damaged shard")
        repaired_at = time.monotonic() - started
        wait_for(lambda: reader.reads >= 50, 30, "a few reads")
    finally:
        reader.stopping.set()
        reader.join(timeout=60)
    assert not reader.is_alive()
    with capsys.disabled():
        print(f"\n{flip_count} of {len(files)} shard files damaged: all found in {found_at:.1f} s, "
              f"repaired in {repaired_at:.1f} s; {reader.reads} reads meanwhile")

    assert reader.wrong_bytes == [], reader.wrong_bytes
    assert reader.failures == [], reader.failures

    # The scrub found exactly the damaged files, and the gateway recorded
    # each of them for repair.
    status = cluster.status()
    assert status["scrub"]["corrupt_found"] == flip_count, status["scrub"]
    assert found_in_logs(cluster) == flipped
    assert status["scrub"]["shards_recorded_missing"] == flip_count, status["scrub"]
    assert status["repair"]["shards_rebuilt"] >= flip_count, status["repair"]
    assert sum(s["corrupt_found"] for s in node_scrub(cluster).values()) == flip_count

    # Every shard file on every node verifies, checked here from the bytes...
    bad = {path: problem for _, _, path in shard_files(cluster)
           if (problem := verify_shard_file(path)) is not None}
    assert bad == {}
    # ...and by the nodes' own scrub, in passes that started after repair.
    passes = {n: s["passes_completed"] for n, s in node_scrub(cluster).items()}
    wait_for(lambda: all(s["passes_completed"] >= passes[n] + 2
                         for n, s in node_scrub(cluster).items()), 30, "scrub passes after repair")
    assert cluster.status()["scrub"]["corrupt_found"] == flip_count
    assert cluster.status()["scrub"]["read_errors"] == 0

    for key, digest in expected.items():
        assert sha256(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == digest, key


# ---- a node back with a stale, partly deleted and damaged disk -------------

@pytest.fixture()
def patient_cluster():
    """Nodes are not counted as lost for a minute: a restart is only a restart."""
    with DevCluster(extra_args=SCRUB_ARGS + ["--loss-grace-ms", "60000"]) as c:
        yield c


def test_a_node_back_with_a_stale_partly_deleted_disk_serves_no_wrong_data(patient_cluster):
    cluster = patient_cluster
    s3 = cluster.client()
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(99)
    expected = {}
    # c1 holds one shard of every 5+4 object and a copy of about a third of
    # the tiny ones.
    for i, size in enumerate([4096] * 8 + [(1 << 20) + 1] * 10):
        data = rng.randbytes(size)
        s3.put_object(Bucket=BUCKET, Key=f"k{i:02d}", Body=data)
        expected[f"k{i:02d}"] = sha256(data)

    c1 = next(n for n in cluster.info["nodes"] if n["id"] == "c1")
    cluster.kill_node(c1, wipe=False)
    wait_for(lambda: cluster.node_states()["c1"] == "down", 10, "c1 to be down")

    # While c1 is away its copies go stale: objects are overwritten and
    # deleted (their old shards stay on c1's disk for now).
    for key in ["k00", "k08"]:
        data = rng.randbytes(5000 if key == "k00" else (1 << 20) + 7)
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        expected[key] = sha256(data)
    for key in ["k01", "k09"]:
        s3.delete_object(Bucket=BUCKET, Key=key)
        del expected[key]

    # Its disk is partly deleted and partly damaged: a shard file removed
    # outright for two objects, one cut short, one with a flipped byte. The
    # removed ones are data shards (index < k), which every read opens: a
    # removed parity shard is not noticed until something reads it.
    on_c1 = {}
    for path in glob.glob(os.path.join(c1["data_dir"], "shards", "*", "*")):
        footer = read_footer(path)
        if footer["key"] in expected and footer["key"] not in ("k00", "k08"):
            on_c1.setdefault(footer["key"], []).append((path, footer))
    removable = sorted(k for k, shards in on_c1.items()
                       if any(f["shard_index"] < f["data_shard_count"] for _, f in shards))
    assert len(removable) >= 2 and len(on_c1) >= 4, on_c1.keys()
    removed = removable[:2]
    for key in removed:
        path = next(p for p, f in on_c1[key] if f["shard_index"] < f["data_shard_count"])
        os.remove(path)
    damaged = [k for k in sorted(on_c1) if k not in removed][:2]
    truncated_path = on_c1[damaged[0]][0][0]
    os.truncate(truncated_path, os.path.getsize(truncated_path) // 2)
    flip_byte(on_c1[damaged[1]][0][0], rng, "payload")

    cluster.start_node(c1, extra_args=SCRUB_ARGS)
    wait_for(lambda: cluster.node_states()["c1"] == "up", 20, "c1 to rejoin")

    # Every read, from the moment c1 is back: current bytes, or NoSuchKey for
    # deleted keys -- never an old version, never damaged bytes.
    reader = cluster.client(retries=1)

    def read_everything():
        for key, digest in expected.items():
            body = reader.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            assert sha256(body) == digest, key
        for key in ["k01", "k09"]:
            with pytest.raises(reader.exceptions.NoSuchKey):
                reader.get_object(Bucket=BUCKET, Key=key)

    read_everything()

    # The damaged files are found by c1's scrub; removed ones by the reads
    # above; stale copies of overwritten and deleted objects are collected.
    wait_for(lambda: node_scrub(cluster)["c1"]["corrupt_found"] >= 2, 30,
             "c1's scrub to find the damaged files")

    def healed():
        read_everything()
        return fully_redundant(cluster, expected) and cluster.disk_matches(BUCKET, expected)
    wait_for(healed, 60, "c1's disk to be healed and its stale shards collected")
    assert node_scrub(cluster)["c1"]["corrupt_found"] == 2
    bad = {path: problem for _, _, path in shard_files(cluster)
           if (problem := verify_shard_file(path)) is not None}
    assert bad == {}
    read_everything()
