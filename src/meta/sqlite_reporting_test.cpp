// The MetaStore's reporting queries on the SQLite backend.
#include <gtest/gtest.h>

#include "meta/meta_store.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using namespace holdfast::meta::test_util;  // NOLINT: test helpers

class ReportingTest : public StoreTest {
 protected:

  // k=2 m=3 (five shards on n0..n4).
  static ObjectVersion Wide(int n) {
    ObjectVersion version = MakeVersion("b", "wide-" + std::to_string(n), n);
    version.parity_shard_count = 3;
    version.shards.clear();
    for (int i = 0; i < 5; ++i) version.shards.push_back(Shard(i, "n" + std::to_string(i)));
    return version;
  }
};

TEST_F(ReportingTest, CountsVersionsBySpareShards) {
  auto empty = store_->CountVersionsBySpareShards({});
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());

  Commit(MakeVersion("b", "k1", 1));  // k=2 m=1, whole: 1 spare
  Commit(MakeVersion("b", "k2", 2));
  Commit(Wide(3));                    // k=2 m=3, whole: 3 spare
  ObjectVersion damaged = Wide(4);
  damaged.shards[1].state = ShardState::kMissing;
  damaged.shards[2] = Shard(2, "", ShardState::kMissing);
  Commit(damaged);                    // 3 ok: 1 spare
  ObjectVersion unreadable = MakeVersion("b", "k5", 5);
  unreadable.shards[0].state = ShardState::kMissing;
  unreadable.shards[1].state = ShardState::kMissing;
  Commit(unreadable);                 // 1 ok: -1 spare

  auto counts = store_->CountVersionsBySpareShards({});
  ASSERT_OK(counts);
  const std::map<int, int64_t> expected = {{-1, 1}, {1, 3}, {3, 1}};
  EXPECT_EQ(*counts, expected);

  // Repair restores a shard: the version moves up.
  ASSERT_OK(store_->SetShardState(damaged.version_id, 1, "n1", ShardState::kOk));
  counts = store_->CountVersionsBySpareShards({});
  ASSERT_OK(counts);
  const std::map<int, int64_t> after = {{-1, 1}, {1, 2}, {2, 1}, {3, 1}};
  EXPECT_EQ(*counts, after);

  // n2 goes down: every ok shard there stops counting, recorded missing or not.
  // k1, k2: 2 ok of k=2; wide-3: 4 of 5; damaged: its shard 2 was not on n2,
  // so still 4; k5: its one ok shard was on n2.
  counts = store_->CountVersionsBySpareShards({"n2"});
  ASSERT_OK(counts);
  const std::map<int, int64_t> n2_down = {{-2, 1}, {0, 2}, {2, 2}};
  EXPECT_EQ(*counts, n2_down);
  counts = store_->CountVersionsBySpareShards({"n2", "n3", "not-a-node"});
  ASSERT_OK(counts);
  const std::map<int, int64_t> n2_n3_down = {{-2, 1}, {0, 2}, {1, 2}};
  EXPECT_EQ(*counts, n2_n3_down);
}

TEST_F(ReportingTest, CountsTheGcQueue) {
  auto none = store_->CountGcQueue();
  ASSERT_OK(none);
  EXPECT_EQ(*none, 0);
  Commit(MakeVersion("b", "k1", 1));
  ASSERT_OK(store_->DeleteObject("b", "k1", "", 0));  // its three shards go to GC
  auto three = store_->CountGcQueue();
  ASSERT_OK(three);
  EXPECT_EQ(*three, 3);
}

}  // namespace
}  // namespace holdfast::meta
