#include "placement/placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <random>
#include <set>

namespace holdfast::placement {
namespace {

using Assignment = std::vector<std::optional<std::string>>;

// Provider i gets nodes_per_provider[i] nodes, spread round-robin over
// `sites_per_provider` sites.
std::vector<NodeInfo> Topology(const std::vector<int>& nodes_per_provider,
                               int sites_per_provider = 1) {
  std::vector<NodeInfo> nodes;
  for (size_t p = 0; p < nodes_per_provider.size(); ++p) {
    for (int n = 0; n < nodes_per_provider[p]; ++n) {
      const std::string provider = "p" + std::to_string(p);
      nodes.push_back({provider + "-n" + std::to_string(n), provider,
                       "s" + std::to_string(n % sites_per_provider)});
    }
  }
  return nodes;
}

Layout Derive(const std::vector<NodeInfo>& nodes, DurabilityPolicy policy) {
  Result<Layout> layout = DeriveLayout(nodes, policy);
  EXPECT_TRUE(layout.ok()) << layout.error().message;
  return layout.ok() ? *layout : Layout{};
}

Layout DeriveDefault(const std::vector<int>& nodes_per_provider) {
  int node_count = 0;
  for (int n : nodes_per_provider) node_count += n;
  return Derive(Topology(nodes_per_provider),
                DurabilityPolicy::DefaultFor(static_cast<int>(nodes_per_provider.size()), node_count));
}

void ExpectLayout(const Layout& layout, int k, int m, int cap) {
  EXPECT_EQ(layout.data_shard_count, k) << Describe(layout);
  EXPECT_EQ(layout.parity_shard_count, m) << Describe(layout);
  EXPECT_EQ(layout.per_provider_cap, cap) << Describe(layout);
}

std::map<std::string, std::string> ProviderOf(const std::vector<NodeInfo>& nodes) {
  std::map<std::string, std::string> provider_of;
  for (const NodeInfo& node : nodes) provider_of[node.id] = node.provider;
  return provider_of;
}

// Shards left after the worst loss the policy allows, found by trying every
// set of P providers; S further servers then take one shard each (caps hold).
int WorstCaseSurvivors(const Assignment& assignment, const std::vector<NodeInfo>& nodes,
                       const DurabilityPolicy& policy) {
  const std::map<std::string, std::string> provider_of = ProviderOf(nodes);
  std::map<std::string, int> per_provider;
  for (const auto& [id, provider] : provider_of) per_provider[provider] += 0;
  int placed = 0;
  for (const auto& id : assignment) {
    if (!id) continue;
    ++placed;
    ++per_provider[provider_of.at(*id)];
  }
  std::vector<int> counts;
  for (const auto& [provider, count] : per_provider) counts.push_back(count);
  int worst = placed;
  for (unsigned mask = 0; mask < (1u << counts.size()); ++mask) {
    if (std::popcount(mask) != policy.provider_losses) continue;
    int left = placed;
    for (size_t i = 0; i < counts.size(); ++i) {
      if (mask & (1u << i)) left -= counts[i];
    }
    worst = std::min(worst, std::max(0, left - policy.server_losses));
  }
  return worst;
}

// Oracle for DeriveLayout: the worst provider loss for each cap is found by
// enumerating provider subsets rather than by sorting.
std::optional<Layout> BruteForceBest(const std::vector<NodeInfo>& nodes,
                                     const DurabilityPolicy& policy) {
  std::map<std::string, int> sizes_by_name;
  for (const NodeInfo& node : nodes) ++sizes_by_name[node.provider];
  std::vector<int> sizes;
  for (const auto& [name, size] : sizes_by_name) sizes.push_back(size);
  if (policy.provider_losses >= static_cast<int>(sizes.size())) return std::nullopt;
  std::optional<Layout> best;
  for (int cap = 1; cap <= *std::max_element(sizes.begin(), sizes.end()); ++cap) {
    int capacity = 0;
    for (int size : sizes) capacity += std::min(cap, size);
    int worst_provider_loss = 0;
    for (unsigned mask = 0; mask < (1u << sizes.size()); ++mask) {
      if (std::popcount(mask) != policy.provider_losses) continue;
      int loss = 0;
      for (size_t i = 0; i < sizes.size(); ++i) {
        if (mask & (1u << i)) loss += std::min(cap, sizes[i]);
      }
      worst_provider_loss = std::max(worst_provider_loss, loss);
    }
    const int m = worst_provider_loss + policy.server_losses;
    const int k = std::min(capacity - m, 32);
    if (k < 1 || m > 16) continue;
    const double efficiency = static_cast<double>(k) / (k + m);
    if (!best) {
      best = Layout{k, m, cap};
      continue;
    }
    const double best_efficiency = static_cast<double>(best->data_shard_count) / best->total();
    if (efficiency > best_efficiency + 1e-12 ||
        (std::abs(efficiency - best_efficiency) < 1e-12 && k + m < best->total())) {
      best = Layout{k, m, cap};
    }
  }
  return best;
}

int PlacedCount(const Assignment& assignment) {
  return static_cast<int>(std::count_if(assignment.begin(), assignment.end(),
                                        [](const auto& id) { return id.has_value(); }));
}

TEST(DefaultPolicy, FollowsTopology) {
  DurabilityPolicy policy = DurabilityPolicy::DefaultFor(3, 9);
  EXPECT_EQ(policy.provider_losses, 1);
  EXPECT_EQ(policy.server_losses, 1);
  policy = DurabilityPolicy::DefaultFor(1, 5);
  EXPECT_EQ(policy.provider_losses, 0);
  EXPECT_EQ(policy.server_losses, 1);
  policy = DurabilityPolicy::DefaultFor(1, 1);
  EXPECT_EQ(policy.provider_losses, 0);
  EXPECT_EQ(policy.server_losses, 0);
}

TEST(DeriveLayout, Examples) {
  ExpectLayout(DeriveDefault({3, 3, 3}), 5, 4, 3);
  ExpectLayout(DeriveDefault({2, 2, 2}), 3, 3, 2);
  ExpectLayout(DeriveDefault({3, 3}), 2, 4, 3);
  ExpectLayout(DeriveDefault({3, 3, 3, 3}), 8, 4, 3);
  ExpectLayout(DeriveDefault({4, 3, 2, 1}), 4, 3, 2);
  ExpectLayout(DeriveDefault({5, 3, 1}), 3, 4, 3);
  ExpectLayout(DeriveDefault({1}), 1, 0, 1);
  ExpectLayout(DeriveDefault({5}), 4, 1, 5);
  EXPECT_EQ(Describe(DeriveDefault({3, 3, 3})), "k=5 m=4, at most 3 shards per provider");
}

TEST(DeriveLayout, CountsUnavailableNodesButNotWeightlessOnes) {
  std::vector<NodeInfo> nodes = Topology({3, 3, 3});
  for (NodeInfo& node : nodes) node.available = node.provider != "p0";
  nodes.push_back({"drained", "p1", "s0", 0.0});
  ExpectLayout(Derive(nodes, {1, 1}), 5, 4, 3);
}

TEST(DeriveLayout, HugeTopologyRespectsCodecLimits) {
  const std::vector<NodeInfo> nodes = Topology({600, 600, 600}, 4);
  const DurabilityPolicy policy{1, 1};
  const Layout layout = Derive(nodes, policy);
  ExpectLayout(layout, 29, 16, 15);
  for (int seed = 0; seed < 5; ++seed) {
    const Assignment assignment = Place("big" + std::to_string(seed), layout, nodes);
    EXPECT_EQ(PlacedCount(assignment), layout.total());
    EXPECT_TRUE(SatisfiesCaps(assignment, layout, nodes));
    EXPECT_GE(WorstCaseSurvivors(assignment, nodes, policy), layout.data_shard_count);
  }
}

TEST(DeriveLayout, KIsCappedAt32) {
  // P = 0 so m stays 1 while capacity grows past 32.
  const Layout layout = Derive(Topology({50}), {0, 1});
  ExpectLayout(layout, 32, 1, 33);
}

TEST(DeriveLayout, RefusalsNameTheProblem) {
  Result<Layout> layout = DeriveLayout(Topology({4}), {1, 1});
  ASSERT_FALSE(layout.ok());
  EXPECT_EQ(layout.error().code, Errc::kInfeasible);
  EXPECT_EQ(layout.error().message,
            "policy asks to survive the loss of 1 provider plus 1 server, but only 1 provider is "
            "registered; it needs at least 2 providers");

  layout = DeriveLayout(Topology({1, 1}), {1, 1});
  ASSERT_FALSE(layout.ok());
  EXPECT_EQ(layout.error().code, Errc::kInfeasible);
  EXPECT_NE(layout.error().message.find("needs at least 2 nodes"), std::string::npos)
      << layout.error().message;

  layout = DeriveLayout(Topology({1}), {0, 1});
  ASSERT_FALSE(layout.ok());
  EXPECT_EQ(layout.error().message,
            "policy asks to survive the loss of 0 providers plus 1 server, but only 1 node is "
            "registered; it needs at least 2 nodes (1 to lose plus 1 to keep the data)");

  layout = DeriveLayout(Topology({20, 20, 20}), {2, 8});
  ASSERT_FALSE(layout.ok());
  EXPECT_NE(layout.error().message.find("26 parity shards"), std::string::npos)
      << layout.error().message;

  layout = DeriveLayout(Topology({3, 3, 3}), {1, 40});
  ASSERT_FALSE(layout.ok());
  EXPECT_NE(layout.error().message.find("at least 41 parity shards"), std::string::npos)
      << layout.error().message;

  EXPECT_EQ(DeriveLayout({}, {0, 0}).error().code, Errc::kInfeasible);
  EXPECT_EQ(DeriveLayout(Topology({3, 3}), {-1, 0}).error().code, Errc::kInvalidArgument);
  EXPECT_EQ(DeriveLayout(Topology({3, 3}), {0, -1}).error().code, Errc::kInvalidArgument);
  std::vector<NodeInfo> duplicated = Topology({2, 2});
  duplicated.push_back(duplicated.front());
  EXPECT_EQ(DeriveLayout(duplicated, {1, 0}).error().code, Errc::kInvalidArgument);
}

TEST(DeriveLayout, PropertyOverRandomTopologies) {
  std::mt19937 rng(20240611);
  auto uniform = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int feasible_count = 0;
  for (int round = 0; round < 2000; ++round) {
    std::vector<NodeInfo> nodes;
    const int providers = uniform(1, 8);
    for (int p = 0; p < providers; ++p) {
      const int node_count = uniform(1, 12);
      const int site_count = uniform(1, 3);
      for (int n = 0; n < node_count; ++n) {
        const std::string provider = "p" + std::to_string(p);
        const double weight = 0.5 + uniform(0, 30) / 10.0;
        nodes.push_back({provider + "-" + std::to_string(n), provider,
                         "s" + std::to_string(uniform(0, site_count - 1)), weight});
      }
    }
    const DurabilityPolicy policy{uniform(0, 2), uniform(0, 2)};
    const Result<Layout> layout = DeriveLayout(nodes, policy);
    const std::optional<Layout> oracle = BruteForceBest(nodes, policy);
    SCOPED_TRACE("round " + std::to_string(round) + ", P=" +
                 std::to_string(policy.provider_losses) +
                 " S=" + std::to_string(policy.server_losses));
    if (!layout.ok()) {
      EXPECT_EQ(layout.error().code, Errc::kInfeasible);
      EXPECT_FALSE(oracle.has_value()) << "oracle found " << Describe(*oracle);
      continue;
    }
    ++feasible_count;
    ASSERT_TRUE(oracle.has_value()) << Describe(*layout);
    EXPECT_EQ(layout->data_shard_count, oracle->data_shard_count) << Describe(*layout);
    EXPECT_EQ(layout->total(), oracle->total()) << Describe(*layout);
    EXPECT_GE(layout->data_shard_count, 1);
    EXPECT_LE(layout->data_shard_count, 32);
    EXPECT_GE(layout->parity_shard_count, 0);
    EXPECT_LE(layout->parity_shard_count, 16);
    for (int seed = 0; seed < 4; ++seed) {
      const Assignment assignment = Place("obj" + std::to_string(seed), *layout, nodes);
      ASSERT_EQ(static_cast<int>(assignment.size()), layout->total());
      EXPECT_EQ(PlacedCount(assignment), layout->total()) << Describe(*layout);
      EXPECT_TRUE(SatisfiesCaps(assignment, *layout, nodes));
      EXPECT_GE(WorstCaseSurvivors(assignment, nodes, policy), layout->data_shard_count)
          << Describe(*layout);
    }
  }
  // The generator must exercise both outcomes.
  EXPECT_GT(feasible_count, 500);
  EXPECT_LT(feasible_count, 2000);
}

TEST(Place, IndependentOfNodeOrder) {
  std::vector<NodeInfo> nodes = Topology({4, 3, 5, 2}, 2);
  const Layout layout = Derive(nodes, {1, 1});
  std::mt19937 rng(7);
  for (int seed = 0; seed < 100; ++seed) {
    const std::string object_seed = "v" + std::to_string(seed);
    const Assignment before = Place(object_seed, layout, nodes);
    std::shuffle(nodes.begin(), nodes.end(), rng);
    EXPECT_EQ(Place(object_seed, layout, nodes), before);
  }
}

TEST(Place, SpreadsLoadEvenlyAcrossSeeds) {
  const std::vector<NodeInfo> nodes = Topology({6, 6, 6, 6}, 2);
  const Layout layout{4, 2, 2};  // 6 shards over 24 nodes: most nodes are skipped
  std::map<std::string, int> shards_per_node;
  constexpr int kSeeds = 10000;
  for (int seed = 0; seed < kSeeds; ++seed) {
    for (const auto& id : Place(std::to_string(seed), layout, nodes)) ++shards_per_node[*id];
  }
  const double expected = static_cast<double>(kSeeds) * layout.total() / nodes.size();
  double chi_square = 0;
  for (const NodeInfo& node : nodes) {
    const double diff = shards_per_node[node.id] - expected;
    chi_square += diff * diff / expected;
  }
  // 23 degrees of freedom: p = 0.001 is about 49.7.
  EXPECT_LT(chi_square, 60) << "chi-square " << chi_square;
}

TEST(Place, WeightsShiftLoadProportionally) {
  std::vector<NodeInfo> nodes;
  for (int i = 1; i <= 4; ++i) nodes.push_back({"n" + std::to_string(i), "p", "s", double(i)});
  const Layout layout{1, 0, 1};
  std::map<std::string, int> wins;
  constexpr int kSeeds = 10000;
  for (int seed = 0; seed < kSeeds; ++seed) ++wins[*Place(std::to_string(seed), layout, nodes)[0]];
  for (int i = 1; i <= 4; ++i) {
    const double expected = kSeeds * i / 10.0;
    EXPECT_NEAR(wins["n" + std::to_string(i)], expected, 0.1 * expected) << "weight " << i;
  }
}

TEST(Place, PrefersDistinctSitesWithinAProvider) {
  // Each provider: site s0 has five nodes, site s1 one.
  std::vector<NodeInfo> nodes;
  for (int p = 0; p < 3; ++p) {
    for (int n = 0; n < 6; ++n) {
      const std::string provider = "p" + std::to_string(p);
      nodes.push_back({provider + "-" + std::to_string(n), provider, n == 5 ? "s1" : "s0"});
    }
  }
  std::map<std::string, std::string> site_of;
  for (const NodeInfo& node : nodes) site_of[node.id] = node.provider + "/" + node.site;
  const Layout layout{3, 3, 2};
  for (int seed = 0; seed < 500; ++seed) {
    std::set<std::string> sites_used;
    for (const auto& id : Place(std::to_string(seed), layout, nodes)) sites_used.insert(site_of.at(*id));
    EXPECT_EQ(sites_used.size(), 6u) << "seed " << seed;
  }
}

TEST(Place, UnavailableProviderLeavesShardsUnplaced) {
  std::vector<NodeInfo> nodes = Topology({3, 3, 3});
  const Layout layout = Derive(nodes, {1, 1});
  for (NodeInfo& node : nodes) node.available = node.provider != "p1";
  for (int seed = 0; seed < 50; ++seed) {
    const Assignment assignment = Place(std::to_string(seed), layout, nodes);
    ASSERT_EQ(assignment.size(), 9u);
    EXPECT_EQ(PlacedCount(assignment), 6);
    EXPECT_TRUE(SatisfiesCaps(assignment, layout, nodes));
    for (const auto& id : assignment) {
      if (id) {
        EXPECT_NE(id->substr(0, 2), "p1");
      }
    }
  }
}

TEST(SatisfiesCaps, RejectsBrokenAssignments) {
  const std::vector<NodeInfo> nodes = Topology({3, 3});
  const Layout layout{1, 1, 2};
  EXPECT_TRUE(SatisfiesCaps({"p0-n0", "p1-n0"}, layout, nodes));
  EXPECT_TRUE(SatisfiesCaps({"p0-n0", std::nullopt}, layout, nodes));
  EXPECT_FALSE(SatisfiesCaps({"p0-n0", "p0-n1", "p0-n2"}, layout, nodes));  // provider cap
  EXPECT_FALSE(SatisfiesCaps({"p0-n0", "p0-n0"}, layout, nodes));           // one per node
  EXPECT_FALSE(SatisfiesCaps({"ghost"}, layout, nodes));                    // unknown node
}

}  // namespace
}  // namespace holdfast::placement

namespace holdfast::placement {
namespace {

TEST(DeriveLayoutTest, SingleDataShardLayoutKeepsOneCopyPerProvider) {
  std::vector<NodeInfo> nodes;
  for (const char* provider : {"a", "b", "c"}) {
    for (int i = 0; i < 3; ++i) {
      nodes.push_back(NodeInfo{std::string(provider) + std::to_string(i), provider, "s", 1.0, true});
    }
  }
  auto layout = DeriveLayout(nodes, DurabilityPolicy{1, 1}, /*max_data_shards=*/1);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->data_shard_count, 1);
  EXPECT_EQ(layout->parity_shard_count, 2);
  EXPECT_EQ(layout->per_provider_cap, 1);
  EXPECT_FALSE(DeriveLayout(nodes, DurabilityPolicy{1, 1}, 0).ok());
}

}  // namespace
}  // namespace holdfast::placement
