"""S3 Object Lock against `holdfast dev` with boto3 and awscli: buckets with
Object Lock, default retention, GOVERNANCE and COMPLIANCE retention, legal
holds, the lock headers of PUT, copy and multipart uploads, and who may
bypass governance retention. Every refused DELETE (single, batch) leaves the
version and all its shards on disk, while GC demonstrably runs; release or
expiry makes the same DELETE succeed. docs/object-lock.md says what is
enforced where."""
import base64
import datetime
import hashlib
import json
import os
import subprocess
import urllib.request

import pytest
from botocore.exceptions import ClientError

from cluster import DevCluster, wait_for

MiB = 1 << 20
UTC = datetime.timezone.utc


def error_of(excinfo):
    error = excinfo.value.response["Error"]
    return error.get("Code"), error.get("Message", "")


def refused(call, code="AccessDenied"):
    """Runs `call`, which must fail with S3 error `code`; returns the message."""
    with pytest.raises(ClientError) as raised:
        call()
    got_code, message = error_of(raised)
    assert got_code == code, (got_code, message)
    return message


def later(seconds):
    return datetime.datetime.now(UTC) + datetime.timedelta(seconds=seconds)


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def run_cli(cluster, *args):
    result = subprocess.run([cluster.binary, *args, "--dev-dir", cluster.data_dir],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def add_user(cluster, name, *flags):
    key = json.loads(run_cli(cluster, "user", "add", name, *flags, "--json"))
    assert key["user_id"] == name
    return cluster.client(access_key=key["access_key_id"], secret=key["secret_access_key"])


def shards_of(cluster, bucket, version_id):
    """(shard files on disk, k+m) of one version; (0, None) when none is left."""
    v = cluster.versions_on_disk(bucket).get(version_id)
    return (v["shards"], v["total"]) if v else (0, None)


def all_shards_on_disk(cluster, bucket, version_id):
    found, total = shards_of(cluster, bucket, version_id)
    return total is not None and found == total


def gc_has_run(cluster, s3, bucket):
    """Deletes a fresh unlocked version and waits until GC removed its shards
    from disk: proof that GC ran after whatever was refused before."""
    version = s3.put_object(Bucket=bucket, Key="gc-probe", Body=os.urandom(64 * 1024))["VersionId"]
    assert all_shards_on_disk(cluster, bucket, version)
    s3.delete_object(Bucket=bucket, Key="gc-probe", VersionId=version)
    wait_for(lambda: shards_of(cluster, bucket, version)[0] == 0, 30, "GC to delete the probe's shards")


def ledger_entries(cluster):
    """Every notice-ledger entry (docs/admin-api.md, GET ledger/entries) as dicts."""
    request = urllib.request.Request(cluster.endpoint + "/_holdfast/v1/ledger/entries?first=0&limit=10000",
                                     headers={"Authorization": "HoldfastCluster " + cluster.cluster_secret()})
    with urllib.request.urlopen(request, timeout=10) as response:
        return [json.loads(line) for line in response.read().decode().splitlines() if line]


def strip_headers(client, operation, *names):
    """Makes `client` send `operation` without the named headers (botocore
    adds Content-MD5 by itself), to check the gateway demands them."""
    def strip(request, **_):
        for name in names:
            if name in request.headers:
                del request.headers[name]
    client.meta.events.register(f"before-sign.s3.{operation}", strip)


@pytest.fixture(scope="module")
def alice(cluster):
    """A user the operator allowed to bypass governance retention."""
    return add_user(cluster, "alice", "--allow-bypass-governance")


@pytest.fixture(scope="module")
def bob(cluster):
    """A user who may not bypass (until a test changes that)."""
    return add_user(cluster, "bob")


def test_bucket_lock_configuration(cluster, alice):
    s3 = alice
    s3.create_bucket(Bucket="lock-config", ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket="lock-config")["Status"] == "Enabled"
    config = s3.get_object_lock_configuration(Bucket="lock-config")["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled"}
    message = refused(lambda: s3.put_bucket_versioning(Bucket="lock-config",
                                                       VersioningConfiguration={"Status": "Suspended"}),
                      "InvalidBucketState")
    assert "Object Lock" in message
    s3.put_bucket_versioning(Bucket="lock-config", VersioningConfiguration={"Status": "Enabled"})

    s3.put_object_lock_configuration(Bucket="lock-config", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    config = s3.get_object_lock_configuration(Bucket="lock-config")["ObjectLockConfiguration"]
    assert config["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}
    refused(lambda: s3.put_object_lock_configuration(Bucket="lock-config", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}}}),
        "MalformedXML")
    refused(lambda: s3.put_object_lock_configuration(Bucket="lock-config", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 0}}}),
        "InvalidArgument")

    # The default applies to a version written without lock headers.
    before = datetime.datetime.now(UTC)
    version = s3.put_object(Bucket="lock-config", Key="defaulted", Body=b"x")["VersionId"]
    head = s3.head_object(Bucket="lock-config", Key="defaulted", VersionId=version)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    until = head["ObjectLockRetainUntilDate"]
    assert before + datetime.timedelta(days=1) - datetime.timedelta(seconds=5) <= until
    assert until <= datetime.datetime.now(UTC) + datetime.timedelta(days=1, seconds=5)
    assert s3.get_object_retention(Bucket="lock-config", Key="defaulted")["Retention"]["Mode"] == "GOVERNANCE"
    refused(lambda: s3.get_object_legal_hold(Bucket="lock-config", Key="defaulted"),
            "NoSuchObjectLockConfiguration")

    # Removing the default: later versions get none.
    s3.put_object_lock_configuration(Bucket="lock-config",
                                     ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    s3.put_object(Bucket="lock-config", Key="plain", Body=b"y")
    assert "ObjectLockMode" not in s3.head_object(Bucket="lock-config", Key="plain")
    refused(lambda: s3.get_object_retention(Bucket="lock-config", Key="plain"), "NoSuchObjectLockConfiguration")

    # S3 demands Content-MD5 (or a checksum) on these PUTs; botocore adds it.
    raw = add_user(cluster, "alice")  # another key of alice, with its own event hooks
    strip_headers(raw, "PutObjectLockConfiguration", "Content-MD5")
    refused(lambda: raw.put_object_lock_configuration(Bucket="lock-config",
                                                      ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}),
            "InvalidRequest")

    # A bucket made without Object Lock: none, until versioning is on.
    s3.create_bucket(Bucket="lock-later")
    refused(lambda: s3.get_object_lock_configuration(Bucket="lock-later"), "ObjectLockConfigurationNotFoundError")
    refused(lambda: s3.put_object_lock_configuration(Bucket="lock-later",
                                                     ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}),
            "InvalidBucketState")
    refused(lambda: s3.put_object(Bucket="lock-later", Key="k", Body=b"z", ObjectLockMode="GOVERNANCE",
                                  ObjectLockRetainUntilDate=later(60), ContentMD5=md5_b64(b"z")),
            "InvalidRequest")
    s3.put_object(Bucket="lock-later", Key="k", Body=b"z")
    refused(lambda: s3.put_object_legal_hold(Bucket="lock-later", Key="k", LegalHold={"Status": "ON"}),
            "InvalidRequest")
    s3.put_bucket_versioning(Bucket="lock-later", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket="lock-later", ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    assert s3.get_object_lock_configuration(Bucket="lock-later")["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"


def test_lock_headers_on_put_copy_and_multipart(cluster, alice):
    s3 = alice
    s3.create_bucket(Bucket="lock-headers", ObjectLockEnabledForBucket=True)
    until = later(3600).replace(microsecond=0)
    body = b"evidence"
    version = s3.put_object(Bucket="lock-headers", Key="doc", Body=body, ContentMD5=md5_b64(body),
                            ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                            ObjectLockLegalHoldStatus="ON")["VersionId"]
    for got in (s3.head_object(Bucket="lock-headers", Key="doc"),
                s3.get_object(Bucket="lock-headers", Key="doc", VersionId=version)):
        assert got["ObjectLockMode"] == "COMPLIANCE"
        assert got["ObjectLockRetainUntilDate"] == until
        assert got["ObjectLockLegalHoldStatus"] == "ON"
    retention = s3.get_object_retention(Bucket="lock-headers", Key="doc", VersionId=version)["Retention"]
    assert retention == {"Mode": "COMPLIANCE", "RetainUntilDate": until}
    assert s3.get_object_legal_hold(Bucket="lock-headers", Key="doc")["LegalHold"] == {"Status": "ON"}

    # Header errors, as S3 words them.
    refused(lambda: s3.put_object(Bucket="lock-headers", Key="bad", Body=body, ContentMD5=md5_b64(body),
                                  ObjectLockMode="COMPLIANCE"), "InvalidArgument")
    message = refused(lambda: s3.put_object(Bucket="lock-headers", Key="bad", Body=body, ContentMD5=md5_b64(body),
                                            ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=later(-60)),
                      "InvalidArgument")
    assert "future" in message
    raw = add_user(cluster, "alice")
    strip_headers(raw, "PutObject", "Content-MD5")
    message = refused(lambda: raw.put_object(Bucket="lock-headers", Key="bad", Body=body,
                                             ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=later(60)),
                      "InvalidRequest")
    assert "Content-MD5" in message
    refused(lambda: s3.head_object(Bucket="lock-headers", Key="bad"), "404")

    # CopyObject: the destination takes the request's lock, not the source's.
    copied = s3.copy_object(Bucket="lock-headers", Key="copy", CopySource={"Bucket": "lock-headers", "Key": "doc"},
                            ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)["VersionId"]
    head = s3.head_object(Bucket="lock-headers", Key="copy", VersionId=copied)
    assert head["ObjectLockMode"] == "GOVERNANCE" and "ObjectLockLegalHoldStatus" not in head
    plain_copy = s3.copy_object(Bucket="lock-headers", Key="copy2",
                                CopySource={"Bucket": "lock-headers", "Key": "doc"})["VersionId"]
    assert "ObjectLockMode" not in s3.head_object(Bucket="lock-headers", Key="copy2", VersionId=plain_copy)

    # CreateMultipartUpload: applied when the upload completes.
    upload = s3.create_multipart_upload(Bucket="lock-headers", Key="big", ObjectLockMode="GOVERNANCE",
                                        ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="OFF")
    part = s3.upload_part(Bucket="lock-headers", Key="big", UploadId=upload["UploadId"], PartNumber=1,
                          Body=os.urandom(MiB))
    s3.complete_multipart_upload(Bucket="lock-headers", Key="big", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    head = s3.head_object(Bucket="lock-headers", Key="big")
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"], head["ObjectLockLegalHoldStatus"]) == \
        ("GOVERNANCE", until, "OFF")
    # The multipart version is protected like any other.
    refused(lambda: s3.delete_object(Bucket="lock-headers", Key="big", VersionId=head["VersionId"]))


def test_governance_needs_an_allowed_user_and_the_header(cluster, bob):
    s3 = bob
    s3.create_bucket(Bucket="lock-gov", ObjectLockEnabledForBucket=True)
    body = b"governed"
    version = s3.put_object(Bucket="lock-gov", Key="doc", Body=body, ContentMD5=md5_b64(body),
                            ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=later(3600))["VersionId"]
    message = refused(lambda: s3.delete_object(Bucket="lock-gov", Key="doc", VersionId=version))
    assert f"version {version} of lock-gov/doc is under GOVERNANCE retention until" in message
    refused(lambda: s3.delete_object(Bucket="lock-gov", Key="doc", VersionId=version,
                                     BypassGovernanceRetention=True))  # bob may not bypass
    result = s3.delete_objects(Bucket="lock-gov", BypassGovernanceRetention=True,
                               Delete={"Objects": [{"Key": "doc", "VersionId": version}]})
    assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    assert "GOVERNANCE" in result["Errors"][0]["Message"]
    refused(lambda: s3.put_object_retention(Bucket="lock-gov", Key="doc", VersionId=version, Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": later(60)}, BypassGovernanceRetention=True))
    # Extending needs no permission.
    s3.put_object_retention(Bucket="lock-gov", Key="doc", VersionId=version,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later(7200)})
    gc_has_run(cluster, s3, "lock-gov")
    assert all_shards_on_disk(cluster, "lock-gov", version)

    # The operator allows bob: now the header bypasses, and only with it.
    assert "may bypass" in run_cli(cluster, "user", "set", "bob", "--allow-bypass-governance")
    refused(lambda: s3.delete_object(Bucket="lock-gov", Key="doc", VersionId=version))
    s3.put_object_retention(Bucket="lock-gov", Key="doc", VersionId=version, BypassGovernanceRetention=True,
                            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later(1800)})
    s3.delete_object(Bucket="lock-gov", Key="doc", VersionId=version, BypassGovernanceRetention=True)
    refused(lambda: s3.head_object(Bucket="lock-gov", Key="doc", VersionId=version), "404")
    wait_for(lambda: shards_of(cluster, "lock-gov", version)[0] == 0, 30, "GC to delete the released version")

    # Batch delete with the bypass; then the permission is withdrawn again.
    other = s3.put_object(Bucket="lock-gov", Key="batch", Body=body, ContentMD5=md5_b64(body),
                          ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=later(3600))["VersionId"]
    result = s3.delete_objects(Bucket="lock-gov", BypassGovernanceRetention=True,
                               Delete={"Objects": [{"Key": "batch", "VersionId": other}]})
    assert [d["VersionId"] for d in result["Deleted"]] == [other] and "Errors" not in result
    run_cli(cluster, "user", "set", "bob", "--deny-bypass-governance")
    assert "may not bypass" in run_cli(cluster, "user", "show", "bob")
    third = s3.put_object(Bucket="lock-gov", Key="doc", Body=body, ContentMD5=md5_b64(body),
                          ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=later(3600))["VersionId"]
    refused(lambda: s3.delete_object(Bucket="lock-gov", Key="doc", VersionId=third, BypassGovernanceRetention=True))


def test_compliance_cannot_be_bypassed(cluster, alice):
    s3 = alice  # allowed to bypass governance: it must not matter
    s3.create_bucket(Bucket="lock-comp", ObjectLockEnabledForBucket=True)
    body = os.urandom(200 * 1024)
    until = later(3600)
    version = s3.put_object(Bucket="lock-comp", Key="doc", Body=body, ContentMD5=md5_b64(body),
                            ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)["VersionId"]
    message = refused(lambda: s3.delete_object(Bucket="lock-comp", Key="doc", VersionId=version,
                                               BypassGovernanceRetention=True))
    assert f"version {version} of lock-comp/doc is under COMPLIANCE retention until" in message
    result = s3.delete_objects(Bucket="lock-comp", BypassGovernanceRetention=True,
                               Delete={"Objects": [{"Key": "doc", "VersionId": version}]})
    assert [e["Code"] for e in result["Errors"]] == ["AccessDenied"]
    for retention in ({"Mode": "COMPLIANCE", "RetainUntilDate": later(60)},
                      {"Mode": "GOVERNANCE", "RetainUntilDate": later(7200)}, {}):
        refused(lambda: s3.put_object_retention(Bucket="lock-comp", Key="doc", VersionId=version,
                                                Retention=retention, BypassGovernanceRetention=True))
    extended = later(7200).replace(microsecond=0)
    s3.put_object_retention(Bucket="lock-comp", Key="doc", VersionId=version,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": extended})
    # Only the change that took effect is in the notice ledger.
    recorded = [e for e in ledger_entries(cluster) if e["kind"] == "retention_set" and e["version_id"] == version]
    assert [(e["mode"], e["retain_until_ms"]) for e in recorded] == [("COMPLIANCE", int(extended.timestamp() * 1000))]
    # DELETE without a version id only hides it behind a marker.
    marker = s3.delete_object(Bucket="lock-comp", Key="doc")
    assert marker["DeleteMarker"] is True
    s3.delete_object(Bucket="lock-comp", Key="doc", VersionId=marker["VersionId"])  # markers hold no data
    assert s3.get_object(Bucket="lock-comp", Key="doc")["Body"].read() == body
    gc_has_run(cluster, s3, "lock-comp")
    assert all_shards_on_disk(cluster, "lock-comp", version)
    refused(lambda: s3.delete_bucket(Bucket="lock-comp"), "BucketNotEmpty")


def test_retention_expiry_releases_the_version(cluster, alice):
    s3 = alice
    s3.create_bucket(Bucket="lock-expiry", ObjectLockEnabledForBucket=True)
    versions = {}
    for mode in ("COMPLIANCE", "GOVERNANCE"):
        body = mode.encode()
        until = later(4)
        versions[mode] = (s3.put_object(Bucket="lock-expiry", Key=mode, Body=body, ContentMD5=md5_b64(body),
                                        ObjectLockMode=mode, ObjectLockRetainUntilDate=until)["VersionId"], until)
        refused(lambda: s3.delete_object(Bucket="lock-expiry", Key=mode, VersionId=versions[mode][0]))
    last = max(until for _, until in versions.values())
    wait_for(lambda: datetime.datetime.now(UTC) > last + datetime.timedelta(milliseconds=200), 30,
             "the retain-until dates to pass")
    for mode, (version, _) in versions.items():
        s3.delete_object(Bucket="lock-expiry", Key=mode, VersionId=version)
        refused(lambda: s3.head_object(Bucket="lock-expiry", Key=mode, VersionId=version), "404")
        wait_for(lambda: shards_of(cluster, "lock-expiry", version)[0] == 0, 30, f"GC of the {mode} version")


def test_legal_hold_blocks_until_released(cluster, alice):
    s3 = alice
    s3.create_bucket(Bucket="lock-hold", ObjectLockEnabledForBucket=True)
    version = s3.put_object(Bucket="lock-hold", Key="doc", Body=os.urandom(100 * 1024))["VersionId"]
    free = s3.put_object(Bucket="lock-hold", Key="free", Body=b"free")["VersionId"]
    s3.put_object_legal_hold(Bucket="lock-hold", Key="doc", VersionId=version, LegalHold={"Status": "ON"})
    message = refused(lambda: s3.delete_object(Bucket="lock-hold", Key="doc", VersionId=version,
                                               BypassGovernanceRetention=True))
    assert f"version {version} of lock-hold/doc is under legal hold" in message
    result = s3.delete_objects(Bucket="lock-hold", BypassGovernanceRetention=True, Delete={"Objects": [
        {"Key": "doc", "VersionId": version}, {"Key": "free", "VersionId": free}]})
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("doc", "AccessDenied")]
    assert [d["Key"] for d in result["Deleted"]] == ["free"]
    gc_has_run(cluster, s3, "lock-hold")
    assert all_shards_on_disk(cluster, "lock-hold", version)

    s3.put_object_legal_hold(Bucket="lock-hold", Key="doc", VersionId=version, LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket="lock-hold", Key="doc")["LegalHold"]["Status"] == "OFF"
    s3.delete_object(Bucket="lock-hold", Key="doc", VersionId=version)
    wait_for(lambda: shards_of(cluster, "lock-hold", version)[0] == 0, 30, "GC of the released version")

    # Both changes are in the notice ledger, in order.
    hold_id = f"s3-legal-hold:lock-hold/doc?versionId={version}"
    kinds = [e["kind"] for e in ledger_entries(cluster) if e.get("hold_id") == hold_id]
    assert kinds == ["hold_placed", "hold_released"], kinds


def test_awscli_s3api(cluster):
    bucket = "lock-cli"
    cluster.aws("s3api", "create-bucket", "--bucket", bucket, "--object-lock-enabled-for-bucket")
    put = json.loads(cluster.aws("s3api", "put-object", "--bucket", bucket, "--key", "doc",
                                 "--body", "/etc/hostname").stdout)
    version = put["VersionId"]
    cluster.aws("s3api", "put-object-lock-configuration", "--bucket", bucket, "--object-lock-configuration",
                json.dumps({"ObjectLockEnabled": "Enabled",
                            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}}))
    got = json.loads(cluster.aws("s3api", "get-object-lock-configuration", "--bucket", bucket).stdout)
    assert got["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 2}
    defaulted = json.loads(cluster.aws("s3api", "put-object", "--bucket", bucket, "--key", "other",
                                       "--body", "/etc/hostname").stdout)
    head = json.loads(cluster.aws("s3api", "head-object", "--bucket", bucket, "--key", "other").stdout)
    assert head["VersionId"] == defaulted["VersionId"] and head["ObjectLockMode"] == "GOVERNANCE"
    until = later(3600).strftime("%Y-%m-%dT%H:%M:%SZ")
    cluster.aws("s3api", "put-object-retention", "--bucket", bucket, "--key", "doc", "--version-id", version,
                "--retention", json.dumps({"Mode": "COMPLIANCE", "RetainUntilDate": until}))
    retention = json.loads(cluster.aws("s3api", "get-object-retention", "--bucket", bucket, "--key", "doc").stdout)
    assert retention["Retention"]["Mode"] == "COMPLIANCE"
    cluster.aws("s3api", "put-object-legal-hold", "--bucket", bucket, "--key", "doc", "--legal-hold", "Status=ON")
    hold = json.loads(cluster.aws("s3api", "get-object-legal-hold", "--bucket", bucket, "--key", "doc").stdout)
    assert hold["LegalHold"]["Status"] == "ON"
    head = json.loads(cluster.aws("s3api", "head-object", "--bucket", bucket, "--key", "doc").stdout)
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockLegalHoldStatus"] == "ON"
    deleted = cluster.aws("s3api", "delete-object", "--bucket", bucket, "--key", "doc", "--version-id", version,
                          "--bypass-governance-retention", check=False)
    assert deleted.returncode != 0 and "AccessDenied" in deleted.stderr and "legal hold" in deleted.stderr
    suspended = cluster.aws("s3api", "put-bucket-versioning", "--bucket", bucket,
                            "--versioning-configuration", "Status=Suspended", check=False)
    assert suspended.returncode != 0 and "InvalidBucketState" in suspended.stderr


def test_multipart_expiry_leaves_completed_locked_versions():
    with DevCluster(extra_args=["--multipart-expiry-s", "2"]) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket="lock-mpu", ObjectLockEnabledForBucket=True)
        done = s3.create_multipart_upload(Bucket="lock-mpu", Key="kept", ObjectLockMode="COMPLIANCE",
                                          ObjectLockRetainUntilDate=later(3600))["UploadId"]
        part = s3.upload_part(Bucket="lock-mpu", Key="kept", UploadId=done, PartNumber=1, Body=os.urandom(MiB))
        s3.complete_multipart_upload(Bucket="lock-mpu", Key="kept", UploadId=done,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        # An abandoned upload beside it, also with lock headers: the sweeper
        # aborts that one (nothing it holds is a committed version yet).
        left = s3.create_multipart_upload(Bucket="lock-mpu", Key="left", ObjectLockMode="COMPLIANCE",
                                          ObjectLockRetainUntilDate=later(3600))["UploadId"]
        s3.upload_part(Bucket="lock-mpu", Key="left", UploadId=left, PartNumber=1, Body=os.urandom(MiB))
        wait_for(lambda: s3.list_multipart_uploads(Bucket="lock-mpu").get("Uploads", []) == [], 30,
                 "the sweeper to abort the abandoned upload")
        wait_for(lambda: not any(v["object"] == left for v in cluster.versions_on_disk("lock-mpu").values()), 30,
                 "GC of the abandoned upload's parts")
        kept = [v for v in cluster.versions_on_disk("lock-mpu").values() if v["object"] == done]
        assert kept and all(v["shards"] == v["total"] for v in kept)
        head = s3.head_object(Bucket="lock-mpu", Key="kept")
        assert head["VersionId"] == done and head["ObjectLockMode"] == "COMPLIANCE"
        refused(lambda: s3.delete_object(Bucket="lock-mpu", Key="kept", VersionId=done))
