// The MetaStore contract on the SQLite backend: buckets, the write protocol,
// GC queueing, shard bookkeeping, persistence and concurrency.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "meta/meta_store.h"
#include "meta/sqlite_db.h"
#include "meta/sqlite_schema.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using namespace holdfast::meta::test_util;  // NOLINT: test helpers

class MetaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open();
    ASSERT_OK(store_->CreateBucket(Bucket{"b", "alice", "eu", 1}));
  }

  fs::path DbPath() const { return dir_.path() / "meta.db"; }

  void Open() {
    store_.reset();
    auto opened = OpenSqliteStore(DbPath(), clock_);
    ASSERT_TRUE(opened.ok()) << Why(opened);
    store_ = std::move(opened).value();
  }

  // A second connection to the same file, for test set-up and inspection.
  std::unique_ptr<sqlite::Db> RawDb() {
    auto db = sqlite::Db::Open(DbPath());
    if (!db.ok()) return nullptr;
    return std::move(db).value();
  }

  std::vector<GcItem> Gc() {
    auto items = store_->NextGcItems(0, 1000);
    EXPECT_TRUE(items.ok()) << Why(items);
    return items.ok() ? *items : std::vector<GcItem>{};
  }

  Status Commit(const ObjectVersion& version) {
    Status begun = store_->BeginWrite(PendingFor(version, version.created_unix_ms));
    if (!begun.ok()) return begun;
    auto replaced = store_->CommitObject(version);
    if (!replaced.ok()) return replaced.error();
    return Status::Ok();
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<MetaStore> store_;
};

// --- Buckets, nodes, keys ---------------------------------------------------

TEST_F(MetaStoreTest, BucketsCrud) {
  EXPECT_ERRC(store_->CreateBucket(Bucket{"b", "bob", "us", 2}), Errc::kAlreadyExists);
  EXPECT_ERRC(store_->CreateBucket(Bucket{"", "bob", "us", 2}), Errc::kInvalidArgument);
  ASSERT_OK(store_->CreateBucket(Bucket{"c", "bob", "us", 2}));
  ASSERT_OK(store_->CreateBucket(Bucket{"a", "alice", "us", 3}));

  auto bucket = store_->GetBucket("c");
  ASSERT_OK(bucket);
  EXPECT_EQ(bucket->owner_id, "bob");
  EXPECT_EQ(bucket->region, "us");
  EXPECT_EQ(bucket->created_unix_ms, 2);
  EXPECT_ERRC(store_->GetBucket("nope"), Errc::kNotFound);

  auto alice = store_->ListBuckets("alice");
  ASSERT_OK(alice);
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].name, "a");
  EXPECT_EQ((*alice)[1].name, "b");
  auto all = store_->ListBuckets("");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 3u);

  ASSERT_OK(store_->DeleteBucket("c"));
  EXPECT_ERRC(store_->DeleteBucket("c"), Errc::kNotFound);
  EXPECT_ERRC(store_->GetBucket("c"), Errc::kNotFound);
}

TEST_F(MetaStoreTest, NodesAndAccessKeys) {
  NodeRecord node{"n1", "p1", "s1", "127.0.0.1:9001", 1000, 10, 50, 60};
  ASSERT_OK(store_->UpsertNode(node));
  node.used_bytes = 20;
  node.endpoint = "127.0.0.1:9002";
  node.first_seen_unix_ms = 999;  // must not overwrite the first sighting
  node.last_heartbeat_unix_ms = 70;
  ASSERT_OK(store_->UpsertNode(node));
  ASSERT_OK(store_->UpsertNode(NodeRecord{"n0", "p0", "s0", "h:1", 1, 0, 5, 5}));
  auto nodes = store_->ListNodes();
  ASSERT_OK(nodes);
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].id, "n0");
  const NodeRecord& n1 = (*nodes)[1];
  EXPECT_EQ(n1.endpoint, "127.0.0.1:9002");
  EXPECT_EQ(n1.used_bytes, 20u);
  EXPECT_EQ(n1.capacity_bytes, 1000u);
  EXPECT_EQ(n1.first_seen_unix_ms, 50);
  EXPECT_EQ(n1.last_heartbeat_unix_ms, 70);

  ASSERT_OK(store_->PutAccessKey(AccessKey{"AK", "secret1", "alice"}));
  ASSERT_OK(store_->PutAccessKey(AccessKey{"AK", "secret2", "alice"}));
  auto key = store_->GetAccessKey("AK");
  ASSERT_OK(key);
  EXPECT_EQ(key->secret_key, "secret2");
  EXPECT_EQ(key->user_id, "alice");
  EXPECT_ERRC(store_->GetAccessKey("nope"), Errc::kNotFound);
}

// --- The write protocol -----------------------------------------------------

