#include "gateway/drain.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <vector>

#include "common/log.h"
#include "ledger/ledger.h"
#include "gateway/operations.h"
#include "gateway/repair_plan.h"
#include "gateway/repair_rebuild.h"

namespace holdfast::gateway {
namespace {

using net::Task;
using nlohmann::json;

constexpr int kNodePageSize = 64;
// Shards moved at once, spread over the I/O threads; each holds one stripe,
// (k + m) x block size. A move spends much of its life on the target's
// fsync and read-back.
constexpr size_t kParallelMoves = 8;
constexpr std::chrono::milliseconds kPoll{250};
constexpr int64_t kRefreshMs = 1000;     // drains table -> ClusterView
constexpr int64_t kRetryPassMs = 5000;   // a pass that moved nothing waits this long

// What a pass that moved nothing waits to see change.
std::string Topology(const std::vector<NodeView>& views) {
  std::string out;
  for (const NodeView& view : views) {
    out += view.record.id + "=" + NodeStateName(view) + (view.read_only ? "/ro" : "") +
           (view.drain ? std::string("/") + meta::DrainStateName(*view.drain) : "") + ";";
  }
  return out;
}

Task<void> RefreshDrains(GatewayContext& ctx) {
  auto drains = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.ListDrains(); });
  if (drains) {
    ctx.cluster.SetDrains(std::move(*drains));
  } else {
    HF_LOG_ERROR("drain: cannot read the drains table: {}", drains.error().message);
  }
}

class DrainService {
 public:
  DrainService(GatewayContext& context, std::vector<net::Executor> workers)
      : ctx_(context), workers_(std::move(workers)) {}

  Task<void> Run(const std::atomic<bool>& stopping) {
    while (!stopping) {
      co_await RefreshDrains(ctx_);
      last_refresh_ms_ = ctx_.clock.MonotonicMs();
      seen_changes_ = ctx_.cluster.changes().generation();
      const std::vector<NodeView> views = ctx_.cluster.Nodes();
      handled_topology_ = Topology(views);
      uint64_t moved = 0;
      bool any = false;
      for (const NodeView& view : views) {
        if (stopping) break;
        if (view.drain != meta::DrainState::kDraining) continue;
        any = true;
        moved += co_await DrainNode(view.record.id, stopping);
      }
      ctx_.drain_stats.EndPass();
      if (!any || moved == 0) co_await WaitForChange(stopping, any ? kRetryPassMs : kRefreshMs);
    }
  }

 private:
  Task<void> WaitForChange(const std::atomic<bool>& stopping, int64_t max_ms) {
    const int64_t until_ms = ctx_.clock.MonotonicMs() + max_ms;
    uint64_t seen = seen_changes_;
    while (!stopping && ctx_.clock.MonotonicMs() < until_ms) {
      // A drain started through this gateway refreshes the view itself, which
      // wakes us; one started through another gateway waits for a refresh.
      co_await ctx_.cluster.changes().WaitAfter(seen, kPoll);
      seen = ctx_.cluster.changes().generation();
      if (ctx_.clock.MonotonicMs() - last_refresh_ms_ >= kRefreshMs) {
        co_await RefreshDrains(ctx_);
        last_refresh_ms_ = ctx_.clock.MonotonicMs();
      }
      if (Topology(ctx_.cluster.Nodes()) != handled_topology_) co_return;
    }
  }

