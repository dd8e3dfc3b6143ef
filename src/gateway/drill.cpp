#include "gateway/drill.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

namespace holdfast::gateway {
namespace {

constexpr int kPageSize = 256;

nlohmann::json BytesByProvider(const std::map<std::string, uint64_t>& bytes) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [provider, n] : bytes) out[provider] = n;
  return out;
}

nlohmann::json Listed(const std::vector<ListedVersion>& versions) {
  nlohmann::json out = nlohmann::json::array();
  for (const ListedVersion& v : versions) {
    out.push_back({{"bucket", v.bucket},
                   {"key", v.key},
                   {"version_id", v.version_id},
                   {"size_bytes", v.size_bytes},
                   {"remaining_shards", v.remaining_shards},
                   {"data_shard_count", v.data_shard_count}});
  }
  return out;
}

}  // namespace

uint64_t ShardPayloadBytes(const meta::ObjectVersion& version) {
  // As the writer lays a version out: stripes of k blocks, one block of
  // each stripe per shard (FooterFitsVersion computes the same count).
  const uint64_t stripe_bytes = uint64_t(version.block_size_bytes) * version.data_shard_count;
  if (stripe_bytes == 0) return 0;
  const uint64_t block_count = (version.size_bytes + stripe_bytes - 1) / stripe_bytes;
  return block_count * version.block_size_bytes;
}

DrillAccumulator::DrillAccumulator(DrillScenario scenario) : scenario_(std::move(scenario)) {
  for (const DrillNode& node : scenario_.nodes) {
    provider_of_[node.id] = node.provider;
    if (node.lost()) lost_.insert(node.id);
    // Repair's view after the loss: lost nodes are gone for good (their
    // shards are rebuilt), the others serve reads, and the writable ones
    // take rebuilt shards.
    RepairNode repair;
    repair.id = node.id;
    repair.provider = node.provider;
    repair.site = node.site;
    repair.lost = node.lost();
    repair.readable = !node.lost();
    repair.writable = !node.lost() && node.writable;
    repair_nodes_.push_back(std::move(repair));
  }
}

std::string DrillAccumulator::FirstLostNode(const meta::ObjectVersion& version) const {
  std::string first;
  for (const meta::ShardLocation& shard : version.shards) {
    if (lost_.contains(shard.node_id) && (first.empty() || shard.node_id < first)) {
      first = shard.node_id;
    }
  }
  return first;
}

void DrillAccumulator::Add(const meta::ObjectVersion& version) {
  const int k = version.data_shard_count;
  const int total = k + version.parity_shard_count;
  int remaining = 0;
  for (const meta::ShardLocation& shard : version.shards) {
    if (shard.state == meta::ShardState::kOk && provider_of_.contains(shard.node_id) &&
        !lost_.contains(shard.node_id)) {
      ++remaining;
    }
  }
  if (remaining >= total) return;  // untouched (moved by repair meanwhile)
  ++report_.versions_affected;
  // An empty object is answered from its row alone (the reader contacts no
  // node), so it can lose every shard and still be read.
  if (remaining < k && version.size_bytes > 0) {
    ++report_.unreadable_versions;
    report_.unreadable_bytes += version.size_bytes;
    if (report_.unreadable.size() < scenario_.list_limit) {
      report_.unreadable.push_back(ListedVersion{version.bucket, version.key, version.version_id,
                                                 version.size_bytes, remaining, k});
    }
    return;
  }
  ++report_.degraded_versions;
  if (report_.degraded.size() < scenario_.list_limit) {
    report_.degraded.push_back(ListedVersion{version.bucket, version.key, version.version_id,
                                             version.size_bytes, remaining, k});
  }
  report_.degraded_bytes += version.size_bytes;
  ++report_.degraded_by_spare_shards[std::max(0, remaining - k)];
  AddRepair(version);
}

void DrillAccumulator::AddRepair(const meta::ObjectVersion& version) {
  const int k = version.data_shard_count;
  const int cap = PerProviderCap(scenario_.policy, k, version.parity_shard_count);
  const RepairPlan plan = PlanRepair(version, repair_nodes_, cap);
  const uint64_t shard_bytes = ShardPayloadBytes(version);
  report_.shards_waiting += static_cast<uint64_t>(plan.unplaceable_shards);
  report_.waiting_bytes += uint64_t(plan.unplaceable_shards) * shard_bytes;
  if (plan.rebuilds.empty()) return;
  if (static_cast<int>(plan.sources.size()) < k) {
    // Only empty objects get here (the others are unreadable): with fewer
    // than k shards there is no footer quorum to rebuild from.
    report_.shards_waiting += plan.rebuilds.size();
    return;
  }
  report_.shards_to_rebuild += plan.rebuilds.size();
  const std::string& repairer = scenario_.repairer_provider;
  // RebuildShards reads the first k sources in plan order (data shards
  // first) and falls back to the others only if one fails.
  for (int i = 0; i < k; ++i) {
    const std::string& provider = provider_of_.at(version.shards[plan.sources[i]].node_id);
    report_.read_bytes += shard_bytes;
    report_.read_bytes_by_provider[provider] += shard_bytes;
    if (provider != repairer) report_.cross_provider_read_bytes += shard_bytes;
  }
  for (const ShardRebuild& rebuild : plan.rebuilds) {
    const std::string& provider = provider_of_.at(rebuild.to_node_id);
    report_.write_bytes += shard_bytes;
    report_.write_bytes_by_provider[provider] += shard_bytes;
    if (provider != repairer) report_.cross_provider_write_bytes += shard_bytes;
  }
}