TEST_F(MetaStoreTest, BeginCommitGetRoundTrip) {
  ObjectVersion version = MakeVersion("b", "dir/file.txt", 1);
  version.data_shard_count = 3;
  version.parity_shard_count = 2;
  version.shards = {Shard(0, "n0"), Shard(1, "", ShardState::kMissing), Shard(2, "n2"),
                    Shard(3, "n3", ShardState::kMissing), Shard(4, "n4")};
  version.user_metadata = {{"author", "Zoë 日本"}, {"empty", ""}};
  version.headers = {{"cache-control", "max-age=60"}, {"content-disposition", "attachment"}};
  ASSERT_OK(store_->BeginWrite(PendingFor(version, 10)));
  EXPECT_ERRC(store_->BeginWrite(PendingFor(version, 10)), Errc::kAlreadyExists);
  auto replaced = store_->CommitObject(version);
  ASSERT_OK(replaced);
  EXPECT_TRUE(replaced->replaced_version_ids.empty());
  EXPECT_TRUE(replaced->null_version);

  auto got = store_->GetObject("b", "dir/file.txt");
  ASSERT_OK(got);
  EXPECT_EQ(got->version_id, version.version_id);
  EXPECT_EQ(got->bucket, "b");
  EXPECT_EQ(got->key, "dir/file.txt");
  EXPECT_EQ(got->size_bytes, version.size_bytes);
  EXPECT_EQ(got->etag, version.etag);
  EXPECT_EQ(got->content_type, "text/plain");
  EXPECT_EQ(got->user_metadata, version.user_metadata);
  EXPECT_EQ(got->headers, version.headers);
  EXPECT_EQ(got->created_unix_ms, version.created_unix_ms);
  EXPECT_EQ(got->data_shard_count, 3);
  EXPECT_EQ(got->parity_shard_count, 2);
  EXPECT_EQ(got->block_size_bytes, 65536u);
  ASSERT_EQ(got->shards.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(got->shards[i].shard_index, version.shards[i].shard_index);
    EXPECT_EQ(got->shards[i].node_id, version.shards[i].node_id);
    EXPECT_EQ(got->shards[i].state, version.shards[i].state);
  }

  auto pending = store_->ExpiredPendingWrites(INT64_MAX, 10);
  ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
  EXPECT_TRUE(Gc().empty());
  EXPECT_ERRC(store_->GetObject("b", "dir/other"), Errc::kNotFound);
  EXPECT_ERRC(store_->GetObject("nope", "dir/file.txt"), Errc::kNotFound);
}

TEST_F(MetaStoreTest, InvalidInputIsRefused) {
  ObjectVersion version = MakeVersion("b", "k", 1);
  version.shards.pop_back();
  EXPECT_ERRC(store_->CommitObject(version), Errc::kInvalidArgument);
  version = MakeVersion("b", "k", 1);
  version.shards[1].node_id = "";  // ok but nowhere
  EXPECT_ERRC(store_->CommitObject(version), Errc::kInvalidArgument);
  version = MakeVersion("b", "k", 1);
  std::swap(version.shards[0], version.shards[1]);
  EXPECT_ERRC(store_->CommitObject(version), Errc::kInvalidArgument);
  version = MakeVersion("b", "k", 1);
  version.user_metadata["bad"] = "\xc3";  // not UTF-8
  ASSERT_OK(store_->BeginWrite(PendingFor(version, 0)));
  EXPECT_ERRC(store_->CommitObject(version), Errc::kInvalidArgument);
  EXPECT_ERRC(store_->NextGcItems(0, -1), Errc::kInvalidArgument);
  EXPECT_ERRC(store_->BeginWrite(PendingFor(MakeVersion("nope", "k", 2), 0)), Errc::kNotFound);
}

TEST_F(MetaStoreTest, OverwriteReturnsReplacedAndQueuesItsShards) {
  ObjectVersion first = MakeVersion("b", "k", 1);
  first.shards = {Shard(0, "n0"), Shard(1, "n1", ShardState::kMissing),
                  Shard(2, "", ShardState::kMissing)};
  ASSERT_OK(Commit(first));
  EXPECT_TRUE(Gc().empty());

  clock_.now_unix_ms = 5000;
  ObjectVersion second = MakeVersion("b", "k", 2);
  ASSERT_OK(store_->BeginWrite(PendingFor(second, 4000)));
  auto replaced = store_->CommitObject(second);
  ASSERT_OK(replaced);
  EXPECT_EQ(replaced->replaced_version_ids, std::vector<std::string>{first.version_id});

  auto got = store_->GetObject("b", "k");
  ASSERT_OK(got);
  EXPECT_EQ(got->version_id, second.version_id);

  // Every shard of the replaced version that has a node, also a missing one
  // (it may have left a partial file); never the node-less one.
  std::vector<GcItem> gc = Gc();
  ASSERT_EQ(gc.size(), 2u);
  EXPECT_EQ(gc[0].version_id, first.version_id);
  EXPECT_EQ(gc[0].shard_index, 0);
  EXPECT_EQ(gc[0].node_id, "n0");
  EXPECT_EQ(gc[0].queued_unix_ms, 5000);
  EXPECT_EQ(gc[1].shard_index, 1);
  EXPECT_EQ(gc[1].node_id, "n1");
  EXPECT_LT(gc[0].id, gc[1].id);

  ASSERT_OK(store_->CompleteGcItem(gc[0].id));
  ASSERT_OK(store_->CompleteGcItem(gc[0].id));  // idempotent
  gc = Gc();
  ASSERT_EQ(gc.size(), 1u);
  EXPECT_EQ(gc[0].node_id, "n1");
}

