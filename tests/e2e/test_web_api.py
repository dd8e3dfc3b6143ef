"""The web interface's API against a real `holdfast dev` (docs/web.md):
accounts and sessions, CSRF, sign-in rate limiting, the S3 API through a
session, share links (plain, password, expiry, revocation, Range), the tar
export, access keys usable by a real S3 client, holds shown on delete, and
the operator's dashboard data. The browser tests (tests/web/) drive the
pages; these pin down the server's answers."""
import hashlib
import http.cookiejar
import io
import json
import os
import re
import subprocess
import tarfile
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from cluster import DevCluster, wait_for


@pytest.fixture(scope="module")
def cluster():
    with DevCluster() as c:
        yield c


class Browser:
    """A cookie-keeping HTTP client, like one browser profile."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = None

    def request(self, method, path, body=None, headers=None, csrf=True):
        headers = dict(headers or {})
        data = body
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            headers.setdefault("X-CSRF-Token", self.csrf)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def json(self, method, path, body=None, **kw):
        status, data, headers = self.request(method, path, body, **kw)
        return status, (json.loads(data) if data else None)

    def sign_up(self, name, password):
        status, session = self.json("POST", "/api/signup", {"name": name, "password": password})
        assert status == 201, session
        self.csrf = session["csrf_token"]
        return session

    def sign_in(self, name, password):
        status, session = self.json("POST", "/api/signin", {"name": name, "password": password})
        assert status == 200, session
        self.csrf = session["csrf_token"]
        return session


def test_sign_up_session_and_sign_out(cluster):
    b = Browser(cluster.web_url)
    assert b.json("GET", "/api/session")[0] == 401
    status, error = b.json("POST", "/api/signup", {"name": "Bad Name", "password": "longenough"})
    assert status == 400 and error["code"] == "InvalidName"
    status, error = b.json("POST", "/api/signup", {"name": "carol", "password": "short"})
    assert status == 400 and error["code"] == "InvalidPassword"
    session = b.sign_up("carol", "carol-password")
    assert session["user"] == "carol" and session["role"] == "user" and session["home_bucket"] == "carol"
    assert session["s3_endpoint"] == cluster.endpoint
    status, again = b.json("GET", "/api/session")
    assert status == 200 and again["csrf_token"] == session["csrf_token"]
    # The name is taken now, and so is the name of any S3 user or bucket.
    status, error = Browser(cluster.web_url).json("POST", "/api/signup", {"name": "carol", "password": "x" * 10})
    assert status == 409 and error["code"] == "NameTaken"
    cluster.client().create_bucket(Bucket="taken-bucket")
    status, error = Browser(cluster.web_url).json("POST", "/api/signup", {"name": "taken-bucket", "password": "x" * 10})
    assert status == 409 and error["code"] == "NameTaken"
    # The session cookie is HttpOnly and SameSite.
    status, _, headers = Browser(cluster.web_url).request("POST", "/api/signin",
                                                          {"name": "carol", "password": "carol-password"})
    cookie = headers["Set-Cookie"]
    assert status == 200 and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert b.request("POST", "/api/signout")[0] == 204
    assert b.json("GET", "/api/session")[0] == 401


def test_csrf_token_and_origin_are_required_for_changes(cluster):
    b = Browser(cluster.web_url)
    b.sign_up("dora", "dora-password")
    keys_before = b.json("GET", "/api/keys")[1]["keys"]
    # No token (what a cross-site form can send), a wrong token, a foreign origin.
    for headers, csrf in [({}, False), ({"X-CSRF-Token": "0" * 32}, False),
                          ({"Origin": "http://127.0.0.2:8080"}, True),
                          ({"Sec-Fetch-Site": "cross-site"}, True)]:
        status, error = b.json("POST", "/api/keys", {}, headers=headers, csrf=csrf)
        assert status == 403 and error["code"] == "CsrfRejected", (headers, error)
    # A form-encoded post from another site, as a browser sends it.
    status, data, _ = b.request("POST", "/api/signout", b"x=1", csrf=False,
                                headers={"Content-Type": "application/x-www-form-urlencoded",
                                         "Origin": "http://evil.example"})
    assert status == 403
    assert b.json("GET", "/api/keys")[1]["keys"] == keys_before
    assert b.json("GET", "/api/session")[0] == 200  # still signed in
    # Sign-in is checked for its origin too (login CSRF).
    status, error = Browser(cluster.web_url).json("POST", "/api/signin", {"name": "dora", "password": "dora-password"},
                                                  headers={"Origin": "http://evil.example"})
    assert status == 403 and error["code"] == "CsrfRejected"
    # With the token, from our own origin: accepted.
    status, key = b.json("POST", "/api/keys", {}, headers={"Origin": cluster.web_url})
    assert status == 201 and key["access_key_id"]


def test_failed_sign_ins_are_rate_limited(cluster):
    Browser(cluster.web_url).sign_up("erin", "erin-password")
    b = Browser(cluster.web_url)
    for _ in range(5):
        status, error = b.json("POST", "/api/signin", {"name": "erin", "password": "wrong-password"})
        assert status == 401 and error["code"] == "InvalidCredentials"
    status, data, headers = b.request("POST", "/api/signin", {"name": "erin", "password": "erin-password"})
    error = json.loads(data)
    assert status == 429 and error["code"] == "TooManyAttempts", error
    assert 0 < int(headers["Retry-After"]) <= 900 and error["retry_after_s"] == int(headers["Retry-After"])
    # Unknown names fail the same way as wrong passwords.
    status, error = b.json("POST", "/api/signin", {"name": "nobody-here", "password": "whatever1"})
    assert status == 401 and error["code"] == "InvalidCredentials"


def upload_multipart(b, bucket, key, data, part_size=5 << 20):
    status, body, _ = b.request("POST", f"/api/s3/{bucket}/{key}?uploads", b"")
    assert status == 200, body
    upload_id = re.search(rb"<UploadId>(.*)</UploadId>", body).group(1).decode()
    etags = []
    for number, offset in enumerate(range(0, len(data), part_size), start=1):
        status, body, headers = b.request("PUT", f"/api/s3/{bucket}/{key}?partNumber={number}&uploadId={upload_id}",
                                          data[offset:offset + part_size])
        assert status == 200, body
        etags.append(headers["ETag"])
    status, body, _ = b.request("GET", f"/api/s3/{bucket}/{key}?uploadId={upload_id}")
    assert status == 200 and body.count(b"<Part>") == len(etags)
    parts = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1))
    status, body, _ = b.request("POST", f"/api/s3/{bucket}/{key}?uploadId={upload_id}",
                                f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode())
    assert status == 200 and b"<CompleteMultipartUploadResult" in body, body


def test_files_through_the_session_and_share_links(cluster):
    b = Browser(cluster.web_url)
    b.sign_up("frank", "frank-password")
    big = os.urandom(12 << 20)
    upload_multipart(b, "frank", "videos/big.bin", big)
    assert b.request("PUT", "/api/s3/frank/notes/a.txt", b"hello")[0] == 200
    # Someone else's bucket is not reachable through a session either.
    other = Browser(cluster.web_url)
    other.sign_up("grace", "grace-password")
    status, body, _ = other.request("GET", "/api/s3/frank?list-type=2")
    assert status == 403 and b"AccessDenied" in body
    status, error = other.json("POST", "/api/links", {"bucket": "frank", "key": "notes/a.txt"})
    assert status == 404 and error["code"] == "NoSuchBucket"

    status, listing, _ = b.request("GET", "/api/s3/frank?list-type=2&delimiter=/")
    assert b"<Prefix>videos/</Prefix>" in listing and b"<Prefix>notes/</Prefix>" in listing
    usage = b.json("GET", "/api/usage")[1]
    assert usage["objects"] == 2 and usage["bytes"] == len(big) + 5
    found = b.json("GET", "/api/search?bucket=frank&q=BIG")[1]
    assert [o["key"] for o in found["objects"]] == ["videos/big.bin"] and not found["truncated"]

    status, link = b.json("POST", "/api/links", {"bucket": "frank", "key": "videos/big.bin"})
    assert status == 201 and re.fullmatch(r"[0-9a-f]{32}", link["id"]) and link["state"] == "active"
    anonymous = Browser(cluster.web_url)
    status, public = anonymous.json("GET", f"/api/public/links/{link['id']}")
    assert status == 200 and public["name"] == "big.bin" and public["size"] == len(big)
    assert not public["password_required"]
    status, data, headers = anonymous.request("GET", public["download_url"])
    assert status == 200 and hashlib.sha256(data).digest() == hashlib.sha256(big).digest()
    assert headers["Content-Disposition"].startswith("attachment;") and "big.bin" in headers["Content-Disposition"]
    status, data, headers = anonymous.request("GET", public["download_url"], headers={"Range": "bytes=1000-1999"})
    assert status == 206 and data == big[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(big)}"
    assert b.json("GET", "/api/links")[1]["links"][0]["downloads"] == 1  # the ranged GET is not a new download

    # Password: the page needs it, a wrong one is refused, the right one gives a download URL.
    status, locked = b.json("POST", "/api/links", {"bucket": "frank", "key": "notes/a.txt", "password": "sesame-1"})
    assert status == 201 and locked["password_protected"]
    status, public = anonymous.json("GET", f"/api/public/links/{locked['id']}")
    assert public["password_required"] and "download_url" not in public
    status, data, _ = anonymous.request("GET", f"/s/{locked['id']}/download")
    assert status == 403 and b"password" in data
    status, error = anonymous.json("POST", f"/api/public/links/{locked['id']}/unlock", {"password": "nope"})
    assert status == 403 and error["code"] == "WrongPassword"
    status, unlocked = anonymous.json("POST", f"/api/public/links/{locked['id']}/unlock", {"password": "sesame-1"})
    assert status == 200
    assert anonymous.request("GET", unlocked["download_url"])[1] == b"hello"
    forged = unlocked["download_url"][:-4] + "0000"
    assert anonymous.request("GET", forged)[0] == 403

    # Expiry.
    status, short = b.json("POST", "/api/links", {"bucket": "frank", "key": "notes/a.txt", "expires_in_seconds": 1})
    assert status == 201 and short["expires_unix_ms"] is not None
    wait_for(lambda: anonymous.json("GET", f"/api/public/links/{short['id']}")[0] == 410, 10, "the link to expire")
    assert anonymous.json("GET", f"/api/public/links/{short['id']}")[1]["code"] == "LinkExpired"
    status, page, headers = anonymous.request("GET", f"/s/{short['id']}/download")
    assert status == 410 and b"Link expired" in page and headers["Content-Type"].startswith("text/html")

    # Revocation, by the owner only.
    assert other.request("DELETE", f"/api/links/{link['id']}")[0] == 404
    assert b.request("DELETE", f"/api/links/{link['id']}")[0] == 204
    status, page, _ = anonymous.request("GET", f"/s/{link['id']}/download")
    assert status == 410 and b"revoked" in page
    assert anonymous.json("GET", f"/api/public/links/{link['id']}")[1]["code"] == "LinkRevoked"
    assert anonymous.json("GET", "/api/public/links/" + "0" * 32)[1]["code"] == "NoSuchLink"
    # A link whose file was deleted since says so.
    assert b.request("PUT", "/api/s3/frank/notes/gone.txt", b"bye")[0] == 200
    status, orphan = b.json("POST", "/api/links", {"bucket": "frank", "key": "notes/gone.txt"})
    assert status == 201
    assert b.request("DELETE", "/api/s3/frank/notes/gone.txt")[0] == 204
    status, error = anonymous.json("GET", f"/api/public/links/{orphan['id']}")
    assert status == 404 and error["code"] == "NoSuchObject", error
    status, page, _ = anonymous.request("GET", f"/s/{orphan['id']}/download")
    assert status == 404 and b"no longer exists" in page
    status, error = b.json("POST", "/api/links", {"bucket": "frank", "key": "notes/gone.txt"})
    assert status == 404 and error["code"] == "NoSuchObject", error
    states = {l["id"]: l["state"] for l in b.json("GET", "/api/links")[1]["links"]}
    assert states[link["id"]] == "revoked" and states[short["id"]] == "expired" and states[locked["id"]] == "active"


def test_export_is_a_tar_of_every_current_object(cluster):
    b = Browser(cluster.web_url)
    b.sign_up("heidi", "heidi-password")
    files = {"a.txt": b"alpha", "dir/b.bin": os.urandom(700_000), "deep/" + "n" * 120 + ".txt": b"long name",
             "empty": b""}
    for key, data in files.items():
        assert b.request("PUT", f"/api/s3/heidi/{key}", data)[0] == 200
    assert b.request("DELETE", "/api/s3/heidi/a.txt")[0] == 204
    del files["a.txt"]
    status, data, headers = b.request("GET", "/api/export?bucket=heidi")
    assert status == 200 and headers["Content-Type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        got = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}
    assert got == files
    assert b.json("GET", "/api/export?bucket=frank")[0] in (404,)


def test_access_keys_work_with_s3_and_can_be_revoked(cluster):
    b = Browser(cluster.web_url)
    b.sign_up("ivan", "ivan-password")
    status, key = b.json("POST", "/api/keys", {})
    assert status == 201
    s3 = cluster.client(access_key=key["access_key_id"], secret=key["secret_access_key"])
    s3.put_object(Bucket="ivan", Key="from-s3.txt", Body=b"via s3")
    status, listing, _ = b.request("GET", "/api/s3/ivan?list-type=2")
    assert b"<Key>from-s3.txt</Key>" in listing
    assert [k["access_key_id"] for k in b.json("GET", "/api/keys")[1]["keys"]] == [key["access_key_id"]]
    assert b.request("DELETE", f"/api/keys/{key['access_key_id']}")[0] == 204
    with pytest.raises(ClientError) as refused:
        s3.list_objects_v2(Bucket="ivan")
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert b.json("DELETE", f"/api/keys/{key['access_key_id']}")[1]["code"] == "NoSuchKey"


def test_delete_refused_by_a_hold_says_why(cluster):
    b = Browser(cluster.web_url)
    b.sign_up("judy", "judy-password")
    assert b.request("PUT", "/api/s3/judy/contract.pdf", b"%PDF")[0] == 200
    cluster.admin_cli("hold", "place", "--object", "judy/contract.pdf", "--case", "CASE-42",
                      "--requested-by", "court", "--reason", "litigation")
    status, body, _ = b.request("DELETE", "/api/s3/judy/contract.pdf")
    assert status == 403 and b"AccessDenied" in body and b"CASE-42" in body, body
    assert b.request("GET", "/api/s3/judy/contract.pdf")[1] == b"%PDF"


def test_operator_account_from_the_cli_sees_the_dashboard(cluster):
    result = subprocess.run([cluster.binary, "account", "create", "boss", "--operator", "--dev-dir", cluster.data_dir],
                            input="boss-password\n", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "boss (operator)" in result.stdout
    weak = subprocess.run([cluster.binary, "account", "create", "weak", "--dev-dir", cluster.data_dir],
                          input="short\n", capture_output=True, text=True, timeout=60)
    assert weak.returncode == 2 and "8 to 1024" in weak.stderr
    op = Browser(cluster.web_url)
    assert op.sign_in("boss", "boss-password")["role"] == "operator"
    status, state = op.json("GET", "/api/admin/status")
    assert status == 200 and len(state["nodes"]) == 9
    provider = cluster.info["nodes"][0]["provider"]
    status, drill = op.json("GET", f"/api/admin/drill?lose=provider:{provider}")
    assert status == 200 and drill["unreadable"]["versions"] == 0, drill
    user = Browser(cluster.web_url)
    user.sign_up("kim", "kim-password")
    status, error = user.json("GET", "/api/admin/status")
    assert status == 403 and error["code"] == "Forbidden"


def test_pages_are_served_with_a_strict_policy(cluster):
    anonymous = Browser(cluster.web_url)
    for path in ("/", "/files", "/s/" + "0" * 32):
        status, page, headers = anonymous.request("GET", path)
        assert b'<div id="app"' in page or b"<script" in page, page[:200]
        # The build puts the pages beside the binary (build/web); 503 would mean they were not built.
        assert status == 200, (path, status)
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
    assert anonymous.request("GET", "/assets/../../etc/passwd")[0] in (400, 404)
    assert anonymous.request("GET", "/assets/%2e%2e/%2e%2e/etc/passwd")[0] == 400
