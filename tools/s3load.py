#!/usr/bin/env python3
"""s3load: PUT/GET throughput and latency against any S3 endpoint.

Uses boto3 (the client the peer figures in BENCHMARKS.md were taken with), one
client per worker thread. For each object size it PUTs `--count` objects, then
GETs them back (verifying length), and reports MB/s, ops/s and p50/p99
latency. Objects it created are deleted afterwards, with the bucket if it made
it.

  tools/s3load.py --dev-json .holdfast-dev/dev.json --sizes 4KiB,1MiB,64MiB
  tools/s3load.py --endpoint http://host:port --access-key K --secret-key S
  add --json for machine-readable output.
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def parse_size(text):
    for unit in sorted(UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * UNITS[unit])
    return int(text)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Load:
    def __init__(self, args):
        self.args = args
        self.local = threading.local()

    def client(self):
        if not hasattr(self.local, "s3"):
            self.local.s3 = boto3.client(
                "s3", endpoint_url=self.args.endpoint, region_name="us-east-1",
                aws_access_key_id=self.args.access_key, aws_secret_access_key=self.args.secret_key,
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                              max_pool_connections=self.args.concurrency * 2))
        return self.local.s3

    def timed(self, fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def phase(self, name, size, keys, op):
        start = time.perf_counter()
        with ThreadPoolExecutor(self.args.concurrency) as pool:
            latencies = list(pool.map(op, keys))
        wall = time.perf_counter() - start
        return {"phase": name, "size_bytes": size, "ops": len(keys), "seconds": round(wall, 3),
                "ops_per_s": round(len(keys) / wall, 1),
                "mib_per_s": round(len(keys) * size / wall / (1 << 20), 1),
                "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
                "mean_ms": round(statistics.mean(latencies) * 1000, 2)}

    def run_size(self, bucket, size, count):
        body = os.urandom(size)
        prefix = f"s3load/{uuid.uuid4().hex}/"
        keys = [f"{prefix}{i}" for i in range(count)]

        def put(key):
            return self.timed(lambda: self.client().put_object(Bucket=bucket, Key=key, Body=body))

        def get(key):
            def fetch():
                got = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
                if len(got) != size:
                    raise RuntimeError(f"GET {key}: {len(got)} bytes, expected {size}")
            return self.timed(fetch)

        results = [self.phase("PUT", size, keys, put), self.phase("GET", size, keys, get)]
        with ThreadPoolExecutor(self.args.concurrency) as pool:
            list(pool.map(lambda k: self.client().delete_object(Bucket=bucket, Key=k), keys))
        return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev-json", help="take endpoint and keys from a holdfast dev.json")
    parser.add_argument("--endpoint")
    parser.add_argument("--access-key")
    parser.add_argument("--secret-key")
    parser.add_argument("--bucket", default="s3load")
    parser.add_argument("--sizes", default="4KiB,1MiB,64MiB")
    parser.add_argument("--count", type=int, default=0,
                        help="objects per size (default: enough for ~256 MiB, between 8 and 500)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args()
    if args.dev_json:
        with open(args.dev_json) as f:
            dev = json.load(f)
        args.endpoint = args.endpoint or dev["endpoint"]
        args.access_key = args.access_key or dev["access_key"]
        args.secret_key = args.secret_key or dev["secret_key"]
    if not (args.endpoint and args.access_key and args.secret_key):
        parser.error("give --dev-json, or --endpoint with --access-key and --secret-key")

    load = Load(args)
    s3 = load.client()
    created = False
    try:
        s3.head_bucket(Bucket=args.bucket)
    except Exception:
        s3.create_bucket(Bucket=args.bucket)
        created = True
    rows = []
    try:
        for text in args.sizes.split(","):
            size = parse_size(text)
            count = args.count or max(8, min(500, (256 << 20) // max(size, 1)))
            for row in load.run_size(args.bucket, size, count):
                rows.append(row)
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    print(f"{row['phase']:>4} {text:>7} x{row['ops']:<4} {row['mib_per_s']:>8.1f} MiB/s "
                          f"{row['ops_per_s']:>8.1f} ops/s  p50 {row['p50_ms']:>8.2f} ms  p99 {row['p99_ms']:>8.2f} ms",
                          flush=True)
    finally:
        if created:
            s3.delete_bucket(Bucket=args.bucket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
