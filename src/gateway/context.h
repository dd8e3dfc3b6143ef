// What every gateway request handler and background task shares: the
// metadata store, the cluster view, the node client and settings. One
// instance per gateway process; everything in it is thread-safe.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <typeinfo>

#include "common/clock.h"
#include "ec/codec.h"
#include "gateway/cluster.h"
#include "gateway/node_client.h"
#include "gateway/policy_cache.h"
#include "gateway/repair_plan.h"
#include "gateway/repair_state.h"
#include "gateway/scrub_reports.h"
#include "meta/meta_store.h"
#include "placement/placement.h"

namespace holdfast::ledger {
class Ledger;      // ledger/ledger.h
class SigningKey;  // ledger/signing.h
}

namespace holdfast::gateway {

struct GatewaySettings {
  // Operator's policy; nullopt = DurabilityPolicy::DefaultFor(topology).
  std::optional<placement::DurabilityPolicy> policy;
  uint32_t max_block_size_bytes = 1 << 20;
  uint64_t max_object_size_bytes = 5ull << 30;  // S3's single-PUT limit
  std::string region = "us-east-1";
  std::string base_domain;  // for virtual-hosted-style requests; "" = path style only
  // A node down for longer than this is lost: repair rebuilds its shards.
  std::chrono::milliseconds shard_loss_grace{60000};
  // Budget for the bytes repair writes (rebuilt shards) and re-reads to
  // verify a returning node, so client traffic keeps being served.
  uint64_t repair_bytes_per_second = 256ull << 20;
  // Budget for the bytes a drain or rebalance writes (moved shards) and
  // reads back to verify them (gateway/drain.h), shared by both.
  uint64_t drain_bytes_per_second = 256ull << 20;
  // The gateway's own directory (the metadata store, scratch files).
  std::filesystem::path data_dir;
  // Metadata backups into the cluster (gateway/meta_backup.h); 0 = none.
  std::chrono::milliseconds meta_backup_interval{std::chrono::hours(1)};
  int meta_backups_kept = 3;
  // Deletion notices (gateway/deletion_notices.h): the shortest waiting
  // period between issuing a notice and executing it, and the first retry
  // delay of a failed webhook delivery (doubling up to an hour).
  std::chrono::milliseconds deletion_notice_min_wait{std::chrono::hours(24 * 30)};
  std::chrono::milliseconds notice_retry_base{30000};
};

class GatewayContext {
 public:
  GatewayContext(meta::MetaStore& store, ClusterView& cluster, NodeClient& nodes,
                 boost::asio::thread_pool& blocking_pool, const Clock& clock,
                 GatewaySettings settings)
      : store(store), cluster(cluster), nodes(nodes), blocking_pool(blocking_pool),
        clock(clock), settings(std::move(settings)),
        shard_move_limiter(this->settings.drain_bytes_per_second) {}

  meta::MetaStore& store;
  ClusterView& cluster;
  NodeClient& nodes;
  boost::asio::thread_pool& blocking_pool;  // for SQLite calls
  const Clock& clock;
  const GatewaySettings settings;
  // Paces every shard copy that moves data for an operator (drain and
  // rebalance) to settings.drain_bytes_per_second together, so running both
  // never doubles the budget. Repair has its own limit.
  RateLimiter shard_move_limiter;
  RepairStats repair_stats;       // written by repair, read by the status endpoint
  DrainStats drain_stats;         // written by drain, read by status and metrics
  RebalanceStats rebalance_stats;  // gateway/rebalance.h
  ShardCopyLocks shard_copy_locks;  // GC and repair, see repair_state.h
  ScrubReportStats scrub_reports;   // nodes' corrupt-shard reports, see scrub_reports.h
  BucketPolicyCache bucket_policies;  // parsed bucket policies, see policy_cache.h
  // The notice ledger (ledger/ledger.h): record holds, retention, notices,
  // retirement and destruction through it (blocking: use RunBlocking). Set
  // by the gateway before it serves; owned by it.
  ledger::Ledger* ledger = nullptr;
  // Signs the authorisation a node needs to delete a shard copy
  // (node/deletion_auth.h); its public key is announced in heartbeat
  // replies. Set by the gateway before it serves; owned by it.
  const ledger::SigningKey* deletion_key = nullptr;
  std::string deletion_key_hex;

  // The policy in force for `nodes`.
  placement::DurabilityPolicy PolicyFor(const std::vector<placement::NodeInfo>& nodes) const;
  // A shared codec for (k, m); codecs are cached because building the
  // tables costs more than encoding a small object.
  Result<std::shared_ptr<const ec::Codec>> Codec(int k, int m);
  // Endpoint of a node, if it is known and not down.
  std::optional<std::string> ReachableEndpoint(const std::string& node_id) const;

  // State a rarely used service keeps for this gateway (the recover job,
  // metadata backup counters), created on first use and gone with the
  // context; T may be private to the service's .cpp. T must be thread-safe
  // itself: this only hands out the one instance.
  template <typename T>
  T& ServiceState() {
    std::lock_guard lock(service_state_mutex_);
    std::shared_ptr<void>& slot = service_states_[std::type_index(typeid(T))];
    if (!slot) slot = std::make_shared<T>();
    return *static_cast<T*>(slot.get());
  }

 private:
  std::mutex codec_mutex_;
  std::map<std::pair<int, int>, std::shared_ptr<const ec::Codec>> codecs_;
  std::mutex service_state_mutex_;
  std::map<std::type_index, std::shared_ptr<void>> service_states_;
};

// "<version id>.<shard index>": how shards of a version are named on nodes.
std::string ShardId(const std::string& version_id, int shard_index);

// GET /_holdfast/v1/status on the internal API (docs/admin-api.md),
// authenticated with the cluster secret like heartbeats: nodes with their
// state, how many versions are under-protected, and what repair has done.
// The body is built by RenderStatusJson (gateway/repair.cpp).
inline constexpr std::string_view kStatusPath = "/_holdfast/v1/status";
net::Task<std::string> RenderStatusJson(GatewayContext& context);

}  // namespace holdfast::gateway
