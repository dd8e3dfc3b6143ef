// The loss drill's arithmetic (DrillAccumulator), its walk over a real
// SQLite catalogue (RunDrill) and its JSON (DrillJson).
#include "gateway/drill.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

#include "meta/test_util.h"

namespace holdfast::gateway {
namespace {

using meta::ShardState;
using namespace holdfast::meta::test_util;  // NOLINT: test helpers

constexpr uint64_t kMiB = 1 << 20;

// Providers a, b, c with `per_provider` nodes each ("a1", "a2", ...), all up.
DrillScenario Cluster(int per_provider) {
  DrillScenario scenario;
  for (char p : std::string("abc")) {
    for (int n = 1; n <= per_provider; ++n) {
      DrillNode node;
      node.id = std::string(1, p) + std::to_string(n);
      node.provider = std::string("provider-") + p;
      node.site = node.provider + "-dc1";
      node.writable = true;
      scenario.nodes.push_back(node);
    }
  }
  scenario.policy = placement::DurabilityPolicy{1, 1};
  return scenario;
}

void Name(DrillScenario& scenario, const std::set<std::string>& ids) {
  for (DrillNode& node : scenario.nodes) {
    if (ids.contains(node.id)) node.named = true;
  }
}

// k=5 m=4 over a 3x3 cluster: shard i on the i-th node (a1 a2 a3 b1 ... c3),
// 10 MiB in 1 MiB blocks: two stripes, so 2 MiB per shard.
meta::ObjectVersion Wide(int n, uint64_t size_bytes = 10 * kMiB) {
  meta::ObjectVersion version;
  version.version_id = VersionId(n);
  version.bucket = "b";
  version.key = "wide-" + std::to_string(n);
  version.size_bytes = size_bytes;
  version.data_shard_count = 5;
  version.parity_shard_count = 4;
  version.block_size_bytes = 1 << 20;
  const char* nodes[] = {"a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"};
  for (int i = 0; i < 9; ++i) version.shards.push_back({i, nodes[i], ShardState::kOk});
  return version;
}

// A tiny object: k=1 m=2, one whole copy per provider.
meta::ObjectVersion Copies(int n, const std::string& a, const std::string& b, const std::string& c) {
  meta::ObjectVersion version;
  version.version_id = VersionId(n);
  version.bucket = "b";
  version.key = "tiny-" + std::to_string(n);
  version.size_bytes = 4096;
  version.data_shard_count = 1;
  version.parity_shard_count = 2;
  version.block_size_bytes = 4096;
  version.shards = {{0, a, ShardState::kOk}, {1, b, ShardState::kOk}, {2, c, ShardState::kOk}};
  return version;
}

TEST(ShardPayloadBytes, IsBlockCountTimesBlockSize) {
  EXPECT_EQ(ShardPayloadBytes(Wide(1, 10 * kMiB)), 2 * kMiB);
  EXPECT_EQ(ShardPayloadBytes(Wide(1, 5 * kMiB)), 1 * kMiB);
  EXPECT_EQ(ShardPayloadBytes(Wide(1, 5 * kMiB + 1)), 2 * kMiB);  // a second, nearly empty stripe
  EXPECT_EQ(ShardPayloadBytes(Wide(1, 0)), 0u);
  EXPECT_EQ(ShardPayloadBytes(Copies(1, "a1", "b1", "c1")), 4096u);
}

TEST(DrillAccumulator, CountsRemainingShardsAgainstK) {
  struct Case {
    std::set<std::string> lost;
    bool unreadable;
    int spare;
  } cases[] = {
      {{"a1", "a2", "a3"}, false, 1},
      {{"a1", "a2", "a3", "b1"}, false, 0},
      {{"a1", "a2", "a3", "b1", "b2"}, true, 0},
      {{"c3"}, false, 3},
  };
  for (const Case& c : cases) {
    DrillScenario scenario = Cluster(3);
    Name(scenario, c.lost);
    DrillAccumulator drill(scenario);
    drill.Add(Wide(1));
    const DrillReport& report = drill.report();
    EXPECT_EQ(report.versions_affected, 1u);
    EXPECT_EQ(report.unreadable_versions, c.unreadable ? 1u : 0u) << c.lost.size();
    if (c.unreadable) {
      ASSERT_EQ(report.unreadable.size(), 1u);
      EXPECT_EQ(report.unreadable[0].key, "wide-1");
      EXPECT_EQ(report.unreadable[0].remaining_shards, 4);
      EXPECT_EQ(report.unreadable[0].data_shard_count, 5);
      EXPECT_EQ(report.unreadable_bytes, 10 * kMiB);
    } else {
      EXPECT_EQ(report.degraded_versions, 1u);
      EXPECT_EQ(report.degraded_by_spare_shards.at(c.spare), 1u);
    }
  }
}

TEST(DrillAccumulator, ShardsAlreadyMissingCountAsMissing) {
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1", "a2", "a3", "b1"});
  DrillAccumulator drill(scenario);
  meta::ObjectVersion version = Wide(1);
  version.shards[8] = {8, "", ShardState::kMissing};  // never placed
  drill.Add(version);
  version = Wide(2);
  version.shards[7].state = ShardState::kMissing;  // recorded missing on a live node
  drill.Add(version);
  drill.Add(Wide(3));
  EXPECT_EQ(drill.report().unreadable_versions, 2u);
  EXPECT_EQ(drill.report().degraded_versions, 1u);
}

TEST(DrillAccumulator, NodesDownNowAreLostToo) {
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1", "a2", "a3", "b1"});
  scenario.nodes[8].down = true;  // c3
  DrillAccumulator drill(scenario);
  EXPECT_TRUE(drill.IsLost("c3"));
  drill.Add(Wide(1));
  EXPECT_EQ(drill.report().unreadable_versions, 1u);
}

TEST(DrillAccumulator, ShardsOnUnknownNodesCountAsMissing) {
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a3"});
  DrillAccumulator drill(scenario);
  meta::ObjectVersion version = Wide(1);
  version.shards[0].node_id = "retired";  // no longer registered
  version.shards[1].node_id = "retired-too";
  drill.Add(version);
  EXPECT_EQ(drill.report().degraded_by_spare_shards.at(1), 1u);  // 9 - 2 - a3 = 6 left
}

TEST(DrillAccumulator, CopiesSurviveWhileOneCopyRemains) {
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1", "a2", "a3", "b2", "c1"});
  DrillAccumulator drill(scenario);
  drill.Add(Copies(1, "a1", "b2", "c1"));  // every copy gone
  drill.Add(Copies(2, "a2", "b2", "c2"));  // the c copy remains
  drill.Add(Copies(3, "a3", "b3", "c3"));  // b and c remain
  const DrillReport& report = drill.report();
  EXPECT_EQ(report.unreadable_versions, 1u);
  ASSERT_EQ(report.unreadable.size(), 1u);
  EXPECT_EQ(report.unreadable[0].key, "tiny-1");
  EXPECT_EQ(report.degraded_by_spare_shards.at(0), 1u);
  EXPECT_EQ(report.degraded_by_spare_shards.at(1), 1u);
}

TEST(DrillAccumulator, EmptyObjectsAreNeverUnreadable) {
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1", "a2", "a3", "b1", "b2", "b3"});
  DrillAccumulator drill(scenario);
  drill.Add(Wide(1, 0));
  EXPECT_EQ(drill.report().unreadable_versions, 0u);
  EXPECT_EQ(drill.report().degraded_versions, 1u);
  EXPECT_EQ(drill.report().degraded_by_spare_shards.at(0), 1u);
}

TEST(DrillAccumulator, UntouchedVersionsAreIgnored) {
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1"});
  DrillAccumulator drill(scenario);
  drill.Add(Copies(2, "b1", "b2", "c1"));  // e.g. moved off a1 by repair meanwhile
  EXPECT_EQ(drill.report().versions_affected, 0u);
}

TEST(DrillAccumulator, ListIsCappedButCountsAreNot) {
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1", "a2", "a3", "b1", "b2"});
  scenario.list_limit = 2;
  DrillAccumulator drill(scenario);
  for (int i = 0; i < 5; ++i) drill.Add(Wide(i));
  for (int i = 5; i < 8; ++i) drill.Add(Copies(i, "a1", "b3", "c3"));
  EXPECT_EQ(drill.report().unreadable_versions, 5u);
  EXPECT_EQ(drill.report().unreadable.size(), 2u);
  EXPECT_EQ(drill.report().degraded_versions, 3u);
  ASSERT_EQ(drill.report().degraded.size(), 2u);
  EXPECT_EQ(drill.report().degraded[0].key, "tiny-5");
  EXPECT_EQ(drill.report().degraded[0].remaining_shards, 2);
}

TEST(DrillAccumulator, RepairReadsKSurvivorsDataFirstAndWritesEachRebuild) {
  // A spare node c4 can take c1's shard under the cap (provider c holds 3).
  DrillScenario scenario = Cluster(3);
  DrillNode c4{"c4", "provider-c", "provider-c-dc1"};
  c4.writable = true;
  scenario.nodes.push_back(c4);
  Name(scenario, {"c1"});
  scenario.repairer_provider = "provider-c";
  DrillAccumulator drill(scenario);
  drill.Add(Wide(1));
  const DrillReport& report = drill.report();
  EXPECT_EQ(report.shards_to_rebuild, 1u);
  EXPECT_EQ(report.shards_waiting, 0u);
  // Shards 0-4 (a1 a2 a3 b1 b2), 2 MiB each.
  EXPECT_EQ(report.read_bytes, 10 * kMiB);
  EXPECT_EQ(report.read_bytes_by_provider.at("provider-a"), 6 * kMiB);
  EXPECT_EQ(report.read_bytes_by_provider.at("provider-b"), 4 * kMiB);
  EXPECT_FALSE(report.read_bytes_by_provider.contains("provider-c"));
  EXPECT_EQ(report.write_bytes, 2 * kMiB);
  EXPECT_EQ(report.write_bytes_by_provider.at("provider-c"), 2 * kMiB);
  // The gateway sits in provider c: every read crosses, the write does not.
  EXPECT_EQ(report.cross_provider_read_bytes, 10 * kMiB);
  EXPECT_EQ(report.cross_provider_write_bytes, 0u);
}

TEST(DrillAccumulator, ShardsWaitWhenNoProviderHasRoom) {
  // Providers b and c already hold their cap of 3 shards each, so provider
  // a's three shards have nowhere to go until provider a has nodes again.
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1", "a2", "a3"});
  DrillAccumulator drill(scenario);
  drill.Add(Wide(1));
  const DrillReport& report = drill.report();
  EXPECT_EQ(report.shards_to_rebuild, 0u);
  EXPECT_EQ(report.shards_waiting, 3u);
  EXPECT_EQ(report.waiting_bytes, 6 * kMiB);
  EXPECT_EQ(report.read_bytes, 0u);
  EXPECT_EQ(report.write_bytes, 0u);
}

TEST(DrillAccumulator, RepairBytesWithASpareServerInEveryProvider) {
  // With a4 b4 c4 spare, losing b1 c1 rebuilds onto b4 and c4; sources are
  // shards 0-4 minus b1's (3): a1 a2 a3 b2 b3.
  DrillScenario scenario = Cluster(4);
  Name(scenario, {"b1", "c1"});
  DrillAccumulator drill(scenario);
  drill.Add(Wide(1));
  const DrillReport& report = drill.report();
  EXPECT_EQ(report.shards_to_rebuild, 2u);
  EXPECT_EQ(report.read_bytes_by_provider.at("provider-a"), 6 * kMiB);
  EXPECT_EQ(report.read_bytes_by_provider.at("provider-b"), 4 * kMiB);
  EXPECT_EQ(report.write_bytes_by_provider.at("provider-b"), 2 * kMiB);
  EXPECT_EQ(report.write_bytes_by_provider.at("provider-c"), 2 * kMiB);
  // No repairer provider: every byte crosses a provider boundary.
  EXPECT_EQ(report.cross_provider_read_bytes, report.read_bytes);
  EXPECT_EQ(report.cross_provider_write_bytes, report.write_bytes);
}

class RunDrillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = meta::OpenSqliteStore(dir_.path() / "meta.db", clock_);
    ASSERT_TRUE(opened.ok()) << Why(opened);
    store_ = std::move(opened).value();
    ASSERT_OK(store_->CreateBucket(meta::Bucket{"b", "alice", "eu", 1}));
  }

