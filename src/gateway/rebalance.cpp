#include "gateway/rebalance.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/log.h"
#include "gateway/operations.h"
#include "gateway/repair_plan.h"
#include "gateway/repair_rebuild.h"
#include "net/message.h"
#include "placement/placement.h"

namespace holdfast::gateway {
namespace {

using json = nlohmann::json;
using net::Task;

constexpr int kPageSize = 256;
constexpr std::chrono::milliseconds kIdlePoll{250};

json ProgressJson(const RebalanceProgress& p) {
  return {{"requested", p.requested},
          {"running", p.running},
          {"dry_run", p.dry_run},
          {"runs", p.runs},
          {"started_unix_ms", p.started_unix_ms},
          {"finished_unix_ms", p.finished_unix_ms},
          {"versions_scanned", p.versions_scanned},
          {"shards_misplaced", p.shards_misplaced},
          {"shards_moved", p.shards_moved},
          {"bytes_moved", p.bytes_moved},
          {"shards_skipped", p.shards_skipped},
          {"last_skip", p.last_skip}};
}

class Rebalancer {
 public:
  Rebalancer(GatewayContext& ctx, bool dry_run)
      : ctx_(ctx), dry_run_(dry_run) {}

  Task<void> Run(const std::atomic<bool>& stopping) {
    std::string after;
    while (!stopping) {
      auto ids = co_await net::RunBlocking(ctx_.blocking_pool,
                                           [&] { return ctx_.store.ShardedVersionIds(after, kPageSize); });
      if (!ids) {
        ctx_.rebalance_stats.Skipped("cannot read the catalogue: " + ids.error().message);
        co_return;
      }
      if (ids->empty()) co_return;
      for (const std::string& id : *ids) {
        if (stopping) co_return;
        co_await Version(id);
      }
      ctx_.rebalance_stats.Scanned(ids->size());
      after = ids->back();
    }
  }

 private:
  Task<void> Version(std::string version_id) {
    auto version = co_await net::RunBlocking(ctx_.blocking_pool, [&] { return ctx_.store.GetVersion(version_id); });
    if (!version || version->shards.empty()) co_return;  // gone meanwhile
    const std::vector<placement::NodeInfo> nodes = ctx_.cluster.PlacementNodes();
    const std::vector<NodeView> views = ctx_.cluster.Nodes();
    const std::vector<RepairNode> repair_nodes = RepairNodes(views);
    auto readable = [&](const std::string& node_id) {
      return std::any_of(repair_nodes.begin(), repair_nodes.end(),
                         [&](const RepairNode& n) { return n.id == node_id && n.readable && !n.lost; });
    };
    auto placeable = [&](const std::string& node_id) {
      return std::any_of(nodes.begin(), nodes.end(), [&](const placement::NodeInfo& n) { return n.id == node_id; });
    };
    for (const meta::ShardLocation& shard : version->shards) {
      if (shard.state != meta::ShardState::kOk || !readable(shard.node_id)) co_return;  // repair's business
      if (!placeable(shard.node_id)) co_return;  // on a draining node: the drain's business
    }
    placement::Layout layout;
    layout.data_shard_count = version->data_shard_count;
    layout.parity_shard_count = version->parity_shard_count;
    layout.per_provider_cap =
        PerProviderCap(ctx_.PolicyFor(nodes), layout.data_shard_count, layout.parity_shard_count);
    const std::vector<std::optional<std::string>> ideal = placement::Place(version->version_id, layout, nodes);
    std::vector<std::optional<std::string>> current;
    for (const meta::ShardLocation& shard : version->shards) current.push_back(shard.node_id);
    // Which shard index sits where does not matter (any k of k+m read the
    // object); which nodes hold one does. So compare node sets: each shard on
    // a node that today's ranking no longer picks moves to a picked node
    // that holds none yet, keeping the caps.
    auto holds_one = [&](const std::string& node) {
      return std::any_of(current.begin(), current.end(), [&](const auto& n) { return n == node; });
    };
    auto picked = [&](const std::string& node) {
      return std::any_of(ideal.begin(), ideal.end(), [&](const auto& n) { return n == node; });
    };
    std::vector<std::string> gaining;
    for (const auto& node : ideal) {
      if (node && !holds_one(*node)) gaining.push_back(*node);
    }
    for (size_t i = 0; i < current.size() && !gaining.empty(); ++i) {
      if (picked(*current[i])) continue;
      ctx_.rebalance_stats.Misplaced();
      auto target = gaining.end();
      std::vector<std::optional<std::string>> after_move = current;
      for (auto g = gaining.begin(); g != gaining.end(); ++g) {
        after_move[i] = *g;
        if (placement::SatisfiesCaps(after_move, layout, nodes)) {
          target = g;
          break;
        }
      }
      if (target == gaining.end()) {
        ctx_.rebalance_stats.Skipped("shard " + std::to_string(i) + " of " + version->version_id +
                                     ": no newly picked node can take it within the per-provider cap");
        continue;
      }
      const std::string to = *target;
      after_move[i] = to;
      gaining.erase(target);
      if (dry_run_) {
        current = after_move;
        continue;
      }
      const int index = static_cast<int>(i);
      RepairPlan plan;
      plan.sources.push_back(index);  // copy the shard itself; decode only if that fails
      for (int j = 0; j < static_cast<int>(version->shards.size()); ++j) {
        if (j != index) plan.sources.push_back(j);
      }
      const ShardRebuild rebuild{index, *current[i], to};
      if (!ctx_.shard_copy_locks.TryLock(version->version_id, index, to)) {
        ctx_.rebalance_stats.Skipped("shard " + std::to_string(i) + " of " + version->version_id +
                                     ": GC or repair is busy with the copy on " + to);
        continue;
      }
      auto moved = co_await MoveShardCopy(ctx_, *version, plan, rebuild, &ctx_.shard_move_limiter);
      ctx_.shard_copy_locks.Unlock(version->version_id, index, to);
      if (!moved) {
        ctx_.rebalance_stats.Skipped("shard " + std::to_string(i) + " of " + version->version_id + ": " +
                                     moved.error().message);
        co_return;  // the version changed or the move failed: the rest of it waits for the next run
      }
      ctx_.rebalance_stats.Moved(*moved);
      HF_LOG_DEBUG("rebalance: moved shard {} of {} from {} to {}", i, version->version_id, *current[i], to);
      current = after_move;
      version->shards[i].node_id = to;
    }
  }

