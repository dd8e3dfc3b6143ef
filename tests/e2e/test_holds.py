"""Operator holds (`holdfast hold`, docs/holds.md) against `holdfast dev`:
every path that destroys data -- S3 DELETE of a version, batch delete,
overwrite of an unversioned key, multipart abort and expiry, provider
retirement, and a node's own shard deletion -- is refused while a hold on
the version, its bucket, its owner or its provider applies, and the data
stays on disk; after release the same call succeeds and GC removes the
shards. Placing and releasing are in the notice ledger with receipts."""
import json
import os
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from cluster import DevCluster, wait_for

KiB = 1 << 10


@pytest.fixture(scope="module")
def cluster():
    # Uploads not completed within 2 s expire: the sweeper aborts them unless
    # a hold covers them.
    with DevCluster(extra_args=["--multipart-expiry-s", "2"]) as c:
        yield c


def hold_cli(cluster, *args, check=True):
    result = cluster.admin_cli("hold", *args, check=check)
    return result


def place(cluster, *scope):
    result = hold_cli(cluster, "place", *scope, "--case", "CASE-42", "--requested-by", "court of Utopia",
                      "--reason", "pending litigation", "--json")
    answer = json.loads(result.stdout)
    assert answer["hold"]["active"] is True
    assert answer["receipt"]["entry"]["kind"] == "hold_placed"
    return answer["hold"]["id"]


def release(cluster, hold_id):
    result = hold_cli(cluster, "release", hold_id, "--by", "court of Utopia", "--reason", "case closed", "--json")
    answer = json.loads(result.stdout)
    assert answer["hold"]["active"] is False
    assert answer["receipt"]["entry"]["kind"] == "hold_released"


def refused(call):
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDenied", error
    return error["Message"]


def shard_count(cluster, bucket, key, versions=None):
    """Shard files of `key` on disk (of `versions` only, if given)."""
    return sum(len(nodes) for version_id, v in cluster.shards_on_disk(bucket).items()
               if v["key"] == key and (versions is None or version_id in versions)
               for nodes in v["nodes"].values())


def versions_of(cluster, bucket, key):
    return {version_id for version_id, v in cluster.shards_on_disk(bucket).items() if v["key"] == key}


def put(s3, bucket, key, size=64 * KiB):
    data = os.urandom(size)
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return data


def node_request(node_endpoint, secret, method, target, headers=None):
    request = urllib.request.Request(f"http://{node_endpoint}{target}", method=method,
                                     headers={"Authorization": "HoldfastCluster " + secret, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


SCOPES = ["object", "bucket", "user", "provider"]


@pytest.mark.parametrize("scope", SCOPES)
def test_every_deleting_path_is_refused_while_held_and_allowed_after_release(cluster, scope):
    s3 = cluster.client()
    bucket = f"held-{scope}"
    s3.create_bucket(Bucket=bucket)
    kept = put(s3, bucket, "kept")
    put(s3, bucket, "batch")
    args = {"object": ["--object", f"{bucket}/kept"], "bucket": ["--bucket", bucket],
            "user": ["--user", "dev"], "provider": ["--provider", "provider-a"]}[scope]
    hold_id = place(cluster, *args)
    original = versions_of(cluster, bucket, "kept")
    shards_before = shard_count(cluster, bucket, "kept", original)
    assert shards_before > 0

    # DELETE of the (null) version names the hold and its case.
    message = refused(lambda: s3.delete_object(Bucket=bucket, Key="kept"))
    assert hold_id in message and "CASE-42" in message, message
    # An overwrite of an unversioned key would destroy the old bytes too.
    refused(lambda: s3.put_object(Bucket=bucket, Key="kept", Body=b"replacement"))
    # Batch delete reports it per key.
    if scope != "object":
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "batch"}]})
        assert [e["Code"] for e in answer.get("Errors", [])] == ["AccessDenied"], answer
        assert s3.head_object(Bucket=bucket, Key="batch")["ContentLength"] == 64 * KiB
    # Multipart: an upload in progress cannot be aborted (its parts are data).
    if scope in ("bucket", "user"):
        upload = s3.create_multipart_upload(Bucket=bucket, Key="mpu")["UploadId"]
        s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload, PartNumber=1, Body=os.urandom(KiB))
        refused(lambda: s3.abort_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload))

    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == kept
    # The refused overwrite's own shards are garbage; the held version's stay.
    assert shard_count(cluster, bucket, "kept", original) == shards_before

    # `holdfast hold list` shows it with its case and who asked.
    listed = hold_cli(cluster, "list").stdout
    assert hold_id in listed and "CASE-42" in listed and "court of Utopia" in listed

    release(cluster, hold_id)
    s3.delete_object(Bucket=bucket, Key="kept")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "batch"}]})
    if scope in ("bucket", "user"):
        # Released, the upload (older than the 2 s expiry) may be aborted by
        # the sweeper first; either way it must go.
        try:
            s3.abort_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "NoSuchUpload", error.response
        assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    wait_for(lambda: shard_count(cluster, bucket, "kept") == 0 and shard_count(cluster, bucket, "batch") == 0,
             30, "GC to delete the released objects' shards")
    listed = hold_cli(cluster, "list", "--all").stdout
    assert "released by court of Utopia" in listed


