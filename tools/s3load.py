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

Multipart: --multipart-sizes 256MiB uploads objects of that size with boto3's
managed transfer (8 MiB parts, --concurrency parts at once) and, as the
reference measured in the same run, with one PUT each; it reports both and
their ratio. Listing: --list-keys 100000 creates that many empty keys, then
walks ListObjectsV2 in 1,000-key pages and reports the time per page
(median and p99), once through boto3 and once as plain signed HTTP requests
(the server's time plus the transfer, without boto3's XML parsing, which
dominates the boto3 figure). --sizes "" skips the PUT/GET phases.
"""
import io
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
from boto3.s3.transfer import TransferConfig
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


    def run_multipart(self, bucket, size, count):
        body = os.urandom(size)
        prefix = f"s3load-mp/{uuid.uuid4().hex}/"
        transfer = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20,
                                  max_concurrency=self.args.concurrency, use_threads=True)
        rows = []
        for name, upload in [
            ("PUT", lambda key: self.client().put_object(Bucket=bucket, Key=key, Body=body)),
            ("MPU", lambda key: self.client().upload_fileobj(io.BytesIO(body), bucket, key, Config=transfer)),
        ]:
            keys = [f"{prefix}{name}-{i}" for i in range(count)]
            start = time.perf_counter()
            latencies = [self.timed(lambda k=key: upload(k)) for key in keys]
            wall = time.perf_counter() - start
            rows.append({"phase": name, "size_bytes": size, "ops": count, "seconds": round(wall, 3),
                         "mib_per_s": round(count * size / wall / (1 << 20), 1),
                         "p50_ms": round(percentile(latencies, 0.5) * 1000, 1)})
            for key in keys:
                self.client().delete_object(Bucket=bucket, Key=key)
        rows[1]["ratio_to_single_put"] = round(rows[1]["mib_per_s"] / max(rows[0]["mib_per_s"], 0.001), 2)
        return rows

    def run_listing(self, bucket, key_count):
        prefix = "s3load-list/"
        keys = [f"{prefix}{i:08d}" for i in range(key_count)]
        existing = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount", 0)
        start = time.perf_counter()
        if not existing:
            with ThreadPoolExecutor(self.args.concurrency) as pool:
                list(pool.map(lambda k: self.client().put_object(Bucket=bucket, Key=k, Body=b""), keys))
        fill_seconds = time.perf_counter() - start
        pages, token = [], None
        while True:
            kwargs = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1000}
            if token:
                kwargs["ContinuationToken"] = token
            began = time.perf_counter()
            page = self.client().list_objects_v2(**kwargs)
            pages.append(time.perf_counter() - began)
            if not page.get("IsTruncated"):
                break
            token = page["NextContinuationToken"]
        raw = self.raw_listing_pages(bucket, prefix)
        row = {"phase": "LIST", "keys": key_count, "pages": len(pages),
               "fill_seconds": round(fill_seconds, 1),
               "page_p50_ms": round(percentile(pages, 0.5) * 1000, 2),
               "page_p99_ms": round(percentile(pages, 0.99) * 1000, 2),
               "walk_seconds": round(sum(pages), 2),
               "raw_page_p50_ms": round(percentile(raw, 0.5) * 1000, 2),
               "raw_page_p99_ms": round(percentile(raw, 0.99) * 1000, 2)}
        if not self.args.keep_list_keys:
            with ThreadPoolExecutor(self.args.concurrency) as pool:
                list(pool.map(lambda k: self.client().delete_object(Bucket=bucket, Key=k), keys))
        return row

    def raw_listing_pages(self, bucket, prefix):
        """The same walk as plain HTTP: start-after the last key of each page
        (read with a regular expression, not an XML parser)."""
        import re
        import urllib.parse
        credentials = self.client()._request_signer._credentials
        endpoint = self.client().meta.endpoint_url
        times, start_after = [], ""
        while True:
            query = {"list-type": "2", "max-keys": "1000", "prefix": prefix}
            if start_after:
                query["start-after"] = start_after
            url = f"{endpoint}/{bucket}?" + urllib.parse.urlencode(sorted(query.items()), quote_via=urllib.parse.quote)
            seconds, body = sign_and_get(url, credentials)
            times.append(seconds)
            keys = re.findall(rb"<Key>([^<]*)</Key>", body)
            if b"<IsTruncated>true</IsTruncated>" not in body or not keys:
                return times
            start_after = keys[-1].decode()


def sign_and_get(url, credentials):
    """GET `url` signed with SigV4 (UNSIGNED-PAYLOAD); returns (seconds, body)."""
    import urllib.request
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    request = AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    began = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, headers=dict(request.headers))) as response:
        body = response.read()
    return time.perf_counter() - began, body


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
    parser.add_argument("--multipart-sizes", default="", help="e.g. 256MiB: multipart vs single-PUT upload")
    parser.add_argument("--multipart-count", type=int, default=3, help="objects per multipart size")
    parser.add_argument("--list-keys", type=int, default=0, help="create this many keys and time listing pages")
    parser.add_argument("--keep-list-keys", action="store_true", help="leave the listing keys for the next run")
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
        for text in filter(None, args.sizes.split(",")):
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
        for text in filter(None, args.multipart_sizes.split(",")):
            for row in load.run_multipart(args.bucket, parse_size(text), args.multipart_count):
                rows.append(row)
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    ratio = f"  ({row['ratio_to_single_put']}x single PUT)" if "ratio_to_single_put" in row else ""
                    print(f"{row['phase']:>4} {text:>7} x{row['ops']:<4} {row['mib_per_s']:>8.1f} MiB/s{ratio}",
                          flush=True)
        if args.list_keys:
            row = load.run_listing(args.bucket, args.list_keys)
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print(f"LIST {row['keys']} keys in {row['pages']} pages: {row['page_p50_ms']} ms per 1,000-key page "
                      f"through boto3 (p99 {row['page_p99_ms']} ms), {row['raw_page_p50_ms']} ms as plain HTTP "
                      f"(p99 {row['raw_page_p99_ms']} ms); filled in {row['fill_seconds']} s", flush=True)
    finally:
        if created and not args.keep_list_keys:
            s3.delete_bucket(Bucket=args.bucket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