TEST_F(MetaStoreTest, CommitQueuesPlannedShardsThatEndedElsewhere) {
  ObjectVersion version = MakeVersion("b", "k", 1);
  PendingWrite pending = PendingFor(version, 1);
  pending.shards[1].node_id = "slow-node";  // the gateway gave up on it...
  ASSERT_OK(store_->BeginWrite(pending));
  ASSERT_OK(store_->CommitObject(version));  // ...and wrote shard 1 to n1 instead
  std::vector<GcItem> gc = Gc();
  ASSERT_EQ(gc.size(), 1u);
  EXPECT_EQ(gc[0].version_id, version.version_id);
  EXPECT_EQ(gc[0].shard_index, 1);
  EXPECT_EQ(gc[0].node_id, "slow-node");
}

TEST_F(MetaStoreTest, CommitAfterAbortIsRefused) {
  ObjectVersion version = MakeVersion("b", "k", 1);
  ASSERT_OK(store_->BeginWrite(PendingFor(version, 1)));
  ASSERT_OK(store_->AbortWrite(version.version_id));
  EXPECT_ERRC(store_->CommitObject(version), Errc::kConflict);
  EXPECT_ERRC(store_->GetObject("b", "k"), Errc::kNotFound);
  EXPECT_FALSE(Gc().empty());  // the aborted write's shards are queued
}

// Conditional writes are decided inside the commit: a writer whose
// condition no longer holds is aborted there (shards to GC), never committed.
TEST_F(MetaStoreTest, ConditionalCommitsAreDecidedAtTheCommit) {
  WriteCondition absent;
  absent.if_none_match = true;
  ObjectVersion first = MakeVersion("b", "k", 1);
  ObjectVersion second = MakeVersion("b", "k", 2);
  // Both writers began while the key was free...
  ASSERT_OK(store_->BeginWrite(PendingFor(first, 1)));
  ASSERT_OK(store_->BeginWrite(PendingFor(second, 1)));
  auto won = store_->CommitObject(first, absent);
  ASSERT_OK(won);
  EXPECT_TRUE(won->null_version);
  EXPECT_EQ(won->versioning, Versioning::kNeverEnabled);
  // ...only the first commits; the second is aborted in the same transaction.
  EXPECT_ERRC(store_->CommitObject(second, absent), Errc::kPreconditionFailed);
  EXPECT_EQ(store_->GetObject("b", "k")->version_id, first.version_id);
  std::vector<GcItem> gc = Gc();
  ASSERT_EQ(gc.size(), 3u);
  for (const GcItem& item : gc) EXPECT_EQ(item.version_id, second.version_id);
  EXPECT_ERRC(store_->CommitObject(second), Errc::kConflict);  // no pending write left

  // If-Match: only while the ETag is still the one named.
  WriteCondition match;
  match.if_match_etags = {first.etag};
  ObjectVersion third = MakeVersion("b", "k", 3), fourth = MakeVersion("b", "k", 4);
  ASSERT_OK(store_->BeginWrite(PendingFor(third, 1)));
  ASSERT_OK(store_->BeginWrite(PendingFor(fourth, 1)));
  ASSERT_OK(store_->CommitObject(third, match));
  EXPECT_ERRC(store_->CommitObject(fourth, match), Errc::kPreconditionFailed);
  match.if_match_etags = {"*"};
  ObjectVersion fifth = MakeVersion("b", "gone", 5);
  ASSERT_OK(store_->BeginWrite(PendingFor(fifth, 1)));
  EXPECT_ERRC(store_->CommitObject(fifth, match), Errc::kPreconditionFailed);  // no object to match

  // The outcome reports the versioning at the commit.
  ASSERT_OK(store_->SetBucketVersioning("b", Versioning::kEnabled));
  ObjectVersion sixth = MakeVersion("b", "k", 6);
  ASSERT_OK(store_->BeginWrite(PendingFor(sixth, 1)));
  auto versioned = store_->CommitObject(sixth);
  ASSERT_OK(versioned);
  EXPECT_FALSE(versioned->null_version);
  EXPECT_EQ(versioned->versioning, Versioning::kEnabled);
}

