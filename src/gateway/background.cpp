#include "gateway/background.h"

#include <set>
#include <unordered_map>

#include "common/digest.h"
#include "common/log.h"
#include "ledger/signing.h"
#include "node/deletion_auth.h"

namespace holdfast::gateway {

using net::Task;

namespace {

constexpr std::chrono::milliseconds kIdlePause{500};
// A copy kept because a hold covers its version is looked at again this
// much later, not on every pass over the queue.
constexpr int64_t kHeldRecheckMs = 30'000;

// Whether CollectItem deleted (or dropped) the copy, kept it for a hold, or
// should try again soon.
enum class Collected { kDone, kHeld, kRetry };

// Asks the node to delete one shard copy, with the authorisation only the
// gateway can sign (node/deletion_auth.h). Callers have asked the store
// first (CheckShardCopyDeletable).
Task<Status> DeleteShardCopy(GatewayContext& ctx, std::string endpoint, const std::string& version_id,
                             int shard_index, const std::string& node_id) {
  if (ctx.deletion_key == nullptr) co_return MakeError(Errc::kInternal, "no deletion key");
  const std::string shard_id = ShardId(version_id, shard_index);
  // Long enough for a slow node, far inside the node's limit.
  const int64_t expires = ctx.clock.NowUnixMs() + 5 * 60 * 1000;
  const ledger::Signature signature = ctx.deletion_key->Sign(node::DeletionMessage(node_id, shard_id, expires));
  std::string authorisation = std::to_string(expires) + " " + HexLower(signature);
  co_return co_await ctx.nodes.Delete(std::move(endpoint), shard_id, std::move(authorisation));
}

// Deletes one queued copy; true once the item is done. The store decides
// whether the copy may go (MetaStore::CheckShardCopyDeletable): the copy the
// catalogue records there now (the shard moved away and back, e.g. repair
// rebuilt it where it used to be, or a write in flight plans it there) is
// live and the item is stale; a copy of a version under an active hold
// stays queued until the hold is released.
Task<Collected> CollectItem(GatewayContext& ctx, const meta::GcItem& item, std::string endpoint) {
  Status deletable = co_await net::RunBlocking(ctx.blocking_pool, [&] {
    return ctx.store.CheckShardCopyDeletable(item.version_id, item.shard_index, item.node_id);
  });
  if (!deletable && deletable.error().code == Errc::kLocked) co_return Collected::kHeld;
  if (!deletable && deletable.error().code != Errc::kConflict) co_return Collected::kRetry;
  if (deletable) {
    Status deleted = co_await DeleteShardCopy(ctx, endpoint, item.version_id, item.shard_index, item.node_id);
    if (!deleted && deleted.error().code != Errc::kNotFound) {
      HF_LOG_WARN("gc: deleting shard {} on node {} failed: {}",
                  ShardId(item.version_id, item.shard_index), item.node_id, deleted.error().message);
      co_return Collected::kRetry;
    }
  }
  Status completed = co_await net::RunBlocking(ctx.blocking_pool,
                                               [&] { return ctx.store.CompleteGcItem(item.id); });
  co_return completed ? Collected::kDone : Collected::kRetry;
}

// One GC pass over a page of the queue after `*cursor`; returns how many
// items were completed. Items of unreachable nodes are skipped, not retried
// in place, so they cannot stall the rest of the queue; items kept for a
// hold are skipped until their time in `held` (GC item id -> monotonic ms).
Task<int> CollectOnce(GatewayContext& ctx, int64_t* cursor, std::unordered_map<int64_t, int64_t>* held) {
  auto items = co_await net::RunBlocking(ctx.blocking_pool,
                                         [&] { return ctx.store.NextGcItems(*cursor, 64); });
  if (!items) {
    HF_LOG_ERROR("gc: cannot read the queue: {}", items.error().message);
    co_return 0;
  }
  int done = 0;
  *cursor = items->empty() ? 0 : items->back().id;  // wrap around at the end
  for (const meta::GcItem& item : *items) {
    if (auto kept = held->find(item.id); kept != held->end()) {
      if (ctx.clock.MonotonicMs() < kept->second) continue;
      held->erase(kept);
    }
    auto endpoint = ctx.ReachableEndpoint(item.node_id);
    if (!endpoint) continue;  // node down: try again later
    // Repair may be writing this very copy: leave the item for later.
    if (!ctx.shard_copy_locks.TryLock(item.version_id, item.shard_index, item.node_id)) continue;
    const Collected collected = co_await CollectItem(ctx, item, *endpoint);
    ctx.shard_copy_locks.Unlock(item.version_id, item.shard_index, item.node_id);
    if (collected == Collected::kDone) ++done;
    if (collected == Collected::kHeld) (*held)[item.id] = ctx.clock.MonotonicMs() + kHeldRecheckMs;
  }
  co_return done;
}

}  // namespace

Task<void> RunGarbageCollector(GatewayContext& ctx, const std::atomic<bool>& stopping) {
  int64_t cursor = 0;
  std::unordered_map<int64_t, int64_t> held;
  while (!stopping) {
    int done = co_await CollectOnce(ctx, &cursor, &held);
    if (done == 0 && cursor == 0) co_await net::SleepFor(kIdlePause);
  }
}

Task<void> RunPendingWriteSweeper(GatewayContext& ctx, std::chrono::milliseconds expiry,
                                  std::chrono::milliseconds upload_expiry,
                                  const std::atomic<bool>& stopping) {
  std::set<std::string> kept_uploads;
  while (!stopping) {
    int64_t upload_cutoff = ctx.clock.NowUnixMs() - upload_expiry.count();
    auto uploads = co_await net::RunBlocking(
        ctx.blocking_pool, [&] { return ctx.store.ExpiredMultipartUploads(upload_cutoff, 64); });
    if (uploads) {
      for (const meta::MultipartUpload& upload : *uploads) {
        Status aborted = co_await net::RunBlocking(
            ctx.blocking_pool, [&] { return ctx.store.AbortMultipartUpload(upload.upload_id); });
        if (aborted) {
          HF_LOG_INFO("aborted multipart upload {} of {}/{}: not completed {} ms after it began",
                      upload.upload_id, upload.bucket, upload.key,
                      ctx.clock.NowUnixMs() - upload.initiated_unix_ms);
        } else if (kept_uploads.insert(upload.upload_id).second) {
          // A hold covers its parts (docs/holds.md): said once, tried again every pass.
          HF_LOG_WARN("multipart upload {} of {}/{} expired but is kept: {}", upload.upload_id, upload.bucket,
                      upload.key, aborted.error().message);
        }
      }
    }
    int64_t cutoff = ctx.clock.NowUnixMs() - expiry.count();
    auto expired = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.ExpiredPendingWrites(cutoff, 64); });
    if (expired) {
      for (const meta::PendingWrite& write : *expired) {
        HF_LOG_INFO("aborting abandoned write of {}/{} (version {}), started {} ms ago", write.bucket,
                    write.key, write.version_id, ctx.clock.NowUnixMs() - write.started_unix_ms);
        (void)co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.AbortWrite(write.version_id); });
      }
    }
    co_await net::SleepFor(std::chrono::milliseconds(5000));
  }
}

}  // namespace holdfast::gateway
