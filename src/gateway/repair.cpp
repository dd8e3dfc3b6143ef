#include "gateway/repair.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "common/log.h"
#include "gateway/operations.h"
#include "gateway/repair_plan.h"
#include "gateway/repair_rebuild.h"
#include "gateway/scrub_reports.h"

namespace holdfast::gateway {
namespace {

using net::Task;

constexpr int kQueuePageSize = 64;
constexpr int kNodePageSize = 256;
// Versions rebuilt at once, spread over the I/O threads. Each holds one
// stripe, (k + m) x block size (9 MiB for 5+4 at 1 MiB), so this also bounds
// repair's memory. A rebuild waits on reads, an fsync and catalogue calls
// much of its life: eight keep the threads busy where four left them idle.
constexpr size_t kParallelVersions = 8;
// Also how soon a node turning lost (time passing, which nothing announces)
// is noticed while idle; announced changes wake the service at once.
constexpr std::chrono::milliseconds kIdlePoll{250};
constexpr int64_t kIdleRecheckMs = 5000;

// What a pass that rebuilt nothing waits to see change: which nodes can take
// shards, which are lost, and which came back or were emptied.
std::string Topology(const std::vector<NodeView>& views) {
  std::string out;
  for (const NodeView& view : views) {
    const bool writable = view.health == NodeHealth::kUp && !view.read_only && !view.drain;
    out += view.record.id + (view.lost ? "=lost/" : writable ? "=w/" : "=-/") +
           std::to_string(view.returns_after_loss) + "/" + std::to_string(view.empty_reports) + ";";
  }
  return out;
}

enum class ShardCheck { kSkipped, kIntact, kRestored, kMissing, kNodeGone };

class RepairService {
 public:
  RepairService(GatewayContext& context, std::vector<net::Executor> workers)
      : ctx_(context),
        workers_(std::move(workers)),
        limiter_(context.settings.repair_bytes_per_second) {}

  Task<void> Run(const std::atomic<bool>& stopping) {
    std::optional<meta::DamagedVersion> cursor;
    while (!stopping) {
      co_await HealthPass();
      auto page = co_await net::RunBlocking(
          ctx_.blocking_pool, [&] { return ctx_.store.DamagedVersions(cursor, kQueuePageSize); });
      if (!page) {
        HF_LOG_ERROR("repair: cannot read the repair queue: {}", page.error().message);
        co_await net::SleepFor(kIdlePoll * 4);
        continue;
      }
      if (page->empty()) {
        const bool fruitless = EndPass();
        cursor.reset();
        if (fruitless) co_await WaitForChange(stopping);
        continue;
      }
      cursor = page->back();
      // A window, not batches: a worker takes the next version as soon as
      // its own is done, so one slow rebuild does not idle the others.
      std::atomic<size_t> next{0};
      std::vector<Task<Status>> workers;
      for (size_t w = 0; w < std::min(kParallelVersions, page->size()); ++w) {
        workers.push_back(RunOn(workers_[w % workers_.size()], RepairWorker(&*page, &next, &stopping)));
      }
      co_await net::ParallelAll(std::move(workers));
    }
  }

 private:
  struct PassTally {
    uint64_t versions_repaired = 0;
    uint64_t shards_rebuilt = 0;
    uint64_t bytes_rebuilt = 0;
    uint64_t unplaceable_shards = 0;
    uint64_t unreadable_versions = 0;
  };

  // Repairs the versions of `page` that no other worker took, one after
  // another; workers run on different threads and share `next`.
  Task<void> RepairWorker(const std::vector<meta::DamagedVersion>* page, std::atomic<size_t>* next,
                          const std::atomic<bool>* stopping) {
    while (!*stopping) {
      const size_t index = next->fetch_add(1);
      if (index >= page->size()) break;
      (void)co_await RepairVersion((*page)[index].version_id);
    }
  }

  // True the first time in a pass a version's shards on their returned
  // nodes are to be verified (once: one that failed is rebuilt).
  bool FirstHomeCheck(const std::string& version_id) {
    std::lock_guard lock(mutex_);
    return verified_home_.insert(version_id).second;
  }

