"""Bad input gets the right S3 error, loses nothing, and leaves the servers
running: wrong signatures, unknown keys, malformed XML, path tricks in keys,
over-long keys, truncated bodies, oversized uploads."""
import http.client
import os
import socket
import time
import urllib.parse

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from cluster import wait_for

BUCKET = "hostile"


def error_code(raised):
    return raised.value.response["Error"]["Code"]


class DeclaredPayloadAuth(S3SigV4Auth):
    """S3 SigV4 that declares `payload_hash` (e.g. UNSIGNED-PAYLOAD, or a
    wrong hash on purpose) instead of hashing the body."""

    def __init__(self, credentials, payload_hash):
        super().__init__(credentials, "s3", "us-east-1")
        self.payload_hash = payload_hash

    def payload(self, request):
        return self.payload_hash or super().payload(request)


def signed_headers(cluster, method, path, body=b"", headers=None, payload_hash=None):
    """SigV4 headers for a raw request, signed by botocore with the dev keys."""
    request = AWSRequest(method=method, url=cluster.endpoint + path, data=body, headers=headers or {})
    credentials = Credentials(cluster.info["access_key"], cluster.info["secret_key"])
    DeclaredPayloadAuth(credentials, payload_hash).add_auth(request)
    return dict(request.headers.items())


def raw_request(cluster, method, path, body=b"", headers=None):
    host, port = urllib.parse.urlparse(cluster.endpoint).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(method, path, body=body, headers=signed_headers(cluster, method, path, body, headers))
    response = conn.getresponse()
    return response.status, response.read().decode()


@pytest.fixture(scope="module")
def s3(cluster):
    client = cluster.client()
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="precious", Body=b"must survive")
    return client


def test_wrong_secret_is_signature_does_not_match(cluster, s3):
    with pytest.raises(ClientError) as raised:
        cluster.client(secret="wrong" * 8).get_object(Bucket=BUCKET, Key="precious")
    assert error_code(raised) == "SignatureDoesNotMatch"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_access_key_is_invalid_access_key_id(cluster, s3):
    with pytest.raises(ClientError) as raised:
        cluster.client(access_key="AKIDONTEXIST00000000").list_buckets()
    assert error_code(raised) == "InvalidAccessKeyId"


def test_unsigned_request_is_access_denied(cluster, s3):
    host, port = urllib.parse.urlparse(cluster.endpoint).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", f"/{BUCKET}/precious")
    response = conn.getresponse()
    body = response.read().decode()
    assert response.status == 403 and "<Code>AccessDenied</Code>" in body


def test_malformed_xml_on_create_bucket(cluster, s3):
    status, body = raw_request(cluster, "PUT", "/xml-victim", body=b"<CreateBucketConfiguration><Loc")
    assert status == 400 and "<Code>MalformedXML</Code>" in body
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket="xml-victim")


def test_dot_dot_keys_are_plain_keys(cluster, s3):
    for key in ["../../etc/passwd", "a/../../b", "./x", "..", "/leading", "dir//double"]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert "../../etc/passwd" in listed and "dir//double" in listed
    # Keys never become paths: every shard file is named by version id and index.
    import re
    for path in cluster.shard_files():
        assert re.fullmatch(r"[0-9a-f]{32}\.\d+", os.path.basename(path)), path


def test_nul_in_key_is_invalid_argument(cluster, s3):
    status, body = raw_request(cluster, "PUT", f"/{BUCKET}/bad%00key", body=b"x")
    assert status == 400 and "<Code>InvalidArgument</Code>" in body


def test_two_kib_key_is_key_too_long(cluster, s3):
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket=BUCKET, Key="k" * 2048, Body=b"x")
    assert error_code(raised) == "KeyTooLongError"
    s3.put_object(Bucket=BUCKET, Key="k" * 1024, Body=b"x")  # the limit itself is fine


def test_oversized_upload_is_entity_too_large(cluster, s3):
    status, body = raw_request_head_only(cluster, f"/{BUCKET}/huge", 6 << 30)
    assert status == 400 and "<Code>EntityTooLarge</Code>" in body


def send_raw_put(cluster, path, declared_length, body):
    """Sends a signed PUT head declaring `declared_length` and then `body`
    (possibly shorter) over a plain socket. Returns (status, text) if the
    server answered before we closed, else (None, "")."""
    host_port = urllib.parse.urlparse(cluster.endpoint).netloc
    headers = signed_headers(cluster, "PUT", path, headers={"Content-Length": str(declared_length)},
                             payload_hash="UNSIGNED-PAYLOAD")
    headers["Host"] = host_port
    host, port = host_port.split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        lines = [f"PUT {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        if body:
            sock.sendall(body)
        if len(body) < declared_length and declared_length <= (1 << 30):
            return None, ""  # hang up mid-body
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read().decode()


def raw_request_head_only(cluster, path, content_length):
    """Sends only the head of a PUT declaring `content_length`, reads the answer."""
    return send_raw_put(cluster, path, content_length, b"")


def test_truncated_body_stores_nothing(cluster, s3):
    path = f"/{BUCKET}/truncated"
    # The same raw request with its whole body is accepted: only truncation differs.
    status, _ = send_raw_put(cluster, f"/{BUCKET}/complete", 1000, os.urandom(1000))
    assert status == 200
    for size in (1000, 12 << 20):  # one stripe, and several stripes streamed
        send_raw_put(cluster, path, size, os.urandom(size // 2))
        with pytest.raises(ClientError) as raised:
            s3.head_object(Bucket=BUCKET, Key="truncated")
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # No shard of the aborted uploads stays behind, and no temporary file.
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    wait_for(lambda: cluster.disk_matches(BUCKET, listed), 30, "shards of aborted uploads to be collected")
    def temp_files():
        return sum(len(files) for n in cluster.info["nodes"]
                   for _, _, files in os.walk(os.path.join(n["data_dir"], "tmp")))
    wait_for(lambda: temp_files() == 0, 30, "temporary shard files to be removed")


def test_wrong_payload_hash_is_rejected_and_stores_nothing(cluster, s3):
    headers = {"Content-Length": "5"}
    signed = signed_headers(cluster, "PUT", f"/{BUCKET}/liar", body=b"hello", headers=headers,
                            payload_hash="0" * 64)
    host, port = urllib.parse.urlparse(cluster.endpoint).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("PUT", f"/{BUCKET}/liar", body=b"hello", headers=signed)
    response = conn.getresponse()
    assert response.status == 400 and "XAmzContentSHA256Mismatch" in response.read().decode()
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="liar")


def test_bad_content_md5_is_bad_digest(cluster, s3):
    import base64
    import hashlib
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket=BUCKET, Key="md5", Body=b"payload",
                      ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
    assert error_code(raised) == "BadDigest"


def test_servers_still_serve_and_nothing_was_lost(cluster, s3):
    assert s3.get_object(Bucket=BUCKET, Key="precious")["Body"].read() == b"must survive"
    for node in cluster.info["nodes"]:
        assert os.path.exists(f"/proc/{node['pid']}"), f"node {node['id']} died"
    assert cluster.process.poll() is None