TEST_F(MetaStoreTest, BucketPolicyIsStoredWithTheBucket) {
  EXPECT_EQ(store_->GetBucket("b")->policy, "");
  ASSERT_OK(store_->SetBucketPolicy("b", R"({"Statement":[]})"));
  EXPECT_EQ(store_->GetBucket("b")->policy, R"({"Statement":[]})");
  ASSERT_OK(store_->SetBucketPolicy("b", ""));
  EXPECT_EQ(store_->GetBucket("b")->policy, "");
  EXPECT_ERRC(store_->SetBucketPolicy("nope", "{}"), Errc::kNotFound);
  // A bucket deleted and created again starts without a policy.
  ASSERT_OK(store_->SetBucketPolicy("b", "{}"));
  ASSERT_OK(store_->DeleteBucket("b"));
  ASSERT_OK(store_->CreateBucket(Bucket{"b", "bob", "eu", 2}));
  EXPECT_EQ(store_->GetBucket("b")->policy, "");
}

TEST_F(MetaStoreTest, GcItemsPageByIdSoUnreachableNodesDoNotStallTheQueue) {
  for (int i = 1; i <= 3; ++i) {
    ObjectVersion version = MakeVersion("b", "k" + std::to_string(i), i);
    ASSERT_OK(store_->BeginWrite(PendingFor(version, i)));
    ASSERT_OK(store_->AbortWrite(version.version_id));
  }
  auto all = store_->NextGcItems(0, 1000);
  ASSERT_OK(all);
  ASSERT_GE(all->size(), 3u);
  auto rest = store_->NextGcItems((*all)[0].id, 1000);
  ASSERT_OK(rest);
  EXPECT_EQ(rest->size(), all->size() - 1);
  EXPECT_EQ((*rest)[0].id, (*all)[1].id);
}

TEST_F(MetaStoreTest, RepeatedCommitOfOneVersionIsRefusedAndQueuesNothing) {
  ObjectVersion version = MakeVersion("b", "k", 1);
  ASSERT_OK(Commit(version));
  EXPECT_ERRC(store_->CommitObject(version), Errc::kAlreadyExists);
  EXPECT_ERRC(store_->BeginWrite(PendingFor(version, 1)), Errc::kAlreadyExists);
  EXPECT_TRUE(Gc().empty());
  ASSERT_OK(store_->GetObject("b", "k"));
}

TEST_F(MetaStoreTest, AbortAndExpiredPendingWrites) {
  ObjectVersion early = MakeVersion("b", "early", 1);
  early.shards[2] = Shard(2, "", ShardState::kMissing);
  ObjectVersion late = MakeVersion("b", "late", 2);
  ASSERT_OK(store_->BeginWrite(PendingFor(late, 200)));
  ASSERT_OK(store_->BeginWrite(PendingFor(early, 100)));

  auto expired = store_->ExpiredPendingWrites(150, 10);
  ASSERT_OK(expired);
  ASSERT_EQ(expired->size(), 1u);
  const PendingWrite& pending = (*expired)[0];
  EXPECT_EQ(pending.version_id, early.version_id);
  EXPECT_EQ(pending.bucket, "b");
  EXPECT_EQ(pending.key, "early");
  EXPECT_EQ(pending.started_unix_ms, 100);
  ASSERT_EQ(pending.shards.size(), 3u);
  EXPECT_EQ(pending.shards[1].node_id, "n1");
  EXPECT_EQ(pending.shards[2].state, ShardState::kMissing);

  auto both = store_->ExpiredPendingWrites(1000, 10);
  ASSERT_OK(both);
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].version_id, early.version_id);  // oldest first
  auto limited = store_->ExpiredPendingWrites(1000, 1);
  ASSERT_OK(limited);
  EXPECT_EQ(limited->size(), 1u);

  ASSERT_OK(store_->AbortWrite(early.version_id));
  ASSERT_OK(store_->AbortWrite(early.version_id));  // idempotent
  ASSERT_OK(store_->AbortWrite(VersionId(99)));     // never begun
  std::vector<GcItem> gc = Gc();
  ASSERT_EQ(gc.size(), 2u);  // shard 2 was never placed
  EXPECT_EQ(gc[0].node_id, "n0");
  EXPECT_EQ(gc[1].node_id, "n1");
  auto left = store_->ExpiredPendingWrites(1000, 10);
  ASSERT_OK(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].version_id, late.version_id);
}

