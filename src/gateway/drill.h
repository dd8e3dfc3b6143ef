// The loss drill: what losing some nodes would do, computed from the
// catalogue alone, without touching a byte of data (docs/admin-api.md,
// GET /_holdfast/v1/drill).
//
// A scenario is a set of lost nodes: the ones the operator names (whole
// providers or single nodes) plus every node that is down right now -- the
// drill describes losing them in the cluster as it is, and a down node
// serves no reads either. For every object version the loss touches it
// answers:
//
//   unreadable  fewer than k shards would remain (shards already recorded
//               missing count as missing). Listed, up to a limit.
//   degraded    still readable, with (remaining - k) shards to spare.
//               Listed too, up to the same limit.
//   repair      what repair would do next (the same PlanRepair it runs):
//               which k survivors it reads (data shards first), which
//               shards it can place now under the provider cap and which
//               wait for nodes, and so how many bytes it reads from and
//               writes to each provider.
//
// Cross-provider traffic model: repair rebuilds at the gateway (that is how
// repair works: RebuildShards streams k survivors to the gateway, decodes,
// and streams each rebuilt shard to its node). Every byte read leaves its
// node's provider and every byte written enters the target's; a byte
// crosses a provider boundary unless the gateway runs in that same provider
// (DrillScenario::repairer_provider, "" = outside every provider, so every
// byte crosses). Bytes are shard payload (block_count x block size, as
// repair's bytes_rebuilt counts them), without block checksums or footers.
//
// "Object versions" are version rows that own shards. When multipart
// uploads land, a multipart object's parts are separate rows, each
// erasure-coded on its own; they are counted one by one here. Grouping them
// by the object they belong to (an object is unreadable if any part is)
// belongs in DrillAccumulator::Add, the one place that classifies a row.
//
// Finding the versions: through the shard-location index (ShardsOnNode for
// each lost node) and the repair queue (DamagedVersions, for versions
// damaged already), never a scan of the catalogue. A version with shards on
// several lost nodes is counted once, at the first of them in id order, so
// no set of seen versions has to be held in memory. The walk is not one
// snapshot: repair or writes running meanwhile can move a few versions.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "gateway/repair_plan.h"
#include "meta/meta_store.h"
#include "placement/placement.h"

namespace holdfast::gateway {

// A registered node, as the scenario sees it.
struct DrillNode {
  std::string id;
  std::string provider;
  std::string site;
  bool named = false;     // the operator's scenario names it (or its provider)
  bool down = false;      // down right now: lost in every scenario
  bool writable = false;  // up, not read-only: repair may write to it
  bool lost() const { return named || down; }
};

struct DrillScenario {
  std::vector<DrillNode> nodes;  // every registered node
  placement::DurabilityPolicy policy;
  // The provider the repairing gateway runs in; "" = none of them.
  std::string repairer_provider;
  size_t list_limit = 100;  // most unreadable (and degraded) versions to list by name
};

// One version the scenario damages, for the lists.
struct ListedVersion {
  std::string bucket;
  std::string key;
  std::string version_id;
  uint64_t size_bytes = 0;
  int remaining_shards = 0;
  int data_shard_count = 0;  // k: how many it would need
};

struct DrillReport {
  uint64_t versions_affected = 0;  // unreadable + degraded
  uint64_t unreadable_versions = 0;
  uint64_t unreadable_bytes = 0;  // object bytes that could no longer be read
  std::vector<ListedVersion> unreadable;  // the first list_limit found
  uint64_t degraded_versions = 0;
  uint64_t degraded_bytes = 0;
  std::map<int, uint64_t> degraded_by_spare_shards;
  std::vector<ListedVersion> degraded;  // the first list_limit found

  // Repair's next round over the degraded versions.
  uint64_t shards_to_rebuild = 0;   // placeable now
  uint64_t shards_waiting = 0;      // no eligible node (e.g. a whole provider gone)
  uint64_t waiting_bytes = 0;       // payload of the waiting shards
  uint64_t read_bytes = 0;          // k survivors per repaired version
  uint64_t write_bytes = 0;         // rebuilt shards
  std::map<std::string, uint64_t> read_bytes_by_provider;   // leaving each provider
  std::map<std::string, uint64_t> write_bytes_by_provider;  // entering each provider
  uint64_t cross_provider_read_bytes = 0;
  uint64_t cross_provider_write_bytes = 0;
};

// Payload bytes of one shard of `version`: block count x block size.
uint64_t ShardPayloadBytes(const meta::ObjectVersion& version);

// Classifies version rows under one scenario and adds them up. Pure.
class DrillAccumulator {
 public:
  explicit DrillAccumulator(DrillScenario scenario);

  bool IsLost(const std::string& node_id) const { return lost_.contains(node_id); }
  const std::set<std::string>& lost_nodes() const { return lost_; }
  // The lost node, first in id order, recorded as holding a shard of
  // `version`; "" if none.
  std::string FirstLostNode(const meta::ObjectVersion& version) const;
  // Adds one version row; a row the scenario leaves whole is ignored.
  void Add(const meta::ObjectVersion& version);

  const DrillScenario& scenario() const { return scenario_; }
  const DrillReport& report() const { return report_; }

 private:
  void AddRepair(const meta::ObjectVersion& version);

  DrillScenario scenario_;
  std::set<std::string> lost_;
  std::map<std::string, std::string> provider_of_;
  std::vector<RepairNode> repair_nodes_;
  DrillReport report_;
};

// Walks the catalogue for `scenario` through its indexes (see above) and
// returns the report. Blocking (many MetaStore calls, each its own
// transaction): run it on the blocking pool. Fails only if the store does.
Result<DrillReport> RunDrill(meta::MetaStore& store, const DrillScenario& scenario);

// How fast repair is expected to write rebuilt bytes.
struct DrillRate {
  double bytes_per_second = 0;
  bool measured = false;  // false: the configured rate limit, nothing measured yet
};

// The endpoint's JSON body (fields in docs/admin-api.md). `requested` are
// the operator's --lose terms as given.
std::string DrillJson(const DrillScenario& scenario, const std::vector<std::string>& requested,
                      const DrillReport& report, const DrillRate& rate);

}  // namespace holdfast::gateway