  void Commit(const meta::ObjectVersion& version) {
    ASSERT_OK(store_->BeginWrite(PendingFor(version, 1)));
    ASSERT_OK(store_->CommitObject(version));
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<meta::MetaStore> store_;
};

TEST_F(RunDrillTest, FindsEachAffectedVersionOnceThroughTheIndexes) {
  Commit(Wide(1));                          // on every node: affected
  Commit(Copies(2, "a1", "b1", "c1"));      // on a1: affected
  Commit(Copies(3, "a2", "b3", "c3"));      // on a2: affected
  meta::ObjectVersion damaged = Copies(4, "", "b3", "c2");
  damaged.shards[0].state = ShardState::kMissing;  // damaged already, not on a lost node
  Commit(damaged);
  Commit(Copies(5, "b1", "b2", "c2"));  // on b2: affected
  Commit(Copies(6, "b1", "b3", "c1"));  // untouched

  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1", "a2", "a3", "b2"});
  auto report = RunDrill(*store_, scenario);
  ASSERT_TRUE(report.ok()) << Why(report);
  EXPECT_EQ(report->versions_affected, 5u);  // all but 6
  EXPECT_EQ(report->unreadable_versions, 0u);
  // wide: 9 - 4 = 5 left (spare 0); 2: b1 c1; 3: b3 c3; 4: b3 c2; 5: b1 c2 (spare 1 each)
  EXPECT_EQ(report->degraded_by_spare_shards.at(0), 1u);
  EXPECT_EQ(report->degraded_by_spare_shards.at(1), 4u);
}

TEST_F(RunDrillTest, AVersionOnManyLostNodesCountsOnce) {
  for (int i = 0; i < 300; ++i) Commit(Wide(i));  // more than one page per node
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1", "a2", "a3", "b1", "b2"});
  auto report = RunDrill(*store_, scenario);
  ASSERT_TRUE(report.ok()) << Why(report);
  EXPECT_EQ(report->versions_affected, 300u);
  EXPECT_EQ(report->unreadable_versions, 300u);
  EXPECT_EQ(report->unreadable.size(), 100u);  // the default list limit
}

TEST(DrillJson, ReportsScenarioCountsAndRepair) {
  DrillScenario scenario = Cluster(3);
  Name(scenario, {"a1", "a2", "a3"});
  scenario.nodes[3].down = true;  // b1
  scenario.list_limit = 1;
  DrillAccumulator drill(scenario);
  drill.Add(Wide(1));
  meta::ObjectVersion version = Wide(2);
  version.shards[4].state = ShardState::kMissing;
  drill.Add(version);
  drill.Add(Copies(3, "a1", "b2", "c1"));
  const auto json = nlohmann::json::parse(
      DrillJson(scenario, {"provider:provider-a"}, drill.report(), DrillRate{1048576.0, false}));
  EXPECT_EQ(json["scenario"]["lose"], nlohmann::json::array({"provider:provider-a"}));
  ASSERT_EQ(json["scenario"]["lost_nodes"].size(), 4u);
  EXPECT_EQ(json["scenario"]["lost_nodes"][3]["id"], "b1");
  EXPECT_EQ(json["scenario"]["lost_nodes"][3]["reason"], "down");
  EXPECT_EQ(json["scenario"]["lost_nodes"][0]["reason"], "named");
  EXPECT_TRUE(json["scenario"]["repairer_provider"].is_null());
  EXPECT_EQ(json["versions_affected"], 3);
  EXPECT_EQ(json["unreadable"]["versions"], 1);
  EXPECT_EQ(json["unreadable"]["list"][0]["key"], "wide-2");
  EXPECT_EQ(json["unreadable"]["list_truncated"], false);
  EXPECT_EQ(json["degraded"]["versions"], 2);
  EXPECT_EQ(json["degraded"]["by_spare_shards"]["0"], 1);
  EXPECT_EQ(json["degraded"]["by_spare_shards"]["1"], 1);
  ASSERT_EQ(json["degraded"]["list"].size(), 1u);  // the limit
  EXPECT_EQ(json["degraded"]["list"][0]["key"], "wide-1");
  EXPECT_EQ(json["degraded"]["list"][0]["remaining_shards"], 5);
  EXPECT_EQ(json["degraded"]["list_truncated"], true);
  EXPECT_EQ(json["repair"]["rate_source"], "rate_limit");
  EXPECT_EQ(json["repair"]["estimated_seconds"].get<double>(),
            double(json["repair"]["write_bytes"].get<uint64_t>()) / 1048576.0);
}

}  // namespace
}  // namespace holdfast::gateway
