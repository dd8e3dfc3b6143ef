// The gateway's live view of the cluster: every registered node with its
// labels, endpoint and health, fed by heartbeats and by failed requests.
//
// Health: a node is up while heartbeats keep arriving within
// `heartbeat_timeout`; a node whose request just failed is "suspect" for a
// short while (not chosen for new shards, still tried for reads) so that one
// dead node does not slow every request down until its heartbeats time out.
//
// Thread-safe: all methods lock one mutex; none does I/O while holding it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "meta/meta_store.h"
#include "node/node_api.h"
#include "placement/placement.h"

namespace holdfast::gateway {

enum class NodeHealth { kUp, kSuspect, kDown };
const char* NodeHealthName(NodeHealth health);

struct NodeView {
  meta::NodeRecord record;
  NodeHealth health = NodeHealth::kDown;
  bool read_only = false;
};

class ClusterView {
 public:
  ClusterView(const Clock& clock, std::chrono::milliseconds heartbeat_timeout,
              std::chrono::milliseconds suspect_period);

  // Nodes known from the metadata store start as down until they beat.
  void Load(const std::vector<meta::NodeRecord>& nodes);
  // Records a heartbeat; returns the record to persist.
  meta::NodeRecord OnHeartbeat(const node::Heartbeat& heartbeat);
  // A request to the node failed: stop choosing it for a while.
  void MarkSuspect(const std::string& node_id);

  std::vector<NodeView> Nodes() const;
  std::optional<NodeView> Node(const std::string& node_id) const;
  // Every registered node for placement; `available` = up and writable.
  std::vector<placement::NodeInfo> PlacementNodes() const;
  size_t up_count() const;

 private:
  NodeHealth HealthLocked(const std::string& node_id) const;

  struct Entry {
    NodeView view;
    int64_t last_beat_mono_ms = -1;     // -1: none since this gateway started
    int64_t suspect_until_mono_ms = -1;
  };
  const Clock& clock_;
  const int64_t heartbeat_timeout_ms_;
  const int64_t suspect_period_ms_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> nodes_;
};

}  // namespace holdfast::gateway
