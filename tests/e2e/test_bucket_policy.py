"""Bucket policies (docs/s3-compatibility.md): alice shares parts of her
bucket with bob through an S3 bucket policy; a Deny wins over any Allow (the
owner's too); nothing else of alice's opens up; only the owner manages the
policy; malformed policies are refused with MalformedPolicy; unsigned
requests get exactly what Principal "*" is granted."""
import http.client
import json
import os
import urllib.parse

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from test_users import add_user, denied

BUCKET = "alice-shared"
OTHER = "alice-unshared"
MiB = 1 << 20


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def statement(effect, principal, actions, resources, sid=None):
    out = {"Effect": effect, "Principal": principal, "Action": actions, "Resource": resources}
    if sid:
        out["Sid"] = sid
    return out


def code_of(raised):
    return raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def users(cluster):
    alice = add_user(cluster, "alice")
    bob = add_user(cluster, "bob")
    carol = add_user(cluster, "carol")
    alice.create_bucket(Bucket=BUCKET)
    alice.create_bucket(Bucket=OTHER)
    for key in ("public/a.txt", "public/b.txt", "public/secret/s.txt", "private/p.txt"):
        alice.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    alice.put_object(Bucket=OTHER, Key="x", Body=b"x")
    return alice, bob, carol


@pytest.fixture
def clean_policy(users):
    alice = users[0]
    yield
    alice.delete_bucket_policy(Bucket=BUCKET)


def anonymous_client(cluster):
    return boto3.client("s3", endpoint_url=cluster.endpoint, region_name="us-east-1",
                        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1, "mode": "standard"}))


def test_policy_grants_read_under_a_prefix(cluster, users, clean_policy):
    alice, bob, carol = users
    with pytest.raises(ClientError) as none:
        alice.get_bucket_policy(Bucket=BUCKET)
    assert code_of(none) == ("NoSuchBucketPolicy", 404)
    denied(lambda: bob.get_object(Bucket=BUCKET, Key="public/a.txt"))

    text = policy(
        statement("Allow", {"AWS": "arn:aws:iam::holdfast:user/bob"}, "s3:GetObject",
                  "arn:aws:s3:::alice-shared/public/*", sid="BobReadsPublic"),
        statement("Allow", {"AWS": ["bob"]}, ["s3:ListBucket"], "arn:aws:s3:::alice-shared"))
    alice.put_bucket_policy(Bucket=BUCKET, Policy=text)
    assert json.loads(alice.get_bucket_policy(Bucket=BUCKET)["Policy"]) == json.loads(text)

    assert bob.get_object(Bucket=BUCKET, Key="public/a.txt")["Body"].read() == b"public/a.txt"
    assert bob.head_object(Bucket=BUCKET, Key="public/b.txt")["ContentLength"] == len("public/b.txt")
    listed = bob.list_objects_v2(Bucket=BUCKET, Prefix="public/")
    assert [o["Key"] for o in listed["Contents"]] == ["public/a.txt", "public/b.txt", "public/secret/s.txt"]
    # Objects are listed as the bucket owner's.
    assert bob.list_objects_v2(Bucket=BUCKET, FetchOwner=True)["Contents"][0]["Owner"]["ID"] == "alice"
    bob.head_bucket(Bucket=BUCKET)

    # Outside the prefix, other actions, other users, other buckets: refused.
    denied(lambda: bob.get_object(Bucket=BUCKET, Key="private/p.txt"))
    denied(lambda: bob.put_object(Bucket=BUCKET, Key="public/planted", Body=b"x"))
    denied(lambda: bob.delete_object(Bucket=BUCKET, Key="public/a.txt"))
    denied(lambda: bob.list_object_versions(Bucket=BUCKET))
    denied(lambda: bob.get_object(Bucket=BUCKET, Key="public/a.txt", VersionId="null"))  # s3:GetObjectVersion
    denied(lambda: carol.get_object(Bucket=BUCKET, Key="public/a.txt"))
    denied(lambda: carol.list_objects_v2(Bucket=BUCKET))
    denied(lambda: bob.get_object(Bucket=OTHER, Key="x"))
    denied(lambda: bob.list_objects_v2(Bucket=OTHER))
    # Bucket configuration stays the owner's.
    denied(lambda: bob.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}))
    denied(lambda: bob.get_bucket_versioning(Bucket=BUCKET))
    denied(lambda: bob.delete_bucket(Bucket=BUCKET))
    # ListBuckets still shows only one's own buckets, as in AWS.
    assert [b["Name"] for b in bob.list_buckets()["Buckets"]] == []
    # Copying out of the shared prefix works; out of the private one not.
    bob.create_bucket(Bucket="bob-copies")
    bob.copy_object(Bucket="bob-copies", Key="a", CopySource={"Bucket": BUCKET, "Key": "public/a.txt"})
    assert bob.get_object(Bucket="bob-copies", Key="a")["Body"].read() == b"public/a.txt"
    denied(lambda: bob.copy_object(Bucket="bob-copies", Key="p",
                                   CopySource={"Bucket": BUCKET, "Key": "private/p.txt"}))

    # Deleting the policy takes the grant back at once.
    alice.delete_bucket_policy(Bucket=BUCKET)
    denied(lambda: bob.get_object(Bucket=BUCKET, Key="public/a.txt"))


