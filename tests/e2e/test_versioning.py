"""Versioning against `holdfast dev` with boto3 and awscli: enable and
suspend, version ids, delete markers, GET/HEAD/DELETE/copy of a specific
version, ListObjectVersions, and the null version."""
import json
import os

import pytest
from botocore.exceptions import ClientError

BUCKET = "versioned"


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def s3(cluster):
    client = cluster.client()
    client.create_bucket(Bucket=BUCKET)
    return client


def test_versioned_bucket_round_trip(s3):
    assert "Status" not in s3.get_bucket_versioning(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="doc", Body=b"before versioning")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=BUCKET, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=BUCKET, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2 and "null" not in (v1, v2)

    got = s3.get_object(Bucket=BUCKET, Key="doc")
    assert got["Body"].read() == b"two" and got["VersionId"] == v2
    assert s3.get_object(Bucket=BUCKET, Key="doc", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket=BUCKET, Key="doc", VersionId="null")["Body"].read() == b"before versioning"
    assert s3.head_object(Bucket=BUCKET, Key="doc", VersionId=v1)["ContentLength"] == 3

    listed = s3.list_object_versions(Bucket=BUCKET, Prefix="doc")
    assert [(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [(v2, True), (v1, False), ("null", False)]

    # DELETE without a version id adds a marker; the data stays.
    deleted = s3.delete_object(Bucket=BUCKET, Key="doc")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    with pytest.raises(ClientError) as gone:
        s3.get_object(Bucket=BUCKET, Key="doc")
    assert code_of(gone) == "NoSuchKey"
    assert gone.value.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker") == "true"
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="doc")
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix="doc")
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker, True)]
    assert s3.get_object(Bucket=BUCKET, Key="doc", VersionId=v2)["Body"].read() == b"two"
    with pytest.raises(ClientError) as by_id:
        s3.get_object(Bucket=BUCKET, Key="doc", VersionId=marker)
    assert code_of(by_id) == "MethodNotAllowed"

    # Copying an old version makes it current again.
    copied = s3.copy_object(Bucket=BUCKET, Key="doc", CopySource={"Bucket": BUCKET, "Key": "doc", "VersionId": v1})
    assert s3.get_object(Bucket=BUCKET, Key="doc")["Body"].read() == b"one"
    assert copied["VersionId"] not in (v1, v2, marker)

    # Deleting a specific version removes it for good; removing the marker
    # and the copy brings v2 back as current.
    s3.delete_object(Bucket=BUCKET, Key="doc", VersionId=copied["VersionId"])
    removed = s3.delete_object(Bucket=BUCKET, Key="doc", VersionId=marker)
    assert removed["DeleteMarker"] is True
    assert s3.get_object(Bucket=BUCKET, Key="doc")["Body"].read() == b"two"
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=BUCKET, Key="doc", VersionId=copied["VersionId"])
    assert code_of(missing) == "NoSuchVersion"
    with pytest.raises(ClientError) as bad:
        s3.get_object(Bucket=BUCKET, Key="doc", VersionId="not-a-version")
    assert code_of(bad) == "InvalidArgument"

    # A versioned bucket is not empty while any version is left.
    with pytest.raises(ClientError) as not_empty:
        s3.delete_bucket(Bucket=BUCKET)
    assert code_of(not_empty) == "BucketNotEmpty"


def test_suspended_versioning_writes_null_versions(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=BUCKET, Key="susp", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Suspended"
    assert s3.put_object(Bucket=BUCKET, Key="susp", Body=b"null 1").get("VersionId") == "null"
    s3.put_object(Bucket=BUCKET, Key="susp", Body=b"null 2")
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix="susp")["Versions"]
    assert [v["VersionId"] for v in listed] == ["null", kept]
    assert s3.get_object(Bucket=BUCKET, Key="susp")["Body"].read() == b"null 2"
    s3.delete_object(Bucket=BUCKET, Key="susp")
    markers = s3.list_object_versions(Bucket=BUCKET, Prefix="susp")
    assert [m["VersionId"] for m in markers["DeleteMarkers"]] == ["null"]
    assert [v["VersionId"] for v in markers["Versions"]] == [kept]


def test_batch_delete_of_versions_and_paging(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    ids = [s3.put_object(Bucket=BUCKET, Key=f"page/{i % 3}", Body=os.urandom(10))["VersionId"] for i in range(9)]
    seen, key_marker, version_marker = [], None, None
    while True:
        kwargs = {"Bucket": BUCKET, "Prefix": "page/", "MaxKeys": 2}
        if key_marker:
            kwargs.update(KeyMarker=key_marker, VersionIdMarker=version_marker)
        page = s3.list_object_versions(**kwargs)
        seen += [v["VersionId"] for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        key_marker, version_marker = page["NextKeyMarker"], page["NextVersionIdMarker"]
    assert sorted(seen) == sorted(ids) and len(seen) == 9
    result = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [
        {"Key": f"page/{i % 3}", "VersionId": v} for i, v in enumerate(ids)] + [{"Key": "page/0"}]})
    assert len(result["Deleted"]) == 10
    assert sum(1 for d in result["Deleted"] if d.get("DeleteMarker")) == 1
    left = s3.list_object_versions(Bucket=BUCKET, Prefix="page/")
    assert "Versions" not in left and len(left["DeleteMarkers"]) == 1


def test_awscli_versioning_calls(cluster):
    cluster.aws("s3", "mb", "s3://cli-versions")
    cluster.aws("s3api", "put-bucket-versioning", "--bucket", "cli-versions",
                "--versioning-configuration", "Status=Enabled")
    status = json.loads(cluster.aws("s3api", "get-bucket-versioning", "--bucket", "cli-versions").stdout)
    assert status["Status"] == "Enabled"
    first = json.loads(cluster.aws("s3api", "put-object", "--bucket", "cli-versions", "--key", "k",
                                   "--body", "/etc/hostname").stdout)["VersionId"]
    cluster.aws("s3api", "put-object", "--bucket", "cli-versions", "--key", "k", "--body", "/etc/os-release")
    versions = json.loads(cluster.aws("s3api", "list-object-versions", "--bucket", "cli-versions").stdout)
    assert len(versions["Versions"]) == 2
    head = json.loads(cluster.aws("s3api", "head-object", "--bucket", "cli-versions", "--key", "k",
                                  "--version-id", first).stdout)
    assert head["VersionId"] == first
    cluster.aws("s3api", "delete-object", "--bucket", "cli-versions", "--key", "k", "--version-id", first)
    versions = json.loads(cluster.aws("s3api", "list-object-versions", "--bucket", "cli-versions").stdout)
    assert [v["VersionId"] for v in versions["Versions"]] != [first] and len(versions["Versions"]) == 1
