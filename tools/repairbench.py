#!/usr/bin/env python3
"""Repair and drain throughput of a local `holdfast dev` cluster, each printed
beside the raw disk write bandwidth and the loopback TCP bandwidth measured
in the same run (BENCHMARKS.md, "Repair and drain").

  tools/repairbench.py [--binary build/holdfast] [--data-mib 512] [--object-mib 8]

1. Disk: writes --disk-mib to a file in the cluster's directory in 1 MiB
   writes and fsyncs it (what a node does with a shard).
2. Loopback: one TCP stream of --loopback-mib over 127.0.0.1 (what a rebuilt
   shard crosses on its way to its node).
   Both are measured three times, before the cluster starts, between the
   repairs and the drain, and after the drain (the cluster idle), and the
   median is the reference: on a shared machine one disk measurement can be
   off by a factor of four.
3. Starts `holdfast dev` (3 providers x 3 nodes, repair and drain rate limits
   lifted) and fills it with --data-mib of objects.
4. Repair: kills one node and wipes its disk; once the gateway counts it
   lost, starts it again empty (a re-provisioned server: with k+m equal to
   the node count there is nowhere else to rebuild) and times from the
   gateway seeing it up until every object has full redundancy again;
   rate = rebuilt shard bytes / that time. (Loss detection and the node's
   own start-up are the operator's and the grace's time, not repair's;
   they are printed apart as restart_s.)
   Then the same for a whole provider: its three nodes killed and wiped at
   once, each version rebuilding three shards from the five left.
5. Drain: adds a node to one provider, drains another node of it
   (`holdfast node drain`), rate = moved shard bytes / drain time.
No client load runs meanwhile. Also prints the CPU time the cluster's
processes (gateway and nodes) used per MiB moved: on a shared machine that
is steadier than the rates. Prints a table, or JSON with --json."""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

MIB = 1 << 20


def disk_write_rate(directory, mib):
    path = os.path.join(directory, "disk-bench.tmp")
    block = os.urandom(MIB)
    start = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    elapsed = time.perf_counter() - start
    os.remove(path)
    return mib * MIB / elapsed


def loopback_rate(mib):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    received = [0]

    def sink():
        conn, _ = server.accept()
        with conn:
            while True:
                data = conn.recv(4 * MIB)
                if not data:
                    break
                received[0] += len(data)

    thread = threading.Thread(target=sink)
    thread.start()
    block = os.urandom(MIB)
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as client:
        for _ in range(mib):
            client.sendall(block)
    thread.join()
    elapsed = time.perf_counter() - start
    server.close()
    assert received[0] == mib * MIB
    return mib * MIB / elapsed