  // Moves every shard recorded on `node_id`; returns how many moved.
  Task<uint64_t> DrainNode(std::string node_id, const std::atomic<bool>& stopping) {
    meta::ShardRef after;
    uint64_t moved = 0;
    while (!stopping) {
      auto refs = co_await net::RunBlocking(ctx_.blocking_pool, [&] {
        return ctx_.store.ShardsOnNode(node_id, after, kNodePageSize);
      });
      if (!refs) {
        HF_LOG_ERROR("drain: cannot list the shards of node {}: {}", node_id, refs.error().message);
        break;
      }
      if (refs->empty()) break;
      const uint64_t moved_before = moved_;
      // A window, not batches: a worker takes the next shard as soon as its
      // own is done.
      std::atomic<size_t> next{0};
      std::vector<Task<Status>> workers;
      for (size_t w = 0; w < std::min(kParallelMoves, refs->size()); ++w) {
        workers.push_back(RunOn(workers_[w % workers_.size()], MoveWorker(&*refs, &next, node_id, &stopping)));
      }
      co_await net::ParallelAll(std::move(workers));
      moved += moved_ - moved_before;
      after = refs->back();
    }
    co_return moved;
  }

  // Moves the shards of `refs` that no other worker took, one after
  // another; workers run on different threads and share `next`.
  Task<void> MoveWorker(const std::vector<meta::ShardRef>* refs, std::atomic<size_t>* next,
                        std::string node_id, const std::atomic<bool>* stopping) {
    while (!*stopping) {
      const size_t index = next->fetch_add(1);
      if (index >= refs->size()) break;
      (void)co_await MoveShard((*refs)[index], node_id);
    }
  }

  void Block(const meta::ObjectVersion& version, int shard_index, const std::string& node_id,
             std::string reason, bool waits_for_repair = false) {
    HF_LOG_WARN("drain: cannot move shard {} of {}/{} (version {}) off node {}: {}", shard_index,
                version.bucket, version.key, version.version_id, node_id, reason);
    ctx_.drain_stats.Block(BlockedMove{version.version_id, version.bucket, version.key, shard_index,
                                       node_id, std::move(reason), waits_for_repair});
  }

  // Moves one shard off `node_id`, counting it in moved_ if it moved. What
  // cannot move is reported (Block), not returned: the pass goes on.
  Task<Status> MoveShard(meta::ShardRef ref, std::string node_id) {
    auto version = co_await net::RunBlocking(ctx_.blocking_pool,
                                             [&] { return ctx_.store.GetVersion(ref.version_id); });
    if (!version) co_return Status::Ok();  // deleted meanwhile (or the store failed: next pass)
    const int index = ref.shard_index;
    if (index >= static_cast<int>(version->shards.size()) ||
        version->shards[index].node_id != node_id) {
      co_return Status::Ok();  // moved meanwhile
    }
    const int k = version->data_shard_count;
    const int cap = PerProviderCap(ctx_.PolicyFor(ctx_.cluster.PlacementNodes()), k,
                                   version->parity_shard_count);
    // Plan as if the shard were already gone from its draining node: the
    // target then keeps the policy true without it.
    meta::ObjectVersion leaving = *version;
    leaving.shards[index].state = meta::ShardState::kMissing;
    const std::vector<NodeView> views = ctx_.cluster.Nodes();
    RepairPlan plan = PlanRepair(leaving, RepairNodes(views), cap);
    auto source = std::find_if(views.begin(), views.end(),
                               [&](const NodeView& v) { return v.record.id == node_id; });
    const bool own_copy_ok = source != views.end() && source->health != NodeHealth::kDown &&
                             version->shards[index].state == meta::ShardState::kOk;
    if (const int healthy = plan.healthy_shards + (own_copy_ok ? 1 : 0); healthy < k) {
      // Waiting for repair would be waiting forever: say so at once.
      Block(*version, index, node_id,
            "the object is unreadable: " + std::to_string(healthy) + " healthy shard(s) left where " +
                std::to_string(k) + " are needed, so nothing can rebuild it; it keeps this node from "
                "retiring until the missing shards' nodes come back or the object is deleted");
      co_return Status::Ok();
    }
    if (plan.damaged_shards > 1) {
      Block(*version, index, node_id,
            "the object has " + std::to_string(plan.damaged_shards - 1) +
                " other damaged shard(s); repair rebuilds them first",
            /*waits_for_repair=*/true);
      co_return Status::Ok();
    }
    auto own = std::find_if(plan.rebuilds.begin(), plan.rebuilds.end(),
                            [&](const ShardRebuild& r) { return r.shard_index == index; });
    if (own == plan.rebuilds.end()) {
      Block(*version, index, node_id,
            "no node can take it without breaking the policy (at most " + std::to_string(cap) +
                " shards of an object per provider, one per node, draining nodes excluded): add "
                "nodes or providers");
      co_return Status::Ok();
    }
    const ShardRebuild rebuild = *own;
    // Copy from the draining node itself while it answers.
    if (own_copy_ok) plan.sources.insert(plan.sources.begin(), index);
    if (!ctx_.shard_copy_locks.TryLock(version->version_id, index, rebuild.to_node_id)) {
      co_return Status::Ok();  // GC or repair is busy with that copy: next pass
    }
    const bool moved = co_await CopyVerifyRecord(*version, plan, rebuild);
    ctx_.shard_copy_locks.Unlock(version->version_id, index, rebuild.to_node_id);
    if (moved) ++moved_;
    co_return Status::Ok();
  }

