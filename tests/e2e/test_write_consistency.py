"""What a write reports is what it committed: conditional writes (If-None-Match,
If-Match) are decided inside the commit, so of many racing writers exactly
one wins and the losers' bytes vanish; x-amz-version-id follows the bucket's
versioning at the commit, also when it changes mid-upload; and GET/HEAD
?partNumber=N reads one part of a multipart object as AWS does."""
import http.client
import os
import threading
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from cluster import wait_for
from test_bad_input import signed_headers

BUCKET = "consistency"
MiB = 1 << 20


def code_of(raised):
    return raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def s3(cluster):
    client = cluster.client()
    client.create_bucket(Bucket=BUCKET)
    return client


def with_headers(client, operation, headers):
    """`client` sends `headers` on every `operation` (boto3 of Debian 12 has
    no IfNoneMatch / IfMatch parameters for writes yet)."""
    def add(request, **kwargs):
        for name, value in headers.items():
            request.headers[name] = value
    client.meta.events.register_first(f"before-sign.s3.{operation}", add)
    return client


def race(count, attempt):
    """Runs attempt(i) in `count` threads released together; returns the
    results in order (a return value or the ClientError raised)."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        barrier.wait()
        try:
            results[i] = attempt(i)
        except Exception as error:  # noqa: BLE001 -- reported by the caller's asserts
            results[i] = error
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


def failure_codes(results):
    return sorted(r.response["Error"]["Code"] for r in results if isinstance(r, ClientError))


def test_concurrent_if_none_match_puts_exactly_one_wins(cluster, s3):
    count = 8
    # Bodies of a few stripes: every writer passes the early check and
    # streams its shards before the first one commits, so the commit decides.
    bodies = [os.urandom(3 * MiB + i) for i in range(count)]
    clients = [with_headers(cluster.client(retries=1), "PutObject", {"If-None-Match": "*"}) for _ in range(count)]
    results = race(count, lambda i: clients[i].put_object(Bucket=BUCKET, Key="claim", Body=bodies[i]))
    winners = [i for i, r in enumerate(results) if not isinstance(r, ClientError)]
    assert len(winners) == 1, results
    assert failure_codes(results) == ["PreconditionFailed"] * (count - 1)
    got = s3.get_object(Bucket=BUCKET, Key="claim")
    assert got["Body"].read() == bodies[winners[0]]
    assert got["ETag"] == results[winners[0]]["ETag"]
    # The losers' shards were written and then handed to GC: only the
    # winner's stay on disk.
    wait_for(lambda: cluster.disk_matches(BUCKET, ["claim"]), 60, "the losers' shards to be collected")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["claim"]
    s3.delete_object(Bucket=BUCKET, Key="claim")


def test_concurrent_if_match_puts_exactly_one_wins(cluster, s3):
    etag = s3.put_object(Bucket=BUCKET, Key="cas", Body=b"generation 0")["ETag"]
    count = 6
    bodies = [os.urandom(2 * MiB + i) for i in range(count)]
    clients = [with_headers(cluster.client(retries=1), "PutObject", {"If-Match": etag}) for _ in range(count)]
    results = race(count, lambda i: clients[i].put_object(Bucket=BUCKET, Key="cas", Body=bodies[i]))
    winners = [i for i, r in enumerate(results) if not isinstance(r, ClientError)]
    assert len(winners) == 1, results
    assert failure_codes(results) == ["PreconditionFailed"] * (count - 1)
    assert s3.get_object(Bucket=BUCKET, Key="cas")["Body"].read() == bodies[winners[0]]
    # The old ETag no longer matches; the new one does.
    with pytest.raises(ClientError) as stale:
        with_headers(cluster.client(), "PutObject", {"If-Match": etag}).put_object(
            Bucket=BUCKET, Key="cas", Body=b"late")
    assert code_of(stale) == ("PreconditionFailed", 412)
    fresh = results[winners[0]]["ETag"]
    with_headers(cluster.client(), "PutObject", {"If-Match": fresh}).put_object(Bucket=BUCKET, Key="cas", Body=b"next")
    # If-Match on a key that does not exist is NoSuchKey, as in S3.
    with pytest.raises(ClientError) as missing:
        with_headers(cluster.client(), "PutObject", {"If-Match": fresh}).put_object(
            Bucket=BUCKET, Key="never-was", Body=b"x")
    assert code_of(missing) == ("NoSuchKey", 404)
    s3.delete_object(Bucket=BUCKET, Key="cas")
    wait_for(lambda: cluster.disk_matches(BUCKET, []), 60, "every shard to be collected")


def test_concurrent_conditional_completes_exactly_one_wins(cluster, s3):
    count = 4
    uploads, parts = [], []
    for i in range(count):
        upload = s3.create_multipart_upload(Bucket=BUCKET, Key="assembled")["UploadId"]
        data = os.urandom(MiB + i)
        etag = s3.upload_part(Bucket=BUCKET, Key="assembled", UploadId=upload, PartNumber=1, Body=data)["ETag"]
        uploads.append(upload)
        parts.append((data, etag))
    clients = [with_headers(cluster.client(retries=1), "CompleteMultipartUpload", {"If-None-Match": "*"})
               for _ in range(count)]
    results = race(count, lambda i: clients[i].complete_multipart_upload(
        Bucket=BUCKET, Key="assembled", UploadId=uploads[i],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": parts[i][1]}]}))
    winners = [i for i, r in enumerate(results) if not isinstance(r, ClientError)]
    assert len(winners) == 1, results
    assert failure_codes(results) == ["PreconditionFailed"] * (count - 1)
    assert s3.get_object(Bucket=BUCKET, Key="assembled")["Body"].read() == parts[winners[0]][0]
    # The losers' uploads are still there (as in S3) until aborted.
    in_progress = {u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])}
    assert in_progress == {uploads[i] for i in range(count) if i != winners[0]}
    for upload in in_progress:
        s3.abort_multipart_upload(Bucket=BUCKET, Key="assembled", UploadId=upload)
    s3.delete_object(Bucket=BUCKET, Key="assembled")
    wait_for(lambda: cluster.disk_matches(BUCKET, []), 60, "every shard to be collected")


def test_version_id_header_follows_the_commit(cluster, s3):
    bucket = "versions-at-commit"
    s3.create_bucket(Bucket=bucket)
    assert "VersionId" not in s3.put_object(Bucket=bucket, Key="k", Body=b"unversioned")

    # Versioning is enabled while the PUT streams: the object is committed
    # as a real version, and the reply must say which.
    size, first = 24 * MiB, 16 * MiB
    body = os.urandom(size)
    path = f"/{bucket}/k"
    headers = signed_headers(cluster, "PUT", path, headers={"Content-Length": str(size)},
                             payload_hash="UNSIGNED-PAYLOAD")
    host, port = urllib.parse.urlparse(cluster.endpoint).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.putrequest("PUT", path, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    # More than loopback's socket buffers hold: once sent, the gateway has
    # read the request head and the bucket's versioning (still off).
    conn.send(body[:first])
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    conn.send(body[first:])
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    version_id = response.getheader("x-amz-version-id")
    listed = s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]
    latest = [v for v in listed if v["IsLatest"]][0]
    assert version_id == latest["VersionId"] and version_id != "null", (version_id, listed)
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=version_id)["ContentLength"] == size

    # Afterwards, every PUT reports the id it got, "null" once suspended.
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    assert put["VersionId"] == s3.head_object(Bucket=bucket, Key="k")["VersionId"] != "null"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"v3")["VersionId"] == "null"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert done["VersionId"] == "null"
    copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "mp"})
    assert copied["VersionId"] == "null"
    for v in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=bucket)


def test_get_and_head_by_part_number(cluster, s3):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 11), os.urandom(123)]
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="parts")["UploadId"]
    etags = [s3.upload_part(Bucket=BUCKET, Key="parts", UploadId=upload, PartNumber=n, Body=data)["ETag"]
             for n, data in enumerate(parts, start=1)]
    whole = s3.complete_multipart_upload(Bucket=BUCKET, Key="parts", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})["ETag"]
    total = sum(len(p) for p in parts)
    offset = 0
    for n, data in enumerate(parts, start=1):
        got = s3.get_object(Bucket=BUCKET, Key="parts", PartNumber=n)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["Body"].read() == data
        assert got["ContentLength"] == len(data)
        assert got["ContentRange"] == f"bytes {offset}-{offset + len(data) - 1}/{total}"
        assert got["PartsCount"] == 3
        assert got["ETag"] == whole  # the whole object's ETag, as S3
        head = s3.head_object(Bucket=BUCKET, Key="parts", PartNumber=n)
        assert (head["ContentLength"], head["PartsCount"]) == (len(data), 3)
        offset += len(data)
    with pytest.raises(ClientError) as beyond:
        s3.get_object(Bucket=BUCKET, Key="parts", PartNumber=4)
    assert code_of(beyond) == ("InvalidPartNumber", 416)
    with pytest.raises(ClientError) as zero:
        s3.get_object(Bucket=BUCKET, Key="parts", PartNumber=0)
    assert code_of(zero) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as both:
        s3.get_object(Bucket=BUCKET, Key="parts", PartNumber=1, Range="bytes=0-1")
    assert code_of(both) == ("InvalidRequest", 400)

    # A plain object is one part: number 1 is all of it, 2 does not exist.
    data = os.urandom(100 * 1024)
    s3.put_object(Bucket=BUCKET, Key="single", Body=data)
    got = s3.get_object(Bucket=BUCKET, Key="single", PartNumber=1)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == data and "PartsCount" not in got
    assert got["ContentRange"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    with pytest.raises(ClientError) as second:
        s3.head_object(Bucket=BUCKET, Key="single", PartNumber=2)
    assert second.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    # awscli sees the same.
    out = cluster.aws("s3api", "head-object", "--bucket", BUCKET, "--key", "parts", "--part-number", "2").stdout
    assert '"PartsCount": 3' in out and f'"ContentLength": {len(parts[1])}' in out
    s3.delete_object(Bucket=BUCKET, Key="parts")
    s3.delete_object(Bucket=BUCKET, Key="single")
