"""PUT and GET stream: the gateway's memory stays bounded while a large
object goes through it. Bound: 96 MiB peak RSS for the whole dev process
(gateway, metadata store, buffers) while a 1 GiB object is written with one
PUT and read, and 256 MiB while a 2 GiB object is uploaded by awscli in
8 MiB parts, ten at a time, and downloaded with ten ranged GETs at a time:
each request in flight holds about 18 MiB (a stripe of (k+m) x block
size and its node streams), so memory follows the client's concurrency,
never the object's size."""
import hashlib
import os

from cluster import file_sha256

OBJECT_BYTES = 1 << 30
PEAK_RSS_LIMIT_KIB = 96 * 1024
MULTIPART_OBJECT_BYTES = 2 << 30
MULTIPART_PEAK_RSS_LIMIT_KIB = 256 * 1024


def write_source(path, size):
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        block = os.urandom(1 << 20)
        for i in range(size >> 20):
            chunk = block[i % 997:] + block[:i % 997]  # cheap, non-repeating stripes
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


def test_large_object_streams_in_bounded_memory(cluster, tmp_path):
    source = tmp_path / "big.bin"
    expected = write_source(source, OBJECT_BYTES)
    cluster.client().create_bucket(Bucket="big")
    # One PUT and one GET (s3api does not split transfers into parts).
    cluster.aws("s3api", "put-object", "--bucket", "big", "--key", "object", "--body", str(source))
    target = tmp_path / "back.bin"
    cluster.aws("s3api", "get-object", "--bucket", "big", "--key", "object", str(target))
    assert file_sha256(target) == expected
    peak = cluster.gateway_rss_peak_kib()
    print(f"gateway peak RSS {peak / 1024:.1f} MiB for a {OBJECT_BYTES >> 20} MiB object")
    assert peak < PEAK_RSS_LIMIT_KIB, f"gateway peak RSS {peak} KiB exceeds the bound"
    os.remove(source)
    os.remove(target)


def test_multi_gib_multipart_upload_in_bounded_memory(cluster, tmp_path):
    source = tmp_path / "huge.bin"
    expected = write_source(source, MULTIPART_OBJECT_BYTES)
    cluster.client().create_bucket(Bucket="huge")
    cluster.aws("s3", "cp", str(source), "s3://huge/object")  # 256 parts of 8 MiB
    head = cluster.client().head_object(Bucket="huge", Key="object")
    assert head["ContentLength"] == MULTIPART_OBJECT_BYTES
    assert head["ETag"].endswith('-256"'), head["ETag"]
    target = tmp_path / "back.bin"
    cluster.aws("s3", "cp", "s3://huge/object", str(target))
    assert file_sha256(target) == expected
    peak = cluster.gateway_rss_peak_kib()
    print(f"gateway peak RSS {peak / 1024:.1f} MiB after a {MULTIPART_OBJECT_BYTES >> 20} MiB multipart object")
    assert peak < MULTIPART_PEAK_RSS_LIMIT_KIB, f"gateway peak RSS {peak} KiB exceeds the bound"
