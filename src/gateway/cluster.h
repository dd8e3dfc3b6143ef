// The gateway's live view of the cluster: every registered node with its
// labels, endpoint and health, fed by heartbeats and by failed requests.
//
// Health: a node is up while heartbeats keep arriving within
// `heartbeat_timeout`; a node whose request just failed is "suspect" for a
// short while (not chosen for new shards, still tried for reads) so that one
// dead node does not slow every request down until its heartbeats time out.
// A node down for longer than `loss_grace` is "lost": its shards count as
// gone and repair rebuilds them elsewhere. Until then a down node is only
// absent (a restart, a network blip), and nothing is moved on its account.
// A node known from the metadata store but silent since this gateway started
// is down from the start, so it becomes lost one grace after start-up.
//
// Drains (gateway/drain.h): a node that is draining or retired, itself or
// through its provider, is left out of PlacementNodes() altogether: new
// objects get a layout and nodes from the nodes that stay. The view keeps a
// copy of the drains table, refreshed with SetDrains().
//
// changes() announces what background services wait for (a node registered,
// came up, came back after loss or restarted, reported itself empty, turned
// read-only or writable; the drains changed), so a drain starts
// and a returned node is reconciled as soon as that happens, not at the next
// poll. Time passing (up -> down -> lost) is not announced.
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
#include "net/http.h"
#include "node/node_api.h"
#include "placement/placement.h"

namespace holdfast::gateway {

enum class NodeHealth { kUp, kSuspect, kDown };
const char* NodeHealthName(NodeHealth health);

struct NodeView {
  meta::NodeRecord record;
  NodeHealth health = NodeHealth::kDown;
  bool read_only = false;
  bool lost = false;           // down for longer than the loss grace
  uint64_t shard_count = 0;    // as the last heartbeat reported
  // How often this node came back (a heartbeat) while it was lost, since
  // this gateway started: repair reconciles a node after each return.
  uint64_t returns_after_loss = 0;
  // How often it reported holding no shards at all after holding some (or
  // at its first heartbeat since this gateway started): a server that was
  // re-provisioned empty, however briefly it was away.
  uint64_t empty_reports = 0;
  // How often it came back after being down (not yet lost), or restarted
  // (a new boot id) without anyone noticing it down, since this gateway
  // started: its data directory may have changed meanwhile, so repair
  // reconciles it (gateway/repair.h).
  uint64_t rejoins = 0;
  node::ScrubStats scrub;  // as the last heartbeat reported it
  // Set while the node, or its provider, is draining or retired.
  std::optional<meta::DrainState> drain;
};
const char* NodeStateName(const NodeView& view);  // "up", "suspect", "down" or "lost"

class ClusterView {
 public:
  ClusterView(const Clock& clock, std::chrono::milliseconds heartbeat_timeout,
              std::chrono::milliseconds suspect_period, std::chrono::milliseconds loss_grace);

  // Nodes known from the metadata store start as down until they beat.
  void Load(const std::vector<meta::NodeRecord>& nodes);
  // Records a heartbeat; returns the record to persist.
  meta::NodeRecord OnHeartbeat(const node::Heartbeat& heartbeat);
  // A request to the node failed: stop choosing it for a while.
  void MarkSuspect(const std::string& node_id);

  std::vector<NodeView> Nodes() const;
  std::optional<NodeView> Node(const std::string& node_id) const;
  // Every registered node that is not draining or retired, for placement;
  // `available` = up and writable.
  std::vector<placement::NodeInfo> PlacementNodes() const;

  // Replaces the view's copy of the drains table.
  void SetDrains(std::vector<meta::Drain> drains);
  std::vector<meta::Drain> Drains() const;
  // The registered nodes a drain covers: the node itself, or every node of
  // the provider.
  std::vector<std::string> NodesOf(meta::DrainScope scope, const std::string& name) const;
  size_t up_count() const;

  net::ChangeSignal& changes() { return changes_; }

 private:
  struct Entry {
    NodeView view;
    int64_t last_beat_mono_ms = -1;     // -1: none since this gateway started
    int64_t suspect_until_mono_ms = -1;
    int64_t known_since_mono_ms = 0;    // when this gateway first heard of it
    bool beaten = false;                // a heartbeat arrived since this gateway started
    std::string boot_id;                // of the last heartbeat
  };
  NodeHealth HealthLocked(const std::string& node_id) const;
  bool LostLocked(const Entry& entry, int64_t now_mono_ms) const;
  NodeView ViewLocked(const std::string& node_id, const Entry& entry) const;
  std::optional<meta::DrainState> DrainLocked(const meta::NodeRecord& record) const;

  const Clock& clock_;
  const int64_t heartbeat_timeout_ms_;
  const int64_t suspect_period_ms_;
  const int64_t loss_grace_ms_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> nodes_;
  std::vector<meta::Drain> drains_;
  net::ChangeSignal changes_;
};

}  // namespace holdfast::gateway
