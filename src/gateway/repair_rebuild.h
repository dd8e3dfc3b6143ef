// Rebuilding shards of one object version, stripe by stripe (internal to
// repair; the service is gateway/repair.h).
//
//   k surviving shards --(stripe s: k verified blocks)--> ec Reconstruct
//     --> block s of each shard being rebuilt (data or parity; the other
//         unread blocks are not decoded) --> checksum --> stream block s to each target node --> commit frames
//
// Memory is one stripe, (k+m) x block size, when decoding; a copy holds one
// block. A source that fails (down, broken stream, corrupt block, shard
// gone) is reported like a degraded read does and replaced by another
// survivor from that stripe on; a target that fails is dropped and the
// others go on. Each target's footer is the
// surviving shards' footer with its own shard index, so the rebuilt shard is
// indistinguishable from the one the PUT wrote.
//
// A target whose own old copy is listed among the sources (drain and
// rebalance move readable shards) is copied from it block by block, and
// decoding from k survivors takes over only if that copy fails. A copied
// block's checksum, verified on arrival, is sent on rather than computed
// again.
#pragma once

#include <cstdint>
#include <vector>

#include "gateway/context.h"
#include "gateway/repair_plan.h"
#include "net/http.h"

namespace holdfast::gateway {

struct RebuildOutcome {
  std::vector<ShardRebuild> committed;  // durable on their new nodes
  uint64_t bytes_written = 0;
};

// Rebuilds `plan.rebuilds` of `version` from `plan.sources`, pacing the bytes
// it writes with `limiter`. Fails (nothing committed) when fewer than k
// sources can be read or every target failed.
net::Task<Result<RebuildOutcome>> RebuildShards(GatewayContext& context,
                                                meta::ObjectVersion version, RepairPlan plan,
                                                RateLimiter* limiter);

// Reports a shard that a node could not serve: a corrupt or absent shard is
// recorded as missing where it is (compare-and-set, so a stale report changes
// nothing); an unreachable node becomes suspect.
net::Task<void> ReportShardFailure(GatewayContext& context, std::string version_id,
                                   int shard_index, std::string node_id, Error error);

// Whether a shard's footer describes shard `shard_index` of `version` in the
// shape the catalogue records (version id, k, m, block size).
bool FooterFitsVersion(const storage::ShardFooter& footer, const meta::ObjectVersion& version,
                       int shard_index);

// What repair and drain need to know of each node: writable = up, writable
// and not draining; readable = not down; lost = down beyond the grace.
std::vector<RepairNode> RepairNodes(const std::vector<NodeView>& views);

// Reads blocks [0, block_count) of a shard back; the node and NodeClient
// verify every checksum. Paced with `limiter`.
net::Task<Status> VerifyBlocks(GatewayContext& context, std::string endpoint, std::string shard_id,
                               uint64_t block_count, uint32_t block_size_bytes, RateLimiter* limiter);

// Verifies the copy of shard `shard_index` of `version` on `node_id`: the
// node reads every block back from its disk and checks its checksum
// (GET /v1/shards/{id}/verify), and the footer matches the catalogue.
net::Task<Status> VerifyShardCopy(GatewayContext& context, meta::ObjectVersion version,
                                  int shard_index, std::string node_id);

// Moves one committed shard copy (drain, rebalance): writes shard
// rebuild.shard_index of `version` to rebuild.to_node_id from `plan.sources`
// (put the shard's own index first to copy it rather than decode it: the
// target node then fetches it from the old one directly, node to node, and
// only if that fails does the copy go through the gateway), has
// the new node verify it (VerifyShardCopy), then records it there with a
// compare-and-set from rebuild.from_node_id; the old copy goes to GC.
// Returns the bytes written. kConflict when the catalogue changed meanwhile
// (nothing is left behind); any other error says what failed, in words fit
// for an operator ("copying it failed: ...", "the copy on node X failed
// verification: ...", "cannot record the new copy: ..."). A copy that was
// written but is not recorded is queued for GC. The caller holds the copy's
// ShardCopyLocks entry at the target.
net::Task<Result<uint64_t>> MoveShardCopy(GatewayContext& context, meta::ObjectVersion version, RepairPlan plan,
                                          ShardRebuild rebuild, RateLimiter* limiter);

// Runs `task` on `executor` (another I/O thread's) and resumes the caller on
// its own executor when it is done. Repair and drain spread their rebuilds
// over every I/O thread this way: one thread alone cannot take in the k
// shards a rebuild reads as fast as the nodes serve them.
net::Task<Status> RunOn(net::Executor executor, net::Task<void> task);

// Waits as long as `limiter` asks before `bytes` may flow.
net::Task<void> Pace(GatewayContext& context, RateLimiter* limiter, uint64_t bytes);

}  // namespace holdfast::gateway
