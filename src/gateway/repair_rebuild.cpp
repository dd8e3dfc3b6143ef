#include "gateway/repair_rebuild.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/log.h"
#include "storage/shard_store.h"

namespace holdfast::gateway {
namespace {

using net::Task;

struct Target {
  ShardRebuild rebuild;
  std::unique_ptr<ShardUpload> upload;  // null once dropped
};

class Rebuilder {
 public:
  Rebuilder(GatewayContext& context, meta::ObjectVersion version, RepairPlan plan,
            RateLimiter* limiter)
      : ctx_(context),
        version_(std::move(version)),
        plan_(std::move(plan)),
        limiter_(limiter),
        k_(version_.data_shard_count),
        m_(version_.parity_shard_count),
        streams_(k_ + m_),
        tried_(k_ + m_, false),
        blocks_(k_ + m_, nullptr),
        present_(k_ + m_, 0),
        checksums_(k_ + m_, 0) {
    for (const ShardRebuild& rebuild : plan_.rebuilds) targets_.push_back({rebuild, nullptr});
  }

  Task<Result<RebuildOutcome>> Run() {
    auto codec = ctx_.Codec(k_, m_);
    if (!codec) co_return codec.error();
    codec_ = *codec;
    Status loaded = co_await LoadFooter();
    if (!loaded) co_return loaded.error();
    block_size_ = footer_.block_size_bytes;
    // A rebuild that can copy no target from its old copy decodes: its
    // stripe is allocated now, before any stream opens. (Allocated later,
    // the gateway faulted its pages in afresh for every version: 5x the
    // page faults and ~1 CPU ms more per rebuilt MiB, measured.)
    if (!AnyCopySource()) AllocateStripe();
    if (footer_.block_count > 0) {
      co_await OpenCopySources();
      if (!AllTargetsCopied()) {
        AllocateStripe();  // a copy source failed: decode after all
        Status opened = co_await EnsureSources(0);
        if (!opened) co_return opened.error();
      }
    }
    co_await OpenTargets();
    for (uint64_t stripe = 0; stripe < footer_.block_count; ++stripe) {
      Status done = co_await ReadStripe(stripe);
      if (done) done = co_await SendStripe(stripe);
      if (!done) {
        AbortTargets();
        co_return done.error();
      }
    }
    if (LiveTargets() == 0) co_return NoTargetLeft();
    co_await CommitTargets();
    if (outcome_.committed.empty()) co_return NoTargetLeft();
    co_return outcome_;
  }

 private:
  std::string Name() const { return version_.bucket + "/" + version_.key + " (version " + version_.version_id + ")"; }

  Error NoTargetLeft() const {
    return MakeError(Errc::kUnavailable, "no node took a rebuilt shard of " + Name());
  }

  int ActiveSources() const {
    return static_cast<int>(std::count_if(streams_.begin(), streams_.end(),
                                          [](const auto& s) { return s != nullptr; }));
  }

  size_t LiveTargets() const {
    return static_cast<size_t>(std::count_if(targets_.begin(), targets_.end(),
                                             [](const Target& t) { return t.upload != nullptr; }));
  }

  Task<Status> LoadFooter() {
    std::string why;
    for (int index : plan_.sources) {
      const std::string node_id = version_.shards[index].node_id;
      auto endpoint = ctx_.ReachableEndpoint(node_id);
      if (!endpoint) continue;
      auto footer = co_await ctx_.nodes.GetFooter(*endpoint, ShardId(version_.version_id, index));
      if (!footer) {
        tried_[index] = true;
        why += "; shard " + std::to_string(index) + ": " + footer.error().message;
        co_await ReportShardFailure(ctx_, version_.version_id, index, node_id, footer.error());
        continue;
      }
      if (!FooterFitsVersion(*footer, version_, index)) {
        tried_[index] = true;
        why += "; shard " + std::to_string(index) + " on node " + node_id + " has a footer of another shape";
        Error corrupt = MakeError(Errc::kCorrupt, "footer does not match the catalogue");
        co_await ReportShardFailure(ctx_, version_.version_id, index, node_id, corrupt);
        continue;
      }
      footer_ = *footer;
      co_return Status::Ok();
    }
    co_return MakeError(Errc::kUnavailable, "no surviving shard of " + Name() + " gave its footer" + why);
  }

