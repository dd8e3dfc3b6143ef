"""s3fs (FUSE) mounts a Holdfast bucket and ordinary shell tools work on it:
write, list, read back, append (s3fs rewrites the object), copy a larger
file, rename and delete."""
import os
import shutil
import subprocess

import pytest

from cluster import sha256, wait_for

S3FS = "/usr/bin/s3fs"


@pytest.fixture
def mount(cluster, tmp_path):
    cluster.client().create_bucket(Bucket="fuse")
    passwd = tmp_path / "passwd"
    passwd.write_text(f"{cluster.info['access_key']}:{cluster.info['secret_key']}\n")
    passwd.chmod(0o600)
    point = tmp_path / "mnt"
    point.mkdir()
    subprocess.run([S3FS, "fuse", str(point), "-o", f"url={cluster.endpoint}", "-o", "use_path_request_style",
                    "-o", f"passwd_file={passwd}", "-o", "sigv4", "-o", "endpoint=us-east-1",
                    "-o", "multipart_size=5", "-o", "nonempty"], check=True, capture_output=True, text=True)
    wait_for(lambda: os.path.ismount(point), 10, "the s3fs mount")
    try:
        yield point
    finally:
        subprocess.run(["fusermount", "-u", str(point)], capture_output=True)
        wait_for(lambda: not os.path.ismount(point), 10, "the s3fs unmount")


def shell(command, cwd):
    result = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{command}: {result.stderr}"
    return result.stdout


def test_shell_tools_on_a_mounted_bucket(cluster, mount, tmp_path):
    shell("echo 'hello from a shell' > greeting.txt && mkdir -p docs && printf 'a\\nb\\n' > docs/list.txt", mount)
    assert shell("cat greeting.txt", mount) == "hello from a shell\n"
    assert sorted(shell("ls", mount).split()) == ["docs", "greeting.txt"]
    s3 = cluster.client()
    assert s3.get_object(Bucket="fuse", Key="greeting.txt")["Body"].read() == b"hello from a shell\n"
    assert s3.get_object(Bucket="fuse", Key="docs/list.txt")["Body"].read() == b"a\nb\n"

    # Appending rewrites the object.
    shell("echo 'second line' >> greeting.txt", mount)
    assert s3.get_object(Bucket="fuse", Key="greeting.txt")["Body"].read() == b"hello from a shell\nsecond line\n"

    # A larger file, read back through the mount.
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * (1 << 20) + 99))
    shutil.copy(big, mount / "big.bin")
    head = s3.head_object(Bucket="fuse", Key="big.bin")
    assert head["ContentLength"] == big.stat().st_size
    assert sha256((mount / "big.bin").read_bytes()) == sha256(big.read_bytes())

    shell("mv greeting.txt renamed.txt && rm docs/list.txt", mount)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="fuse").get("Contents", []))
    assert "renamed.txt" in keys and "greeting.txt" not in keys and "docs/list.txt" not in keys
    assert shell("cat renamed.txt", mount) == "hello from a shell\nsecond line\n"
