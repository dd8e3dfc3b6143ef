#include "gateway/cluster.h"

#include <gtest/gtest.h>

namespace holdfast::gateway {
namespace {

class FakeClock : public Clock {
 public:
  int64_t NowUnixMs() const override { return 1'700'000'000'000 + now_ms; }
  int64_t MonotonicMs() const override { return now_ms; }
  int64_t now_ms = 1000;
};

node::Heartbeat Beat(std::string id, std::string provider) {
  node::Heartbeat beat;
  beat.id = std::move(id);
  beat.provider = std::move(provider);
  beat.site = "s1";
  beat.endpoint = "127.0.0.1:1";
  return beat;
}

TEST(ClusterViewTest, NodesGoDownWhenHeartbeatsStop) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000),
                   std::chrono::milliseconds(10000));
  view.OnHeartbeat(Beat("a1", "a"));
  view.OnHeartbeat(Beat("b1", "b"));
  EXPECT_EQ(view.up_count(), 2u);
  clock.now_ms += 2000;
  view.OnHeartbeat(Beat("b1", "b"));
  clock.now_ms += 1500;  // a1 silent for 3.5 s, b1 for 1.5 s
  EXPECT_EQ(view.Node("a1")->health, NodeHealth::kDown);
  EXPECT_EQ(view.Node("b1")->health, NodeHealth::kUp);
}

TEST(ClusterViewTest, AnnouncesChangesButNotRoutineBeats) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000),
                   std::chrono::milliseconds(10000));
  node::Heartbeat beat = Beat("a1", "a");
  beat.shard_count = 7;
  uint64_t seen = view.changes().generation();
  view.OnHeartbeat(beat);  // a new node
  EXPECT_NE(view.changes().generation(), seen);
  seen = view.changes().generation();
  clock.now_ms += 1000;
  view.OnHeartbeat(beat);  // routine
  EXPECT_EQ(view.changes().generation(), seen);
  beat.read_only = true;
  view.OnHeartbeat(beat);
  EXPECT_NE(view.changes().generation(), seen);
  seen = view.changes().generation();
  clock.now_ms += 5000;  // down, then back
  view.OnHeartbeat(beat);
  EXPECT_NE(view.changes().generation(), seen);
  seen = view.changes().generation();
  beat.shard_count = 0;  // re-provisioned empty
  view.OnHeartbeat(beat);
  EXPECT_NE(view.changes().generation(), seen);

  const std::vector<meta::Drain> drains{meta::Drain{meta::DrainScope::kNode, "a1"}};
  seen = view.changes().generation();
  view.SetDrains(drains);
  EXPECT_NE(view.changes().generation(), seen);
  seen = view.changes().generation();
  view.SetDrains(drains);  // a refresh that found nothing new
  EXPECT_EQ(view.changes().generation(), seen);
}

TEST(ClusterViewTest, ANodeBackFromDownOrRestartedRejoins) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000),
                   std::chrono::milliseconds(10000));
  node::Heartbeat beat = Beat("a1", "a");
  beat.boot_id = "boot-1";
  view.OnHeartbeat(beat);  // the first beat this gateway sees: nothing to compare with
  clock.now_ms += 1000;
  view.OnHeartbeat(beat);
  EXPECT_EQ(view.Node("a1")->rejoins, 0u);
  beat.boot_id = "boot-2";  // restarted between two beats, never seen down
  clock.now_ms += 1000;
  view.OnHeartbeat(beat);
  EXPECT_EQ(view.Node("a1")->rejoins, 1u);
  clock.now_ms += 5000;  // down, not lost
  EXPECT_EQ(view.Node("a1")->health, NodeHealth::kDown);
  view.OnHeartbeat(beat);
  EXPECT_EQ(view.Node("a1")->rejoins, 2u);
  EXPECT_EQ(view.Node("a1")->returns_after_loss, 0u);
  clock.now_ms += 20000;  // lost: that is a return after loss, not a rejoin
  view.OnHeartbeat(beat);
  EXPECT_EQ(view.Node("a1")->rejoins, 2u);
  EXPECT_EQ(view.Node("a1")->returns_after_loss, 1u);
}