  // A target whose own old copy is among the sources (a drain or rebalance
  // moving a readable shard) is fed from that copy: one read per byte moved
  // instead of k. Decoding takes over if the copy fails.
  Task<void> OpenCopySources() {
    std::vector<Task<Status>> opens;
    for (const Target& target : targets_) {
      const int index = target.rebuild.shard_index;
      if (tried_[index]) continue;
      if (std::find(plan_.sources.begin(), plan_.sources.end(), index) == plan_.sources.end()) continue;
      tried_[index] = true;
      opens.push_back(OpenSource(index, 0));
    }
    co_await net::ParallelAll(std::move(opens));
  }

  bool AnyCopySource() const {
    return std::any_of(targets_.begin(), targets_.end(), [&](const Target& target) {
      const int index = target.rebuild.shard_index;
      return std::find(plan_.sources.begin(), plan_.sources.end(), index) != plan_.sources.end();
    });
  }

  bool AllTargetsCopied() const {
    return std::all_of(targets_.begin(), targets_.end(), [&](const Target& target) {
      return !target.upload || streams_[target.rebuild.shard_index] != nullptr;
    });
  }

  bool TargetsPresent(const std::vector<char>& present) const {
    return std::all_of(targets_.begin(), targets_.end(), [&](const Target& target) {
      return !target.upload || present[target.rebuild.shard_index];
    });
  }

  // Opens streams from `stripe` on until k sources are active.
  Task<Status> EnsureSources(uint64_t stripe) {
    while (ActiveSources() < k_) {
      std::vector<int> candidates;
      for (int index : plan_.sources) {
        if (!tried_[index]) candidates.push_back(index);
      }
      if (candidates.empty()) break;
      const int need = k_ - ActiveSources();
      std::vector<Task<Status>> opens;
      for (int j = 0; j < need && j < static_cast<int>(candidates.size()); ++j) {
        tried_[candidates[j]] = true;
        opens.push_back(OpenSource(candidates[j], stripe));
      }
      co_await net::ParallelAll(std::move(opens));
    }
    if (ActiveSources() >= k_) co_return Status::Ok();
    co_return MakeError(Errc::kUnavailable, "only " + std::to_string(ActiveSources()) + " of the " +
                                                std::to_string(k_) + " shards needed to rebuild " +
                                                Name() + " are readable");
  }

  Task<Status> OpenSource(int index, uint64_t stripe) {
    const std::string node_id = version_.shards[index].node_id;
    auto endpoint = ctx_.ReachableEndpoint(node_id);
    if (!endpoint) co_return Status::Ok();
    auto stream = co_await ctx_.nodes.OpenDownload(*endpoint, ShardId(version_.version_id, index),
                                                   stripe, footer_.block_count - stripe, block_size_);
    if (!stream) {
      co_await ReportShardFailure(ctx_, version_.version_id, index, node_id, stream.error());
      co_return Status::Ok();
    }
    streams_[index] = std::move(*stream);
    co_return Status::Ok();
  }

  Task<void> OpenTargets() {
    std::vector<Task<Status>> opens;
    for (size_t t = 0; t < targets_.size(); ++t) opens.push_back(OpenTarget(t));
    std::vector<Status> results = co_await net::ParallelAll(std::move(opens));
    for (size_t t = 0; t < results.size(); ++t) {
      if (!results[t]) DropTarget(t, results[t].error());
    }
  }

  Task<Status> OpenTarget(size_t t) {
    const ShardRebuild& rebuild = targets_[t].rebuild;
    auto endpoint = ctx_.ReachableEndpoint(rebuild.to_node_id);
    if (!endpoint) co_return MakeError(Errc::kUnavailable, "node " + rebuild.to_node_id + " is down");
    storage::ShardFooter header = footer_;
    header.shard_index = rebuild.shard_index;
    auto upload = co_await ctx_.nodes.OpenUpload(
        *endpoint, ShardId(version_.version_id, rebuild.shard_index), header);
    if (!upload) co_return upload.error();
    targets_[t].upload = std::move(*upload);
    co_return Status::Ok();
  }