  GatewayContext& ctx_;
  const bool dry_run_;
};

}  // namespace

Task<void> HandleRebalance(GatewayContext& ctx, const net::Request& http, net::ResponseWriter& out) {
  if (http.method == "POST") {
    std::vector<std::pair<std::string, std::string>> query;
    net::ParseQuery(http.query, &query);
    bool dry_run = false;
    for (const auto& [k, v] : query) {
      if (k == "dry-run") dry_run = v == "true";
    }
    if (!ctx.rebalance_stats.Request(dry_run)) {
      co_await SendAdminJson(out, 409, AdminErrorJson("a rebalance is already requested or running"));
      co_return;
    }
    HF_LOG_INFO("rebalance requested{}", dry_run ? " (dry run)" : "");
    json body = ProgressJson(ctx.rebalance_stats.Snapshot());
    co_await SendAdminJson(out, 202, body.dump());
    co_return;
  }
  if (http.method == "GET") {
    json body = ProgressJson(ctx.rebalance_stats.Snapshot());
    co_await SendAdminJson(out, 200, body.dump());
    co_return;
  }
  co_await SendAdminJson(out, 405, AdminErrorJson("use POST (start) or GET (progress) on " + http.path));
}

Task<void> RunRebalance(GatewayContext& ctx, const std::atomic<bool>& stopping) {
  while (!stopping) {
    const std::optional<bool> dry_run = ctx.rebalance_stats.Start(ctx.clock.NowUnixMs());
    if (!dry_run) {
      co_await net::SleepFor(kIdlePoll);
      continue;
    }
    Rebalancer rebalancer(ctx, *dry_run);
    co_await rebalancer.Run(stopping);
    ctx.rebalance_stats.Finish(ctx.clock.NowUnixMs());
    const RebalanceProgress done = ctx.rebalance_stats.Snapshot();
    HF_LOG_INFO("rebalance{} done: {} versions scanned, {} shards misplaced, {} moved ({} bytes), {} skipped",
                *dry_run ? " (dry run)" : "", done.versions_scanned, done.shards_misplaced, done.shards_moved,
                done.bytes_moved, done.shards_skipped);
  }
}

}  // namespace holdfast::gateway
