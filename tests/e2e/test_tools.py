"""The command-line tools people already use, unmodified, against
`holdfast dev`: rclone (sync, check with hashes, server-side copy) and s3cmd
(put, get, ls, del). Here s3cmd runs with --disable-multipart so that its
single-PUT path is covered too; test_multipart.py covers its multipart
uploads."""
import os
import subprocess

import pytest


def run(args, env, check=True):
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for i in range(12):
        directory = root / f"dir{i % 3}"
        directory.mkdir(exist_ok=True)
        (directory / f"file{i}.bin").write_bytes(os.urandom(500 + 37_000 * i))
    (root / "empty.txt").write_bytes(b"")
    return root


def rclone_env(cluster):
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)  # the Go SDK refuses a CA bundle with rclone's transport
    env.update({"RCLONE_CONFIG_HF_TYPE": "s3", "RCLONE_CONFIG_HF_PROVIDER": "Other",
                "RCLONE_CONFIG_HF_ENDPOINT": cluster.endpoint, "RCLONE_CONFIG_HF_REGION": "us-east-1",
                "RCLONE_CONFIG_HF_ACCESS_KEY_ID": cluster.info["access_key"],
                "RCLONE_CONFIG_HF_SECRET_ACCESS_KEY": cluster.info["secret_key"],
                "RCLONE_CONFIG": "/dev/null"})
    return env


def test_rclone_sync_check_and_server_side_copy(cluster, tree, tmp_path):
    env = rclone_env(cluster)
    run(["rclone", "mkdir", "hf:rclone-bucket"], env)
    run(["rclone", "sync", str(tree), "hf:rclone-bucket/data"], env)
    check = run(["rclone", "check", str(tree), "hf:rclone-bucket/data"], env)  # compares MD5s
    assert "0 differences found" in check.stderr
    copied = run(["rclone", "copy", "-v", "hf:rclone-bucket/data", "hf:rclone-bucket/copy"], env)
    assert copied.stderr.count("Copied (server-side copy)") == 13
    run(["rclone", "check", str(tree), "hf:rclone-bucket/copy"], env)
    # A changed file is found by check and fixed by the next sync.
    (tree / "dir0" / "file0.bin").write_bytes(b"changed")
    assert run(["rclone", "check", str(tree), "hf:rclone-bucket/data"], env, check=False).returncode != 0
    run(["rclone", "sync", str(tree), "hf:rclone-bucket/data"], env)
    run(["rclone", "check", str(tree), "hf:rclone-bucket/data"], env)
    back = tmp_path / "back"
    run(["rclone", "copy", "hf:rclone-bucket/data", str(back)], env)
    for path in tree.rglob("*"):
        if path.is_file():
            assert (back / path.relative_to(tree)).read_bytes() == path.read_bytes()


def test_s3cmd_put_get_ls_del(cluster, tree, tmp_path):
    config = tmp_path / "s3cfg"
    host = cluster.endpoint.removeprefix("http://")
    config.write_text(f"[default]\naccess_key = {cluster.info['access_key']}\n"
                      f"secret_key = {cluster.info['secret_key']}\nhost_base = {host}\n"
                      f"host_bucket = {host}\nuse_https = False\nsignature_v2 = False\n")
    env = dict(os.environ)
    s3cmd = ["s3cmd", "-c", str(config), "--disable-multipart"]
    run(s3cmd + ["mb", "s3://s3cmd-bucket"], env)
    source = tree / "dir2" / "file11.bin"
    run(s3cmd + ["put", str(source), "s3://s3cmd-bucket/k/file11.bin"], env)
    listing = run(s3cmd + ["ls", "--recursive", "s3://s3cmd-bucket"], env).stdout
    assert "s3://s3cmd-bucket/k/file11.bin" in listing and str(source.stat().st_size) in listing
    target = tmp_path / "got.bin"
    run(s3cmd + ["get", "s3://s3cmd-bucket/k/file11.bin", str(target)], env)
    assert target.read_bytes() == source.read_bytes()
    run(s3cmd + ["del", "s3://s3cmd-bucket/k/file11.bin"], env)
    assert "file11" not in run(s3cmd + ["ls", "--recursive", "s3://s3cmd-bucket"], env).stdout
    run(s3cmd + ["rb", "s3://s3cmd-bucket"], env)
