#include "gateway/background.h"

#include "common/log.h"

namespace holdfast::gateway {

using net::Task;

namespace {

constexpr std::chrono::milliseconds kIdlePause{500};

// Whether the catalogue records the item's shard at the item's node now:
// then the item is stale (the shard moved away and back, e.g. repair rebuilt
// it where it used to be) and the copy there is live.
bool RecordedThere(const meta::ObjectVersion& version, const meta::GcItem& item) {
  for (const meta::ShardLocation& shard : version.shards) {
    if (shard.shard_index == item.shard_index && shard.node_id == item.node_id) return true;
  }
  return false;
}

// Deletes one queued copy (unless it is live again); true once the item is done.
Task<bool> CollectItem(GatewayContext& ctx, const meta::GcItem& item, std::string endpoint) {
  auto version = co_await net::RunBlocking(ctx.blocking_pool,
                                           [&] { return ctx.store.GetVersion(item.version_id); });
  if (!version && version.error().code != Errc::kNotFound) co_return false;  // try again later
  if (!version || !RecordedThere(*version, item)) {
    Status deleted = co_await ctx.nodes.Delete(endpoint, ShardId(item.version_id, item.shard_index));
    if (!deleted && deleted.error().code != Errc::kNotFound) {
      HF_LOG_WARN("gc: deleting shard {} on node {} failed: {}",
                  ShardId(item.version_id, item.shard_index), item.node_id, deleted.error().message);
      co_return false;
    }
  }
  Status completed = co_await net::RunBlocking(ctx.blocking_pool,
                                               [&] { return ctx.store.CompleteGcItem(item.id); });
  co_return static_cast<bool>(completed);
}

// One GC pass over a page of the queue after `*cursor`; returns how many
// items were completed. Items of unreachable nodes are skipped, not retried
// in place, so they cannot stall the rest of the queue.
Task<int> CollectOnce(GatewayContext& ctx, int64_t* cursor) {
  auto items = co_await net::RunBlocking(ctx.blocking_pool,
                                         [&] { return ctx.store.NextGcItems(*cursor, 64); });
  if (!items) {
    HF_LOG_ERROR("gc: cannot read the queue: {}", items.error().message);
    co_return 0;
  }
  int done = 0;
  *cursor = items->empty() ? 0 : items->back().id;  // wrap around at the end
  for (const meta::GcItem& item : *items) {
    auto endpoint = ctx.ReachableEndpoint(item.node_id);
    if (!endpoint) continue;  // node down: try again later
    // Repair may be writing this very copy: leave the item for later.
    if (!ctx.shard_copy_locks.TryLock(item.version_id, item.shard_index, item.node_id)) continue;
    bool completed = co_await CollectItem(ctx, item, *endpoint);
    ctx.shard_copy_locks.Unlock(item.version_id, item.shard_index, item.node_id);
    if (completed) ++done;
  }
  co_return done;
}

}  // namespace

Task<void> RunGarbageCollector(GatewayContext& ctx, const std::atomic<bool>& stopping) {
  int64_t cursor = 0;
  while (!stopping) {
    int done = co_await CollectOnce(ctx, &cursor);
    if (done == 0 && cursor == 0) co_await net::SleepFor(kIdlePause);
  }
}

Task<void> RunPendingWriteSweeper(GatewayContext& ctx, std::chrono::milliseconds expiry,
                                  std::chrono::milliseconds upload_expiry,
                                  const std::atomic<bool>& stopping) {
  while (!stopping) {
    int64_t upload_cutoff = ctx.clock.NowUnixMs() - upload_expiry.count();
    auto uploads = co_await net::RunBlocking(
        ctx.blocking_pool, [&] { return ctx.store.ExpiredMultipartUploads(upload_cutoff, 64); });
    if (uploads) {
      for (const meta::MultipartUpload& upload : *uploads) {
        HF_LOG_INFO("aborting multipart upload {} of {}/{}: not completed {} ms after it began",
                    upload.upload_id, upload.bucket, upload.key,
                    ctx.clock.NowUnixMs() - upload.initiated_unix_ms);
        (void)co_await net::RunBlocking(
            ctx.blocking_pool, [&] { return ctx.store.AbortMultipartUpload(upload.upload_id); });
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
