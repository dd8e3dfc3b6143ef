#include "placement/placement.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace holdfast::placement {
namespace {

// Limits of the codec (ec/) and of what a repair can afford to re-read.
constexpr int kMaxDataShards = 32;
constexpr int kMaxParityShards = 16;

// Part of the placement contract: changing it moves every object's shards.
constexpr XXH64_hash_t kRendezvousHashSeed = 0;

// A node with no weight can never receive a shard, so counting it would
// promise capacity Place() can never use.
bool CanHoldShards(const NodeInfo& node) { return std::isfinite(node.weight) && node.weight > 0; }

std::string Plural(long count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

std::string PolicyText(const DurabilityPolicy& policy) {
  return "policy asks to survive the loss of " + Plural(policy.provider_losses, "provider") +
         " plus " + Plural(policy.server_losses, "server");
}

// Nodes per provider, largest first. Sorted so the P providers that can hold
// the most shards under any cap are always the first P.
Result<std::vector<int>> ProviderSizes(const std::vector<NodeInfo>& nodes) {
  std::map<std::string, int> per_provider;
  std::unordered_set<std::string> ids;
  for (const NodeInfo& node : nodes) {
    if (!ids.insert(node.id).second) {
      return MakeError(Errc::kInvalidArgument, "node id '" + node.id + "' is registered twice");
    }
    if (CanHoldShards(node)) ++per_provider[node.provider];
  }
  std::vector<int> sizes;
  for (const auto& [provider, count] : per_provider) sizes.push_back(count);
  std::sort(sizes.begin(), sizes.end(), std::greater<>());
  return sizes;
}

// The code for cap `cap`: m covers the P fullest providers plus S servers
// (one shard per server); k takes whatever capacity is left, up to the codec limit.
Layout LayoutForCap(const std::vector<int>& sizes_desc, int cap, const DurabilityPolicy& policy,
                    int max_data_shards) {
  int capacity = 0;
  int loss = policy.server_losses;
  for (size_t i = 0; i < sizes_desc.size(); ++i) {
    const int held = std::min(cap, sizes_desc[i]);
    capacity += held;
    if (static_cast<int>(i) < policy.provider_losses) loss += held;
  }
  return Layout{std::min(capacity - loss, max_data_shards), loss, cap};
}

bool Feasible(const Layout& layout) {
  return layout.data_shard_count >= 1 && layout.parity_shard_count <= kMaxParityShards;
}

// Higher k/(k+m) first; at equal efficiency the narrower stripe touches fewer nodes.
bool MoreEfficient(const Layout& a, const Layout& b) {
  const long lhs = static_cast<long>(a.data_shard_count) * b.total();
  const long rhs = static_cast<long>(b.data_shard_count) * a.total();
  if (lhs != rhs) return lhs > rhs;
  return a.total() < b.total();
}

// Called once no cap works. k grows with the cap and so does m, so either even
// the largest cap leaves no data shard, or the smallest cap that does needs
// too many parity shards.
Error ExplainNoCap(const std::vector<int>& sizes_desc, const DurabilityPolicy& policy) {
  const int max_cap = sizes_desc.front();
  const Layout widest = LayoutForCap(sizes_desc, max_cap, policy, kMaxDataShards);
  if (widest.data_shard_count < 1) {
    int remaining = 0;
    for (size_t i = policy.provider_losses; i < sizes_desc.size(); ++i) remaining += sizes_desc[i];
    const std::string where =
        policy.provider_losses == 0
            ? ""
            : " outside the " + Plural(policy.provider_losses, "provider") + " with the most nodes";
    return MakeError(Errc::kInfeasible,
                     PolicyText(policy) + ", but only " + Plural(remaining, "node") +
                         (remaining == 1 ? " is" : " are") + " registered" + where +
                         "; it needs at least " + Plural(policy.server_losses + 1, "node") +
                         (where.empty() ? "" : " there") + " (" + std::to_string(policy.server_losses) +
                         " to lose plus 1 to keep the data)");
  }
  int cap = 1;
  while (LayoutForCap(sizes_desc, cap, policy, kMaxDataShards).data_shard_count < 1) ++cap;
  const int parity = LayoutForCap(sizes_desc, cap, policy, kMaxDataShards).parity_shard_count;
  return MakeError(Errc::kInfeasible,
                   PolicyText(policy) + ": to keep any data after those losses this topology needs " +
                       "up to " + std::to_string(cap) + " shards per provider, hence " +
                       std::to_string(parity) + " parity shards, but at most " +
                       std::to_string(kMaxParityShards) +
                       " are supported; add providers or relax the policy");
}

// Refusals that do not depend on the cap.
std::optional<Error> CheckPolicy(const std::vector<int>& sizes_desc, const DurabilityPolicy& policy) {
  const int providers = static_cast<int>(sizes_desc.size());
  if (policy.provider_losses < 0 || policy.server_losses < 0) {
    return MakeError(Errc::kInvalidArgument, "durability policy numbers must not be negative (got " +
                                                 std::to_string(policy.provider_losses) +
                                                 " provider losses, " +
                                                 std::to_string(policy.server_losses) +
                                                 " server losses)");
  }
  if (providers == 0) {
    return MakeError(Errc::kInfeasible, "no nodes able to hold shards are registered");
  }
  if (policy.provider_losses >= providers) {
    return MakeError(Errc::kInfeasible, PolicyText(policy) + ", but only " +
                                            Plural(providers, "provider") +
                                            (providers == 1 ? " is" : " are") +
                                            " registered; it needs at least " +
                                            Plural(policy.provider_losses + 1, "provider"));
  }
  // Each lost provider costs at least one shard, each lost server one more.
  // Checked in long so a huge S cannot overflow the later sums.
  const long min_parity = static_cast<long>(policy.provider_losses) + policy.server_losses;
  if (min_parity > kMaxParityShards) {
    return MakeError(Errc::kInfeasible, PolicyText(policy) + ", which needs at least " +
                                            std::to_string(min_parity) +
                                            " parity shards; at most " +
                                            std::to_string(kMaxParityShards) + " are supported");
  }
  return std::nullopt;
}

// Rendezvous score: -w / ln(u) with u uniform in (0,1) makes a node's chance
// of ranking first proportional to its weight, and adding or removing a node
// only moves the shards that node wins or held.
double RendezvousScore(const std::string& object_seed, const NodeInfo& node) {
  std::string key;
  key.reserve(object_seed.size() + 1 + node.id.size());
  key.append(object_seed).push_back('\0');
  key.append(node.id);
  const uint64_t hash = XXH3_64bits_withSeed(key.data(), key.size(), kRendezvousHashSeed);
  // 52 bits plus one half is exact in a double and keeps u strictly inside (0,1).
  const double u = (static_cast<double>(hash >> 12) + 0.5) * 0x1p-52;
  return -node.weight / std::log(u);
}

struct Candidate {
  const NodeInfo* node;
  double score;
  int site_rank = 0;  // 1 for the best-scoring node of its (provider, site), 2 next, ...
};

// Available, weighted nodes ordered for taking. Ordering by site rank first
// means every site of a provider gets one shard before any site gets a
// second (a site is a shared building and power feed); within a rank,
// rendezvous score decides. Ties fall back to node fields so that the input
// order of `nodes` never matters.
std::vector<Candidate> OrderCandidates(const std::string& object_seed,
                                       const std::vector<NodeInfo>& nodes) {
  std::vector<Candidate> candidates;
  for (const NodeInfo& node : nodes) {
    if (node.available && CanHoldShards(node)) {
      candidates.push_back({&node, RendezvousScore(object_seed, node)});
    }
  }
  auto by_score = [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return std::tie(a.node->id, a.node->provider, a.node->site) <
           std::tie(b.node->id, b.node->provider, b.node->site);
  };
  std::sort(candidates.begin(), candidates.end(), by_score);
  std::map<std::pair<std::string_view, std::string_view>, int> taken_per_site;
  for (Candidate& c : candidates) c.site_rank = ++taken_per_site[{c.node->provider, c.node->site}];
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.site_rank < b.site_rank; });
  return candidates;
}

}  // namespace