TEST_F(MetaStoreTest, CommitIntoVanishedBucketAbortsThePendingWrite) {
  // The API cannot delete a bucket under a pending write, so plant one.
  auto raw = RawDb();
  ASSERT_TRUE(raw);
  ASSERT_OK(raw->ExecScript(
      "INSERT INTO pending_writes VALUES ('00000000000000000000000000000001', 'gone', 'k', 1);"
      "INSERT INTO pending_shards VALUES ('00000000000000000000000000000001', 0, 'n0', 'ok');"
      "INSERT INTO pending_shards VALUES ('00000000000000000000000000000001', 1, 'n1', 'ok');"));
  EXPECT_ERRC(store_->CommitObject(MakeVersion("gone", "k", 1)), Errc::kNotFound);
  std::vector<GcItem> gc = Gc();
  ASSERT_EQ(gc.size(), 2u);
  EXPECT_EQ(gc[1].node_id, "n1");
  auto pending = store_->ExpiredPendingWrites(INT64_MAX, 10);
  ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
}

TEST_F(MetaStoreTest, DeleteObjectQueuesItsShards) {
  ASSERT_OK(Commit(MakeVersion("b", "k", 1)));
  ASSERT_OK(store_->DeleteObject("b", "k", "", 0));
  EXPECT_ERRC(store_->GetObject("b", "k"), Errc::kNotFound);
  EXPECT_ERRC(store_->DeleteObject("b", "k", "", 0), Errc::kNotFound);
  EXPECT_ERRC(store_->DeleteObject("nope", "k", "", 0), Errc::kNotFound);
  std::vector<GcItem> gc = Gc();
  ASSERT_EQ(gc.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(gc[i].version_id, VersionId(1));
    EXPECT_EQ(gc[i].shard_index, i);
  }
  auto shards = store_->ShardsOnNode("n0", ShardRef{}, 10);
  ASSERT_OK(shards);
  EXPECT_TRUE(shards->empty());
}

TEST_F(MetaStoreTest, DeleteNonEmptyBucketIsRefused) {
  ObjectVersion version = MakeVersion("b", "k", 1);
  ASSERT_OK(Commit(version));
  EXPECT_ERRC(store_->DeleteBucket("b"), Errc::kConflict);
  ASSERT_OK(store_->DeleteObject("b", "k", "", 0));

  ObjectVersion pending = MakeVersion("b", "k2", 2);
  ASSERT_OK(store_->BeginWrite(PendingFor(pending, 1)));
  EXPECT_ERRC(store_->DeleteBucket("b"), Errc::kConflict);
  ASSERT_OK(store_->AbortWrite(pending.version_id));

  ASSERT_OK(store_->DeleteBucket("b"));
  EXPECT_ERRC(store_->CommitObject(MakeVersion("b", "k3", 3)), Errc::kNotFound);
}

// --- Shard bookkeeping ------------------------------------------------------

TEST_F(MetaStoreTest, ShardsOnNodePaginates) {
  std::vector<ShardRef> expected;
  for (int n = 1; n <= 20; ++n) {
    ObjectVersion version = MakeVersion("b", "k" + std::to_string(n), n);
    // n0 holds shard 0 of every version and shard 2 of every third.
    version.shards = {Shard(0, "n0"), Shard(1, "n1"), Shard(2, n % 3 == 0 ? "n0" : "n2")};
    ASSERT_OK(Commit(version));
    expected.push_back(ShardRef{version.version_id, 0});
    if (n % 3 == 0) expected.push_back(ShardRef{version.version_id, 2});
  }
  std::vector<ShardRef> seen;
  ShardRef after;
  for (int page = 0; page < 100; ++page) {
    auto refs = store_->ShardsOnNode("n0", after, 7);
    ASSERT_OK(refs);
    ASSERT_LE(refs->size(), 7u);
    if (refs->empty()) break;
    seen.insert(seen.end(), refs->begin(), refs->end());
    after = refs->back();
  }
  ASSERT_EQ(seen.size(), expected.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].version_id, expected[i].version_id) << i;
    EXPECT_EQ(seen[i].shard_index, expected[i].shard_index) << i;
  }
  auto none = store_->ShardsOnNode("n9", ShardRef{}, 7);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(MetaStoreTest, UnderProtectedVersionsFewestSpareFirst) {
  auto make = [&](int n, int k, int m) {
    ObjectVersion version = MakeVersion("b", "k" + std::to_string(n), n);
    version.data_shard_count = k;
    version.parity_shard_count = m;
    version.shards.clear();
    for (int i = 0; i < k + m; ++i) version.shards.push_back(Shard(i, "n" + std::to_string(i)));
    return version;
  };
  ASSERT_OK(Commit(make(1, 2, 2)));  // one missing: spare 3-2 = 1
  ASSERT_OK(Commit(make(2, 2, 2)));  // two missing: spare 0
  ASSERT_OK(Commit(make(3, 2, 2)));  // healthy: not listed
  ASSERT_OK(Commit(make(4, 4, 2)));  // one missing: spare 5-4 = 1
  ASSERT_OK(Commit(make(5, 4, 2)));  // three missing: spare -1
  auto mark_missing = [&](int n, int shard) {
    return store_->SetShardState(VersionId(n), shard, "n" + std::to_string(shard),
                                 ShardState::kMissing);
  };
  ASSERT_OK(mark_missing(1, 0));
  ASSERT_OK(mark_missing(2, 0));
  ASSERT_OK(mark_missing(2, 3));
  ASSERT_OK(mark_missing(4, 5));
  ASSERT_OK(mark_missing(5, 0));
  ASSERT_OK(mark_missing(5, 1));
  ASSERT_OK(mark_missing(5, 2));
  EXPECT_TRUE(Gc().empty());  // same node: nothing moved

  auto versions = store_->UnderProtectedVersions(10);
  ASSERT_OK(versions);
  EXPECT_EQ(*versions,
            (std::vector<std::string>{VersionId(5), VersionId(2), VersionId(1), VersionId(4)}));
  auto limited = store_->UnderProtectedVersions(2);
  ASSERT_OK(limited);
  EXPECT_EQ(*limited, (std::vector<std::string>{VersionId(5), VersionId(2)}));

  // Repair rebuilds shard 0 of version 2 elsewhere: the old node's copy is
  // garbage, and the version has one more spare.
  ASSERT_OK(store_->SetShardState(VersionId(2), 0, "n7", ShardState::kOk));
  std::vector<GcItem> gc = Gc();
  ASSERT_EQ(gc.size(), 1u);
  EXPECT_EQ(gc[0].node_id, "n0");
  EXPECT_EQ(gc[0].version_id, VersionId(2));
  versions = store_->UnderProtectedVersions(10);
  ASSERT_OK(versions);
  EXPECT_EQ(*versions,
            (std::vector<std::string>{VersionId(5), VersionId(1), VersionId(2), VersionId(4)}));

  EXPECT_ERRC(store_->SetShardState(VersionId(9), 0, "n0", ShardState::kOk), Errc::kNotFound);
  EXPECT_ERRC(store_->SetShardState(VersionId(1), 0, "", ShardState::kOk), Errc::kInvalidArgument);
}

