"""Multipart uploads against `holdfast dev` with boto3, awscli and s3cmd:
every operation (create, upload part, upload part copy, complete, abort,
list parts, list uploads), S3's rules and error codes, ETags as S3 makes
them, parts that are replaced or left out being deleted from the nodes, and
abandoned uploads expiring."""
import hashlib
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from cluster import DevCluster, sha256, wait_for

BUCKET = "multipart"
MiB = 1 << 20


def multipart_etag(parts):
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def code_of(excinfo):
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def s3(cluster):
    client = cluster.client()
    client.create_bucket(Bucket=BUCKET)
    return client


def part_versions_on_disk(cluster, upload_id):
    """Part number -> set of part version ids with shards on disk, for one upload."""
    parts = {}
    for footer in cluster.shard_footers():
        if footer.get("upload_id") == upload_id:
            parts.setdefault(footer["part_number"], set()).add(footer["version_id"])
    return parts


def test_upload_list_complete_and_read_back(cluster, s3):
    created = s3.create_multipart_upload(Bucket=BUCKET, Key="film.mp4", ContentType="video/mp4",
                                         Metadata={"camera": "one"}, CacheControl="max-age=60")
    upload_id = created["UploadId"]
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 17), os.urandom(MiB // 3)]
    etags = []
    for number, data in enumerate(parts, start=1):
        put = s3.upload_part(Bucket=BUCKET, Key="film.mp4", UploadId=upload_id, PartNumber=number, Body=data)
        assert put["ETag"] == '"' + hashlib.md5(data).hexdigest() + '"'
        etags.append(put["ETag"])

    listed = s3.list_parts(Bucket=BUCKET, Key="film.mp4", UploadId=upload_id)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3]
    assert [p["Size"] for p in listed["Parts"]] == [len(p) for p in parts]
    assert [p["ETag"] for p in listed["Parts"]] == etags
    paged = s3.list_parts(Bucket=BUCKET, Key="film.mp4", UploadId=upload_id, MaxParts=2)
    assert paged["IsTruncated"] and paged["NextPartNumberMarker"] == 2
    rest = s3.list_parts(Bucket=BUCKET, Key="film.mp4", UploadId=upload_id, PartNumberMarker=2)
    assert [p["PartNumber"] for p in rest["Parts"]] == [3] and not rest["IsTruncated"]
    uploads = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("film.mp4", upload_id)]
    # Not an object until completed.
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=BUCKET, Key="film.mp4")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    done = s3.complete_multipart_upload(
        Bucket=BUCKET, Key="film.mp4", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    assert done["ETag"] == multipart_etag(parts)
    whole = b"".join(parts)
    head = s3.head_object(Bucket=BUCKET, Key="film.mp4")
    assert head["ContentLength"] == len(whole)
    assert head["ETag"] == multipart_etag(parts)
    assert head["ContentType"] == "video/mp4"
    assert head["Metadata"] == {"camera": "one"}
    assert head["CacheControl"] == "max-age=60"
    got = s3.get_object(Bucket=BUCKET, Key="film.mp4")["Body"].read()
    assert sha256(got) == sha256(whole)
    # Ranges inside one part and across part boundaries.
    for first, last in [(0, 99), (5 * MiB - 10, 5 * MiB + 10), (10 * MiB, len(whole) - 1),
                        (4 * MiB, 10 * MiB + 100)]:
        piece = s3.get_object(Bucket=BUCKET, Key="film.mp4", Range=f"bytes={first}-{last}")["Body"].read()
        assert piece == whole[first:last + 1], (first, last)
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("film.mp4", len(whole))]