class Cluster:
    def __init__(self, binary, directory):
        self.binary = binary
        self.dir = directory
        port_socket = socket.socket()
        port_socket.bind(("127.0.0.1", 0))
        self.port = port_socket.getsockname()[1]
        port_socket.close()
        self.log = open(os.path.join(directory, "dev.log"), "ab")
        self.process = subprocess.Popen(
            [binary, "dev", "--data-dir", directory, "--port", str(self.port), "--heartbeat-ms", "250",
             "--loss-grace-ms", "1000", "--repair-mib-per-s", "100000", "--drain-mib-per-s", "100000",
             "--scrub-mib-per-s", "0", "--meta-backup-interval-s", "0"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(directory, "dev.json")):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"holdfast dev did not start; see {directory}/dev.log")
            time.sleep(0.1)
        with open(os.path.join(directory, "dev.json")) as f:
            self.info = json.load(f)
        with open(os.path.join(directory, "credentials.json")) as f:
            self.secret = json.load(f)["cluster_secret"]
        self.extra = []

    def s3(self):
        return boto3.client("s3", endpoint_url=self.info["endpoint"], region_name="us-east-1",
                            aws_access_key_id=self.info["access_key"],
                            aws_secret_access_key=self.info["secret_key"],
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))

    def status(self):
        request = urllib.request.Request(self.info["endpoint"] + "/_holdfast/v1/status",
                                         headers={"Authorization": "HoldfastCluster " + self.secret})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def wait(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise SystemExit(f"timed out waiting for {what}")

    def add_node(self, node_id, provider, site=None, data_dir=None):
        data_dir = data_dir or os.path.join(self.dir, "nodes", node_id)
        site = site or provider + "-new"
        os.makedirs(data_dir, exist_ok=True)
        env = dict(os.environ, HOLDFAST_CLUSTER_SECRET=self.secret)
        self.extra.append(subprocess.Popen(
            [self.binary, "node", "--id", node_id, "--provider", provider, "--site", site,
             "--data-dir", data_dir, "--listen", "127.0.0.1:0", "--heartbeat-ms", "250",
             "--gateway", f"127.0.0.1:{self.port}", "--scrub-mib-per-s", "0"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env))
        self.wait(lambda: any(n["id"] == node_id and n["state"] == "up" for n in self.status()["nodes"]),
                  30, f"node {node_id}")

    def cpu_seconds(self):
        """User + system CPU time of the gateway and every node process so far."""
        pids = [self.process.pid] + [n["pid"] for n in self.info["nodes"]] + [p.pid for p in self.extra]
        total = 0.0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass  # exited (the killed node)
        return total

    def stop(self):
        for process in self.extra:
            process.kill()
            process.wait()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


def fill(cluster, data_mib, object_mib):
    s3 = cluster.s3()
    s3.create_bucket(Bucket="bench")
    body = os.urandom(object_mib * MIB)
    count = max(1, data_mib // object_mib)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: cluster.s3().put_object(Bucket="bench", Key=f"o{i:05d}", Body=body),
                      range(count)))
    return count


class Profile:
    """`perf record` of the whole machine while one phase runs, when asked
    for (--perf-dir): perf report --sort comm,dso,symbol shows where the
    cluster's CPU time went."""

    def __init__(self, directory, name):
        self.process = None
        if directory:
            self.process = subprocess.Popen(
                ["perf", "record", "-a", "-g", "-q", "-o", os.path.join(directory, f"perf-{name}.data")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process:
            self.process.send_signal(signal.SIGINT)
            self.process.wait()


def measure_repair(cluster, victims, objects, perf_dir=None, name="repair"):
    """Kills `victims` and wipes their disks; once the gateway counts their
    shards lost, starts them again empty (re-provisioned servers: with k+m
    equal to the node count there is nowhere else to rebuild) and times from
    the gateway seeing them up until every object has full redundancy."""
    repair = cluster.status()["repair"]
    before, marked = repair["bytes_rebuilt"], repair["shards_marked_lost"]
    for victim in victims:
        os.kill(victim["pid"], signal.SIGKILL)
    # The wiped disks are moved aside and deleted after the clock stops: a
    # re-provisioned server gets a fresh file system, whereas deleting
    # thousands of files on the one this machine shares makes ext4's inode
    # allocator skip over the recently deleted ones for every shard repair
    # creates (5% of the run's CPU), which no real repair would pay.
    wiped = []
    for victim in victims:
        wiped.append(victim["data_dir"] + ".wiped")
        os.rename(victim["data_dir"], wiped[-1])
    cluster.wait(lambda: cluster.status()["repair"]["shards_marked_lost"] >= marked + len(victims) * objects, 60,
                 "the nodes' shards to be recorded lost")
    restart = time.perf_counter()
    for victim in victims:
        cluster.add_node(victim["id"], victim["provider"], site=victim["site"], data_dir=victim["data_dir"])
    with Profile(perf_dir, name):
        start = time.perf_counter()
        cpu = cluster.cpu_seconds()
        cluster.wait(lambda: cluster.status()["under_protected_versions"] == 0, 3600, "full redundancy")
        elapsed = time.perf_counter() - start
    cpu = cluster.cpu_seconds() - cpu
    rebuilt = cluster.status()["repair"]["bytes_rebuilt"] - before
    for directory in wiped:
        shutil.rmtree(directory, ignore_errors=True)
    return rebuilt, elapsed, start - restart, cpu


def measure_drain(cluster, perf_dir=None):
    provider = "provider-b"
    cluster.add_node("bench-new", provider)
    target = [n for n in cluster.info["nodes"] if n["provider"] == provider][0]["id"]
    before = cluster.status()["drain"]["bytes_moved"]
    with Profile(perf_dir, "drain"):
        cpu = cluster.cpu_seconds()
        start = time.perf_counter()
        result = subprocess.run([cluster.binary, "node", "drain", target, "--dev-dir", cluster.dir,
                                 "--poll-ms", "100"], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the drain did not finish:\n{result.stdout}{result.stderr}")
    elapsed = time.perf_counter() - start
    cpu = cluster.cpu_seconds() - cpu
    moved = cluster.status()["drain"]["bytes_moved"] - before
    return moved, elapsed, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="build/holdfast")
    parser.add_argument("--data-mib", type=int, default=512)
    parser.add_argument("--object-mib", type=int, default=8)
    parser.add_argument("--disk-mib", type=int, default=512)
    parser.add_argument("--loopback-mib", type=int, default=2048)
    parser.add_argument("--dir", help="work directory (default: a temporary one, removed afterwards)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--perf-dir", help="record a `perf record -a -g` profile of each phase here")
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="holdfast-repairbench-")
    os.makedirs(directory, exist_ok=True)
    disks, loopbacks = [], []

    def measure_references():
        os.sync()  # the cluster's own write-back would otherwise be measured too
        disks.append(disk_write_rate(directory, args.disk_mib))
        loopbacks.append(loopback_rate(args.loopback_mib))

    try:
        measure_references()
        cluster = Cluster(args.binary, directory)
        try:
            objects = fill(cluster, args.data_mib, args.object_mib)
            nodes = cluster.info["nodes"]
            repair_bytes, repair_s, restart_s, repair_cpu = measure_repair(cluster, nodes[:1], objects, args.perf_dir,
                                                                    "repair-node")
            provider = nodes[-1]["provider"]
            provider_nodes = [n for n in nodes if n["provider"] == provider]
            wipe_bytes, wipe_s, wipe_restart_s, wipe_cpu = measure_repair(cluster, provider_nodes, objects,
                                                                    args.perf_dir, "repair-provider")
            measure_references()
            drain_bytes, drain_s, drain_cpu = measure_drain(cluster, args.perf_dir)
            measure_references()
        finally:
            cluster.stop()
        disk, loopback = statistics.median(disks), statistics.median(loopbacks)
        reference = min(disk, loopback)
        rows = {
            "disk_write_mib_s": disk / MIB,
            "loopback_mib_s": loopback / MIB,
            "disk_write_samples_mib_s": [round(d / MIB) for d in disks],
            "loopback_samples_mib_s": [round(l / MIB) for l in loopbacks],
            "objects": objects,
            "repair_mib": repair_bytes / MIB, "repair_s": repair_s,
            "repair_mib_s": repair_bytes / MIB / repair_s,
            "repair_ratio": repair_bytes / repair_s / reference,
            "restart_s": restart_s,
            "repair_cpu_ms_per_mib": repair_cpu * 1000 / (repair_bytes / MIB),
            "provider_repair_mib": wipe_bytes / MIB, "provider_repair_s": wipe_s,
            "provider_repair_mib_s": wipe_bytes / MIB / wipe_s,
            "provider_repair_ratio": wipe_bytes / wipe_s / reference,
            "provider_restart_s": wipe_restart_s,
            "provider_repair_cpu_ms_per_mib": wipe_cpu * 1000 / (wipe_bytes / MIB),
            "drain_mib": drain_bytes / MIB, "drain_s": drain_s,
            "drain_mib_s": drain_bytes / MIB / drain_s,
            "drain_ratio": drain_bytes / drain_s / reference,
            "drain_cpu_ms_per_mib": drain_cpu * 1000 / (drain_bytes / MIB),
            "load_average": os.getloadavg()[0],
        }
        if args.json:
            print(json.dumps(rows))
        else:
            print(f"disk write (1 MiB writes + fsync)  {rows['disk_write_mib_s']:8.0f} MiB/s (median of "
                  f"{', '.join(map(str, rows['disk_write_samples_mib_s']))})")
            print(f"loopback TCP, one stream           {rows['loopback_mib_s']:8.0f} MiB/s (median of "
                  f"{', '.join(map(str, rows['loopback_samples_mib_s']))})")
            print(f"repair, one node lost: {rows['repair_mib']:.0f} MiB rebuilt in {repair_s:.1f} s = "
                  f"{rows['repair_mib_s']:.0f} MiB/s ({rows['repair_ratio']:.0%} of the lower); "
                  f"{rows['repair_cpu_ms_per_mib']:.1f} CPU ms/MiB; node restart {restart_s:.1f} s not counted")
            print(f"repair, a provider ({len(provider_nodes)} nodes) lost: {rows['provider_repair_mib']:.0f} MiB "
                  f"rebuilt in {wipe_s:.1f} s = {rows['provider_repair_mib_s']:.0f} MiB/s "
                  f"({rows['provider_repair_ratio']:.0%} of the lower); "
                  f"{rows['provider_repair_cpu_ms_per_mib']:.1f} CPU ms/MiB")
            print(f"drain:  {rows['drain_mib']:.0f} MiB moved in {drain_s:.1f} s = "
                  f"{rows['drain_mib_s']:.0f} MiB/s ({rows['drain_ratio']:.0%} of the lower); "
                  f"{rows['drain_cpu_ms_per_mib']:.1f} CPU ms/MiB")
            print(f"load average {rows['load_average']:.1f} (other work on the machine skews the rates)")
    finally:
        if not args.dir:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