  void DropTarget(size_t t, const Error& error) {
    Target& target = targets_[t];
    HF_LOG_WARN("repair of {}: writing shard {} to node {} failed: {}", Name(),
                target.rebuild.shard_index, target.rebuild.to_node_id, error.message);
    ctx_.cluster.MarkSuspect(target.rebuild.to_node_id);
    if (target.upload) target.upload->Abort();
    target.upload.reset();
  }

  void AbortTargets() {
    for (Target& target : targets_) {
      if (target.upload) target.upload->Abort();
      target.upload.reset();
    }
  }

  // Block `index` of the current stripe, allocated on first use: a copy
  // (drain, rebalance) then holds one block, not a stripe. Every block is
  // read or rebuilt in full before use, so none is zeroed.
  std::span<uint8_t> Block(int index) {
    if (!blocks_[index]) {
      buffers_.push_back(std::make_unique_for_overwrite<uint8_t[]>(block_size_));
      blocks_[index] = buffers_.back().get();
    }
    return {blocks_[index], block_size_};
  }

  // Gives every block a buffer before decoding, the missing ones from one
  // allocation (one stripe, as a rebuild always needs).
  void AllocateStripe() {
    const auto missing = static_cast<size_t>(std::count(blocks_.begin(), blocks_.end(), nullptr));
    if (missing == 0) return;
    buffers_.push_back(std::make_unique_for_overwrite<uint8_t[]>(missing * block_size_));
    uint8_t* next = buffers_.back().get();
    for (uint8_t*& block : blocks_) {
      if (block != nullptr) continue;
      block = next;
      next += block_size_;
    }
  }

  Task<Status> ReadBlock(int index, uint64_t stripe) {
    std::span<uint8_t> out = Block(index);
    Status read = MakeError(Errc::kInternal, "shard stream out of step");
    if (streams_[index]->next_block_index() == stripe) read = co_await streams_[index]->NextBlock(out);
    if (read) {
      present_[index] = 1;
      checksums_[index] = streams_[index]->last_checksum();
      co_return Status::Ok();
    }
    streams_[index].reset();
    co_await ReportShardFailure(ctx_, version_.version_id, index, version_.shards[index].node_id,
                                read.error());
    co_return Status::Ok();
  }

  // Fills the blocks of `stripe` the targets need: copied, or k read and
  // the rest rebuilt.
  Task<Status> ReadStripe(uint64_t stripe) {
    std::fill(present_.begin(), present_.end(), 0);
    while (true) {
      std::vector<Task<Status>> reads;
      for (int i = 0; i < k_ + m_; ++i) {
        if (streams_[i] && !present_[i]) reads.push_back(ReadBlock(i, stripe));
      }
      co_await net::ParallelAll(std::move(reads));
      if (TargetsPresent(present_)) co_return Status::Ok();  // copies: nothing to decode
      if (std::count(present_.begin(), present_.end(), 1) >= k_) break;
      Status opened = co_await EnsureSources(stripe);
      if (!opened) co_return opened;
    }
    AllocateStripe();
    std::vector<int> erased, wanted;
    for (int i = 0; i < k_ + m_; ++i) {
      if (!present_[i]) erased.push_back(i);
    }
    // Decode only what the targets take: one shard of four unread is a
    // quarter of the work.
    for (const Target& target : targets_) {
      if (target.upload && !present_[target.rebuild.shard_index]) wanted.push_back(target.rebuild.shard_index);
    }
    co_return codec_->Reconstruct(block_size_, blocks_, erased, wanted);
  }