TEST_F(MetaStoreTest, GetVersionFindsACommittedVersionByIdOnly) {
  ObjectVersion first = MakeVersion("b", "dir/k", 1);
  first.user_metadata = {{"colour", "blue"}};
  ASSERT_OK(Commit(first));
  auto by_id = store_->GetVersion(first.version_id);
  ASSERT_OK(by_id);
  auto by_key = store_->GetObject("b", "dir/k");
  ASSERT_OK(by_key);
  EXPECT_EQ(by_id->bucket, "b");
  EXPECT_EQ(by_id->key, "dir/k");
  EXPECT_EQ(by_id->size_bytes, first.size_bytes);
  EXPECT_EQ(by_id->etag, by_key->etag);
  EXPECT_EQ(by_id->user_metadata, first.user_metadata);
  EXPECT_EQ(by_id->data_shard_count, 2);
  EXPECT_EQ(by_id->parity_shard_count, 1);
  EXPECT_EQ(by_id->block_size_bytes, first.block_size_bytes);
  ASSERT_EQ(by_id->shards.size(), 3u);
  EXPECT_EQ(by_id->shards[2].node_id, "n2");

  // Pending and replaced versions are not found.
  ObjectVersion second = MakeVersion("b", "dir/k", 2);
  ASSERT_OK(store_->BeginWrite(PendingFor(second, 5)));
  EXPECT_ERRC(store_->GetVersion(second.version_id), Errc::kNotFound);
  ASSERT_OK(store_->CommitObject(second));
  EXPECT_ERRC(store_->GetVersion(first.version_id), Errc::kNotFound);
  ASSERT_OK(store_->GetVersion(second.version_id));
}

