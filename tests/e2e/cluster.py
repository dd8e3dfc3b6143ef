"""A real `holdfast dev` cluster for end-to-end tests, and the real clients
(awscli, boto3) pointed at it. Everything runs on 127.0.0.1 under a temporary
directory that is removed afterwards."""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import boto3
import xxhash
from botocore.config import Config

AWS = "/usr/bin/aws"  # Debian's awscli, whatever else is on PATH


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout, what):
    """Polls `condition` until it returns a truthy value; fails naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class DevCluster:
    def __init__(self, providers=3, nodes_per_provider=3, data_dir=None, extra_args=()):
        self.binary = os.environ.get("HOLDFAST_BIN", "build/holdfast")
        self.extra_args = list(extra_args)  # more `holdfast dev` options, e.g. --loss-grace-ms
        self.replacements = []  # node processes started by start_node()
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="holdfast-e2e-")
        self.providers = providers
        self.nodes_per_provider = nodes_per_provider
        self.process = None
        self.info = None

    def start(self):
        self.port = free_port()
        self.log = open(os.path.join(self.data_dir, "dev.log"), "ab")
        dev_json = os.path.join(self.data_dir, "dev.json")
        if os.path.exists(dev_json):
            os.remove(dev_json)
        self.process = subprocess.Popen(
            [self.binary, "dev", "--data-dir", self.data_dir, "--port", str(self.port),
             "--providers", str(self.providers),
             "--nodes-per-provider", str(self.nodes_per_provider), "--heartbeat-ms", "250",
             "--web-port", "0", *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"holdfast dev exited with {self.process.returncode}; see {self.data_dir}/dev.log")
            return os.path.exists(dev_json)
        wait_for(ready, 60, "dev.json")
        with open(dev_json) as f:
            self.info = json.load(f)
        self.endpoint = self.info["endpoint"]
        self.web_url = self.info["web_url"].rstrip("/")
        return self

    def stop(self):
        for process, log in self.replacements:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
        self.replacements = []
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.log.close()

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # `with DevCluster(...) as cluster:` starts it and always cleans up.
    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()

    # ---- clients -------------------------------------------------------
    def client(self, secret=None, access_key=None, retries=2):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=access_key or self.info["access_key"],
            aws_secret_access_key=secret or self.info["secret_key"],
            # SigV4 everywhere, also for presigned URLs (Holdfast does not speak SigV2).
            config=Config(signature_version="s3v4",
                          retries={"max_attempts": retries, "mode": "standard"},
                          s3={"addressing_style": "path"}))

    def aws_env(self):
        config = os.path.join(self.data_dir, "aws-config")
        if not os.path.exists(config):
            with open(config, "w") as f:
                # awscli's own multipart defaults (8 MiB threshold and parts).
                f.write("[default]\nregion = us-east-1\nretry_mode = standard\nmax_attempts = 2\n"
                        "s3 =\n  addressing_style = path\n")
        env = dict(os.environ)
        env.update({"AWS_ACCESS_KEY_ID": self.info["access_key"],
                    "AWS_SECRET_ACCESS_KEY": self.info["secret_key"],
                    "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                    "AWS_PAGER": ""})
        env.pop("AWS_PROFILE", None)
        return env

    def aws(self, *args, check=True):
        result = subprocess.run([AWS, "--endpoint-url", self.endpoint, *args],
                                env=self.aws_env(), capture_output=True, text=True, timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    # ---- failure injection ---------------------------------------------
    def nodes_of(self, provider):
        return [n for n in self.info["nodes"] if n["provider"] == provider]

    def kill_node(self, node, wipe=True):
        os.kill(node["pid"], signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{node['pid']}") or
                 open(f"/proc/{node['pid']}/stat").read().split()[2] == "Z", 10, f"node {node['id']} to die")
        if wipe:
            shutil.rmtree(node["data_dir"], ignore_errors=True)

    def shard_files(self):
        """Paths of all committed shard files on all surviving nodes."""
        out = []
        for node in self.info["nodes"]:
            root = os.path.join(node["data_dir"], "shards")
            for dirpath, _, files in os.walk(root):
                out.extend(os.path.join(dirpath, f) for f in files)
        return out

    def shard_footers(self):
        """The footer of every committed shard on surviving nodes, read as
        docs/shard-format.md specifies (tail: u32 length, u64 xxh3, magic)."""
        footers = []
        for path in self.shard_files():
            try:
                with open(path, "rb") as f:
                    f.seek(-20, os.SEEK_END)
                    tail = f.read(20)
                    length = int.from_bytes(tail[:4], "little")
                    assert tail[12:] == b"HFSHARD1", f"bad magic in {path}"
                    f.seek(-20 - length, os.SEEK_END)
                    footers.append(json.loads(f.read(length)))
            except FileNotFoundError:
                continue  # collected while we looked
        return footers

    def versions_on_disk(self, bucket):
        """version id -> {"key", "object", "shards" (files found), "k", "total" (k+m)}
        for every erasure-coded version of `bucket` with a shard on a live node.
        A multipart object's parts are separate entries whose "object" is the
        upload id (= the object's version id); otherwise "object" is the
        version id itself."""
        versions = {}
        for f in self.shard_footers():
            if f["bucket"] != bucket:
                continue
            v = versions.setdefault(f["version_id"], {
                "key": f["key"], "object": f.get("upload_id") or f["version_id"], "shards": 0,
                "k": f["data_shard_count"], "total": f["data_shard_count"] + f["parity_shard_count"]})
            v["shards"] += 1
        return versions

    def objects_on_disk(self, bucket):
        """object version id -> {"key", "complete" (every part has all k+m
        shards), "readable" (every part has at least k)}."""
        objects = {}
        for v in self.versions_on_disk(bucket).values():
            o = objects.setdefault(v["object"], {"key": v["key"], "complete": True, "readable": True})
            o["complete"] &= v["shards"] == v["total"]
            o["readable"] &= v["shards"] >= v["k"]
        return objects

    def disk_matches(self, bucket, keys):
        """True when the disks hold exactly one complete version per key in
        `keys` and nothing else for `bucket` (no orphans, no leftovers)."""
        objects = self.objects_on_disk(bucket).values()
        return (sorted(o["key"] for o in objects) == sorted(keys) and
                all(o["complete"] for o in objects))

    def gateway_rss_peak_kib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM")

    # ---- operators' view ------------------------------------------------
    def cluster_secret(self):
        with open(os.path.join(self.data_dir, "credentials.json")) as f:
            return json.load(f)["cluster_secret"]

    def status(self):
        """GET /_holdfast/v1/status (docs/admin-api.md) as a dict."""
        request = urllib.request.Request(
            self.endpoint + "/_holdfast/v1/status",
            headers={"Authorization": "HoldfastCluster " + self.cluster_secret()})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def node_states(self):
        """node id -> "up", "suspect", "down" or "lost", as the gateway sees it."""
        return {n["id"]: n["state"] for n in self.status()["nodes"]}

    def start_node(self, node, extra_args=()):
        """Starts a `holdfast node` with the labels and data directory of
        `node` (from dev.json), e.g. a server re-provisioned under its old id
        after kill_node(), with more `holdfast node` options in `extra_args`.
        The process belongs to this test; stop() kills it."""
        log = open(os.path.join(self.data_dir, "logs", node["id"] + "-restarted.log"), "ab")
        env = dict(os.environ, HOLDFAST_CLUSTER_SECRET=self.cluster_secret())
        process = subprocess.Popen(
            [self.binary, "node", "--id", node["id"], "--provider", node["provider"],
             "--site", node["site"], "--data-dir", node["data_dir"], "--listen", "127.0.0.1:0",
             "--gateway", self.endpoint.removeprefix("http://"), "--heartbeat-ms", "250",
             *extra_args],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        self.replacements.append((process, log))
        return process

    def add_node(self, node_id, provider, site):
        """Starts a new `holdfast node` (e.g. of a provider joining the
        cluster) and adds it to self.info["nodes"] like dev's own nodes, so
        the disk helpers and kill_node() see it. Returns its node dict."""
        node = {"id": node_id, "provider": provider, "site": site,
                "data_dir": os.path.join(self.data_dir, "nodes", node_id)}
        os.makedirs(node["data_dir"], exist_ok=True)
        node["pid"] = self.start_node(node).pid
        self.info["nodes"].append(node)
        wait_for(lambda: self.node_states().get(node_id) == "up", 30, f"node {node_id} to register")
        return node

    def admin_cli(self, *args, check=True):
        """Runs `holdfast <args> --dev-dir <this cluster>`; returns the
        CompletedProcess (text)."""
        result = subprocess.run([self.binary, *args, "--dev-dir", self.data_dir],
                                capture_output=True, text=True, timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"holdfast {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def shards_on_disk(self, bucket):
        """version id -> {"key", "k", "total", "nodes": {shard index: [node ids]}}
        for every shard file of `bucket` on every node's disk."""
        versions = {}
        for node in self.info["nodes"]:
            root = os.path.join(node["data_dir"], "shards")
            for dirpath, _, files in os.walk(root):
                for name in files:
                    footer = read_footer(os.path.join(dirpath, name))
                    if footer is None or footer["bucket"] != bucket:
                        continue
                    v = versions.setdefault(footer["version_id"], {
                        "key": footer["key"], "k": footer["data_shard_count"],
                        "total": footer["data_shard_count"] + footer["parity_shard_count"],
                        "nodes": {}})
                    v["nodes"].setdefault(footer["shard_index"], []).append(node["id"])
        return versions


def read_footer(path):
    """The footer of a committed shard file (docs/shard-format.md), or None if
    the file vanished while we looked."""
    try:
        with open(path, "rb") as f:
            f.seek(-20, os.SEEK_END)
            tail = f.read(20)
            length = int.from_bytes(tail[:4], "little")
            assert tail[12:] == b"HFSHARD1", f"bad magic in {path}"
            f.seek(-20 - length, os.SEEK_END)
            return json.loads(f.read(length))
    except FileNotFoundError:
        return None


TAIL_BYTES = 20  # u32 footer length | u64 XXH3(footer) | "HFSHARD1"


def verify_shard_file(path):
    """None if the file at `path` is a well-formed shard whose footer and
    block checksums all match (docs/shard-format.md, recomputed here with
    python3-xxhash, independently of Holdfast); otherwise what is wrong."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < TAIL_BYTES or data[-8:] != b"HFSHARD1":
        return "bad tail"
    footer_len = int.from_bytes(data[-20:-16], "little")
    footer_sum = int.from_bytes(data[-16:-8], "little")
    footer = data[-20 - footer_len:-20]
    if xxhash.xxh3_64_intdigest(footer, seed=0) != footer_sum:
        return "footer checksum"
    f = json.loads(footer)
    block, count = f["block_size_bytes"], f["block_count"]
    if len(data) != count * (block + 8) + footer_len + TAIL_BYTES:
        return "size"
    for i in range(count):
        start = i * (block + 8)
        payload = data[start:start + block]
        stored = int.from_bytes(data[start + block:start + block + 8], "little")
        if xxhash.xxh3_64_intdigest(payload, seed=i) != stored:
            return f"block {i}"
    return None