def test_expired_multipart_upload_is_kept_while_its_bucket_is_held(cluster):
    s3 = cluster.client()
    s3.create_bucket(Bucket="held-uploads")
    s3.create_bucket(Bucket="free-uploads")
    hold_id = place(cluster, "--bucket", "held-uploads")
    held = s3.create_multipart_upload(Bucket="held-uploads", Key="k")["UploadId"]
    s3.upload_part(Bucket="held-uploads", Key="k", UploadId=held, PartNumber=1, Body=os.urandom(KiB))
    free = s3.create_multipart_upload(Bucket="free-uploads", Key="k")["UploadId"]

    def uploads(bucket):
        return [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    # The sweeper has run past both (the unheld one is gone) ...
    wait_for(lambda: free not in uploads("free-uploads"), 30, "the unheld upload to expire")
    # ... and kept the held one, with its part.
    assert uploads("held-uploads") == [held]
    parts = s3.list_parts(Bucket="held-uploads", Key="k", UploadId=held)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1]
    release(cluster, hold_id)
    wait_for(lambda: held not in uploads("held-uploads"), 30, "the released upload to expire")


def test_a_version_hold_covers_only_that_version(cluster):
    s3 = cluster.client()
    s3.create_bucket(Bucket="held-versions")
    s3.put_bucket_versioning(Bucket="held-versions", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="held-versions", Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket="held-versions", Key="k", Body=b"two")["VersionId"]
    hold_id = place(cluster, "--object", "held-versions/k", "--version-id", first)
    refused(lambda: s3.delete_object(Bucket="held-versions", Key="k", VersionId=first))
    s3.delete_object(Bucket="held-versions", Key="k", VersionId=second)  # not held
    # A DELETE without a version only adds a delete marker: nothing is destroyed.
    s3.delete_object(Bucket="held-versions", Key="k")
    body = s3.get_object(Bucket="held-versions", Key="k", VersionId=first)["Body"].read()
    assert body == b"one"
    release(cluster, hold_id)
    s3.delete_object(Bucket="held-versions", Key="k", VersionId=first)


def test_provider_hold_stops_retirement(cluster):
    hold_id = place(cluster, "--provider", "provider-b")
    cluster.admin_cli("provider", "drain", "provider-b", "--no-wait")
    retire = cluster.admin_cli("provider", "retire", "provider-b", check=False)
    assert retire.returncode != 0
    assert hold_id in retire.stderr and "preservation order on provider provider-b" in retire.stderr, retire.stderr
    cluster.admin_cli("provider", "undrain", "provider-b")
    release(cluster, hold_id)


def test_nodes_refuse_deletion_without_the_gateways_authorisation(cluster):
    s3 = cluster.client()
    s3.create_bucket(Bucket="node-guard")
    put(s3, "node-guard", "k")
    version_id, version = next(iter(cluster.shards_on_disk("node-guard").items()))
    index, node_ids = next(iter(version["nodes"].items()))
    node = next(n for n in cluster.status()["nodes"] if n["id"] == node_ids[0])
    shard_id = f"{version_id}.{index}"
    secret = cluster.cluster_secret()
    # The cluster secret alone does not let anyone destroy a shard ...
    code, body = node_request(node["endpoint"], secret, "DELETE", f"/v1/shards/{shard_id}")
    assert code == 403 and b"only the gateway can authorise" in body, (code, body)
    # ... nor does a forged authorisation.
    forged = {"X-Holdfast-Deletion": f"{10**13} " + "ab" * 64}
    code, body = node_request(node["endpoint"], secret, "DELETE", f"/v1/shards/{shard_id}", forged)
    assert code == 403 and b"deletion refused" in body, (code, body)
    assert shard_count(cluster, "node-guard", "k") == version["total"]
    # The gateway's own deletions still work (GC after a DELETE).
    s3.delete_object(Bucket="node-guard", Key="k")
    wait_for(lambda: shard_count(cluster, "node-guard", "k") == 0, 30, "GC to delete the shards")


def test_hold_requests_are_checked(cluster):
    missing = hold_cli(cluster, "place", "--bucket", "nope", "--case", "C", "--requested-by", "x",
                       "--reason", "y", check=False)
    assert missing.returncode != 0 and "no bucket nope" in missing.stderr
    both = hold_cli(cluster, "place", "--bucket", "a", "--user", "b", "--case", "C", "--requested-by", "x",
                    "--reason", "y", check=False)
    assert both.returncode != 0 and "exactly one" in both.stderr
    unknown = hold_cli(cluster, "release", "hold-0000", "--by", "x", "--reason", "y", check=False)
    assert unknown.returncode != 0 and "no hold hold-0000" in unknown.stderr
    # Releasing twice is refused; the first release stands.
    cluster.client().create_bucket(Bucket="twice")
    hold_id = place(cluster, "--bucket", "twice")
    release(cluster, hold_id)
    again = hold_cli(cluster, "release", hold_id, "--by", "x", "--reason", "y", check=False)
    assert again.returncode != 0 and "released already" in again.stderr
