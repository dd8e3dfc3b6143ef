"""Several S3 users, each with their own keys (`holdfast user add`): a user
sees and touches only their own buckets. Every bucket and object operation
of one user on another's bucket is AccessDenied; bucket names stay global."""
import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

MiB = 1 << 20


def add_user(cluster, name):
    result = subprocess.run([cluster.binary, "user", "add", name, "--dev-dir", cluster.data_dir, "--json"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    key = json.loads(result.stdout)
    assert key["user_id"] == name
    return cluster.client(access_key=key["access_key_id"], secret=key["secret_access_key"])


def denied(call):
    with pytest.raises(ClientError) as raised:
        call()
    status = raised.value.response["ResponseMetadata"]["HTTPStatusCode"]
    code = raised.value.response["Error"].get("Code")
    assert status == 403 and code in ("AccessDenied", "403"), (status, code)


def test_users_see_and_touch_only_their_own_buckets(cluster):
    alice = add_user(cluster, "alice")
    bob = add_user(cluster, "bob")
    alice.create_bucket(Bucket="alice-private")
    alice.put_object(Bucket="alice-private", Key="diary.txt", Body=b"dear diary")
    bob.create_bucket(Bucket="bob-own")

    assert [b["Name"] for b in alice.list_buckets()["Buckets"]] == ["alice-private"]
    assert [b["Name"] for b in bob.list_buckets()["Buckets"]] == ["bob-own"]

    denied(lambda: bob.get_object(Bucket="alice-private", Key="diary.txt"))
    denied(lambda: bob.head_object(Bucket="alice-private", Key="diary.txt"))
    denied(lambda: bob.put_object(Bucket="alice-private", Key="planted", Body=b"x"))
    denied(lambda: bob.delete_object(Bucket="alice-private", Key="diary.txt"))
    denied(lambda: bob.list_objects_v2(Bucket="alice-private"))
    denied(lambda: bob.list_objects(Bucket="alice-private"))
    denied(lambda: bob.list_object_versions(Bucket="alice-private"))
    denied(lambda: bob.delete_objects(Bucket="alice-private", Delete={"Objects": [{"Key": "diary.txt"}]}))
    denied(lambda: bob.delete_bucket(Bucket="alice-private"))
    denied(lambda: bob.put_bucket_versioning(Bucket="alice-private",
                                             VersioningConfiguration={"Status": "Enabled"}))
    denied(lambda: bob.create_multipart_upload(Bucket="alice-private", Key="big"))
    denied(lambda: bob.list_multipart_uploads(Bucket="alice-private"))
    # Copying out of someone else's bucket is refused too.
    denied(lambda: bob.copy_object(Bucket="bob-own", Key="stolen",
                                   CopySource={"Bucket": "alice-private", "Key": "diary.txt"}))
    # An upload id leaked from alice does not let bob add or list parts.
    upload_id = alice.create_multipart_upload(Bucket="alice-private", Key="big")["UploadId"]
    denied(lambda: bob.upload_part(Bucket="alice-private", Key="big", UploadId=upload_id, PartNumber=1,
                                   Body=os.urandom(MiB)))
    denied(lambda: bob.list_parts(Bucket="alice-private", Key="big", UploadId=upload_id))
    denied(lambda: bob.abort_multipart_upload(Bucket="alice-private", Key="big", UploadId=upload_id))
    alice.abort_multipart_upload(Bucket="alice-private", Key="big", UploadId=upload_id)

    # Bucket names are global: bob cannot take alice's name.
    with pytest.raises(ClientError) as taken:
        bob.create_bucket(Bucket="alice-private")
    assert taken.value.response["Error"]["Code"] == "BucketAlreadyExists"
    # Nothing of alice's changed.
    assert alice.get_object(Bucket="alice-private", Key="diary.txt")["Body"].read() == b"dear diary"
    assert [o["Key"] for o in alice.list_objects_v2(Bucket="alice-private")["Contents"]] == ["diary.txt"]
    # A presigned URL made with bob's keys for alice's object is refused as well.
    import urllib.error
    import urllib.request
    url = bob.generate_presigned_url("get_object", Params={"Bucket": "alice-private", "Key": "diary.txt"})
    with pytest.raises(urllib.error.HTTPError) as presigned:
        urllib.request.urlopen(url, timeout=10)
    assert presigned.value.code == 403


def test_user_names_are_checked(cluster):
    result = subprocess.run([cluster.binary, "user", "add", "Not A Name", "--dev-dir", cluster.data_dir],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "user names are" in result.stderr
    human = subprocess.run([cluster.binary, "user", "add", "carol", "--dev-dir", cluster.data_dir],
                           capture_output=True, text=True, timeout=30)
    assert human.returncode == 0, human.stderr
    assert "access key:" in human.stdout and "secret key:" in human.stdout
