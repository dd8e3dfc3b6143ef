"""The S3 operations of the storage core, through boto3 and awscli: buckets,
objects, ranges, metadata, ListObjectsV2 with prefix, delimiter and
continuation, overwrite and delete (with their shards collected), and a
restart of `holdfast dev` on the same directory keeping everything."""
import os

import pytest
from botocore.exceptions import ClientError

from cluster import DevCluster, sha256, wait_for


def error_code(raised):
    return raised.value.response["Error"]["Code"]


def test_bucket_lifecycle(cluster):
    s3 = cluster.client()
    s3.create_bucket(Bucket="lifecycle")
    assert "lifecycle" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket="lifecycle")
    with pytest.raises(ClientError) as raised:
        s3.create_bucket(Bucket="lifecycle")
    assert error_code(raised) == "BucketAlreadyOwnedByYou"
    s3.put_object(Bucket="lifecycle", Key="k", Body=b"v")
    with pytest.raises(ClientError) as raised:
        s3.delete_bucket(Bucket="lifecycle")
    assert error_code(raised) == "BucketNotEmpty"
    s3.delete_object(Bucket="lifecycle", Key="k")
    s3.delete_bucket(Bucket="lifecycle")
    with pytest.raises(ClientError) as raised:
        s3.head_bucket(Bucket="lifecycle")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket="lifecycle", Key="k", Body=b"v")
    assert error_code(raised) == "NoSuchBucket"


def test_location_constraint_and_bucket_location(cluster):
    s3 = cluster.client()
    s3.create_bucket(Bucket="in-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket="in-eu")["LocationConstraint"] == "eu-west-1"


def test_object_round_trip_with_metadata_and_ranges(cluster):
    s3 = cluster.client()
    s3.create_bucket(Bucket="objects")
    data = os.urandom(3 * 1024 * 1024 + 17)
    put = s3.put_object(Bucket="objects", Key="dir/file.bin", Body=data, ContentType="application/x-test",
                        Metadata={"owner": "alice", "purpose": "e2e"})
    import hashlib
    assert put["ETag"] == '"' + hashlib.md5(data).hexdigest() + '"'
    head = s3.head_object(Bucket="objects", Key="dir/file.bin")
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "application/x-test"
    assert head["Metadata"] == {"owner": "alice", "purpose": "e2e"}
    assert head["ETag"] == put["ETag"]
    got = s3.get_object(Bucket="objects", Key="dir/file.bin")
    assert got["Body"].read() == data
    for spec, expected in [("bytes=0-0", data[:1]), ("bytes=1000-2000000", data[1000:2000001]),
                           ("bytes=-100", data[-100:]), ("bytes=3145700-", data[3145700:])]:
        part = s3.get_object(Bucket="objects", Key="dir/file.bin", Range=spec)
        assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert part["Body"].read() == expected, spec
        assert part["ContentRange"].endswith(f"/{len(data)}")
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="objects", Key="dir/file.bin", Range=f"bytes={len(data)}-")
    assert error_code(raised) == "InvalidRange"
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="objects", Key="no/such/key")
    assert error_code(raised) == "NoSuchKey"


def test_overwrite_and_delete_collect_old_shards(cluster):
    s3 = cluster.client()
    s3.create_bucket(Bucket="churn")
    for i in range(3):
        s3.put_object(Bucket="churn", Key="same", Body=os.urandom(10000 + i))
    assert s3.get_object(Bucket="churn", Key="same")["ContentLength"] == 10002
    wait_for(lambda: cluster.disk_matches("churn", ["same"]), 20, "overwritten shards to be collected")
    s3.delete_object(Bucket="churn", Key="same")
    with pytest.raises(ClientError):
        s3.head_object(Bucket="churn", Key="same")
    wait_for(lambda: cluster.disk_matches("churn", []), 20, "deleted shards to be collected")
    # Deleting a missing key is not an error in S3.
    s3.delete_object(Bucket="churn", Key="never-existed")


