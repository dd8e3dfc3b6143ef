// Drains on the SQLite backend: starting, cancelling, counting what is left on
// a node, and retiring only when nothing is.
#include <gtest/gtest.h>

#include "meta/meta_store.h"
#include "meta/test_util.h"

namespace holdfast::meta {
namespace {

using namespace holdfast::meta::test_util;  // NOLINT: test helpers

class DrainsTest : public StoreTest {
 protected:
};

TEST_F(DrainsTest, StartListCancel) {
  ASSERT_OK(store_->StartDrain(DrainScope::kProvider, "acme", 10));
  ASSERT_OK(store_->StartDrain(DrainScope::kProvider, "acme", 20));  // again: no-op
  ASSERT_OK(store_->StartDrain(DrainScope::kNode, "n1", 30));
  auto drains = store_->ListDrains();
  ASSERT_TRUE(drains.ok()) << Why(drains);
  ASSERT_EQ(drains->size(), 2u);
  EXPECT_EQ((*drains)[0].scope, DrainScope::kNode);
  EXPECT_EQ((*drains)[0].name, "n1");
  EXPECT_EQ((*drains)[1].name, "acme");
  EXPECT_EQ((*drains)[1].started_unix_ms, 10);  // the first start counts
  EXPECT_EQ((*drains)[1].state, DrainState::kDraining);

  ASSERT_OK(store_->CancelDrain(DrainScope::kNode, "n1"));
  EXPECT_EQ(store_->CancelDrain(DrainScope::kNode, "n1").error().code, Errc::kNotFound);
  EXPECT_EQ(store_->ListDrains()->size(), 1u);
}

TEST_F(DrainsTest, CountsCommittedAndPendingShards) {
  ObjectVersion a = MakeVersion("b", "a", 1);  // 1001 bytes, k=2: one 64 KiB block per shard
  Commit(a);
  ObjectVersion c = MakeVersion("b", "c", 2);
  c.shards = {Shard(0, "n3"), Shard(1, "n1"), Shard(2, "n4")};
  Commit(c);
  ObjectVersion in_flight = MakeVersion("b", "d", 3);
  ASSERT_OK(store_->BeginWrite(PendingFor(in_flight, 1)));

  auto n1 = store_->CountNodeContents({"n1"});
  ASSERT_TRUE(n1.ok()) << Why(n1);
  EXPECT_EQ(n1->shards, 2);
  EXPECT_EQ(n1->versions, 2);
  EXPECT_EQ(n1->shard_bytes, 2u * 65536u);
  EXPECT_EQ(n1->pending_shards, 1);

  auto both = store_->CountNodeContents({"n1", "n3"});
  ASSERT_TRUE(both.ok()) << Why(both);
  EXPECT_EQ(both->shards, 3);
  EXPECT_EQ(both->versions, 2);  // c is on both, counted once

  auto none = store_->CountNodeContents({"n9"});
  ASSERT_TRUE(none.ok()) << Why(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(DrainsTest, RetireRefusesWhileShardsRemainAndIsFinal) {
  Commit(MakeVersion("b", "a", 1));  // shards on n0, n1, n2
  EXPECT_EQ(store_->RetireDrain(DrainScope::kNode, "n1", {"n1"}, 50).error().code, Errc::kNotFound);
  ASSERT_OK(store_->StartDrain(DrainScope::kNode, "n1", 40));

  auto refused = store_->RetireDrain(DrainScope::kNode, "n1", {"n1"}, 50);
  ASSERT_TRUE(refused.ok()) << Why(refused);
  EXPECT_EQ(refused->shards, 1);
  EXPECT_EQ((*store_->ListDrains())[0].state, DrainState::kDraining);

  // The shard moves away: its old copy on n1 is queued for GC.
  std::vector<ShardMove> moves{ShardMove{VersionId(1), 1, "n1", "n5", ShardState::kOk}};
  ASSERT_EQ(*store_->MoveShards(moves), 1);
  ASSERT_EQ(*store_->CountGcQueue(), 1);

  auto retired = store_->RetireDrain(DrainScope::kNode, "n1", {"n1"}, 60);
  ASSERT_TRUE(retired.ok()) << Why(retired);
  EXPECT_TRUE(retired->empty());
  auto drains = store_->ListDrains();
  EXPECT_EQ((*drains)[0].state, DrainState::kRetired);
  EXPECT_EQ((*drains)[0].retired_unix_ms, 60);
  EXPECT_EQ(*store_->CountGcQueue(), 0);  // the wiped disk needs no GC

  EXPECT_EQ(store_->StartDrain(DrainScope::kNode, "n1", 70).error().code, Errc::kConflict);
  EXPECT_EQ(store_->CancelDrain(DrainScope::kNode, "n1").error().code, Errc::kConflict);
  ASSERT_OK(store_->RetireDrain(DrainScope::kNode, "n1", {"n1"}, 80));  // again: no-op
}

}  // namespace
}  // namespace holdfast::meta