DurabilityPolicy DurabilityPolicy::DefaultFor(int provider_count, int node_count) {
  return DurabilityPolicy{provider_count >= 2 ? 1 : 0, node_count > 1 ? 1 : 0};
}

Result<Layout> DeriveLayout(const std::vector<NodeInfo>& nodes, const DurabilityPolicy& policy,
                            int max_data_shards) {
  if (max_data_shards < 1 || max_data_shards > kMaxDataShards) {
    return MakeError(Errc::kInvalidArgument, "max_data_shards must be in [1, 32]");
  }
  Result<std::vector<int>> sizes = ProviderSizes(nodes);
  if (!sizes) return sizes.error();
  if (std::optional<Error> refusal = CheckPolicy(*sizes, policy)) return *refusal;

  std::optional<Layout> best;
  for (int cap = 1; cap <= sizes->front(); ++cap) {
    const Layout candidate = LayoutForCap(*sizes, cap, policy, max_data_shards);
    if (Feasible(candidate) && (!best || MoreEfficient(candidate, *best))) best = candidate;
  }
  if (!best) return ExplainNoCap(*sizes, policy);
  return *best;
}

std::vector<std::optional<std::string>> Place(const std::string& object_seed, const Layout& layout,
                                              const std::vector<NodeInfo>& nodes) {
  std::vector<std::optional<std::string>> assignment(std::max(layout.total(), 0));
  std::unordered_map<std::string_view, int> shards_per_provider;
  std::unordered_set<std::string_view> used_ids;  // guards against duplicate ids
  size_t next_index = 0;
  for (const Candidate& c : OrderCandidates(object_seed, nodes)) {
    if (next_index == assignment.size()) break;
    int& provider_shards = shards_per_provider[c.node->provider];
    if (provider_shards >= layout.per_provider_cap) continue;
    if (!used_ids.insert(c.node->id).second) continue;
    ++provider_shards;
    assignment[next_index++] = c.node->id;
  }
  return assignment;
}

bool SatisfiesCaps(const std::vector<std::optional<std::string>>& assignment, const Layout& layout,
                   const std::vector<NodeInfo>& nodes) {
  std::unordered_map<std::string_view, std::string_view> provider_of;
  for (const NodeInfo& node : nodes) provider_of.emplace(node.id, node.provider);
  std::unordered_set<std::string_view> used_ids;
  std::unordered_map<std::string_view, int> shards_per_provider;
  for (const std::optional<std::string>& id : assignment) {
    if (!id) continue;
    auto it = provider_of.find(*id);
    if (it == provider_of.end()) return false;  // unknown node: its provider cannot be checked
    if (!used_ids.insert(*id).second) return false;
    if (++shards_per_provider[it->second] > layout.per_provider_cap) return false;
  }
  return true;
}

std::string Describe(const Layout& layout) {
  return "k=" + std::to_string(layout.data_shard_count) +
         " m=" + std::to_string(layout.parity_shard_count) + ", at most " +
         Plural(layout.per_provider_cap, "shard") + " per provider";
}

}  // namespace holdfast::placement
