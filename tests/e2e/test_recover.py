"""Catalogue recovery (gateway/recover.h): the metadata database is deleted,
and `holdfast recover` brings every object back byte for byte from the
self-describing shards on the nodes -- plain and multipart objects, several
versions of a key, metadata -- even with one node's disk gone as well."""
import glob
import json
import shutil
import os

from cluster import DevCluster, sha256, wait_for

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError


def delete_catalogue(cluster):
    files = glob.glob(os.path.join(cluster.data_dir, "gateway", "meta.db*"))
    assert files, "no metadata database found"
    for path in files:
        os.remove(path)


def test_recover_brings_back_every_object_after_the_catalogue_is_lost():
    with DevCluster(providers=3, nodes_per_provider=3) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket="photos")
        s3.create_bucket(Bucket="history")
        s3.put_bucket_versioning(Bucket="history", VersioningConfiguration={"Status": "Enabled"})
        expected = {}  # (bucket, key) -> sha256 of the current version
        for i, size in enumerate([0, 5, 4096, 300_000, 2 << 20, 5 * (1 << 20) + 3]):
            body = os.urandom(size)
            s3.put_object(Bucket="photos", Key=f"dir/{i}.bin", Body=body, ContentType="image/png",
                          Metadata={"camera": f"c{i}"})
            expected[("photos", f"dir/{i}.bin")] = sha256(body)
        # A multipart object (three parts) through boto3's managed transfer.
        big = os.urandom(13 * (1 << 20))
        with open(os.path.join(cluster.data_dir, "big.bin"), "wb") as f:
            f.write(big)
        s3.upload_file(os.path.join(cluster.data_dir, "big.bin"), "photos", "big.bin",
                       Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
        expected[("photos", "big.bin")] = sha256(big)
        big_etag = s3.head_object(Bucket="photos", Key="big.bin")["ETag"]
        assert big_etag.endswith('-3"')
        # Two versions of one key.
        old, new = os.urandom(1000), os.urandom(2000)
        old_id = s3.put_object(Bucket="history", Key="doc", Body=old)["VersionId"]
        new_id = s3.put_object(Bucket="history", Key="doc", Body=new)["VersionId"]
        expected[("history", "doc")] = sha256(new)

        # The metadata host is lost, and with it one node's disk.
        cluster.stop()
        delete_catalogue(cluster)
        lost_node = cluster.nodes_of("provider-b")[0]
        shutil.rmtree(os.path.join(lost_node["data_dir"], "shards"), ignore_errors=True)
        cluster.start()
        wait_for(lambda: all(state == "up" for state in cluster.node_states().values()) and
                 len(cluster.node_states()) == 9, 60, "every node to register with the new catalogue")
        s3 = cluster.client()
        assert s3.list_buckets()["Buckets"] == []  # the catalogue is empty

        result = cluster.admin_cli("recover", "--owner", "dev", "--poll-ms", "100")
        assert "Recovery done" in result.stdout, result.stdout
        assert "9 object versions recovered (1 multipart" in result.stdout, result.stdout
        assert "could not be recovered" not in result.stdout

        names = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
        assert names == ["history", "photos"]
        for (bucket, key), digest in expected.items():
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert sha256(body) == digest, (bucket, key)
        head = s3.head_object(Bucket="photos", Key="dir/3.bin")
        assert head["ContentType"] == "image/png"
        assert head["Metadata"] == {"camera": "c3"}
        assert s3.head_object(Bucket="photos", Key="big.bin")["ETag"] == big_etag
        # Both versions are back, under their ids.
        assert s3.get_object(Bucket="history", Key="doc", VersionId=old_id)["Body"].read() == old
        assert s3.get_object(Bucket="history", Key="doc", VersionId=new_id)["Body"].read() == new

        # The lost node's shards are rebuilt by repair: full redundancy again.
        wait_for(lambda: cluster.status()["under_protected_versions"] == 0, 120, "repair after recovery")

        # Running it again changes nothing.
        again = cluster.admin_cli("recover", "--owner", "dev", "--json", "--poll-ms", "100")
        final = json.loads(again.stdout.strip().splitlines()[-1])
        assert final["versions_recovered"] == 0 and final["versions_present"] == 9, final


def test_recover_needs_an_owner_and_reports_unrecoverable_versions():
    with DevCluster(providers=3, nodes_per_provider=3) as cluster:
        usage = cluster.admin_cli("recover", check=False)
        assert usage.returncode != 0 and "--owner" in usage.stderr
        s3 = cluster.client()
        s3.create_bucket(Bucket="bkt")
        s3.put_object(Bucket="bkt", Key="k", Body=os.urandom(3 << 20))
        cluster.stop()
        delete_catalogue(cluster)
        # Five of nine shards gone: fewer than k=5 remain.
        for node in cluster.info["nodes"][:5]:
            shutil.rmtree(os.path.join(node["data_dir"], "shards"), ignore_errors=True)
        cluster.start()
        wait_for(lambda: len(cluster.node_states()) == 9 and
                 all(s == "up" for s in cluster.node_states().values()), 60, "nodes")
        result = cluster.admin_cli("recover", "--owner", "dev", check=False)
        assert result.returncode == 3, result.stdout + result.stderr
        assert "1 version(s) could not be recovered" in result.stdout
        assert "bkt/k" in result.stdout and "fewer than k shards" in result.stdout


def test_metadata_backup_restores_owners_users_and_delete_markers_with_a_provider_lost():
    with DevCluster(providers=3, nodes_per_provider=3, extra_args=["--meta-backup-interval-s", "1"]) as cluster:
        alice = json.loads(cluster.admin_cli("user", "add", "alice", "--json").stdout)
        s3a = cluster.client(access_key=alice["access_key_id"], secret=alice["secret_access_key"])
        s3a.create_bucket(Bucket="alice-files")
        s3a.put_bucket_versioning(Bucket="alice-files", VersioningConfiguration={"Status": "Enabled"})
        kept = os.urandom(700_000)
        s3a.put_object(Bucket="alice-files", Key="kept", Body=kept)
        s3a.put_object(Bucket="alice-files", Key="gone", Body=b"deleted later")
        marker = s3a.delete_object(Bucket="alice-files", Key="gone")
        assert marker["DeleteMarker"]
        # Two more backups: the second one's snapshot began after the writes.
        taken = cluster.status()["metadata_backup"]["backups_taken"]
        wait_for(lambda: cluster.status()["metadata_backup"]["backups_taken"] >= taken + 2, 30,
                 "a metadata backup taken after the writes")
        backup = cluster.status()["metadata_backup"]
        assert backup["last_key"].startswith("backups/") and backup["failures"] == 0, backup
        # Written after the backup: only the shards know it.
        late = os.urandom(1 << 20)
        s3a.put_object(Bucket="alice-files", Key="late", Body=late)

        # The metadata host and a whole provider are lost together.
        cluster.stop()
        delete_catalogue(cluster)
        for node in cluster.nodes_of("provider-a"):
            shutil.rmtree(os.path.join(node["data_dir"], "shards"), ignore_errors=True)
        cluster.start()
        wait_for(lambda: len(cluster.node_states()) == 9 and
                 all(s == "up" for s in cluster.node_states().values()), 60, "nodes")

        result = cluster.admin_cli("recover", "--owner", "dev", "--poll-ms", "100")
        assert "Restored the metadata backup backups/" in result.stdout, result.stdout
        assert "could not be recovered" not in result.stdout, result.stdout

        # Alice's key, her bucket (hers, not the --owner's), the delete
        # marker and the object written after the backup all came back.
        s3a = cluster.client(access_key=alice["access_key_id"], secret=alice["secret_access_key"])
        assert [b["Name"] for b in s3a.list_buckets()["Buckets"]] == ["alice-files"]
        assert cluster.client().list_buckets()["Buckets"] == []  # dev owns nothing
        assert s3a.get_object(Bucket="alice-files", Key="kept")["Body"].read() == kept
        assert s3a.get_object(Bucket="alice-files", Key="late")["Body"].read() == late
        versions = s3a.list_object_versions(Bucket="alice-files", Prefix="gone")
        assert [m["VersionId"] for m in versions.get("DeleteMarkers", [])] == [marker["VersionId"]]
        try:
            s3a.get_object(Bucket="alice-files", Key="gone")
            raise AssertionError("a deleted key came back")
        except s3a.exceptions.NoSuchKey:
            pass
        wait_for(lambda: cluster.status()["under_protected_versions"] == 0, 120, "repair after recovery")


def test_recover_with_a_node_down_recovers_from_the_others_and_says_so():
    with DevCluster(providers=3, nodes_per_provider=3) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket="docs")
        expected = {}
        for i in range(6):
            body = os.urandom(100_000 + i)
            s3.put_object(Bucket="docs", Key=f"k{i}", Body=body)
            expected[f"k{i}"] = sha256(body)
        cluster.stop()
        delete_catalogue(cluster)
        cluster.start()
        wait_for(lambda: len(cluster.node_states()) == 9 and
                 all(state == "up" for state in cluster.node_states().values()), 60, "every node to register")
        down = cluster.nodes_of("provider-c")[0]
        cluster.kill_node(down, wipe=False)
        wait_for(lambda: cluster.node_states().get(down["id"]) != "up", 30, f"{down['id']} to be seen down")
        result = cluster.admin_cli("recover", "--owner", "dev", "--poll-ms", "100", check=False)
        assert "Nodes NOT scanned" in result.stdout and down["id"] in result.stdout, result.stdout
        assert "6 object versions recovered" in result.stdout, result.stdout
        s3 = cluster.client()
        for key, digest in expected.items():
            assert sha256(s3.get_object(Bucket="docs", Key=key)["Body"].read()) == digest, key