  Task<bool> CopyVerifyRecord(meta::ObjectVersion version, RepairPlan plan, ShardRebuild rebuild) {
    auto moved = co_await MoveShardCopy(ctx_, version, plan, rebuild, &ctx_.shard_move_limiter);
    if (!moved) {
      // A conflict means the shard changed meanwhile: nothing to report.
      if (moved.error().code != Errc::kConflict) Block(version, rebuild.shard_index, rebuild.from_node_id, moved.error().message);
      co_return false;
    }
    ctx_.drain_stats.AddMoved(*moved, ctx_.clock.MonotonicMs());
    HF_LOG_DEBUG("drain: moved shard {} of {} from {} to {}", rebuild.shard_index, version.version_id,
                 rebuild.from_node_id, rebuild.to_node_id);
    co_return true;
  }

  GatewayContext& ctx_;
  const std::vector<net::Executor> workers_;  // I/O threads the moves run on
  std::string handled_topology_;
  uint64_t seen_changes_ = 0;  // ClusterView::changes() when handled_topology_ was taken
  int64_t last_refresh_ms_ = 0;
  std::atomic<uint64_t> moved_ = 0;  // shards moved since start (by every worker)
};

// --- Admin endpoints ------------------------------------------------------------

struct ScopeArg {
  meta::DrainScope scope = meta::DrainScope::kNode;
  std::string name;
};

// ?provider=P or ?node=N, exactly one.
std::optional<ScopeArg> ParseScope(std::string_view query, std::string* why) {
  std::vector<std::pair<std::string, std::string>> params;
  net::ParseQuery(query, &params);
  std::optional<ScopeArg> out;
  for (const auto& [name, value] : params) {
    if (name != "provider" && name != "node") continue;
    if (out) {
      *why = "name exactly one of ?provider=P or ?node=N";
      return std::nullopt;
    }
    out = ScopeArg{name == "provider" ? meta::DrainScope::kProvider : meta::DrainScope::kNode, value};
  }
  if (!out || out->name.empty()) {
    *why = "name what to drain with ?provider=P or ?node=N";
    return std::nullopt;
  }
  return out;
}

std::string Describe(const ScopeArg& scope) {
  return std::string(meta::DrainScopeName(scope.scope)) + " " + scope.name;
}

std::string ContentsSummary(const meta::NodeContents& left) {
  std::string out = std::to_string(left.versions) + " object version(s) still have " +
                    std::to_string(left.shards) + " shard(s) (" + std::to_string(left.shard_bytes) +
                    " bytes) there";
  if (left.pending_shards > 0) {
    out += ", and " + std::to_string(left.pending_shards) + " shard(s) of writes in flight";
  }
  return out;
}

