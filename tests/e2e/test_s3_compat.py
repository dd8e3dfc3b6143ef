"""S3 behaviour real tools depend on, against `holdfast dev`: presigned URLs
used with a plain HTTP client, aws-chunked uploads (signed chunks, unsigned
with checksum trailers), x-amz-checksum-* headers, CopyObject (metadata
directive, across buckets, large objects), conditional requests, ListObjects
v1, DeleteObjects, and stored standard headers; through boto3 and awscli.

Debian's botocore (1.29) predates aws-chunked uploads by default, so those
requests are framed here as the S3 API Reference specifies and signed with
botocore's own signer."""
import base64
import datetime
import hashlib
import hmac
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
import zlib

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from cluster import sha256, wait_for

BUCKET = "compat"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def error_code(raised):
    return raised.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def s3(cluster):
    client = cluster.client()
    client.create_bucket(Bucket=BUCKET)
    return client


def http_request(method, url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# ---- presigned URLs -----------------------------------------------------------

def test_presigned_get_and_put_work_with_a_plain_http_client(s3):
    data = os.urandom(300_000)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned"}, ExpiresIn=600)
    status, _ = http_request("PUT", put_url, body=data)
    assert status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned"}, ExpiresIn=600)
    status, body = http_request("GET", get_url)
    assert status == 200 and body == data


def test_signature_version_2_urls_get_the_aws_answer(cluster, s3):
    import boto3
    from botocore.config import Config
    v2 = boto3.client("s3", endpoint_url=cluster.endpoint, region_name="us-east-1",
                      aws_access_key_id=cluster.info["access_key"],
                      aws_secret_access_key=cluster.info["secret_key"],
                      config=Config(signature_version="s3", s3={"addressing_style": "path"}))
    url = v2.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presigned"})
    status, body = http_request("GET", url)
    assert status == 400 and b"Please use AWS4-HMAC-SHA256" in body


def test_tampered_presigned_url_is_refused(s3):
    s3.put_object(Bucket=BUCKET, Key="secret", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "secret"}, ExpiresIn=600)
    status, body = http_request("GET", url.replace("/secret?", "/secreT?"))
    assert status == 403 and b"SignatureDoesNotMatch" in body


def test_expired_presigned_url_is_refused(s3):
    s3.put_object(Bucket=BUCKET, Key="short-lived", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "short-lived"}, ExpiresIn=1)
    # Poll until the expiry passes (no fixed sleep); the URL must then be refused.
    wait_for(lambda: http_request("GET", url)[0] == 403, 10, "the presigned URL to expire")
    status, body = http_request("GET", url)
    assert b"AccessDenied" in body and b"expired" in body


# ---- aws-chunked ---------------------------------------------------------------

class StreamingAuth(S3SigV4Auth):
    def __init__(self, credentials, payload_hash):
        super().__init__(credentials, "s3", "us-east-1")
        self.payload_hash = payload_hash

    def payload(self, request):
        return self.payload_hash


def signing_key(secret, date):
    key = ("AWS4" + secret).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def chunked_put(cluster, key, data, chunk_size=65536, mode="signed", corrupt_chunk=None,
                crc32_override=None):
    """PUT `data` with Content-Encoding: aws-chunked, framed and signed here."""
    chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    payload_hash = {"signed": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                    "unsigned-trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}[mode]
    signature_length = len(";chunk-signature=") + 64 if mode == "signed" else 0
    trailer = b""
    if mode == "unsigned-trailer":
        crc = crc32_override or base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        trailer = f"x-amz-checksum-crc32:{crc}\r\n".encode()
    framed_length = sum(len(f"{len(c):x}") + signature_length + 2 + len(c) + 2 for c in chunks[:-1])
    framed_length += len("0") + signature_length + 2 + len(trailer) + 2
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
               "Content-Length": str(framed_length)}
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    path = f"/{BUCKET}/{key}"
    request = AWSRequest(method="PUT", url=cluster.endpoint + path, headers=headers)
    StreamingAuth(Credentials(cluster.info["access_key"], cluster.info["secret_key"]), payload_hash).add_auth(request)
    sent = dict(request.headers.items())
    amz_date = sent["X-Amz-Date"]
    previous = sent["Authorization"].rsplit("Signature=", 1)[1]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key_bytes = signing_key(cluster.info["secret_key"], amz_date[:8])
    body = b""
    for index, chunk in enumerate(chunks):
        if mode == "signed":
            to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY_SHA256,
                                 hashlib.sha256(chunk).hexdigest()])
            previous = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
            signature = previous if index != corrupt_chunk else "0" * 64
            body += f"{len(chunk):x};chunk-signature={signature}\r\n".encode()
        else:
            body += f"{len(chunk):x}\r\n".encode()
        body += chunk + b"\r\n" if chunk else b""
    body += trailer + b"\r\n"
    assert len(body) == framed_length
    host, port = urllib.parse.urlparse(cluster.endpoint).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("PUT", path, body=body, headers=sent)
    response = conn.getresponse()
    return response.status, response.read().decode()


