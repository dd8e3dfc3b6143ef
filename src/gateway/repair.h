// repair: restores full redundancy by itself after nodes are lost.
//
// The loop (one coroutine, RunRepair) does, round after round:
//
//  1. Health. A node down for longer than the loss grace (ClusterView) is
//     lost: every shard recorded on it is found through the shard-location
//     index (MetaStore::ShardsOnNode, no scan of the catalogue) and recorded
//     as missing, in pages. A node that is only down is left alone: a
//     restart or a network blip must not move data.
//
//  2. Reconciliation. A lost node that comes back is reconciled before its
//     shards are trusted again. Here that means: for every shard the
//     catalogue records on it (index again), the node must still hold a
//     shard file whose footer, verified by the node, names this version and
//     shard index in the shape the catalogue records (k, m, block size).
//     A shard that was recorded missing is trusted again only after every
//     one of its blocks has been read back and verified (node and gateway
//     checksums); one that fails stays missing and is rebuilt. Re-placed
//     shards are not its business: their old copies were queued for garbage
//     collection when repair moved them, and GC deletes them now that the
//     node answers. A node back within the grace (counted down, or
//     restarted: its heartbeats carry a new boot id) is reconciled too, the
//     same way: nothing was moved, but its directory may have lost files
//     while it was away, and a hole found now is rebuilt now rather than
//     when a read stumbles on it. Cost: one footer request per shard the
//     catalogue records on the node. A node reporting no shards at all
//     while the catalogue records some on it is reconciled at once too (a
//     server re-provisioned empty faster than the grace).
//
//  3. Repair. The repair queue (MetaStore::DamagedVersions: versions with a
//     shard not ok) is walked most endangered first: fewest shards to
//     spare. For each version PlanRepair (repair_plan.h) picks k survivors
//     and, for every damaged shard, a node that keeps the placement policy
//     true; RebuildShards (repair_rebuild.h) reads the survivors stripe by
//     stripe, reconstructs the missing blocks, data and parity alike, and
//     streams each rebuilt shard to its node; once the node acknowledges it
//     durable, MoveShards records it there (compare-and-set: a version
//     deleted or changed meanwhile queues the new copy for GC instead).
//     A shard with no eligible node (say its whole provider is still gone)
//     waits; the provider cap is never broken to rebuild sooner. A few
//     versions are repaired at once; the bytes written are paced by a rate
//     limit (GatewaySettings::repair_bytes_per_second) so that client
//     traffic keeps being served.
//
//  4. Reports. Degraded reads that find a shard corrupt or absent record it
//     as missing, which puts its version on the repair queue.
//
// A pass that rebuilt nothing waits until the set of writable nodes changes
// or a few seconds pass, so an unrepairable backlog does not spin.
//
// Repair runs on one I/O thread of one gateway (the background services'
// leader), and spreads the rebuilds of a page of versions over `workers`
// (every I/O thread); its metadata calls go through the blocking pool.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

net::Task<void> RunRepair(GatewayContext& context, const std::atomic<bool>& stopping,
                          std::vector<net::Executor> workers);

// (RenderStatusJson, the status endpoint's body, is declared in context.h
// and defined in repair.cpp.)

}  // namespace holdfast::gateway
