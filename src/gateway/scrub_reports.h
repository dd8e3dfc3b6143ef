// The gateway's side of scrubbing (the scrub itself runs on every node:
// node/scrubber.h).
//
// A node's heartbeat lists the shards its scrub found corrupt and moved to
// quarantine. Each is recorded as missing where it is -- MetaStore::MoveShards
// with from = to = the node and state kMissing, a compare-and-set, so a
// report about a shard the catalogue no longer keeps on that node (deleted,
// or rebuilt elsewhere meanwhile) changes nothing -- which puts its version
// on the repair queue. The reply acknowledges the reports once they are
// recorded; if the metadata store fails, nothing is acknowledged and the node
// sends them again with its next heartbeat. Repair then rebuilds the shard
// from k healthy ones, preferably onto the same node (the commit there
// deletes the quarantined copy); a shard rebuilt elsewhere leaves its old
// copy to garbage collection, whose DELETE removes the quarantined file too.
//
// The nodes' scrub counters travel in the same heartbeats (ClusterView keeps
// the last ones); the status endpoint shows them per node and summed.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/cluster.h"
#include "net/http.h"
#include "node/node_api.h"

namespace holdfast::gateway {

class GatewayContext;

// What this gateway did with scrub reports since it started. Thread-safe.
class ScrubReportStats {
 public:
  void Add(uint64_t reports, uint64_t recorded_missing) {
    reports_.fetch_add(reports, std::memory_order_relaxed);
    recorded_missing_.fetch_add(recorded_missing, std::memory_order_relaxed);
  }
  // Corrupt shard reports received and acknowledged (a node may send one
  // again after a restart or a lost reply).
  uint64_t reports() const { return reports_.load(std::memory_order_relaxed); }
  // Reports that found their shard recorded on the reporting node and
  // recorded it as missing.
  uint64_t recorded_missing() const { return recorded_missing_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> reports_{0};
  std::atomic<uint64_t> recorded_missing_{0};
};

// Records the corrupt shards `node_id` reported (ids already validated by
// node::DecodeHeartbeat) and returns the heartbeat reply that acknowledges them.
net::Task<node::HeartbeatReply> HandleScrubReports(GatewayContext& context, std::string node_id,
                                          std::vector<std::string> corrupt_shard_ids);

// The status endpoint's "scrub" objects (docs/admin-api.md): one node's, as
// its last heartbeat reported them, and the cluster's.
nlohmann::json NodeScrubStatus(const node::ScrubStats& stats);
nlohmann::json ClusterScrubStatus(const std::vector<NodeView>& views,
                                  const ScrubReportStats& reports);

}  // namespace holdfast::gateway