def test_signed_aws_chunked_upload(cluster, s3):
    data = os.urandom(3 * 65536 + 1234)
    status, text = chunked_put(cluster, "chunked", data)
    assert status == 200, text
    got = s3.get_object(Bucket=BUCKET, Key="chunked")
    assert got["Body"].read() == data
    assert got["ETag"] == '"' + hashlib.md5(data).hexdigest() + '"'
    assert "ContentEncoding" not in got  # aws-chunked described the request, not the object


def test_aws_chunked_upload_with_a_forged_chunk_signature_stores_nothing(cluster, s3):
    status, text = chunked_put(cluster, "forged", os.urandom(5 * 65536), corrupt_chunk=2)
    assert status == 403 and "SignatureDoesNotMatch" in text
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="forged")


def test_unsigned_aws_chunked_upload_with_crc32_trailer(cluster, s3):
    data = os.urandom(200_000)
    status, text = chunked_put(cluster, "trailer", data, chunk_size=8192, mode="unsigned-trailer")
    assert status == 200, text
    assert s3.get_object(Bucket=BUCKET, Key="trailer")["Body"].read() == data
    status, text = chunked_put(cluster, "bad-trailer", data, chunk_size=8192, mode="unsigned-trailer",
                               crc32_override=base64.b64encode(b"\0\0\0\0").decode())
    assert status == 400 and "BadDigest" in text
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="bad-trailer")


def test_checksum_header_from_boto3_is_verified(s3):
    data = os.urandom(100_000)
    s3.put_object(Bucket=BUCKET, Key="checked", Body=data, ChecksumAlgorithm="SHA256")
    assert s3.get_object(Bucket=BUCKET, Key="checked")["Body"].read() == data
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket=BUCKET, Key="mis-checked", Body=data,
                      ChecksumSHA256=base64.b64encode(hashlib.sha256(b"other").digest()).decode())
    assert error_code(raised) == "BadDigest"


# ---- CopyObject ------------------------------------------------------------------

def test_copy_object_keeps_or_replaces_metadata_and_crosses_buckets(s3):
    data = os.urandom(12 << 20)  # several stripes
    s3.put_object(Bucket=BUCKET, Key="original", Body=data, ContentType="image/png",
                  Metadata={"who": "alice"}, CacheControl="max-age=30")
    copied = s3.copy_object(Bucket=BUCKET, Key="copy", CopySource={"Bucket": BUCKET, "Key": "original"})
    head = s3.head_object(Bucket=BUCKET, Key="copy")
    assert copied["CopyObjectResult"]["ETag"] == head["ETag"] == '"' + hashlib.md5(data).hexdigest() + '"'
    assert head["Metadata"] == {"who": "alice"} and head["ContentType"] == "image/png"
    assert head["CacheControl"] == "max-age=30"
    assert sha256(s3.get_object(Bucket=BUCKET, Key="copy")["Body"].read()) == sha256(data)

    s3.copy_object(Bucket=BUCKET, Key="replaced", CopySource=f"{BUCKET}/original",
                   MetadataDirective="REPLACE", Metadata={"who": "bob"}, ContentType="text/plain")
    head = s3.head_object(Bucket=BUCKET, Key="replaced")
    assert head["Metadata"] == {"who": "bob"} and head["ContentType"] == "text/plain"

    s3.create_bucket(Bucket="compat-other")
    s3.copy_object(Bucket="compat-other", Key="moved/here", CopySource={"Bucket": BUCKET, "Key": "original"})
    assert sha256(s3.get_object(Bucket="compat-other", Key="moved/here")["Body"].read()) == sha256(data)


def test_copy_object_errors(s3):
    s3.put_object(Bucket=BUCKET, Key="self", Body=b"me")
    with pytest.raises(ClientError) as raised:
        s3.copy_object(Bucket=BUCKET, Key="self", CopySource={"Bucket": BUCKET, "Key": "self"})
    assert error_code(raised) == "InvalidRequest"
    s3.copy_object(Bucket=BUCKET, Key="self", CopySource={"Bucket": BUCKET, "Key": "self"},
                   MetadataDirective="REPLACE", Metadata={"touched": "yes"})
    assert s3.head_object(Bucket=BUCKET, Key="self")["Metadata"] == {"touched": "yes"}
    with pytest.raises(ClientError) as raised:
        s3.copy_object(Bucket=BUCKET, Key="x", CopySource={"Bucket": BUCKET, "Key": "absent"})
    assert error_code(raised) == "NoSuchKey"
    etag = s3.head_object(Bucket=BUCKET, Key="self")["ETag"]
    with pytest.raises(ClientError) as raised:
        s3.copy_object(Bucket=BUCKET, Key="x", CopySource={"Bucket": BUCKET, "Key": "self"},
                       CopySourceIfNoneMatch=etag)
    assert error_code(raised) == "PreconditionFailed"