  // Publishes the pass; true if it rebuilt nothing. (No worker runs now.)
  bool EndPass() {
    std::lock_guard lock(mutex_);
    ctx_.repair_stats.EndPass(tally_.unplaceable_shards, tally_.unreadable_versions);
    if (tally_.shards_rebuilt > 0) {
      HF_LOG_INFO("repair pass: rebuilt {} shards of {} versions ({} bytes); {} shards wait for an "
                  "eligible node, {} versions for readable shards",
                  tally_.shards_rebuilt, tally_.versions_repaired, tally_.bytes_rebuilt,
                  tally_.unplaceable_shards, tally_.unreadable_versions);
    }
    const bool fruitless = tally_.shards_rebuilt == 0;
    tally_ = PassTally{};
    verified_home_.clear();
    return fruitless;
  }

  // Until the nodes differ from what the last health pass handled, or a
  // few seconds pass (new damage reported by reads and writes).
  Task<void> WaitForChange(const std::atomic<bool>& stopping) {
    const int64_t until_ms = ctx_.clock.MonotonicMs() + kIdleRecheckMs;
    while (!stopping && ctx_.clock.MonotonicMs() < until_ms) {
      const uint64_t seen = ctx_.cluster.changes().generation();
      if (Topology(ctx_.cluster.Nodes()) != handled_topology_) co_return;
      co_await ctx_.cluster.changes().WaitAfter(seen, kIdlePoll);
    }
  }

  // --- Health: lost nodes and nodes that come back ---------------------------

  Task<void> HealthPass() {
    const std::vector<NodeView> views = ctx_.cluster.Nodes();
    handled_topology_ = Topology(views);
    for (const NodeView& view : views) {
      const std::string id = view.record.id;
      if (view.lost) {
        if (swept_.contains(id)) continue;
        const bool swept = co_await Sweep(id);
        if (swept) swept_.insert(id);
        continue;
      }
      swept_.erase(id);
      if (view.health != NodeHealth::kUp) continue;
      if (view.returns_after_loss > reconciled_returns_[id]) {
        const bool reconciled = co_await Reconcile(id);
        if (reconciled) {
          reconciled_returns_[id] = view.returns_after_loss;
          empty_checked_[id] = view.empty_reports;  // everything was checked
        }
      } else if (view.rejoins > reconciled_rejoins_[id]) {
        // Back from down, or restarted: files may have gone missing meanwhile.
        const bool reconciled = co_await Reconcile(id);
        if (reconciled) {
          reconciled_rejoins_[id] = view.rejoins;
          empty_checked_[id] = view.empty_reports;
        }
      } else if (view.empty_reports > empty_checked_[id]) {
        const bool checked = co_await CheckEmptyNode(id);
        if (checked) empty_checked_[id] = view.empty_reports;
      }
    }
  }

  // A node that reports no shards at all while the catalogue records some on
  // it was re-provisioned (or lost its disk) without staying down for the
  // loss grace: reconcile it now rather than wait for reads to stumble on
  // the holes. False if it could not finish (retried next round).
  Task<bool> CheckEmptyNode(std::string node_id) {
    auto some = co_await net::RunBlocking(ctx_.blocking_pool, [&] {
      return ctx_.store.ShardsOnNode(node_id, meta::ShardRef{}, 1);
    });
    if (!some) co_return false;
    if (some->empty()) co_return true;  // a new node, or an empty one indeed
    HF_LOG_WARN("node {} reports no shards, but the catalogue records shards on it", node_id);
    co_return co_await Reconcile(node_id);
  }

  // Records every shard on a lost node as missing; false if interrupted.
  Task<bool> Sweep(std::string node_id) {
    meta::ShardRef after;
    uint64_t marked = 0;
    while (true) {
      auto refs = co_await net::RunBlocking(ctx_.blocking_pool, [&] {
        return ctx_.store.ShardsOnNode(node_id, after, kNodePageSize);
      });
      if (!refs) {
        HF_LOG_ERROR("repair: cannot list the shards of lost node {}: {}", node_id, refs.error().message);
        co_return false;
      }
      if (refs->empty()) break;
      std::vector<meta::ShardMove> moves;
      for (const meta::ShardRef& ref : *refs) {
        moves.push_back(meta::ShardMove{ref.version_id, ref.shard_index, node_id, node_id,
                                        meta::ShardState::kMissing});
      }
      auto applied = co_await net::RunBlocking(ctx_.blocking_pool,
                                               [&] { return ctx_.store.MoveShards(moves); });
      if (!applied) {
        HF_LOG_ERROR("repair: cannot record the shards of lost node {}: {}", node_id,
                     applied.error().message);
        co_return false;
      }
      marked += refs->size();
      after = refs->back();
    }
    ctx_.repair_stats.AddMarkedLost(marked);
    HF_LOG_WARN("node {} has been down longer than the loss grace: its {} shards count as lost",
                node_id, marked);
    co_return true;
  }

