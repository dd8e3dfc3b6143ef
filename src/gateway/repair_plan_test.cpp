#include "gateway/repair_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace holdfast::gateway {
namespace {

// Providers a, b, c with `per_provider` nodes each ("a1", "a2", ...), all up.
std::vector<RepairNode> Cluster(int per_provider) {
  std::vector<RepairNode> nodes;
  for (char p : std::string("abc")) {
    for (int n = 1; n <= per_provider; ++n) {
      RepairNode node;
      node.id = std::string(1, p) + std::to_string(n);
      node.provider = std::string("provider-") + p;
      node.site = node.provider + "-dc1";
      node.writable = node.readable = true;
      nodes.push_back(node);
    }
  }
  return nodes;
}

RepairNode& NodeById(std::vector<RepairNode>& nodes, const std::string& id) {
  for (RepairNode& node : nodes) {
    if (node.id == id) return node;
  }
  throw std::out_of_range(id);
}

void Lose(std::vector<RepairNode>& nodes, const std::string& id) {
  RepairNode& node = NodeById(nodes, id);
  node.writable = node.readable = false;
  node.lost = true;
}

// k=5 m=4 over a 3x3 cluster: shard i on the i-th node (a1 a2 a3 b1 ... c3).
meta::ObjectVersion WideVersion() {
  meta::ObjectVersion version;
  version.version_id = "0123456789abcdef0123456789abcdef";
  version.data_shard_count = 5;
  version.parity_shard_count = 4;
  const char* nodes[] = {"a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"};
  for (int i = 0; i < 9; ++i) version.shards.push_back({i, nodes[i], meta::ShardState::kOk});
  return version;
}

std::map<std::string, int> PerProvider(const meta::ObjectVersion& version, const RepairPlan& plan) {
  std::map<std::string, int> count;
  std::set<int> rebuilt;
  for (const ShardRebuild& r : plan.rebuilds) {
    ++count[std::string("provider-") + r.to_node_id[0]];
    rebuilt.insert(r.shard_index);
  }
  for (const meta::ShardLocation& shard : version.shards) {
    if (!rebuilt.contains(shard.shard_index) && shard.state == meta::ShardState::kOk) {
      ++count[std::string("provider-") + shard.node_id[0]];
    }
  }
  return count;
}

TEST(RepairPlanTest, ProviderCapFollowsThePolicy) {
  const placement::DurabilityPolicy one_plus_one{1, 1};
  EXPECT_EQ(PerProviderCap(one_plus_one, 5, 4), 3);
  EXPECT_EQ(PerProviderCap(one_plus_one, 1, 2), 1);  // tiny objects: one copy per provider
  EXPECT_EQ(PerProviderCap(placement::DurabilityPolicy{2, 0}, 4, 6), 3);
  EXPECT_EQ(PerProviderCap(placement::DurabilityPolicy{0, 1}, 3, 1), 4);  // no provider to lose
  EXPECT_EQ(PerProviderCap(one_plus_one, 1, 1), 1);  // never below one
}

TEST(RepairPlanTest, AShardWithNoNodeInsideTheCapWaits) {
  std::vector<RepairNode> nodes = Cluster(3);
  for (const char* id : {"a1", "a2", "a3"}) Lose(nodes, id);
  RepairPlan plan = PlanRepair(WideVersion(), nodes, 3);
  EXPECT_EQ(plan.damaged_shards, 3);
  EXPECT_EQ(plan.healthy_shards, 6);
  EXPECT_EQ(plan.unplaceable_shards, 3);  // b and c hold their 3 already
  EXPECT_TRUE(plan.rebuilds.empty());
  EXPECT_EQ(plan.sources, (std::vector<int>{3, 4, 5, 6, 7, 8}));
}

TEST(RepairPlanTest, ServersReprovisionedUnderTheirIdsTakeTheirShardsBack) {
  std::vector<RepairNode> nodes = Cluster(3);
  meta::ObjectVersion version = WideVersion();
  for (int i = 0; i < 3; ++i) version.shards[i].state = meta::ShardState::kMissing;
  RepairPlan plan = PlanRepair(version, nodes, 3);
  ASSERT_EQ(plan.rebuilds.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(plan.rebuilds[i].shard_index, i);
    EXPECT_EQ(plan.rebuilds[i].from_node_id, version.shards[i].node_id);
    EXPECT_EQ(plan.rebuilds[i].to_node_id, version.shards[i].node_id);
  }
}

TEST(RepairPlanTest, UnplacedShardsGoWhereTheCapAllowsDeterministically) {
  std::vector<RepairNode> nodes = Cluster(4);
  meta::ObjectVersion version = WideVersion();
  // Written while provider a was down: shards 0-2 were never placed.
  for (int i = 0; i < 3; ++i) version.shards[i] = {i, "", meta::ShardState::kMissing};
  RepairPlan plan = PlanRepair(version, nodes, 3);
  ASSERT_EQ(plan.rebuilds.size(), 3u);
  std::set<std::string> targets;
  for (const ShardRebuild& r : plan.rebuilds) {
    EXPECT_EQ(r.from_node_id, "");
    EXPECT_EQ(r.to_node_id[0], 'a') << "b and c are at their cap";
    targets.insert(r.to_node_id);
  }
  EXPECT_EQ(targets.size(), 3u) << "one shard per node";
  EXPECT_EQ(PerProvider(version, plan), (std::map<std::string, int>{
                                            {"provider-a", 3}, {"provider-b", 3}, {"provider-c", 3}}));
  RepairPlan again = PlanRepair(version, nodes, 3);
  for (size_t i = 0; i < plan.rebuilds.size(); ++i) {
    EXPECT_EQ(again.rebuilds[i].to_node_id, plan.rebuilds[i].to_node_id);
  }
}

TEST(RepairPlanTest, ACorruptShardIsRewrittenInPlaceOrOnAFreeNodeOfItsProvider) {
  std::vector<RepairNode> nodes = Cluster(4);
  meta::ObjectVersion version = WideVersion();
  version.shards[4].state = meta::ShardState::kMissing;  // b2 served a bad block
  RepairPlan plan = PlanRepair(version, nodes, 3);
  ASSERT_EQ(plan.rebuilds.size(), 1u);
  EXPECT_EQ(plan.rebuilds[0].to_node_id, "b2");

  // b2 is down (not lost): the only node that keeps every cap is b4.
  NodeById(nodes, "b2").writable = NodeById(nodes, "b2").readable = false;
  plan = PlanRepair(version, nodes, 3);
  ASSERT_EQ(plan.rebuilds.size(), 1u);
  EXPECT_EQ(plan.rebuilds[0].from_node_id, "b2");
  EXPECT_EQ(plan.rebuilds[0].to_node_id, "b4");
}

TEST(RepairPlanTest, HealthyShardsOnDownNodesCountForTheCapButAreNotRead) {
  std::vector<RepairNode> nodes = Cluster(4);
  NodeById(nodes, "c1").writable = NodeById(nodes, "c1").readable = false;  // down, not lost
  meta::ObjectVersion version = WideVersion();
  version.shards[0].state = meta::ShardState::kMissing;  // a1 lost it
  NodeById(nodes, "a1").writable = false;                 // and a1 is read-only
  RepairPlan plan = PlanRepair(version, nodes, 3);
  EXPECT_EQ(plan.sources, (std::vector<int>{1, 2, 3, 4, 5, 7, 8}));
  ASSERT_EQ(plan.rebuilds.size(), 1u);
  EXPECT_EQ(plan.rebuilds[0].to_node_id, "a4") << "c is full even with c1 down";
}

TEST(RepairPlanTest, ShardsOnLostOrUnknownNodesAreDamagedEvenIfRecordedOk) {
  std::vector<RepairNode> nodes = Cluster(3);
  Lose(nodes, "a1");
  meta::ObjectVersion version;
  version.version_id = "00000000000000000000000000000001";
  version.data_shard_count = 1;
  version.parity_shard_count = 2;
  version.shards = {{0, "a1", meta::ShardState::kOk},
                    {1, "b1", meta::ShardState::kOk},
                    {2, "x9", meta::ShardState::kOk}};  // a node nobody knows
  RepairPlan plan = PlanRepair(version, nodes, 1);
  EXPECT_EQ(plan.healthy_shards, 1);
  EXPECT_EQ(plan.sources, (std::vector<int>{1}));
  ASSERT_EQ(plan.rebuilds.size(), 2u);
  std::set<char> providers;
  for (const ShardRebuild& r : plan.rebuilds) providers.insert(r.to_node_id[0]);
  EXPECT_EQ(providers, (std::set<char>{'a', 'c'})) << "one copy per provider";
  EXPECT_NE(plan.rebuilds[0].to_node_id, "a1");
}

TEST(RepairPlanTest, RateLimiterPacesBytesAfterABurst) {
  RateLimiter limiter(/*bytes_per_second=*/1000, /*burst_bytes=*/100);
  EXPECT_EQ(limiter.Reserve(100, 0), 0);    // the burst
  EXPECT_EQ(limiter.Reserve(100, 0), 100);  // then 1000 B/s
  EXPECT_EQ(limiter.Reserve(500, 0), 600);
  EXPECT_EQ(limiter.Reserve(100, 2000), 0);  // idle time refills the burst, no more
  EXPECT_EQ(limiter.Reserve(100, 2000), 100);
}

TEST(RepairPlanTest, RateLimiterDefaultBurstIsAQuarterSecondOrSixteenMiB) {
  constexpr uint64_t kMiB = 1 << 20;
  RateLimiter fast(400 * kMiB);  // a quarter second: 100 MiB
  EXPECT_EQ(fast.Reserve(100 * kMiB, 0), 0);
  EXPECT_GT(fast.Reserve(kMiB, 0), 0);
  RateLimiter slow(kMiB);  // a quarter second would be 256 KiB: 16 MiB instead
  EXPECT_EQ(slow.Reserve(16 * kMiB, 0), 0);
  EXPECT_EQ(slow.Reserve(kMiB, 0), 1000);
}

}  // namespace
}  // namespace holdfast::gateway