def test_a_version_in_the_backup_whose_shards_were_collected_since_is_reported_not_served():
    with DevCluster(providers=3, nodes_per_provider=3, extra_args=["--meta-backup-interval-s", "1"]) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket="files")
        stays = os.urandom(300_000)
        s3.put_object(Bucket="files", Key="stays", Body=stays)
        s3.put_object(Bucket="files", Key="removed", Body=os.urandom(300_000))
        taken = cluster.status()["metadata_backup"]["backups_taken"]
        wait_for(lambda: cluster.status()["metadata_backup"]["backups_taken"] >= taken + 2, 30,
                 "a metadata backup taken after the writes")
        # From now on no backups: the delete below happens after the last one.
        cluster.stop()
        cluster.extra_args = ["--meta-backup-interval-s", "0"]
        cluster.start()
        s3 = cluster.client()
        s3.delete_object(Bucket="files", Key="removed")
        wait_for(lambda: all(v["key"] != "removed" for v in cluster.shards_on_disk("files").values()), 60,
                 "GC to remove the deleted object's shards")
        cluster.stop()
        delete_catalogue(cluster)
        cluster.start()
        wait_for(lambda: len(cluster.node_states()) == 9 and
                 all(s == "up" for s in cluster.node_states().values()), 60, "nodes")
        result = cluster.admin_cli("recover", "--owner", "dev", "--json", "--poll-ms", "100", check=False)
        assert result.returncode == 3, result  # 3: some versions could not be recovered
        final = json.loads(result.stdout.strip().splitlines()[-1])
        assert final["backup_restored"], final
        assert final["backup_versions_without_shards"] == 1, final
        assert [u["key"] for u in final["unrecoverable"]] == ["removed"], final
        s3 = cluster.client()
        try:
            s3.get_object(Bucket="files", Key="removed")["Body"].read()
            raise AssertionError("served an object none of whose shards exist")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ServiceUnavailable", e.response
        assert s3.get_object(Bucket="files", Key="stays")["Body"].read() == stays