Result<DrillReport> RunDrill(meta::MetaStore& store, const DrillScenario& scenario) {
  DrillAccumulator drill(scenario);
  // Everything on each lost node, through the shard-location index.
  for (const std::string& node_id : drill.lost_nodes()) {
    meta::ShardRef after;
    std::string previous_version;
    while (true) {
      auto refs = store.ShardsOnNode(node_id, after, kPageSize);
      if (!refs) return refs.error();
      if (refs->empty()) break;
      for (const meta::ShardRef& ref : *refs) {
        if (ref.version_id == previous_version) continue;
        previous_version = ref.version_id;
        auto version = store.GetVersion(ref.version_id);
        if (!version) {
          if (version.error().code == Errc::kNotFound) continue;  // deleted meanwhile
          return version.error();
        }
        // Counted at the first lost node that holds one of its shards.
        if (drill.FirstLostNode(*version) != node_id) continue;
        drill.Add(*version);
      }
      after = refs->back();
    }
  }
  // Versions damaged already without a shard on a lost node: the repair
  // queue, which walks only unhealthy shard entries.
  std::optional<meta::DamagedVersion> cursor;
  while (true) {
    auto page = store.DamagedVersions(cursor, kPageSize);
    if (!page) return page.error();
    if (page->empty()) break;
    for (const meta::DamagedVersion& damaged : *page) {
      auto version = store.GetVersion(damaged.version_id);
      if (!version) {
        if (version.error().code == Errc::kNotFound) continue;
        return version.error();
      }
      if (!drill.FirstLostNode(*version).empty()) continue;  // counted above
      drill.Add(*version);
    }
    cursor = page->back();
  }
  return drill.report();
}

std::string DrillJson(const DrillScenario& scenario, const std::vector<std::string>& requested,
                      const DrillReport& report, const DrillRate& rate) {
  nlohmann::json lost = nlohmann::json::array();
  for (const DrillNode& node : scenario.nodes) {
    if (!node.lost()) continue;
    lost.push_back({{"id", node.id},
                    {"provider", node.provider},
                    {"site", node.site},
                    {"reason", node.named ? "named" : "down"}});
  }
  nlohmann::json by_spare = nlohmann::json::object();
  for (const auto& [spare, n] : report.degraded_by_spare_shards) by_spare[std::to_string(spare)] = n;

  nlohmann::json out;
  out["scenario"] = {
      {"lose", requested},
      {"lost_nodes", lost},
      {"policy",
       {{"provider_losses", scenario.policy.provider_losses},
        {"server_losses", scenario.policy.server_losses}}},
      {"repairer_provider",
       scenario.repairer_provider.empty() ? nlohmann::json(nullptr)
                                          : nlohmann::json(scenario.repairer_provider)}};
  out["versions_affected"] = report.versions_affected;
  out["unreadable"] = {{"versions", report.unreadable_versions},
                       {"bytes", report.unreadable_bytes},
                       {"list", Listed(report.unreadable)},
                       {"list_truncated", report.unreadable_versions > report.unreadable.size()}};
  out["degraded"] = {{"versions", report.degraded_versions},
                     {"bytes", report.degraded_bytes},
                     {"by_spare_shards", by_spare},
                     {"list", Listed(report.degraded)},
                     {"list_truncated", report.degraded_versions > report.degraded.size()}};
  nlohmann::json repair = {
      {"shards_to_rebuild", report.shards_to_rebuild},
      {"shards_waiting_for_nodes", report.shards_waiting},
      {"waiting_bytes", report.waiting_bytes},
      {"read_bytes", report.read_bytes},
      {"write_bytes", report.write_bytes},
      {"read_bytes_by_provider", BytesByProvider(report.read_bytes_by_provider)},
      {"write_bytes_by_provider", BytesByProvider(report.write_bytes_by_provider)},
      {"cross_provider_read_bytes", report.cross_provider_read_bytes},
      {"cross_provider_write_bytes", report.cross_provider_write_bytes},
      {"rate_bytes_per_second", rate.bytes_per_second},
      {"rate_source", rate.measured ? "measured" : "rate_limit"}};
  // Repair is paced on the bytes it writes, so that is what the rate divides.
  repair["estimated_seconds"] =
      rate.bytes_per_second > 0 ? double(report.write_bytes) / rate.bytes_per_second : 0.0;
  out["repair"] = repair;
  return out.dump();
}

}  // namespace holdfast::gateway
