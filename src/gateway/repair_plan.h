// The pure decisions of repair (gateway/repair.h): which shards of a version
// are damaged, which survivors to read, where each rebuilt shard goes, and
// how fast rebuilt bytes may flow. No I/O; unit-tested in repair_plan_test.cpp.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "meta/meta_store.h"
#include "placement/placement.h"

namespace holdfast::gateway {

// What repair needs to know about one registered node.
struct RepairNode {
  std::string id;
  std::string provider;
  std::string site;
  bool writable = false;  // up and accepting new shards
  bool readable = false;  // not down: worth reading from
  bool lost = false;      // down longer than the loss grace: its shards are gone
};

// One shard to rebuild: recorded at from_node_id ("" if never placed), to be
// written to to_node_id (which may be the same node, e.g. a server that came
// back empty).
struct ShardRebuild {
  int shard_index = 0;
  std::string from_node_id;
  std::string to_node_id;
};

struct RepairPlan {
  // Healthy shards on readable nodes, in the order to read them (data shards
  // first: fewer decoding steps when some are rebuilt anyway). Rebuilding
  // needs k of them.
  std::vector<int> sources;
  std::vector<ShardRebuild> rebuilds;
  int healthy_shards = 0;      // kOk and not on a lost or unknown node
  int damaged_shards = 0;      // the others
  int unplaceable_shards = 0;  // damaged, with no eligible node right now
};

// The most shards of one version a provider may hold under `policy`: a
// version of m parity shards loses at most P providers' worth plus S
// servers, so c = (m - S) / P, at least 1; with P = 0 there is no cap.
int PerProviderCap(const placement::DurabilityPolicy& policy, int data_shard_count,
                   int parity_shard_count);

// A shard is healthy when it is kOk on a registered node that is not lost.
// Every other shard is damaged; each damaged shard gets a target among the
// writable nodes that hold no healthy shard of the version (nor another
// target), without any provider going over `per_provider_cap`, counting the
// healthy shards on down-but-not-lost nodes (they are expected back). The
// shard's own node is preferred when eligible (a server re-provisioned under
// its old id takes its shards back); otherwise nodes are taken in the order
// placement would choose them for this version (rendezvous order). Damaged
// shards without an eligible node wait (the cap is never broken to rebuild).
RepairPlan PlanRepair(const meta::ObjectVersion& version, const std::vector<RepairNode>& nodes,
                      int per_provider_cap);

// A rate limit on bytes, by reservation: Reserve() accounts for bytes about
// to be sent and says how long to wait first so that, over time, no more
// than bytes_per_second flow, with bursts of up to burst_bytes.
// Thread-safe (repair and drain pace rebuilds on several I/O threads with
// one limiter); the clock is passed in.
class RateLimiter {
 public:
  RateLimiter(uint64_t bytes_per_second, uint64_t burst_bytes);
  // Bursts of a quarter second's worth, and at least 16 MiB so that one
  // stripe of large blocks never waits on itself.
  explicit RateLimiter(uint64_t bytes_per_second);
  // Milliseconds to wait before sending `bytes` (0 = now).
  int64_t Reserve(uint64_t bytes, int64_t now_mono_ms);
  uint64_t bytes_per_second() const { return bytes_per_second_; }

 private:
  uint64_t bytes_per_second_;
  double burst_ms_;
  std::mutex mutex_;
  double theoretical_arrival_ms_ = 0;  // when the budget spent so far is paid off
};

}  // namespace holdfast::gateway