  // Checks every shard recorded on a node that came back; false if the node
  // went away again before the end (it is then reconciled on its next return).
  Task<bool> Reconcile(std::string node_id) {
    HF_LOG_INFO("reconciling the shards recorded on node {}", node_id);
    meta::ShardRef after;
    std::map<ShardCheck, uint64_t> counts;
    while (true) {
      auto refs = co_await net::RunBlocking(ctx_.blocking_pool, [&] {
        return ctx_.store.ShardsOnNode(node_id, after, kNodePageSize);
      });
      if (!refs) co_return false;
      if (refs->empty()) break;
      for (const meta::ShardRef& ref : *refs) {
        const ShardCheck check = co_await CheckShard(node_id, ref);
        if (check == ShardCheck::kNodeGone) co_return false;
        ++counts[check];
      }
      after = refs->back();
    }
    ctx_.repair_stats.AddReconciled(counts[ShardCheck::kRestored]);
    HF_LOG_INFO("node {} reconciled: {} shards intact, {} verified and trusted again, {} missing "
                "(to be rebuilt)",
                node_id, counts[ShardCheck::kIntact], counts[ShardCheck::kRestored],
                counts[ShardCheck::kMissing]);
    co_return true;
  }

  // Verifies every shard of `version` recorded missing on a reachable node;
  // returns how many were found intact and recorded healthy again.
  Task<int> RestoreMissingShards(meta::ObjectVersion version) {
    int restored = 0;
    for (const meta::ShardLocation& shard : version.shards) {
      if (shard.state == meta::ShardState::kOk || shard.node_id.empty()) continue;
      if (!ctx_.ReachableEndpoint(shard.node_id)) continue;
      // Arguments built before the co_await: GCC 12 destroys brace-initialised
      // temporaries inside a co_await expression twice.
      meta::ShardRef ref{version.version_id, shard.shard_index};
      const ShardCheck check = co_await CheckShard(shard.node_id, ref);
      if (check == ShardCheck::kRestored) ++restored;
    }
    co_return restored;
  }

  Task<ShardCheck> CheckShard(std::string node_id, meta::ShardRef ref) {
    auto version = co_await net::RunBlocking(ctx_.blocking_pool,
                                             [&] { return ctx_.store.GetVersion(ref.version_id); });
    if (!version || ref.shard_index >= static_cast<int>(version->shards.size())) {
      co_return ShardCheck::kSkipped;  // deleted meanwhile
    }
    const meta::ShardLocation location = version->shards[ref.shard_index];
    if (location.node_id != node_id) co_return ShardCheck::kSkipped;  // moved meanwhile
    auto endpoint = ctx_.ReachableEndpoint(node_id);
    if (!endpoint) co_return ShardCheck::kNodeGone;
    const std::string shard_id = ShardId(ref.version_id, ref.shard_index);
    Status verdict = Status::Ok();
    auto footer = co_await ctx_.nodes.GetFooter(*endpoint, shard_id);
    if (!footer) {
      verdict = footer.error();
    } else if (!FooterFitsVersion(*footer, *version, ref.shard_index)) {
      verdict = MakeError(Errc::kCorrupt, "footer does not match the catalogue");
    } else if (location.state != meta::ShardState::kOk) {
      verdict = co_await VerifyBlocks(ctx_, *endpoint, shard_id, footer->block_count,
                                      footer->block_size_bytes, &limiter_);
    }
    if (!verdict && verdict.error().code == Errc::kUnavailable) co_return ShardCheck::kNodeGone;
    if (!verdict) {
      if (location.state == meta::ShardState::kOk) {
        co_await ReportShardFailure(ctx_, ref.version_id, ref.shard_index, node_id, verdict.error());
      }
      co_return ShardCheck::kMissing;
    }
    if (location.state == meta::ShardState::kOk) co_return ShardCheck::kIntact;
    std::vector<meta::ShardMove> moves{
        meta::ShardMove{ref.version_id, ref.shard_index, node_id, node_id, meta::ShardState::kOk}};
    auto applied = co_await net::RunBlocking(ctx_.blocking_pool,
                                             [&] { return ctx_.store.MoveShards(moves); });
    if (!applied || *applied == 0) co_return ShardCheck::kSkipped;
    co_return ShardCheck::kRestored;
  }