  Task<Status> SendStripe(uint64_t stripe) {
    co_await Pace(ctx_, limiter_, uint64_t(block_size_) * LiveTargets());
    std::vector<Task<Status>> sends;
    std::vector<size_t> sent_to;
    for (size_t t = 0; t < targets_.size(); ++t) {
      if (!targets_[t].upload) continue;
      const int index = targets_[t].rebuild.shard_index;
      const std::span<const uint8_t> block = Block(index);
      // A copied block was verified against this checksum on arrival.
      const uint64_t checksum = present_[index] ? checksums_[index] : storage::BlockChecksum(block, stripe);
      sends.push_back(targets_[t].upload->SendBlock(stripe, checksum, block));
      sent_to.push_back(t);
    }
    std::vector<Status> results = co_await net::ParallelAll(std::move(sends));
    for (size_t j = 0; j < results.size(); ++j) {
      if (results[j]) {
        outcome_.bytes_written += block_size_;
      } else {
        DropTarget(sent_to[j], results[j].error());
      }
    }
    if (LiveTargets() == 0) co_return NoTargetLeft();
    co_return Status::Ok();
  }

  Task<void> CommitTargets() {
    std::vector<Task<Status>> commits;
    std::vector<size_t> committing;
    for (size_t t = 0; t < targets_.size(); ++t) {
      if (!targets_[t].upload) continue;
      storage::ShardFooter footer = footer_;
      footer.shard_index = targets_[t].rebuild.shard_index;
      commits.push_back(targets_[t].upload->Commit(footer));
      committing.push_back(t);
    }
    std::vector<Status> results = co_await net::ParallelAll(std::move(commits));
    for (size_t j = 0; j < results.size(); ++j) {
      if (results[j]) {
        outcome_.committed.push_back(targets_[committing[j]].rebuild);
      } else {
        DropTarget(committing[j], results[j].error());
      }
    }
  }

  GatewayContext& ctx_;
  const meta::ObjectVersion version_;
  const RepairPlan plan_;
  RateLimiter* limiter_;
  const int k_, m_;
  std::shared_ptr<const ec::Codec> codec_;
  storage::ShardFooter footer_;
  uint32_t block_size_ = 0;
  std::vector<std::unique_ptr<ShardDownload>> streams_;  // by shard index
  std::vector<bool> tried_;
  std::vector<uint8_t*> blocks_;  // by shard index, into buffers_; see Block()
  std::vector<std::unique_ptr<uint8_t[]>> buffers_;
  std::vector<char> present_;        // blocks of the current stripe read from a source
  std::vector<uint64_t> checksums_;  // their verified checksums
  std::vector<Target> targets_;
  RebuildOutcome outcome_;
};

}  // namespace

// The survivors' footer lends its identity to every rebuilt shard; it must
// describe this version in the shape the catalogue records, or decoding
// would produce garbage.
bool FooterFitsVersion(const storage::ShardFooter& footer, const meta::ObjectVersion& version,
                       int shard_index) {
  // Size and block count too: a shard that is short but self-consistent
  // must not be trusted again by reconciliation.
  const uint64_t stripe_bytes = uint64_t(version.block_size_bytes) * version.data_shard_count;
  const uint64_t block_count =
      stripe_bytes == 0 ? 0 : (version.size_bytes + stripe_bytes - 1) / stripe_bytes;
  return footer.version_id == version.version_id && footer.shard_index == shard_index &&
         footer.data_shard_count == version.data_shard_count &&
         footer.parity_shard_count == version.parity_shard_count &&
         footer.block_size_bytes == version.block_size_bytes &&
         footer.object_size_bytes == version.size_bytes && footer.block_count == block_count;
}

Task<Result<RebuildOutcome>> RebuildShards(GatewayContext& context, meta::ObjectVersion version,
                                           RepairPlan plan, RateLimiter* limiter) {
  Rebuilder rebuilder(context, std::move(version), std::move(plan), limiter);
  co_return co_await rebuilder.Run();
}

Task<void> ReportShardFailure(GatewayContext& ctx, std::string version_id, int shard_index,
                              std::string node_id, Error error) {
  if (error.code == Errc::kCorrupt || error.code == Errc::kNotFound) {
    // Compare-and-set: if repair moved the shard meanwhile, this report is
    // about a copy the catalogue no longer uses and changes nothing.
    std::vector<meta::ShardMove> moves(1);
    moves[0].version_id = version_id;
    moves[0].shard_index = shard_index;
    moves[0].from_node_id = node_id;
    moves[0].to_node_id = node_id;
    moves[0].to_state = meta::ShardState::kMissing;
    auto moved = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.MoveShards(moves); });
    if (!moved) {
      HF_LOG_ERROR("could not record shard {} on node {} as missing: {}", ShardId(version_id, shard_index),
                   node_id, moved.error().message);
    }
  } else if (error.code == Errc::kUnavailable) {
    ctx.cluster.MarkSuspect(node_id);
  }
}