def test_deny_overrides_allow_also_for_the_owner(cluster, users, clean_policy):
    alice, bob, _ = users
    alice.put_bucket_policy(Bucket=BUCKET, Policy=policy(
        statement("Allow", {"AWS": "bob"}, "s3:*", ["arn:aws:s3:::alice-shared", "arn:aws:s3:::alice-shared/*"]),
        statement("Deny", "*", ["s3:GetObject", "s3:DeleteObject"], "arn:aws:s3:::alice-shared/public/secret/*")))
    assert bob.get_object(Bucket=BUCKET, Key="public/a.txt")["Body"].read() == b"public/a.txt"
    denied(lambda: bob.get_object(Bucket=BUCKET, Key="public/secret/s.txt"))
    denied(lambda: bob.delete_object(Bucket=BUCKET, Key="public/secret/s.txt"))
    # "*" is everyone: the owner is denied too, as in AWS...
    denied(lambda: alice.get_object(Bucket=BUCKET, Key="public/secret/s.txt"))
    # ...but keeps control of the policy, so she cannot lock herself out.
    assert "Deny" in alice.get_bucket_policy(Bucket=BUCKET)["Policy"]
    # In a multi-object delete, the denied key is an AccessDenied entry.
    bob.put_object(Bucket=BUCKET, Key="public/tmp", Body=b"t")
    result = bob.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "public/tmp"},
                                                                   {"Key": "public/secret/s.txt"}]})
    assert [d["Key"] for d in result.get("Deleted", [])] == ["public/tmp"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("public/secret/s.txt", "AccessDenied")]
    assert alice.list_objects_v2(Bucket=BUCKET, Prefix="public/secret/")["KeyCount"] == 1


def test_grantee_writes_belong_to_the_bucket_and_multipart_works(cluster, users, clean_policy):
    alice, bob, _ = users
    alice.put_bucket_policy(Bucket=BUCKET, Policy=policy(statement(
        "Allow", {"AWS": "bob"},
        ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        "arn:aws:s3:::alice-shared/inbox/*")))
    bob.put_object(Bucket=BUCKET, Key="inbox/note", Body=b"from bob")
    assert alice.get_object(Bucket=BUCKET, Key="inbox/note")["Body"].read() == b"from bob"
    denied(lambda: bob.put_object(Bucket=BUCKET, Key="elsewhere", Body=b"x"))

    upload = bob.create_multipart_upload(Bucket=BUCKET, Key="inbox/big")["UploadId"]
    parts = [os.urandom(5 * MiB), os.urandom(MiB)]
    etags = [bob.upload_part(Bucket=BUCKET, Key="inbox/big", UploadId=upload, PartNumber=n,
                             Body=data)["ETag"] for n, data in enumerate(parts, start=1)]
    assert len(bob.list_parts(Bucket=BUCKET, Key="inbox/big", UploadId=upload)["Parts"]) == 2
    bob.complete_multipart_upload(Bucket=BUCKET, Key="inbox/big", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})
    assert alice.get_object(Bucket=BUCKET, Key="inbox/big")["Body"].read() == b"".join(parts)
    aborted = bob.create_multipart_upload(Bucket=BUCKET, Key="inbox/gone")["UploadId"]
    bob.abort_multipart_upload(Bucket=BUCKET, Key="inbox/gone", UploadId=aborted)
    # Listing uploads is a bucket action the policy did not grant.
    denied(lambda: bob.list_multipart_uploads(Bucket=BUCKET))
    # A grantee may write but not lock: Object Lock settings stay the owner's.
    denied(lambda: bob.put_object(Bucket=BUCKET, Key="inbox/locked", Body=b"x", ObjectLockLegalHoldStatus="ON"))
    for key in ("inbox/note", "inbox/big"):
        alice.delete_object(Bucket=BUCKET, Key=key)


def test_only_the_owner_manages_the_policy(cluster, users, clean_policy):
    alice, bob, _ = users
    grant_all = policy(statement("Allow", {"AWS": "bob"}, "s3:*",
                                 ["arn:aws:s3:::alice-shared", "arn:aws:s3:::alice-shared/*"]))
    denied(lambda: bob.put_bucket_policy(Bucket=BUCKET, Policy=grant_all))
    alice.put_bucket_policy(Bucket=BUCKET, Policy=grant_all)
    # Even s3:* does not hand over the policy or the bucket's settings.
    denied(lambda: bob.get_bucket_policy(Bucket=BUCKET))
    denied(lambda: bob.delete_bucket_policy(Bucket=BUCKET))
    denied(lambda: bob.put_bucket_policy(Bucket=BUCKET, Policy=grant_all))
    denied(lambda: bob.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}))
    with pytest.raises(ClientError) as missing:
        bob.put_bucket_policy(Bucket="no-such-bucket-here", Policy=grant_all)
    assert code_of(missing) == ("NoSuchBucket", 404)


