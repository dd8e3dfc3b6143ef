// rebalance: evens out objects written before nodes or providers joined.
//
// New objects use new nodes at once (placement ranks every writable node for
// each object). Old objects stay where they were placed; `holdfast rebalance`
// (POST /_holdfast/v1/rebalance[?dry-run=true]) walks the catalogue once,
// version by version in id order (MetaStore::ShardedVersionIds), and for each
// shard asks placement where it would go today, with the version's own k and
// m and today's per-provider cap (placement::Place over the writable,
// non-draining nodes). Shard indices do not matter (any k shards read the
// object), the set of nodes does: a shard on a node today's ranking no
// longer picks moves to a picked node that holds none of the version -- copied
// from its current node, verified on the new one, switched by
// compare-and-set, the old copy to GC: the same mover as drain
// (MoveShardCopy) -- when the version keeps within the caps after the move
// (else it is skipped and counted, with the reason). Versions
// with a damaged shard are left to repair. Moves are paced like a drain
// (GatewaySettings::drain_bytes_per_second).
//
// Rendezvous hashing means only the shards that today's ranking assigns to a
// new node move: adding one node of N moves about 1/N of the shards. A second
// run right after the first finds nothing to move (or only what it skipped).
// GET /_holdfast/v1/rebalance shows progress (RebalanceProgress).
#pragma once

#include <atomic>
#include <string_view>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kRebalancePath = "/_holdfast/v1/rebalance";

// Answers an authenticated request to kRebalancePath: POST starts a run
// (409 while one is requested or running), GET shows the latest.
net::Task<void> HandleRebalance(GatewayContext& context, const net::Request& http, net::ResponseWriter& out);

// Runs requested rebalances until `stopping`.
net::Task<void> RunRebalance(GatewayContext& context, const std::atomic<bool>& stopping);

}  // namespace holdfast::gateway