std::vector<RepairNode> RepairNodes(const std::vector<NodeView>& views) {
  std::vector<RepairNode> nodes;
  for (const NodeView& view : views) {
    RepairNode node;
    node.id = view.record.id;
    node.provider = view.record.provider;
    node.site = view.record.site;
    // Draining and retired nodes take no shards, not even rebuilt ones.
    node.writable = view.health == NodeHealth::kUp && !view.read_only && !view.lost && !view.drain;
    node.readable = view.health != NodeHealth::kDown;
    node.lost = view.lost;
    nodes.push_back(std::move(node));
  }
  return nodes;
}

Task<Status> VerifyBlocks(GatewayContext& ctx, std::string endpoint, std::string shard_id,
                          uint64_t block_count, uint32_t block_size_bytes, RateLimiter* limiter) {
  if (block_count == 0) co_return Status::Ok();
  auto stream = co_await ctx.nodes.OpenDownload(endpoint, shard_id, 0, block_count, block_size_bytes);
  if (!stream) co_return stream.error();
  std::vector<uint8_t> block(block_size_bytes);
  for (uint64_t i = 0; i < block_count; ++i) {
    co_await Pace(ctx, limiter, block_size_bytes);
    Status read = co_await (*stream)->NextBlock(block);
    if (!read) co_return read;
  }
  co_return Status::Ok();
}

Task<Status> VerifyShardCopy(GatewayContext& ctx, meta::ObjectVersion version, int shard_index,
                             std::string node_id) {
  auto endpoint = ctx.ReachableEndpoint(node_id);
  if (!endpoint) co_return MakeError(Errc::kUnavailable, "node " + node_id + " is down");
  const std::string shard_id = ShardId(version.version_id, shard_index);
  // The node reads its file back and checks every block's checksum (which
  // this gateway computed from the source bytes): the bytes need not cross
  // the network again.
  auto footer = co_await ctx.nodes.VerifyShard(*endpoint, shard_id);
  if (!footer) co_return footer.error();
  if (!FooterFitsVersion(*footer, version, shard_index)) {
    co_return MakeError(Errc::kCorrupt, "shard " + shard_id + " on node " + node_id +
                                            " has a footer that does not match the catalogue");
  }
  co_return Status::Ok();
}

Task<Status> RunOn(net::Executor executor, Task<void> task) {
  co_await boost::asio::co_spawn(executor, std::move(task), boost::asio::use_awaitable);
  co_return Status::Ok();
}

Task<void> Pace(GatewayContext& ctx, RateLimiter* limiter, uint64_t bytes) {
  const int64_t wait_ms = limiter->Reserve(bytes, ctx.clock.MonotonicMs());
  if (wait_ms > 0) co_await net::SleepFor(std::chrono::milliseconds(wait_ms));
}