  // --- Repair: one version ---------------------------------------------------

  Task<Status> RepairVersion(std::string version_id) {
    auto version = co_await net::RunBlocking(ctx_.blocking_pool,
                                             [&] { return ctx_.store.GetVersion(version_id); });
    if (!version) {
      if (version.error().code == Errc::kNotFound) co_return Status::Ok();  // deleted meanwhile
      co_return version.error();
    }
    const int k = version->data_shard_count;
    const int cap = PerProviderCap(ctx_.PolicyFor(ctx_.cluster.PlacementNodes()), k,
                                   version->parity_shard_count);
    RepairPlan plan = PlanRepair(*version, RepairNodes(ctx_.cluster.Nodes()), cap);
    {
      std::lock_guard lock(mutex_);
      tally_.unplaceable_shards += plan.unplaceable_shards;
    }
    if (plan.rebuilds.empty()) co_return Status::Ok();
    // A shard going back to the node it was recorded on (a lost server that
    // returned) may still be there intact: verifying it reads it once,
    // rebuilding reads k shards. Verify first, plan again if any passed.
    const bool back_home = std::any_of(plan.rebuilds.begin(), plan.rebuilds.end(), [](const ShardRebuild& r) {
      return !r.from_node_id.empty() && r.from_node_id == r.to_node_id;
    });
    if (back_home && FirstHomeCheck(version_id)) {
      const int restored = co_await RestoreMissingShards(*version);
      if (restored > 0) {
        Status again = co_await RepairVersion(version_id);
        co_return again;
      }
    }
    if (static_cast<int>(plan.sources.size()) < k) {
      // Too few healthy shards to rebuild from. Shards recorded missing are
      // often intact (a node answered 404 while a disk was being remounted):
      // verify those on reachable nodes and trust again the ones that pass,
      // then plan again. Each pass restores at least one shard or stops.
      const int restored = co_await RestoreMissingShards(*version);
      if (restored > 0) {
        Status again = co_await RepairVersion(version_id);
        co_return again;
      }
      {
        std::lock_guard lock(mutex_);
        ++tally_.unreadable_versions;
      }
      co_return Status::Ok();
    }
    // Hold each target copy against GC until the catalogue records it.
    std::vector<ShardRebuild> locked;
    for (const ShardRebuild& rebuild : plan.rebuilds) {
      if (ctx_.shard_copy_locks.TryLock(version_id, rebuild.shard_index, rebuild.to_node_id)) {
        locked.push_back(rebuild);
      }
    }
    plan.rebuilds = locked;
    Status result = co_await RebuildAndRecord(*version, plan);
    for (const ShardRebuild& rebuild : locked) {
      ctx_.shard_copy_locks.Unlock(version_id, rebuild.shard_index, rebuild.to_node_id);
    }
    co_return result;
  }

  Task<Status> RebuildAndRecord(meta::ObjectVersion version, RepairPlan plan) {
    if (plan.rebuilds.empty()) co_return Status::Ok();
    auto outcome = co_await RebuildShards(ctx_, version, plan, &limiter_);
    if (!outcome) {
      ctx_.repair_stats.AddFailure();
      HF_LOG_WARN("repair of {}/{} (version {}) failed, will retry: {}", version.bucket, version.key,
                  version.version_id, outcome.error().message);
      co_return outcome.error();
    }
    std::vector<meta::ShardMove> moves;
    for (const ShardRebuild& rebuild : outcome->committed) {
      moves.push_back(meta::ShardMove{version.version_id, rebuild.shard_index, rebuild.from_node_id,
                                      rebuild.to_node_id, meta::ShardState::kOk});
    }
    auto applied = co_await net::RunBlocking(ctx_.blocking_pool,
                                             [&] { return ctx_.store.MoveShards(moves); });
    if (!applied) {
      // The copies are durable but unrecorded: catalogue recovery or a later
      // repair's overwrite takes care of them; count the failure.
      ctx_.repair_stats.AddFailure();
      HF_LOG_ERROR("repair of {}: cannot record rebuilt shards: {}", version.version_id,
                   applied.error().message);
      co_return applied.error();
    }
    ctx_.repair_stats.AddRebuilt(static_cast<uint64_t>(*applied), outcome->bytes_written,
                                 ctx_.clock.MonotonicMs());
    {
      std::lock_guard lock(mutex_);
      ++tally_.versions_repaired;
      tally_.shards_rebuilt += static_cast<uint64_t>(*applied);
      tally_.bytes_rebuilt += outcome->bytes_written;
    }
    HF_LOG_DEBUG("repaired {}/{} (version {}): {} shards rebuilt", version.bucket, version.key,
                 version.version_id, *applied);
    co_return Status::Ok();
  }

