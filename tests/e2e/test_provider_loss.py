"""The promise of the storage core: objects spread over three providers stay
readable, byte for byte, after one provider's nodes are killed and their disks
erased; writes go on meanwhile; and losing more than the policy allows makes
reads fail with a clear S3 error, never return wrong bytes."""
import os

import pytest
from botocore.exceptions import ClientError

from cluster import file_sha256, sha256

SIZES = {"0B": 0, "1B": 1, "4KiB": 4096, "1MiB+1": (1 << 20) + 1, "100MiB": 100 << 20}
BUCKET = "survivors"


@pytest.fixture(scope="module")
def uploaded(cluster, tmp_path_factory):
    """Uploads every size with awscli and with boto3; returns key -> sha256."""
    workdir = tmp_path_factory.mktemp("objects")
    s3 = cluster.client()
    s3.create_bucket(Bucket=BUCKET)
    expected = {}
    for name, size in SIZES.items():
        data = os.urandom(size)
        path = workdir / name
        path.write_bytes(data)
        cluster.aws("s3", "cp", str(path), f"s3://{BUCKET}/cli/{name}")
        s3.put_object(Bucket=BUCKET, Key=f"boto/{name}", Body=data)
        expected[f"cli/{name}"] = expected[f"boto/{name}"] = sha256(data)
    return expected


def download_all(cluster, expected, workdir):
    s3 = cluster.client()
    for key, digest in expected.items():
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert sha256(body) == digest, f"boto3 read wrong bytes for {key}"
        target = workdir / key.replace("/", "_")
        cluster.aws("s3", "cp", f"s3://{BUCKET}/{key}", str(target))
        assert file_sha256(target) == digest, f"awscli read wrong bytes for {key}"


def test_every_object_survives_losing_a_whole_provider(cluster, uploaded, tmp_path):
    (tmp_path / "before").mkdir()
    download_all(cluster, uploaded, tmp_path / "before")
    assert cluster.disk_matches(BUCKET, uploaded.keys()), "every object should have all k+m shards"
    layouts = {(v["k"], v["total"]) for v in cluster.versions_on_disk(BUCKET).values()}
    assert layouts == {(1, 3), (5, 9)}, "tiny objects as copies, the rest in a 5+4 code"

    for node in cluster.nodes_of("provider-a"):
        cluster.kill_node(node, wipe=True)
    # Each provider held a third of every object's shards; those are gone.
    for version in cluster.versions_on_disk(BUCKET).values():
        assert version["shards"] == version["total"] * 2 // 3, version

    (tmp_path / "after").mkdir()
    download_all(cluster, uploaded, tmp_path / "after")


def test_writes_continue_while_a_provider_is_down(cluster, uploaded):
    s3 = cluster.client()
    for name in ("4KiB", "1MiB+1"):
        data = os.urandom(SIZES[name])
        s3.put_object(Bucket=BUCKET, Key=f"during-outage/{name}", Body=data)
        uploaded[f"during-outage/{name}"] = sha256(data)
        assert sha256(s3.get_object(Bucket=BUCKET, Key=f"during-outage/{name}")["Body"].read()) == sha256(data)


def test_losing_more_than_the_policy_allows_fails_reads_clearly(cluster, uploaded, tmp_path):
    # The policy survives one provider plus one more server. Lose two more.
    for node in cluster.nodes_of("provider-b")[:2]:
        cluster.kill_node(node, wipe=True)
    surviving = {o["key"]: o["readable"] for o in cluster.objects_on_disk(BUCKET).values()}
    assert not all(surviving.values()), "some objects must now have fewer than k shards"
    s3 = cluster.client(retries=1)
    for key, digest in uploaded.items():
        readable = surviving.get(key, False) or key.endswith("/0B")  # empty: nothing to lose
        if readable:
            assert sha256(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == digest, key
            continue
        with pytest.raises(ClientError) as raised:
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            pytest.fail(f"read of {key} returned {len(body)} bytes (sha256 match: {sha256(body) == digest})")
        error = raised.value.response["Error"]
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert error["Code"] == "ServiceUnavailable"
        assert "unreadable" in error["Message"] and "shards" in error["Message"]
    # awscli reports the failure and writes no wrong file.
    lost = next(key for key, ok in surviving.items() if not ok)
    target = tmp_path / "lost"
    result = cluster.aws("s3", "cp", f"s3://{BUCKET}/{lost}", str(target), check=False)
    assert result.returncode != 0
    assert "ServiceUnavailable" in result.stderr or "503" in result.stderr
    assert not target.exists() or file_sha256(target) == uploaded[lost]


def test_writes_fail_clearly_when_too_few_nodes_remain(cluster):
    # 4 of 9 nodes remain; a 5+4 code needs at least k+1 = 6 to write safely.
    s3 = cluster.client(retries=1)
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket=BUCKET, Key="too-few", Body=os.urandom(1 << 20))
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert "too few storage nodes" in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=BUCKET, Key="too-few")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