TEST_F(MetaStoreTest, MoveShardsIsCompareAndSetAndNeverLeaksACopy) {
  ObjectVersion version = MakeVersion("b", "k", 1);
  version.shards[2] = Shard(2, "", ShardState::kMissing);  // never placed
  ASSERT_OK(Commit(version));
  const std::string id = version.version_id;

  // Repair moves shard 0 off n0 and places shard 2: n0's copy is garbage.
  auto applied = store_->MoveShards({ShardMove{id, 0, "n0", "n7", ShardState::kOk},
                                     ShardMove{id, 2, "", "n8", ShardState::kOk}});
  ASSERT_OK(applied);
  EXPECT_EQ(*applied, 2);
  std::vector<GcItem> gc = Gc();
  ASSERT_EQ(gc.size(), 1u);
  EXPECT_EQ(gc[0].node_id, "n0");
  EXPECT_EQ(gc[0].shard_index, 0);
  ASSERT_OK(store_->CompleteGcItem(gc[0].id));

  // A second decision made from the old rows loses; the copy it wrote is
  // queued, unless it landed where the shard is recorded now.
  applied = store_->MoveShards({ShardMove{id, 0, "n0", "n9", ShardState::kOk},
                                ShardMove{id, 2, "", "n8", ShardState::kOk}});
  ASSERT_OK(applied);
  EXPECT_EQ(*applied, 0);
  gc = Gc();
  ASSERT_EQ(gc.size(), 1u);
  EXPECT_EQ(gc[0].node_id, "n9");
  ASSERT_OK(store_->CompleteGcItem(gc[0].id));

  // A degraded read marks shard 1 missing where it is; a stale report about
  // shard 0 at n0 changes nothing and queues nothing.
  applied = store_->MoveShards({ShardMove{id, 1, "n1", "n1", ShardState::kMissing},
                                ShardMove{id, 0, "n0", "n0", ShardState::kMissing}});
  ASSERT_OK(applied);
  EXPECT_EQ(*applied, 1);
  EXPECT_TRUE(Gc().empty());
  auto now = store_->GetVersion(id);
  ASSERT_OK(now);
  EXPECT_EQ(now->shards[0].node_id, "n7");
  EXPECT_EQ(now->shards[0].state, ShardState::kOk);
  EXPECT_EQ(now->shards[1].node_id, "n1");
  EXPECT_EQ(now->shards[1].state, ShardState::kMissing);
  EXPECT_EQ(now->shards[2].node_id, "n8");

  // Reconciliation finds shard 1 intact again at n1.
  applied = store_->MoveShards({ShardMove{id, 1, "n1", "n1", ShardState::kOk}});
  ASSERT_OK(applied);
  EXPECT_EQ(*applied, 1);
  EXPECT_TRUE(Gc().empty());

  // The version is deleted while a repair copies a shard: the copy goes.
  ASSERT_OK(store_->DeleteObject("b", "k", "", 0));
  for (const GcItem& item : Gc()) ASSERT_OK(store_->CompleteGcItem(item.id));
  applied = store_->MoveShards({ShardMove{id, 1, "n1", "n5", ShardState::kOk},
                                ShardMove{id, 0, "n7", "n7", ShardState::kMissing}});
  ASSERT_OK(applied);
  EXPECT_EQ(*applied, 0);
  gc = Gc();
  ASSERT_EQ(gc.size(), 1u);
  EXPECT_EQ(gc[0].node_id, "n5");

  EXPECT_ERRC(store_->MoveShards({ShardMove{id, 0, "n7", "", ShardState::kOk}}),
              Errc::kInvalidArgument);
}

TEST_F(MetaStoreTest, DamagedVersionsPageMostEndangeredFirst) {
  auto make = [&](int n, int k, int m) {
    ObjectVersion version = MakeVersion("b", "k" + std::to_string(n), n);
    version.data_shard_count = k;
    version.parity_shard_count = m;
    version.shards.clear();
    for (int i = 0; i < k + m; ++i) version.shards.push_back(Shard(i, "n" + std::to_string(i)));
    return version;
  };
  ASSERT_OK(Commit(make(1, 2, 2)));  // one missing: spare 1
  ASSERT_OK(Commit(make(2, 2, 2)));  // two missing: spare 0
  ASSERT_OK(Commit(make(3, 2, 2)));  // healthy
  ASSERT_OK(Commit(make(4, 4, 2)));  // one missing: spare 1
  ASSERT_OK(Commit(make(5, 1, 2)));  // two missing: spare 0
  auto miss = [&](int n, int shard) {
    const std::string node = "n" + std::to_string(shard);
    return store_->MoveShards({ShardMove{VersionId(n), shard, node, node, ShardState::kMissing}});
  };
  ASSERT_OK(miss(1, 0));
  ASSERT_OK(miss(2, 0));
  ASSERT_OK(miss(2, 1));
  ASSERT_OK(miss(4, 5));
  ASSERT_OK(miss(5, 1));
  ASSERT_OK(miss(5, 2));

  std::vector<DamagedVersion> seen;
  std::optional<DamagedVersion> cursor;
  for (int page = 0; page < 10; ++page) {
    auto next = store_->DamagedVersions(cursor, 2);
    ASSERT_OK(next);
    if (next->empty()) break;
    seen.insert(seen.end(), next->begin(), next->end());
    cursor = next->back();
  }
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].version_id, VersionId(2));
  EXPECT_EQ(seen[0].spare_shards, 0);
  EXPECT_EQ(seen[1].version_id, VersionId(5));
  EXPECT_EQ(seen[1].spare_shards, 0);
  EXPECT_EQ(seen[2].version_id, VersionId(1));
  EXPECT_EQ(seen[2].spare_shards, 1);
  EXPECT_EQ(seen[3].version_id, VersionId(4));
  EXPECT_EQ(seen[3].spare_shards, 1);

  // The count also takes in shards on nodes whose loss is not yet recorded.
  auto count = store_->CountUnderProtectedVersions({});
  ASSERT_OK(count);
  EXPECT_EQ(*count, 4);
  count = store_->CountUnderProtectedVersions({"n3"});  // versions 3 (and 4, counted already)
  ASSERT_OK(count);
  EXPECT_EQ(*count, 5);
  count = store_->CountUnderProtectedVersions({"n9", "n2"});  // 3 and 4; 1, 2, 5 already
  ASSERT_OK(count);
  EXPECT_EQ(*count, 5);
}

