#include "gateway/scrub_reports.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "common/log.h"
#include "gateway/context.h"

namespace holdfast::gateway {

net::Task<node::HeartbeatReply> HandleScrubReports(GatewayContext& ctx, std::string node_id,
                                          std::vector<std::string> corrupt_shard_ids) {
  node::HeartbeatReply reply;
  if (corrupt_shard_ids.empty()) co_return reply;
  std::vector<meta::ShardMove> moves;
  for (const std::string& id : corrupt_shard_ids) {
    // "<version id>.<shard index>", validated with the heartbeat.
    const size_t dot = id.find('.');
    meta::ShardMove move;
    move.version_id = id.substr(0, dot);
    move.shard_index = std::stoi(id.substr(dot + 1));
    move.from_node_id = node_id;
    move.to_node_id = node_id;
    move.to_state = meta::ShardState::kMissing;
    moves.push_back(std::move(move));
  }
  auto applied = co_await net::RunBlocking(ctx.blocking_pool,
                                           [&] { return ctx.store.MoveShards(moves); });
  if (!applied) {
    // Not acknowledged: the node sends the reports again.
    HF_LOG_ERROR("cannot record {} corrupt shards reported by node {}: {}", moves.size(), node_id,
                 applied.error().message);
    co_return reply;
  }
  ctx.scrub_reports.Add(moves.size(), static_cast<uint64_t>(*applied));
  HF_LOG_WARN("node {}'s scrub found {} corrupt shards ({}{}); {} recorded as missing for repair",
              node_id, moves.size(), corrupt_shard_ids.front(),
              corrupt_shard_ids.size() > 1 ? ", ..." : "", *applied);
  reply.acknowledged_corrupt_shards = std::move(corrupt_shard_ids);
  co_return reply;
}

nlohmann::json NodeScrubStatus(const node::ScrubStats& s) {
  return {{"rate_limit_bytes_per_second", s.rate_limit_bytes_per_second},
          {"bytes_verified", s.bytes_verified},
          {"shards_verified", s.shards_verified},
          {"corrupt_found", s.corrupt_found},
          {"read_errors", s.read_errors},
          {"passes_completed", s.passes_completed},
          {"last_pass_completed_unix_ms", s.last_pass_completed_unix_ms}};
}

nlohmann::json ClusterScrubStatus(const std::vector<NodeView>& views,
                                  const ScrubReportStats& reports) {
  uint64_t bytes = 0, shards = 0, corrupt = 0, read_errors = 0;
  // The oldest "every shard here was verified by then" among the nodes that
  // scrub and are not lost; 0 while one of them has no pass behind it.
  std::optional<int64_t> oldest_pass_ms;
  for (const NodeView& view : views) {
    bytes += view.scrub.bytes_verified;
    shards += view.scrub.shards_verified;
    corrupt += view.scrub.corrupt_found;
    read_errors += view.scrub.read_errors;
    if (view.lost || view.scrub.rate_limit_bytes_per_second == 0) continue;
    oldest_pass_ms = std::min(oldest_pass_ms.value_or(INT64_MAX),
                              view.scrub.last_pass_completed_unix_ms);
  }
  return {{"bytes_verified", bytes},
          {"shards_verified", shards},
          {"corrupt_found", corrupt},
          {"read_errors", read_errors},
          {"oldest_pass_completed_unix_ms", oldest_pass_ms.value_or(0)},
          {"reports_received", reports.reports()},
          {"shards_recorded_missing", reports.recorded_missing()}};
}

}  // namespace holdfast::gateway