// Node pairs whose direct copies failed for want of a connection: nodes at
// different providers may not reach each other (only the gateway reaches
// every node), and each move would otherwise wait for a connect timeout
// before falling back. Such a pair moves through the gateway for a while.
class UnreachablePairs {
 public:
  static constexpr int64_t kBackoffMs = 10 * 60 * 1000;
  bool Skip(const std::string& from, const std::string& to, int64_t now_ms) {
    std::lock_guard lock(mutex_);
    auto it = until_ms_.find({from, to});
    return it != until_ms_.end() && it->second > now_ms;
  }
  void Failed(const std::string& from, const std::string& to, int64_t now_ms) {
    std::lock_guard lock(mutex_);
    until_ms_[{from, to}] = now_ms + kBackoffMs;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, int64_t> until_ms_;
};

// The target node fetches the copy from the old one itself (drain and
// rebalance move readable shards): one transfer per byte instead of two, and
// none through the gateway. Nullopt when there is no readable old copy or
// either node is unreachable, or the node-to-node copy failed (logged): the
// caller then moves the shard through the gateway, decoding if it must.
Task<std::optional<uint64_t>> CopyNodeToNode(GatewayContext& ctx, const meta::ObjectVersion& version,
                                             const RepairPlan& plan, const ShardRebuild& rebuild,
                                             RateLimiter* limiter) {
  const int index = rebuild.shard_index;
  if (std::find(plan.sources.begin(), plan.sources.end(), index) == plan.sources.end()) co_return std::nullopt;
  const std::string& from_node = version.shards[index].node_id;
  auto& unreachable = ctx.ServiceState<UnreachablePairs>();
  if (unreachable.Skip(from_node, rebuild.to_node_id, ctx.clock.MonotonicMs())) co_return std::nullopt;
  auto from = ctx.ReachableEndpoint(from_node);
  auto to = ctx.ReachableEndpoint(rebuild.to_node_id);
  if (!from || !to) co_return std::nullopt;
  // Paced before the copy, by the shard's size in the catalogue: the node
  // copies at its own speed once asked.
  const uint64_t stripe_bytes = uint64_t(version.block_size_bytes) * version.data_shard_count;
  const uint64_t expected_blocks = stripe_bytes == 0 ? 0 : (version.size_bytes + stripe_bytes - 1) / stripe_bytes;
  co_await Pace(ctx, limiter, expected_blocks * version.block_size_bytes);
  auto blocks = co_await ctx.nodes.CopyShard(*to, ShardId(version.version_id, index), *from);
  if (!blocks) {
    HF_LOG_WARN("copying shard {} of {} from node {} to node {} directly failed ({}); moving it through the gateway",
                index, version.version_id, from_node, rebuild.to_node_id, blocks.error().message);
    if (blocks.error().message.starts_with(NodeClient::kCopySourceUnreachable)) {
      unreachable.Failed(from_node, rebuild.to_node_id, ctx.clock.MonotonicMs());
    }
    co_return std::nullopt;
  }
  co_return *blocks * version.block_size_bytes;
}

Task<Result<uint64_t>> MoveShardCopy(GatewayContext& ctx, meta::ObjectVersion version, RepairPlan plan,
                                     ShardRebuild rebuild, RateLimiter* limiter) {
  plan.rebuilds = {rebuild};
  uint64_t bytes_written = 0;
  if (auto copied = co_await CopyNodeToNode(ctx, version, plan, rebuild, limiter)) {
    bytes_written = *copied;
  } else {
    auto outcome = co_await RebuildShards(ctx, version, plan, limiter);
    if (!outcome || outcome->committed.empty()) {
      std::string why = outcome ? "no node took the copy" : outcome.error().message;
      co_return MakeError(Errc::kUnavailable, "copying it failed: " + why);
    }
    bytes_written = outcome->bytes_written;
  }
  Status verified = co_await VerifyShardCopy(ctx, version, rebuild.shard_index, rebuild.to_node_id);
  if (!verified) {
    // Nothing records the bad copy: a move that cannot apply (no node has
    // this id: it is not a valid label) queues the written copy for GC.
    std::vector<meta::ShardMove> discard{meta::ShardMove{version.version_id, rebuild.shard_index, "(unrecorded)",
                                                         rebuild.to_node_id, meta::ShardState::kOk}};
    (void)co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.MoveShards(discard); });
    co_return MakeError(Errc::kCorrupt, "the copy on node " + rebuild.to_node_id +
                                            " failed verification: " + verified.error().message);
  }
  std::vector<meta::ShardMove> moves{meta::ShardMove{version.version_id, rebuild.shard_index, rebuild.from_node_id,
                                                     rebuild.to_node_id, meta::ShardState::kOk}};
  auto applied = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.MoveShards(moves); });
  if (!applied) co_return MakeError(Errc::kIo, "cannot record the new copy: " + applied.error().message);
  if (*applied == 0) co_return MakeError(Errc::kConflict, "the catalogue changed meanwhile");
  co_return bytes_written;
}

}  // namespace holdfast::gateway
