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
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000));
  view.OnHeartbeat(Beat("a1", "a"));
  view.OnHeartbeat(Beat("b1", "b"));
  EXPECT_EQ(view.up_count(), 2u);
  clock.now_ms += 2000;
  view.OnHeartbeat(Beat("b1", "b"));
  clock.now_ms += 1500;  // a1 silent for 3.5 s, b1 for 1.5 s
  EXPECT_EQ(view.Node("a1")->health, NodeHealth::kDown);
  EXPECT_EQ(view.Node("b1")->health, NodeHealth::kUp);
}

TEST(ClusterViewTest, SuspectNodesAreNotOfferedForPlacementUntilTheyBeatAgain) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000));
  view.OnHeartbeat(Beat("a1", "a"));
  view.MarkSuspect("a1");
  EXPECT_EQ(view.Node("a1")->health, NodeHealth::kSuspect);
  EXPECT_FALSE(view.PlacementNodes().at(0).available);
  view.OnHeartbeat(Beat("a1", "a"));
  EXPECT_TRUE(view.PlacementNodes().at(0).available);
}

TEST(ClusterViewTest, NodesLoadedFromTheStoreStartDownButCountForTheCode) {
  FakeClock clock;
  ClusterView view(clock, std::chrono::milliseconds(3000), std::chrono::milliseconds(1000));
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

}  // namespace
}  // namespace holdfast::gateway
