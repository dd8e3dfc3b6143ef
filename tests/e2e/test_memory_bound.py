"""PUT and GET stream: the gateway's memory stays bounded while a large
object goes through it. Bound: 96 MiB peak RSS for the whole dev process
(gateway, metadata store, buffers) while a 1 GiB object is written and read,
i.e. far below the object's size."""
import hashlib
import os

from cluster import file_sha256

OBJECT_BYTES = 1 << 30
PEAK_RSS_LIMIT_KIB = 96 * 1024


def test_large_object_streams_in_bounded_memory(cluster, tmp_path):
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(source, "wb") as f:
        block = os.urandom(1 << 20)
        for i in range(OBJECT_BYTES >> 20):
            chunk = block[i % 997:] + block[:i % 997]  # cheap, non-repeating stripes
            digest.update(chunk)
            f.write(chunk)
    cluster.client().create_bucket(Bucket="big")
    cluster.aws("s3", "cp", str(source), "s3://big/object")
    target = tmp_path / "back.bin"
    cluster.aws("s3", "cp", "s3://big/object", str(target))
    assert file_sha256(target) == digest.hexdigest()
    peak = cluster.gateway_rss_peak_kib()
    print(f"gateway peak RSS {peak / 1024:.1f} MiB for a {OBJECT_BYTES >> 20} MiB object")
    assert peak < PEAK_RSS_LIMIT_KIB, f"gateway peak RSS {peak} KiB exceeds the bound"