// Retirement is a notice the ledger keeps (docs/ledger.md): planned when a
// drain starts, executed when retire is accepted. A failed append is logged,
// not fatal: the drain itself is recorded in the store either way.
Task<void> RecordRetirement(GatewayContext& ctx, ScopeArg scope, ledger::EntryKind kind) {
  if (ctx.ledger == nullptr) co_return;
  nlohmann::json fields = {{"scope", meta::DrainScopeName(scope.scope)}, {"name", scope.name}};
  auto appended = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.ledger->Append(kind, fields); });
  if (!appended) HF_LOG_ERROR("ledger: cannot record the retirement of {}: {}", Describe(scope), appended.error().message);
}

Task<void> StartOrCancel(GatewayContext& ctx, ScopeArg scope, bool start, net::ResponseWriter& out) {
  if (start && ctx.cluster.NodesOf(scope.scope, scope.name).empty()) {
    co_await SendAdminJson(out, 404, AdminErrorJson("no registered node belongs to " + Describe(scope)));
    co_return;
  }
  const std::vector<meta::Drain> before = ctx.cluster.Drains();
  const bool already = std::any_of(before.begin(), before.end(), [&](const meta::Drain& d) {
    return d.scope == scope.scope && d.name == scope.name;
  });
  const int64_t now = ctx.clock.NowUnixMs();
  Status changed = co_await net::RunBlocking(ctx.blocking_pool, [&] {
    return start ? ctx.store.StartDrain(scope.scope, scope.name, now)
                 : ctx.store.CancelDrain(scope.scope, scope.name);
  });
  if (!changed) {
    co_await SendAdminJson(out, AdminHttpCode(changed.error().code), AdminErrorJson(changed.error().message));
    co_return;
  }
  co_await RefreshDrains(ctx);
  if (start && !already) co_await RecordRetirement(ctx, scope, ledger::EntryKind::kRetirementPlanned);
  HF_LOG_INFO("{} {}", start ? "draining" : "stopped draining", Describe(scope));
  std::string body = co_await RenderDrainJson(ctx);
  co_await SendAdminJson(out, 200, std::move(body));
}

Task<void> Retire(GatewayContext& ctx, ScopeArg scope, net::ResponseWriter& out) {
  const std::vector<std::string> nodes = ctx.cluster.NodesOf(scope.scope, scope.name);
  const int64_t now = ctx.clock.NowUnixMs();
  auto left = co_await net::RunBlocking(ctx.blocking_pool, [&] {
    return ctx.store.RetireDrain(scope.scope, scope.name, nodes, now);
  });
  if (!left) {
    std::string message = left.error().message;
    if (left.error().code == Errc::kNotFound) message += "; drain it first";
    co_await SendAdminJson(out, AdminHttpCode(left.error().code), AdminErrorJson(message));
    co_return;
  }
  if (!left->empty()) {
    json body = {{"error", "refused: " + Describe(scope) + " cannot be retired yet: " +
                               ContentsSummary(*left) + "; wiping it now would lose them"},
                 {"objects_left", left->versions},
                 {"shards_left", left->shards},
                 {"bytes_left", left->shard_bytes},
                 {"pending_shards", left->pending_shards}};
    co_await SendAdminJson(out, 409, body.dump());
    co_return;
  }
  co_await RefreshDrains(ctx);
  co_await RecordRetirement(ctx, scope, ledger::EntryKind::kRetirementExecuted);
  HF_LOG_INFO("{} retired: nothing is recorded on its nodes any more", Describe(scope));
  json body = {{"retired", Describe(scope)}, {"nodes", nodes}};
  co_await SendAdminJson(out, 200, body.dump());
}

}  // namespace

Task<void> RunDrain(GatewayContext& context, const std::atomic<bool>& stopping,
                    std::vector<net::Executor> workers) {
  if (workers.empty()) workers.push_back(co_await boost::asio::this_coro::executor);
  DrainService service(context, std::move(workers));
  co_await service.Run(stopping);
}

