// drain: empties nodes and providers that are leaving, then lets the operator
// retire them once wiping them would lose nothing.
//
//   holdfast provider drain P / holdfast node drain N   (POST /_holdfast/v1/drains)
//     The scope is recorded in the drains table (schema v4). From then on its
//     nodes take no new shards: ClusterView leaves them out of placement, so
//     new objects get a layout and nodes from the nodes that stay, and
//     repair never rebuilds onto them.
//
//   The drain loop (RunDrain, on the background leader) walks every draining
//   node's shards through the shard-location index (ShardsOnNode: no scan of
//   the catalogue) and moves each one:
//     1. a target is chosen as repair would choose one (PlanRepair with the
//        shard counted as leaving): a writable, non-draining node that holds
//        no shard of the version, without any provider going over the
//        policy's per-provider cap;
//     2. the shard is copied block by block from its draining node (one read
//        per byte moved; the Rebuilder decodes from k other shards instead
//        if the draining node is down or its copy turns out corrupt), paced
//        by GatewaySettings::drain_bytes_per_second;
//     3. the new node reads the new copy back from its disk and checks every
//        block's checksum (computed by the gateway from the source bytes)
//        before the catalogue records it there (MoveShards, compare-and-set);
//        the old copy is then queued for GC.
//   Client traffic is served meanwhile: a read uses whichever copy the
//   catalogue records, and both stay valid until GC removes the old one.
//
//   Fail closed. A shard that cannot be moved now -- its version is damaged
//   and waits for repair, fewer than k shards are readable, no node can take
//   it without breaking the policy, the copy failed verification -- is
//   reported with its object and the reason (status "drain.blocked"); the
//   drain moves the others and tries the blocked ones again on every pass
//   (every few seconds, at once when nodes come or go), and it is never
//   done while one is left. `holdfast ... drain` stops following and exits
//   non-zero when a pass ends with blocked shards.
//
//   holdfast provider retire P / holdfast node retire N
//     (POST /_holdfast/v1/drains/retire) refuses, with the count of objects
//     and shards still there, unless the scope is draining and nothing --
//     committed shards or shards of writes still in flight -- is recorded on
//     its nodes; the check and the change are one transaction. Every shard
//     that left was verified on its new node before it was recorded there,
//     so a retired scope can be wiped. Retiring is final: GC items for its
//     nodes are dropped and they never take shards again.
//
//   holdfast provider undrain P (DELETE /_holdfast/v1/drains) cancels a
//   drain that is not retired; moved shards stay where they went.
//
// The drains table is the truth; each gateway keeps a copy in its
// ClusterView, refreshed by the drain loop every second and at once by the
// admin endpoints.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kDrainsPath = "/_holdfast/v1/drains";
inline constexpr std::string_view kRetirePath = "/_holdfast/v1/drains/retire";

// Moves run on `workers` (every I/O thread), several at once.
net::Task<void> RunDrain(GatewayContext& context, const std::atomic<bool>& stopping,
                         std::vector<net::Executor> workers);

// Whether HandleDrains serves `path`.
bool IsDrainPath(std::string_view path);

// The admin endpoints above (docs/admin-api.md). `http` and `out` must
// outlive the call.
net::Task<void> HandleDrains(GatewayContext& context, const net::Request& http,
                             net::ResponseWriter& out);

// The "drain" object of GET /_holdfast/v1/status and of GET /_holdfast/v1/drains.
net::Task<std::string> RenderDrainJson(GatewayContext& context);

}  // namespace holdfast::gateway