def test_replaced_and_unlisted_parts_leave_the_disks(cluster, s3):
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="replaced")["UploadId"]
    first = s3.upload_part(Bucket=BUCKET, Key="replaced", UploadId=upload_id, PartNumber=1,
                           Body=os.urandom(5 * MiB))
    wait_for(lambda: len(part_versions_on_disk(cluster, upload_id).get(1, ())) == 1, 10, "part 1 on disk")
    old_id = next(iter(part_versions_on_disk(cluster, upload_id)[1]))
    final = os.urandom(5 * MiB)
    again = s3.upload_part(Bucket=BUCKET, Key="replaced", UploadId=upload_id, PartNumber=1, Body=final)
    assert again["ETag"] != first["ETag"]
    s3.upload_part(Bucket=BUCKET, Key="replaced", UploadId=upload_id, PartNumber=2, Body=b"left out")
    tail = os.urandom(1000)
    third = s3.upload_part(Bucket=BUCKET, Key="replaced", UploadId=upload_id, PartNumber=3, Body=tail)
    # The stale ETag of part 1 is refused: it names bytes no longer there.
    with pytest.raises(ClientError) as stale:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="replaced", UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 3, "ETag": third["ETag"]}]})
    assert code_of(stale) == "InvalidPart"
    s3.complete_multipart_upload(Bucket=BUCKET, Key="replaced", UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": again["ETag"]}, {"PartNumber": 3, "ETag": third["ETag"]}]})
    assert s3.get_object(Bucket=BUCKET, Key="replaced")["Body"].read() == final + tail
    # Only parts 1 (the second upload) and 3 keep shards; GC removes the rest.
    wait_for(lambda: set(part_versions_on_disk(cluster, upload_id)) == {1, 3} and
             old_id not in part_versions_on_disk(cluster, upload_id)[1], 30, "replaced parts deleted")
    # Overwriting or deleting the object removes its parts too.
    s3.delete_object(Bucket=BUCKET, Key="replaced")
    wait_for(lambda: part_versions_on_disk(cluster, upload_id) == {}, 30, "deleted object's parts gone")


def test_rules_and_errors(cluster, s3):
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="rules")["UploadId"]
    small = s3.upload_part(Bucket=BUCKET, Key="rules", UploadId=upload_id, PartNumber=1, Body=b"x" * 1000)
    last = s3.upload_part(Bucket=BUCKET, Key="rules", UploadId=upload_id, PartNumber=2, Body=b"y" * 10)

    def complete(parts, key="rules", upload=upload_id):
        return s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload,
                                            MultipartUpload={"Parts": parts})

    with pytest.raises(ClientError) as too_small:
        complete([{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}])
    assert code_of(too_small) == "EntityTooSmall"
    with pytest.raises(ClientError) as order:
        complete([{"PartNumber": 2, "ETag": last["ETag"]}, {"PartNumber": 1, "ETag": small["ETag"]}])
    assert code_of(order) == "InvalidPartOrder"
    with pytest.raises(ClientError) as absent:
        complete([{"PartNumber": 7, "ETag": last["ETag"]}])
    assert code_of(absent) == "InvalidPart"
    with pytest.raises(ClientError) as number:
        s3.upload_part(Bucket=BUCKET, Key="rules", UploadId=upload_id, PartNumber=10001, Body=b"z")
    assert code_of(number) == "InvalidArgument"
    # An upload id is good only for its own key, and made-up ids name nothing.
    for key, upload in [("other-key", upload_id), ("rules", "0" * 32), ("rules", "not-an-id")]:
        with pytest.raises(ClientError) as unknown:
            s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=b"z")
        assert code_of(unknown) == "NoSuchUpload", (key, upload)
    # A single part may be small: it is also the last.
    done = complete([{"PartNumber": 2, "ETag": last["ETag"]}])
    assert done["ETag"] == multipart_etag([b"y" * 10])
    assert s3.get_object(Bucket=BUCKET, Key="rules")["Body"].read() == b"y" * 10
    # Completed: the upload is gone for every operation.
    with pytest.raises(ClientError) as gone:
        s3.upload_part(Bucket=BUCKET, Key="rules", UploadId=upload_id, PartNumber=3, Body=b"late")
    assert code_of(gone) == "NoSuchUpload"
    with pytest.raises(ClientError) as gone:
        s3.abort_multipart_upload(Bucket=BUCKET, Key="rules", UploadId=upload_id)
    assert code_of(gone) == "NoSuchUpload"
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket=BUCKET, Key="rules", UploadId=upload_id)
    assert code_of(gone) == "NoSuchUpload"