bool IsDrainPath(std::string_view path) { return path == kDrainsPath || path == kRetirePath; }

Task<void> HandleDrains(GatewayContext& ctx, const net::Request& http, net::ResponseWriter& out) {
  if (http.path == kDrainsPath && http.method == "GET") {
    std::string body = co_await RenderDrainJson(ctx);
    co_await SendAdminJson(out, 200, std::move(body));
    co_return;
  }
  const bool retire = http.path == kRetirePath;
  const bool allowed = retire ? http.method == "POST" : (http.method == "POST" || http.method == "DELETE");
  if (!allowed) {
    co_await SendAdminJson(out, 405, AdminErrorJson(http.method + " is not allowed on " + http.path));
    co_return;
  }
  std::string why;
  std::optional<ScopeArg> scope = ParseScope(http.query, &why);
  if (!scope) {
    co_await SendAdminJson(out, 400, AdminErrorJson(why));
    co_return;
  }
  if (retire) {
    co_await Retire(ctx, *scope, out);
  } else {
    co_await StartOrCancel(ctx, *scope, http.method == "POST", out);
  }
}

Task<std::string> RenderDrainJson(GatewayContext& ctx) {
  const std::vector<meta::Drain> drains = ctx.cluster.Drains();
  json list = json::array();
  uint64_t bytes_left_total = 0;
  for (const meta::Drain& drain : drains) {
    const std::vector<std::string> nodes = ctx.cluster.NodesOf(drain.scope, drain.name);
    json entry = {{"scope", meta::DrainScopeName(drain.scope)},
                  {"name", drain.name},
                  {"state", meta::DrainStateName(drain.state)},
                  {"started_unix_ms", drain.started_unix_ms},
                  {"retired_unix_ms", drain.retired_unix_ms},
                  {"nodes", nodes}};
    if (drain.state == meta::DrainState::kDraining) {
      auto left = co_await net::RunBlocking(ctx.blocking_pool,
                                            [&] { return ctx.store.CountNodeContents(nodes); });
      if (left) {
        entry["objects_left"] = left->versions;
        entry["shards_left"] = left->shards;
        entry["bytes_left"] = left->shard_bytes;
        entry["pending_shards"] = left->pending_shards;
        entry["ready_to_retire"] = left->empty();
        bytes_left_total += left->shard_bytes;
      } else {
        entry["error"] = left.error().message;
      }
    }
    list.push_back(std::move(entry));
  }
  const DrainCounters counters = ctx.drain_stats.Snapshot(ctx.clock.MonotonicMs());
  json blocked = json::array();
  for (const BlockedMove& move : counters.blocked) {
    blocked.push_back({{"bucket", move.bucket},
                       {"key", move.key},
                       {"version_id", move.version_id},
                       {"shard_index", move.shard_index},
                       {"node_id", move.node_id},
                       {"reason", move.reason},
                       {"waits_for_repair", move.waits_for_repair}});
  }
  json out = {{"drains", list},
              {"shards_moved", counters.shards_moved},
              {"bytes_moved", counters.bytes_moved},
              {"passes", counters.passes},
              {"rate_bytes_per_second", counters.rate_bytes_per_second},
              {"measured_rate_bytes_per_second", counters.measured_rate_bytes_per_second},
              {"rate_limit_bytes_per_second", ctx.settings.drain_bytes_per_second},
              {"blocked", blocked}};
  // The estimate uses the current rate, or the last measured one while the
  // drain is between passes; none without either.
  const double rate = counters.rate_bytes_per_second > 0 ? counters.rate_bytes_per_second
                                                         : counters.measured_rate_bytes_per_second;
  if (bytes_left_total == 0) {
    out["eta_seconds"] = 0;
  } else if (rate > 0) {
    out["eta_seconds"] = double(bytes_left_total) / rate;
  } else {
    out["eta_seconds"] = nullptr;
  }
  co_return out.dump();
}

}  // namespace holdfast::gateway
