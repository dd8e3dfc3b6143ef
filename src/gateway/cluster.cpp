#include "gateway/cluster.h"

namespace holdfast::gateway {

const char* NodeHealthName(NodeHealth health) {
  switch (health) {
    case NodeHealth::kUp: return "up";
    case NodeHealth::kSuspect: return "suspect";
    case NodeHealth::kDown: return "down";
  }
  return "?";
}

ClusterView::ClusterView(const Clock& clock, std::chrono::milliseconds heartbeat_timeout,
                         std::chrono::milliseconds suspect_period)
    : clock_(clock),
      heartbeat_timeout_ms_(heartbeat_timeout.count()),
      suspect_period_ms_(suspect_period.count()) {}

void ClusterView::Load(const std::vector<meta::NodeRecord>& nodes) {
  std::lock_guard lock(mutex_);
  for (const auto& record : nodes) {
    nodes_[record.id].view.record = record;
  }
}

meta::NodeRecord ClusterView::OnHeartbeat(const node::Heartbeat& beat) {
  std::lock_guard lock(mutex_);
  Entry& entry = nodes_[beat.id];
  meta::NodeRecord& record = entry.view.record;
  int64_t now = clock_.NowUnixMs();
  if (record.id.empty()) record.first_seen_unix_ms = now;
  record.id = beat.id;
  record.provider = beat.provider;
  record.site = beat.site;
  record.endpoint = beat.endpoint;
  record.capacity_bytes = beat.capacity_bytes;
  record.used_bytes = beat.used_bytes;
  record.last_heartbeat_unix_ms = now;
  entry.view.read_only = beat.read_only;
  entry.last_beat_mono_ms = clock_.MonotonicMs();
  entry.suspect_until_mono_ms = -1;
  return record;
}

void ClusterView::MarkSuspect(const std::string& node_id) {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(node_id);
  if (it != nodes_.end()) it->second.suspect_until_mono_ms = clock_.MonotonicMs() + suspect_period_ms_;
}

NodeHealth ClusterView::HealthLocked(const std::string& node_id) const {
  const Entry& entry = nodes_.at(node_id);
  int64_t now = clock_.MonotonicMs();
  if (entry.last_beat_mono_ms < 0 || now - entry.last_beat_mono_ms > heartbeat_timeout_ms_) {
    return NodeHealth::kDown;
  }
  if (entry.suspect_until_mono_ms > now) return NodeHealth::kSuspect;
  return NodeHealth::kUp;
}

std::vector<NodeView> ClusterView::Nodes() const {
  std::lock_guard lock(mutex_);
  std::vector<NodeView> out;
  for (const auto& [id, entry] : nodes_) {
    NodeView view = entry.view;
    view.health = HealthLocked(id);
    out.push_back(std::move(view));
  }
  return out;
}

std::optional<NodeView> ClusterView::Node(const std::string& node_id) const {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return std::nullopt;
  NodeView view = it->second.view;
  view.health = HealthLocked(node_id);
  return view;
}

std::vector<placement::NodeInfo> ClusterView::PlacementNodes() const {
  std::lock_guard lock(mutex_);
  std::vector<placement::NodeInfo> out;
  for (const auto& [id, entry] : nodes_) {
    placement::NodeInfo info;
    info.id = id;
    info.provider = entry.view.record.provider;
    info.site = entry.view.record.site;
    info.available = HealthLocked(id) == NodeHealth::kUp && !entry.view.read_only;
    out.push_back(std::move(info));
  }
  return out;
}

size_t ClusterView::up_count() const {
  std::lock_guard lock(mutex_);
  size_t count = 0;
  for (const auto& [id, entry] : nodes_) {
    if (HealthLocked(id) == NodeHealth::kUp) ++count;
  }
  return count;
}

}  // namespace holdfast::gateway