def test_list_objects_v2_prefix_delimiter_and_pages(cluster):
    s3 = cluster.client()
    s3.create_bucket(Bucket="listing")
    keys = [f"photos/{y}/img{i:03}.jpg" for y in (2024, 2025) for i in range(30)] + ["readme.txt", "photos/cover.jpg"]
    for key in keys:
        s3.put_object(Bucket="listing", Key=key, Body=b"")
    paginator = s3.get_paginator("list_objects_v2")
    listed = [o["Key"] for page in paginator.paginate(Bucket="listing", PaginationConfig={"PageSize": 7})
              for o in page.get("Contents", [])]
    assert listed == sorted(keys)
    top = s3.list_objects_v2(Bucket="listing", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["photos/"]
    assert [o["Key"] for o in top["Contents"]] == ["readme.txt"]
    years = s3.list_objects_v2(Bucket="listing", Prefix="photos/", Delimiter="/")
    assert [p["Prefix"] for p in years["CommonPrefixes"]] == ["photos/2024/", "photos/2025/"]
    assert [o["Key"] for o in years["Contents"]] == ["photos/cover.jpg"]
    page = s3.list_objects_v2(Bucket="listing", Prefix="photos/2025/", MaxKeys=10)
    assert page["IsTruncated"] and page["KeyCount"] == 10
    rest = s3.list_objects_v2(Bucket="listing", Prefix="photos/2025/", ContinuationToken=page["NextContinuationToken"])
    assert len(rest["Contents"]) == 20 and not rest["IsTruncated"]
    after = s3.list_objects_v2(Bucket="listing", StartAfter="photos/2025/img028.jpg")
    assert [o["Key"] for o in after["Contents"]] == ["photos/2025/img029.jpg", "photos/cover.jpg", "readme.txt"]


def test_awscli_high_level_commands(cluster, tmp_path):
    cluster.aws("s3", "mb", "s3://cli-bucket")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    files = {"a.txt": b"alpha", "sub/b.bin": os.urandom(70000), "sub/c.txt": b""}
    for name, data in files.items():
        (src / name).write_bytes(data)
    for name in files:
        cluster.aws("s3", "cp", str(src / name), f"s3://cli-bucket/tree/{name}")
    listing = cluster.aws("s3", "ls", "--recursive", "s3://cli-bucket/").stdout
    for name in files:
        assert f"tree/{name}" in listing
    out = tmp_path / "out.bin"
    cluster.aws("s3", "cp", "s3://cli-bucket/tree/sub/b.bin", str(out))
    assert out.read_bytes() == files["sub/b.bin"]
    cluster.aws("s3", "rm", "--recursive", "s3://cli-bucket/tree/")
    cluster.aws("s3", "rb", "s3://cli-bucket")
    assert "cli-bucket" not in cluster.aws("s3", "ls").stdout


def test_empty_put_does_not_stall_the_next_request_on_the_connection(cluster):
    # Regression: botocore sends Expect: 100-continue on every PUT and, if an
    # empty PUT is answered without a 100 first, misreads the next response
    # on that keep-alive connection and waits 60 s for its body.
    import time
    s3 = cluster.client()
    s3.create_bucket(Bucket="no-stall")
    started = time.monotonic()
    for body in (b"", b"x", b"", b"yz"):
        s3.put_object(Bucket="no-stall", Key="k", Body=body)
    assert s3.get_object(Bucket="no-stall", Key="k")["Body"].read() == b"yz"
    assert time.monotonic() - started < 20, "a request stalled behind an empty PUT"


def test_shards_wrongly_recorded_missing_are_still_read(cluster):
    # A node that answered 404 while its disk was being remounted gets its
    # shards recorded as missing. If that happens to more than m shards of an
    # object whose files are in fact intact, the object must stay readable:
    # every block is verified, so the reader tries such shards last.
    import sqlite3
    s3 = cluster.client()
    s3.create_bucket(Bucket="remounted")
    data = os.urandom(3 << 20)
    s3.put_object(Bucket="remounted", Key="k", Body=data)
    (version_id,) = list(cluster.versions_on_disk("remounted"))
    db = sqlite3.connect(os.path.join(cluster.data_dir, "gateway", "meta.db"), timeout=30)
    with db:
        marked = db.execute("UPDATE shards SET state = 'missing' WHERE version_id = ? AND shard_index < 6",
                            (version_id,)).rowcount
    db.close()
    assert marked == 6  # only 3 of the 9 shards remain "healthy": fewer than k = 5
    assert sha256(s3.get_object(Bucket="remounted", Key="k")["Body"].read()) == sha256(data)

    # Repair cannot rebuild from 3 shards; it verifies the "missing" ones
    # instead and records the intact shards healthy again.
    def healthy_shards():
        db = sqlite3.connect(os.path.join(cluster.data_dir, "gateway", "meta.db"), timeout=30)
        try:
            return db.execute("SELECT count(*) FROM shards WHERE version_id = ? AND state = 'ok'",
                              (version_id,)).fetchone()[0]
        finally:
            db.close()
    wait_for(lambda: healthy_shards() == 9, 60, "repair to verify and restore the shards recorded missing")


def test_restart_on_the_same_directory_keeps_data():
    first = DevCluster().start()
    try:
        s3 = first.client()
        s3.create_bucket(Bucket="durable")
        data = os.urandom(2 * 1024 * 1024)
        s3.put_object(Bucket="durable", Key="kept", Body=data)
        credentials = (first.info["access_key"], first.info["secret_key"])
        first.stop()
        second = DevCluster(data_dir=first.data_dir).start()
        try:
            assert (second.info["access_key"], second.info["secret_key"]) == credentials
            got = second.client().get_object(Bucket="durable", Key="kept")["Body"].read()
            assert sha256(got) == sha256(data)
        finally:
            second.stop()
    finally:
        first.cleanup()
