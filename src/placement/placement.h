// placement: from a topology of failure domains and a durability policy, the
// erasure code to use and which node holds which shard.  Start here for
// placement/.
//
// Failure domains nest: provider > site > server (a server is one node).
// The operator declares a DurabilityPolicy: "survive the loss of P whole
// providers plus S more servers anywhere". From the registered topology
// DeriveLayout() chooses
//   - a per-provider cap c: no provider ever holds more than c shards of one
//     object, and no node more than one;
//   - m = (shards held by the P providers holding the most) + S, so that losing
//     those providers and S more servers still leaves k shards;
//   - k as large as the topology allows (storage efficiency k/(k+m)), with
//     k <= 32 and m <= 16.
// It refuses with kInfeasible and a message naming what is missing when no
// code can satisfy the policy.
//
// Place() then picks nodes for one object deterministically: weighted
// rendezvous hashing of (object seed, node id), taken in score order under the
// provider cap, preferring sites not yet used. Only nodes that are available
// are chosen; a shard index with no eligible node is left unplaced
// (std::nullopt) and the object is under-protected until repair places it.
//
// Placement knows nothing of bytes. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace holdfast::placement {

struct DurabilityPolicy {
  int provider_losses = 1;  // P: whole providers that may vanish
  int server_losses = 1;    // S: further individual servers that may vanish

  // The default for a topology with `provider_count` providers and
  // `node_count` nodes: P = 1 when there are at least two providers (0
  // otherwise), S = 1 when there is more than one node (0 otherwise).
  static DurabilityPolicy DefaultFor(int provider_count, int node_count);
};

struct NodeInfo {
  std::string id;        // unique node (= server) id
  std::string provider;  // provider name
  std::string site;      // site within the provider
  double weight = 1.0;   // relative share of new shards (e.g. capacity); > 0
  bool available = true; // up and accepting new shards
};

struct Layout {
  int data_shard_count = 0;    // k
  int parity_shard_count = 0;  // m
  int per_provider_cap = 0;    // c: max shards of one object on one provider
  int total() const { return data_shard_count + parity_shard_count; }
};

// Chooses (k, m, c) for `nodes` (all registered nodes, available or not: the
// code must not shrink just because some are down right now), with k at most
// `max_data_shards`. With max_data_shards = 1 every shard alone holds the
// whole object (one full copy per provider up to the cap): the layout for
// tiny objects, where file-system blocks make wide stripes cost more space
// and more fsyncs than copies.
Result<Layout> DeriveLayout(const std::vector<NodeInfo>& nodes, const DurabilityPolicy& policy,
                            int max_data_shards = 32);

// One entry per shard index in [0, layout.total()): the chosen node id, or
// nullopt when no available node could take it without breaking the caps.
// `object_seed` identifies the object version (e.g. its version id).
std::vector<std::optional<std::string>> Place(const std::string& object_seed, const Layout& layout,
                                              const std::vector<NodeInfo>& nodes);

// Whether `assignment` (node id per shard index; nullopt = no shard) obeys the
// layout's caps for `nodes`: at most c per provider, at most one per node.
bool SatisfiesCaps(const std::vector<std::optional<std::string>>& assignment, const Layout& layout,
                   const std::vector<NodeInfo>& nodes);

// Human-readable description, e.g. "k=5 m=4, at most 3 shards per provider".
std::string Describe(const Layout& layout);

}  // namespace holdfast::placement