# ---- conditional requests ------------------------------------------------------------

def test_conditional_get_and_put(s3):
    s3.put_object(Bucket=BUCKET, Key="cond", Body=b"v1")
    head = s3.head_object(Bucket=BUCKET, Key="cond")
    etag, modified = head["ETag"], head["LastModified"]
    assert s3.get_object(Bucket=BUCKET, Key="cond", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket=BUCKET, Key="cond", IfNoneMatch=etag)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket=BUCKET, Key="cond", IfMatch='"0000"')
    assert error_code(raised) == "PreconditionFailed"
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket=BUCKET, Key="cond", IfModifiedSince=modified + datetime.timedelta(hours=1))
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket=BUCKET, Key="cond", IfUnmodifiedSince=modified - datetime.timedelta(hours=1))
    assert error_code(raised) == "PreconditionFailed"

    def put_if_absent(key, body):
        def add_header(request, **kwargs):
            request.headers["If-None-Match"] = "*"
        s3.meta.events.register_first("before-sign.s3.PutObject", add_header)
        try:
            return s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        finally:
            s3.meta.events.unregister("before-sign.s3.PutObject", add_header)

    with pytest.raises(ClientError) as raised:
        put_if_absent("cond", b"v2")
    assert error_code(raised) == "PreconditionFailed"
    assert s3.get_object(Bucket=BUCKET, Key="cond")["Body"].read() == b"v1"
    put_if_absent("cond-new", b"fresh")
    assert s3.get_object(Bucket=BUCKET, Key="cond-new")["Body"].read() == b"fresh"


# ---- listing v1, batch delete, stored headers ------------------------------------------

def test_list_objects_v1_and_batch_delete(s3):
    s3.create_bucket(Bucket="compat-list")
    keys = [f"logs/2026/{i:02}.txt" for i in range(25)] + ["logs/index.html", "top.txt"]
    for key in keys:
        s3.put_object(Bucket="compat-list", Key=key, Body=key.encode())
    pages = list(s3.get_paginator("list_objects").paginate(Bucket="compat-list", PaginationConfig={"PageSize": 10}))
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == sorted(keys)
    top = s3.list_objects(Bucket="compat-list", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/"] and [o["Key"] for o in top["Contents"]] == ["top.txt"]
    after = s3.list_objects(Bucket="compat-list", Marker="logs/2026/23.txt")
    assert [o["Key"] for o in after["Contents"]] == ["logs/2026/24.txt", "logs/index.html", "top.txt"]

    doomed = keys[:5] + ["never-existed"]
    result = s3.delete_objects(Bucket="compat-list", Delete={"Objects": [{"Key": k} for k in doomed]})
    assert sorted(d["Key"] for d in result["Deleted"]) == sorted(doomed) and not result.get("Errors")
    quiet = s3.delete_objects(Bucket="compat-list", Delete={"Objects": [{"Key": keys[5]}], "Quiet": True})
    assert not quiet.get("Deleted")
    remaining = [o["Key"] for o in s3.list_objects_v2(Bucket="compat-list")["Contents"]]
    assert remaining == sorted(keys[6:])


def test_standard_headers_are_stored_and_returned(s3):
    s3.put_object(Bucket=BUCKET, Key="page.html.gz", Body=b"\x1f\x8b...", ContentType="text/html",
                  ContentEncoding="gzip", ContentDisposition='attachment; filename="page.html"',
                  ContentLanguage="en", CacheControl="no-cache",
                  Expires=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc))
    head = s3.head_object(Bucket=BUCKET, Key="page.html.gz")
    assert head["ContentEncoding"] == "gzip" and head["ContentLanguage"] == "en"
    assert head["ContentDisposition"] == 'attachment; filename="page.html"' and head["CacheControl"] == "no-cache"
    assert head["Expires"].year == 2030


def test_awscli_server_side_copy_sync_and_recursive_delete(cluster, tmp_path):
    cluster.aws("s3", "mb", "s3://compat-cli")
    tree = tmp_path / "tree"
    for i in range(20):
        (tree / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 4}" / f"f{i}.bin").write_bytes(os.urandom(1000 + i))
    cluster.aws("s3", "sync", str(tree), "s3://compat-cli/tree")
    cluster.aws("s3", "cp", "--recursive", "s3://compat-cli/tree", "s3://compat-cli/copy")  # CopyObject
    back = tmp_path / "back"
    cluster.aws("s3", "sync", "s3://compat-cli/copy", str(back))
    for path in tree.rglob("*.bin"):
        assert (back / path.relative_to(tree)).read_bytes() == path.read_bytes()
    again = cluster.aws("s3", "sync", str(tree), "s3://compat-cli/tree").stdout
    assert again.strip() == "", "a second sync should have nothing to upload"
    cluster.aws("s3", "rm", "--recursive", "s3://compat-cli/")
    assert cluster.aws("s3", "ls", "--recursive", "s3://compat-cli/").stdout.strip() == ""