@pytest.mark.parametrize("text, says", [
    ("{not json", "valid JSON"),
    (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
    (policy(statement("Allow", "*", "s3:GetObjects", "arn:aws:s3:::alice-shared/*")), "invalid action"),
    (policy(statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::alice-unshared/*")), "invalid resource"),
    (policy(statement("Allow", {"AWS": "arn:aws:iam::123456789012:root"}, "s3:GetObject",
                      "arn:aws:s3:::alice-shared/*")), "Invalid principal"),
    (policy(statement("Maybe", "*", "s3:GetObject", "arn:aws:s3:::alice-shared/*")), "Invalid effect"),
    (policy(statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::alice-shared")), "does not apply"),
    (policy(dict(statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::alice-shared/*"),
                 Condition={"Bool": {"aws:SecureTransport": "true"}})), "Condition is not supported"),
])
def test_malformed_policies_are_refused(cluster, users, text, says):
    alice = users[0]
    with pytest.raises(ClientError) as raised:
        alice.put_bucket_policy(Bucket=BUCKET, Policy=text)
    assert code_of(raised) == ("MalformedPolicy", 400)
    assert says in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as none:
        alice.get_bucket_policy(Bucket=BUCKET)
    assert code_of(none) == ("NoSuchBucketPolicy", 404)


def test_awscli_round_trip(cluster, users):
    # awscli runs with the dev cluster's own user, on a bucket of its own.
    cluster.aws("s3api", "create-bucket", "--bucket", "cli-policy")
    cli_text = policy(statement("Allow", {"AWS": "bob"}, "s3:GetObject", "arn:aws:s3:::cli-policy/public/*"))
    cluster.aws("s3api", "put-bucket-policy", "--bucket", "cli-policy", "--policy", cli_text)
    got = json.loads(cluster.aws("s3api", "get-bucket-policy", "--bucket", "cli-policy").stdout)
    assert json.loads(got["Policy"]) == json.loads(cli_text)
    bad = cluster.aws("s3api", "put-bucket-policy", "--bucket", "cli-policy", "--policy", "{", check=False)
    assert bad.returncode != 0 and "MalformedPolicy" in bad.stderr
    cluster.aws("s3api", "delete-bucket-policy", "--bucket", "cli-policy")
    gone = cluster.aws("s3api", "get-bucket-policy", "--bucket", "cli-policy", check=False)
    assert gone.returncode != 0 and "NoSuchBucketPolicy" in gone.stderr
    cluster.aws("s3api", "delete-bucket", "--bucket", "cli-policy")


def test_anonymous_access_only_where_principal_star_allows(cluster, users, clean_policy):
    alice, bob, _ = users
    anonymous = anonymous_client(cluster)
    with pytest.raises(ClientError) as before:
        anonymous.get_object(Bucket=BUCKET, Key="public/a.txt")
    assert code_of(before)[1] == 403
    alice.put_bucket_policy(Bucket=BUCKET, Policy=policy(
        statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::alice-shared/public/*"),
        statement("Deny", {"AWS": "*"}, "s3:GetObject", "arn:aws:s3:::alice-shared/public/secret/*")))
    assert anonymous.get_object(Bucket=BUCKET, Key="public/a.txt")["Body"].read() == b"public/a.txt"
    # "*" includes signed users.
    assert bob.get_object(Bucket=BUCKET, Key="public/b.txt")["Body"].read() == b"public/b.txt"
    for call in (lambda: anonymous.get_object(Bucket=BUCKET, Key="public/secret/s.txt"),
                 lambda: anonymous.get_object(Bucket=BUCKET, Key="private/p.txt"),
                 lambda: anonymous.list_objects_v2(Bucket=BUCKET),
                 lambda: anonymous.put_object(Bucket=BUCKET, Key="public/x", Body=b"x"),
                 lambda: anonymous.get_object(Bucket=OTHER, Key="x"),
                 lambda: anonymous.list_buckets(),
                 lambda: anonymous.create_bucket(Bucket="anonymous-bucket"),
                 lambda: anonymous.get_bucket_policy(Bucket=BUCKET)):
        with pytest.raises(ClientError) as raised:
            call()
        assert code_of(raised) == ("AccessDenied", 403)
    # A plain HTTP GET (a browser, curl) works the same way.
    host, port = urllib.parse.urlparse(cluster.endpoint).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/alice-shared/public/a.txt")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"public/a.txt")
    conn.request("GET", "/alice-shared/private/p.txt")
    response = conn.getresponse()
    assert response.status == 403 and b"<Code>AccessDenied</Code>" in response.read()