// --- Durability and concurrency ---------------------------------------------

TEST_F(MetaStoreTest, PersistsAcrossReopen) {
  ObjectVersion version = MakeVersion("b", "k", 1);
  version.user_metadata = {{"a", "b"}};
  ASSERT_OK(Commit(version));
  ASSERT_OK(store_->BeginWrite(PendingFor(MakeVersion("b", "p", 2), 7)));
  ASSERT_OK(store_->DeleteObject("b", "k", "", 0));
  ASSERT_OK(Commit(version = MakeVersion("b", "k", 3)));
  Open();
  Open();  // migrations are idempotent
  auto got = store_->GetObject("b", "k");
  ASSERT_OK(got);
  EXPECT_EQ(got->version_id, VersionId(3));
  EXPECT_EQ(Gc().size(), 3u);
  auto pending = store_->ExpiredPendingWrites(100, 10);
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].shards.size(), 3u);

  auto raw = RawDb();
  ASSERT_TRUE(raw);
  sqlite::Stmt stmt = raw->Prepare("PRAGMA user_version");
  auto row = stmt.Step();
  ASSERT_OK(row);
  EXPECT_EQ(stmt.ColumnInt(0), sqlite::kSchemaVersion);
}

TEST_F(MetaStoreTest, RefusesNewerSchema) {
  store_.reset();
  {
    auto raw = RawDb();
    ASSERT_TRUE(raw);
    ASSERT_OK(raw->ExecScript("PRAGMA user_version = 99"));
  }
  auto opened = OpenSqliteStore(DbPath(), clock_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::kConflict) << Why(opened);
}

TEST_F(MetaStoreTest, ConcurrentCommitsStayConsistent) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 40;
  constexpr int kKeys = 10;  // threads overwrite each other's keys
  std::atomic<int> failures{0};
  std::atomic<int> replaced_count{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i + 1;
        ObjectVersion version = MakeVersion("b", "key" + std::to_string(n % kKeys), n);
        if (!store_->BeginWrite(PendingFor(version, n)).ok()) ++failures;
        if (i % 5 == 0) {
          (void)store_->GetObject("b", version.key);
          (void)store_->ListObjects("b", ListQuery{});
        }
        auto replaced = store_->CommitObject(version);
        if (!replaced.ok()) {
          ++failures;
          continue;
        }
        replaced_count += static_cast<int>(replaced->replaced_version_ids.size());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(replaced_count.load(), kThreads * kPerThread - kKeys);

  auto listed = store_->ListObjects("b", ListQuery{});
  ASSERT_OK(listed);
  EXPECT_EQ(listed->objects.size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(Gc().size(), static_cast<size_t>(3 * replaced_count.load()));
  auto pending = store_->ExpiredPendingWrites(INT64_MAX, 1000);
  ASSERT_OK(pending);
  EXPECT_TRUE(pending->empty());
  for (int i = 0; i < kKeys; ++i) ASSERT_OK(store_->GetObject("b", "key" + std::to_string(i)));

  auto raw = RawDb();
  ASSERT_TRUE(raw);
  for (const char* check : {"PRAGMA integrity_check", "PRAGMA foreign_key_check"}) {
    sqlite::Stmt stmt = raw->Prepare(check);
    auto row = stmt.Step();
    ASSERT_OK(row);
    if (std::string(check) == "PRAGMA integrity_check") {
      EXPECT_EQ(stmt.ColumnText(0), "ok");
    } else {
      EXPECT_FALSE(*row) << "foreign key violation";
    }
  }
}

TEST_F(StoreTest, BackupIsAConsistentCopyMadeBesideTheLiveStore) {
  Commit(MakeVersion("b", "kept", 1));
  const auto backup = dir_.path() / "backup.db";
  ASSERT_OK(store_->BackupTo(backup));
  // The live store keeps serving writes; the copy is the state at backup time.
  Commit(MakeVersion("b", "later", 2));
  auto copy = OpenSqliteStore(backup, clock_);
  ASSERT_OK(copy);
  ASSERT_OK((*copy)->GetObject("b", "kept"));
  EXPECT_ERRC((*copy)->GetObject("b", "later"), Errc::kNotFound);
  ASSERT_OK(store_->GetObject("b", "later"));
}

}  // namespace
}  // namespace holdfast::meta