def test_abort_deletes_parts(cluster, s3):
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="aborted")["UploadId"]
    for number in (1, 2):
        s3.upload_part(Bucket=BUCKET, Key="aborted", UploadId=upload_id, PartNumber=number,
                       Body=os.urandom(5 * MiB))
    wait_for(lambda: set(part_versions_on_disk(cluster, upload_id)) == {1, 2}, 10, "parts on disk")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="aborted", UploadId=upload_id)
    wait_for(lambda: part_versions_on_disk(cluster, upload_id) == {}, 30, "aborted parts deleted")
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket=BUCKET, Key="aborted", UploadId=upload_id)
    assert code_of(gone) == "NoSuchUpload"
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=BUCKET, Key="aborted")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_upload_part_copy(cluster, s3):
    source = os.urandom(12 * MiB + 5)
    s3.put_object(Bucket=BUCKET, Key="copy-source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key="copied")["UploadId"]
    one = s3.upload_part_copy(Bucket=BUCKET, Key="copied", UploadId=upload_id, PartNumber=1,
                              CopySource={"Bucket": BUCKET, "Key": "copy-source"},
                              CopySourceRange=f"bytes=0-{6 * MiB - 1}")
    assert one["CopyPartResult"]["ETag"] == '"' + hashlib.md5(source[:6 * MiB]).hexdigest() + '"'
    two = s3.upload_part_copy(Bucket=BUCKET, Key="copied", UploadId=upload_id, PartNumber=2,
                              CopySource={"Bucket": BUCKET, "Key": "copy-source"},
                              CopySourceRange=f"bytes={6 * MiB}-{len(source) - 1}")
    with pytest.raises(ClientError) as beyond:
        s3.upload_part_copy(Bucket=BUCKET, Key="copied", UploadId=upload_id, PartNumber=3,
                            CopySource={"Bucket": BUCKET, "Key": "copy-source"},
                            CopySourceRange=f"bytes=0-{len(source)}")
    assert code_of(beyond) == "InvalidRange"
    s3.complete_multipart_upload(Bucket=BUCKET, Key="copied", UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": one["CopyPartResult"]["ETag"]},
                  {"PartNumber": 2, "ETag": two["CopyPartResult"]["ETag"]}]})
    assert sha256(s3.get_object(Bucket=BUCKET, Key="copied")["Body"].read()) == sha256(source)
    # A whole multipart object as a copy source (read part after part).
    s3.copy_object(Bucket=BUCKET, Key="copied-again", CopySource={"Bucket": BUCKET, "Key": "copied"})
    assert sha256(s3.get_object(Bucket=BUCKET, Key="copied-again")["Body"].read()) == sha256(source)


def test_list_uploads_with_prefix_delimiter_and_pages(cluster, s3):
    s3.create_bucket(Bucket="uploads-listing")
    ids = {}
    for key in ["a/1", "a/2", "b", "b", "c/x/y"]:
        ids.setdefault(key, []).append(
            s3.create_multipart_upload(Bucket="uploads-listing", Key=key)["UploadId"])
    listed = s3.list_multipart_uploads(Bucket="uploads-listing", Delimiter="/")
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["a/", "c/"]
    assert [u["Key"] for u in listed["Uploads"]] == ["b", "b"]
    assert {u["UploadId"] for u in listed["Uploads"]} == set(ids["b"])
    prefixed = s3.list_multipart_uploads(Bucket="uploads-listing", Prefix="a/")
    assert [u["Key"] for u in prefixed["Uploads"]] == ["a/1", "a/2"]
    seen, marker, upload_marker = [], "", ""
    while True:
        page = s3.list_multipart_uploads(Bucket="uploads-listing", MaxUploads=2, KeyMarker=marker,
                                         UploadIdMarker=upload_marker)
        seen += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        marker, upload_marker = page["NextKeyMarker"], page["NextUploadIdMarker"]
    assert sorted(seen) == sorted((k, u) for k, us in ids.items() for u in us)
    assert len(seen) == len(set(seen)) == 5
    # An empty bucket can be deleted over uploads in progress; they go with it.
    s3.delete_bucket(Bucket="uploads-listing")