TEST(ClusterViewTest, SuspectNodesAreNotOfferedForPlacementUntilTheyBeatAgain) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000),
                   std::chrono::milliseconds(10000));
  view.OnHeartbeat(Beat("a1", "a"));
  view.MarkSuspect("a1");
  EXPECT_EQ(view.Node("a1")->health, NodeHealth::kSuspect);
  EXPECT_FALSE(view.PlacementNodes().at(0).available);
  view.OnHeartbeat(Beat("a1", "a"));
  EXPECT_TRUE(view.PlacementNodes().at(0).available);
}

TEST(ClusterViewTest, NodesLoadedFromTheStoreStartDownButCountForTheCode) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000),
                   std::chrono::milliseconds(10000));
  meta::NodeRecord record;
  record.id = "c1";
  record.provider = "c";
  record.site = "s";
  view.Load({record});
  auto nodes = view.PlacementNodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_FALSE(nodes[0].available);
  EXPECT_EQ(nodes[0].provider, "c");
}

TEST(ClusterViewTest, ADownNodeIsLostOnlyAfterTheGraceAndItsReturnIsCounted) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000),
                   std::chrono::milliseconds(10000));
  node::Heartbeat beat = Beat("a1", "a");
  beat.shard_count = 42;
  view.OnHeartbeat(beat);
  EXPECT_EQ(view.Node("a1")->shard_count, 42u);
  EXPECT_STREQ(NodeStateName(*view.Node("a1")), "up");
  clock.now_ms += 3001;  // down, not lost: a restart or a blip
  EXPECT_EQ(view.Node("a1")->health, NodeHealth::kDown);
  EXPECT_FALSE(view.Node("a1")->lost);
  view.OnHeartbeat(beat);  // back within the grace: nothing to reconcile
  EXPECT_EQ(view.Node("a1")->returns_after_loss, 0u);

  clock.now_ms += 3000 + 10000;  // down for exactly the grace
  EXPECT_FALSE(view.Node("a1")->lost);
  clock.now_ms += 1;
  EXPECT_TRUE(view.Node("a1")->lost);
  EXPECT_STREQ(NodeStateName(*view.Node("a1")), "lost");
  EXPECT_FALSE(view.PlacementNodes().at(0).available);
  view.OnHeartbeat(beat);
  EXPECT_FALSE(view.Node("a1")->lost);
  EXPECT_EQ(view.Node("a1")->health, NodeHealth::kUp);
  EXPECT_EQ(view.Node("a1")->returns_after_loss, 1u);
}

TEST(ClusterViewTest, ANodeThatComesBackEmptyIsNoticedHoweverBriefItsAbsence) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000),
                   std::chrono::milliseconds(10000));
  node::Heartbeat beat = Beat("a1", "a");
  view.OnHeartbeat(beat);  // first beat since start-up, empty: worth one look
  EXPECT_EQ(view.Node("a1")->empty_reports, 1u);
  view.OnHeartbeat(beat);
  EXPECT_EQ(view.Node("a1")->empty_reports, 1u);
  beat.shard_count = 7;
  view.OnHeartbeat(beat);
  beat.shard_count = 0;  // re-provisioned between two beats
  view.OnHeartbeat(beat);
  EXPECT_EQ(view.Node("a1")->empty_reports, 2u);
  EXPECT_EQ(view.Node("a1")->returns_after_loss, 0u);
}

TEST(ClusterViewTest, NodesSilentSinceStartUpAreLostOneGraceLater) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000),
                   std::chrono::milliseconds(10000));
  meta::NodeRecord record;
  record.id = "c1";
  record.provider = "c";
  view.Load({record});
  clock.now_ms += 10000;
  EXPECT_FALSE(view.Node("c1")->lost);
  clock.now_ms += 1;
  EXPECT_TRUE(view.Node("c1")->lost);
}

}  // namespace
}  // namespace holdfast::gateway
