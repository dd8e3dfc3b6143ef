"""`holdfast rebalance` (gateway/rebalance.h) with real processes: objects
written before a node joined are moved onto it where today's placement picks
it -- a dry run counts them first and moves nothing -- every object reads back
byte for byte with all its shards and within the per-provider cap, the old
copies are collected, and a second run finds nothing left to move."""
import json
import os

from cluster import DevCluster, wait_for

KiB = 1 << 10


def rebalance(cluster, *args):
    result = cluster.admin_cli("rebalance", "--poll-ms", "100", "--json", *args, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_rebalance_moves_old_objects_onto_a_new_node():
    with DevCluster(providers=3, nodes_per_provider=2) as cluster:
        s3 = cluster.client()
        s3.create_bucket(Bucket="old")
        data = {f"k{i:02d}": os.urandom(96 * KiB + i) for i in range(30)}
        for key, body in data.items():
            s3.put_object(Bucket="old", Key=key, Body=body)
        before = cluster.shards_on_disk("old")
        assert len(before) == len(data)

        # A third server in provider-a's one site (dev puts each provider's
        # nodes in "<provider>-dc1"; a node in a new site would be preferred
        # for every object, for site diversity).
        cluster.add_node("a3", "provider-a", "provider-a-dc1")
        dry = rebalance(cluster, "--dry-run")
        assert dry["dry_run"] and dry["shards_moved"] == 0 and dry["shards_skipped"] == 0, dry
        # Rendezvous ranking: the new node is among provider-a's top two of
        # three for about two objects in three, one shard each.
        assert 0 < dry["shards_misplaced"] < len(data), dry
        assert cluster.shards_on_disk("old") == before  # a dry run moves nothing

        done = rebalance(cluster)
        assert not done["dry_run"] and done["shards_moved"] == dry["shards_misplaced"], (dry, done)
        assert done["shards_skipped"] == 0 and done["versions_scanned"] >= len(data), done

        for key, body in data.items():
            assert s3.get_object(Bucket="old", Key=key)["Body"].read() == body
        providers = {n["id"]: n["provider"] for n in cluster.info["nodes"]}

        def settled():
            versions = cluster.shards_on_disk("old")
            on_new = sum(1 for v in versions.values() for nodes in v["nodes"].values() if "a3" in nodes)
            exact = all(len(v["nodes"]) == v["total"] and all(len(n) == 1 for n in v["nodes"].values())
                        for v in versions.values())
            return on_new == done["shards_moved"] and exact
        # Old copies are deleted by GC once the new ones are recorded.
        wait_for(settled, 30, "GC to remove the moved shards' old copies")
        for v in cluster.shards_on_disk("old").values():
            per_provider = {}
            for nodes in v["nodes"].values():
                per_provider[providers[nodes[0]]] = per_provider.get(providers[nodes[0]], 0) + 1
            assert max(per_provider.values()) <= 2, v  # the cap of this topology

        again = rebalance(cluster, "--dry-run")
        assert again["shards_misplaced"] == 0, again
