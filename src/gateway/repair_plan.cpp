#include "gateway/repair_plan.h"

#include <algorithm>
#include <map>
#include <set>

namespace holdfast::gateway {
namespace {

// Every writable node, in the order placement would choose them for
// `version_id`: Place() with room for all of them ranks them all.
std::vector<std::string> RankedNodes(const std::string& version_id,
                                     const std::vector<RepairNode>& nodes) {
  std::vector<placement::NodeInfo> infos;
  for (const RepairNode& node : nodes) {
    infos.push_back({node.id, node.provider, node.site, 1.0, node.writable});
  }
  const int n = static_cast<int>(infos.size());
  std::vector<std::string> ranked;
  for (const auto& id : placement::Place(version_id, placement::Layout{n, 0, n}, infos)) {
    if (id) ranked.push_back(*id);
  }
  return ranked;
}

}  // namespace

int PerProviderCap(const placement::DurabilityPolicy& policy, int data_shard_count,
                   int parity_shard_count) {
  if (policy.provider_losses <= 0) return data_shard_count + parity_shard_count;
  return std::max(1, (parity_shard_count - policy.server_losses) / policy.provider_losses);
}

RepairPlan PlanRepair(const meta::ObjectVersion& version, const std::vector<RepairNode>& nodes,
                      int per_provider_cap) {
  std::map<std::string, const RepairNode*> by_id;
  for (const RepairNode& node : nodes) by_id[node.id] = &node;

  RepairPlan plan;
  std::set<std::string> used_nodes;
  std::map<std::string, int> per_provider;
  std::vector<const meta::ShardLocation*> damaged;
  for (const meta::ShardLocation& shard : version.shards) {
    auto it = by_id.find(shard.node_id);
    const bool healthy =
        shard.state == meta::ShardState::kOk && it != by_id.end() && !it->second->lost;
    if (!healthy) {
      damaged.push_back(&shard);
      continue;
    }
    ++plan.healthy_shards;
    used_nodes.insert(shard.node_id);
    ++per_provider[it->second->provider];
    if (it->second->readable) plan.sources.push_back(shard.shard_index);
  }
  plan.damaged_shards = static_cast<int>(damaged.size());
  std::sort(plan.sources.begin(), plan.sources.end());

  auto eligible = [&](const std::string& node_id) {
    auto it = by_id.find(node_id);
    return it != by_id.end() && it->second->writable && !used_nodes.contains(node_id) &&
           per_provider[it->second->provider] < per_provider_cap;
  };
  auto take = [&](const meta::ShardLocation& shard, const std::string& node_id) {
    used_nodes.insert(node_id);
    ++per_provider[by_id.at(node_id)->provider];
    plan.rebuilds.push_back({shard.shard_index, shard.node_id, node_id});
  };
  // Own nodes first, so that another shard's rebuild cannot take a node
  // that is about to get its old shard back.
  std::vector<const meta::ShardLocation*> waiting;
  for (const meta::ShardLocation* shard : damaged) {
    if (!shard->node_id.empty() && eligible(shard->node_id)) {
      take(*shard, shard->node_id);
    } else {
      waiting.push_back(shard);
    }
  }
  if (!waiting.empty()) {
    const std::vector<std::string> ranked = RankedNodes(version.version_id, nodes);
    for (const meta::ShardLocation* shard : waiting) {
      auto pick = std::find_if(ranked.begin(), ranked.end(), eligible);
      if (pick == ranked.end()) {
        ++plan.unplaceable_shards;
        continue;
      }
      take(*shard, *pick);
    }
  }
  std::sort(plan.rebuilds.begin(), plan.rebuilds.end(),
            [](const ShardRebuild& a, const ShardRebuild& b) { return a.shard_index < b.shard_index; });
  return plan;
}

RateLimiter::RateLimiter(uint64_t bytes_per_second, uint64_t burst_bytes)
    : bytes_per_second_(std::max<uint64_t>(bytes_per_second, 1)),
      burst_ms_(double(burst_bytes) * 1000.0 / double(bytes_per_second_)) {}

RateLimiter::RateLimiter(uint64_t bytes_per_second)
    : RateLimiter(bytes_per_second, std::max<uint64_t>(bytes_per_second / 4, uint64_t{16} << 20)) {}

int64_t RateLimiter::Reserve(uint64_t bytes, int64_t now_mono_ms) {
  // GCRA: the budget is a virtual clock that runs ahead by each send's cost;
  // a sender waits only while it is more than one burst ahead of real time.
  const double now = double(now_mono_ms);
  std::lock_guard lock(mutex_);
  theoretical_arrival_ms_ = std::max(theoretical_arrival_ms_, now) +
                            double(bytes) * 1000.0 / double(bytes_per_second_);
  const double wait = theoretical_arrival_ms_ - burst_ms_ - now;
  return wait > 0 ? static_cast<int64_t>(wait + 0.999) : 0;
}

}  // namespace holdfast::gateway