def test_awscli_multipart_cp_and_s3api(cluster, tmp_path):
    data = os.urandom(40 * MiB + 123)
    source = tmp_path / "forty.bin"
    source.write_bytes(data)
    cluster.aws("s3", "mb", "s3://awscli-mp")
    cluster.aws("s3", "cp", str(source), "s3://awscli-mp/forty.bin")  # 8 MiB parts: 6 parts
    head = cluster.client().head_object(Bucket="awscli-mp", Key="forty.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-6"'), head["ETag"]
    back = tmp_path / "back.bin"
    cluster.aws("s3", "cp", "s3://awscli-mp/forty.bin", str(back))
    assert sha256(back.read_bytes()) == sha256(data)
    # s3api, step by step.
    import json
    created = json.loads(cluster.aws("s3api", "create-multipart-upload", "--bucket", "awscli-mp",
                                     "--key", "steps").stdout)
    part_file = tmp_path / "part"
    part_file.write_bytes(data[:MiB])
    put = json.loads(cluster.aws("s3api", "upload-part", "--bucket", "awscli-mp", "--key", "steps",
                                 "--upload-id", created["UploadId"], "--part-number", "1",
                                 "--body", str(part_file)).stdout)
    parts = json.loads(cluster.aws("s3api", "list-parts", "--bucket", "awscli-mp", "--key", "steps",
                                   "--upload-id", created["UploadId"]).stdout)
    assert [p["ETag"] for p in parts["Parts"]] == [put["ETag"]]
    uploads = json.loads(cluster.aws("s3api", "list-multipart-uploads", "--bucket", "awscli-mp").stdout)
    assert [u["UploadId"] for u in uploads["Uploads"]] == [created["UploadId"]]
    layout = tmp_path / "parts.json"
    layout.write_text(json.dumps({"Parts": [{"PartNumber": 1, "ETag": put["ETag"]}]}))
    cluster.aws("s3api", "complete-multipart-upload", "--bucket", "awscli-mp", "--key", "steps",
                "--upload-id", created["UploadId"], "--multipart-upload", f"file://{layout}")
    got = tmp_path / "steps"
    cluster.aws("s3", "cp", "s3://awscli-mp/steps", str(got))
    assert got.read_bytes() == data[:MiB]
    second = json.loads(cluster.aws("s3api", "create-multipart-upload", "--bucket", "awscli-mp",
                                    "--key", "dropped").stdout)
    cluster.aws("s3api", "abort-multipart-upload", "--bucket", "awscli-mp", "--key", "dropped",
                "--upload-id", second["UploadId"])
    uploads = json.loads(cluster.aws("s3api", "list-multipart-uploads", "--bucket", "awscli-mp").stdout or "{}")
    assert uploads.get("Uploads", []) == []


def test_s3cmd_multipart(cluster, tmp_path):
    config = tmp_path / "s3cfg"
    host = cluster.endpoint.removeprefix("http://")
    config.write_text(
        "[default]\n"
        f"access_key = {cluster.info['access_key']}\nsecret_key = {cluster.info['secret_key']}\n"
        f"host_base = {host}\nhost_bucket = {host}\nuse_https = False\nsignature_v2 = False\n")
    s3cmd = ["s3cmd", "-c", str(config), "--multipart-chunk-size-mb=5"]
    env = dict(os.environ)
    data = os.urandom(12 * MiB + 7)
    source = tmp_path / "twelve.bin"
    source.write_bytes(data)
    subprocess.run(s3cmd + ["mb", "s3://s3cmd-mp"], env=env, check=True, capture_output=True)
    put = subprocess.run(s3cmd + ["put", str(source), "s3://s3cmd-mp/twelve.bin"], env=env,
                         capture_output=True, text=True)
    assert put.returncode == 0, put.stderr
    # Three 5 MiB parts: the ETag says so.
    head = cluster.client().head_object(Bucket="s3cmd-mp", Key="twelve.bin")
    assert head["ETag"].endswith('-3"') and head["ContentLength"] == len(data)
    back = tmp_path / "back.bin"
    got = subprocess.run(s3cmd + ["get", "s3://s3cmd-mp/twelve.bin", str(back)], env=env,
                         capture_output=True, text=True)
    assert got.returncode == 0, got.stderr
    assert sha256(back.read_bytes()) == sha256(data)


def test_abandoned_uploads_expire():
    with DevCluster(extra_args=["--multipart-expiry-s", "2"]) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket="expiry")
        upload_id = s3.create_multipart_upload(Bucket="expiry", Key="left")["UploadId"]
        s3.upload_part(Bucket="expiry", Key="left", UploadId=upload_id, PartNumber=1, Body=os.urandom(MiB))
        wait_for(lambda: s3.list_multipart_uploads(Bucket="expiry").get("Uploads", []) == [], 30,
                 "the abandoned upload to expire")
        wait_for(lambda: part_versions_on_disk(cluster, upload_id) == {}, 30, "its parts to be deleted")
        with pytest.raises(ClientError) as gone:
            s3.upload_part(Bucket="expiry", Key="left", UploadId=upload_id, PartNumber=2, Body=b"late")
        assert code_of(gone) == "NoSuchUpload"