  GatewayContext& ctx_;
  const std::vector<net::Executor> workers_;  // I/O threads the rebuilds run on
  RateLimiter limiter_;  // thread-safe
  std::set<std::string> swept_;  // lost nodes whose shards are recorded missing
  std::map<std::string, uint64_t> reconciled_returns_;
  std::map<std::string, uint64_t> reconciled_rejoins_;
  std::map<std::string, uint64_t> empty_checked_;  // NodeView::empty_reports dealt with
  std::string handled_topology_;  // Topology() as the last health pass saw it
  // Guards what the workers share: verified_home_ and tally_.
  std::mutex mutex_;
  // Versions whose shards on their own returned nodes were verified before a
  // rebuild was planned there, in this pass (once: one that failed is rebuilt).
  std::set<std::string> verified_home_;
  PassTally tally_;
};

std::string StatusJson(const std::vector<NodeView>& views, const Result<int64_t>& under_protected,
                       const RepairCounters& repair, const GatewaySettings& settings,
                       const ScrubReportStats& scrub_reports) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const NodeView& view : views) {
    nodes.push_back({{"id", view.record.id},
                     {"provider", view.record.provider},
                     {"site", view.record.site},
                     {"endpoint", view.record.endpoint},
                     {"state", NodeStateName(view)},
                     {"read_only", view.read_only},
                     {"used_bytes", view.record.used_bytes},
                     {"capacity_bytes", view.record.capacity_bytes},
                     {"shard_count", view.shard_count},
                     {"scrub", NodeScrubStatus(view.scrub)}});
  }
  nlohmann::json out = {{"nodes", nodes},
                        {"loss_grace_ms", settings.shard_loss_grace.count()}};
  if (under_protected) {
    out["under_protected_versions"] = *under_protected;
  } else {
    out["under_protected_versions"] = nullptr;
    out["error"] = under_protected.error().message;
  }
  out["repair"] = {{"shards_rebuilt", repair.shards_rebuilt},
                   {"bytes_rebuilt", repair.bytes_rebuilt},
                   {"failures", repair.failures},
                   {"shards_marked_lost", repair.shards_marked_lost},
                   {"shards_reconciled", repair.shards_reconciled},
                   {"unplaceable_shards", repair.unplaceable_shards},
                   {"unreadable_versions", repair.unreadable_versions},
                   {"passes", repair.passes},
                   {"rate_bytes_per_second", repair.rate_bytes_per_second},
                   {"rate_limit_bytes_per_second", settings.repair_bytes_per_second}};
  out["scrub"] = ClusterScrubStatus(views, scrub_reports);
  return out.dump();
}

}  // namespace

Task<void> RunRepair(GatewayContext& context, const std::atomic<bool>& stopping,
                     std::vector<net::Executor> workers) {
  if (workers.empty()) workers.push_back(co_await boost::asio::this_coro::executor);
  RepairService service(context, std::move(workers));
  co_await service.Run(stopping);
}

Task<std::string> RenderStatusJson(GatewayContext& ctx) {
  const std::vector<NodeView> views = ctx.cluster.Nodes();
  std::vector<std::string> lost;
  for (const NodeView& view : views) {
    if (view.lost) lost.push_back(view.record.id);
  }
  auto count = co_await net::RunBlocking(ctx.blocking_pool,
                                         [&] { return ctx.store.CountUnderProtectedVersions(lost); });
  std::string status = StatusJson(views, count, ctx.repair_stats.Snapshot(ctx.clock.MonotonicMs()),
                                  ctx.settings, ctx.scrub_reports);
  // Versions by spare shards, GC and drain queues, policy: gateway/operations.h.
  co_return co_await AddReportingToStatus(ctx, std::move(status));
}

}  // namespace holdfast::gateway
