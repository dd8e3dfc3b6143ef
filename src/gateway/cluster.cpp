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

const char* NodeStateName(const NodeView& view) {
  return view.lost ? "lost" : NodeHealthName(view.health);
}

ClusterView::ClusterView(const Clock& clock, std::chrono::milliseconds heartbeat_timeout,
                         std::chrono::milliseconds suspect_period,
                         std::chrono::milliseconds loss_grace)
    : clock_(clock),
      heartbeat_timeout_ms_(heartbeat_timeout.count()),
      suspect_period_ms_(suspect_period.count()),
      loss_grace_ms_(loss_grace.count()) {}

void ClusterView::Load(const std::vector<meta::NodeRecord>& nodes) {
  {
    std::lock_guard lock(mutex_);
    const int64_t now = clock_.MonotonicMs();
    for (const auto& record : nodes) {
      auto [it, added] = nodes_.try_emplace(record.id);
      it->second.view.record = record;
      if (added) it->second.known_since_mono_ms = now;
    }
  }
  changes_.Notify();
}

meta::NodeRecord ClusterView::OnHeartbeat(const node::Heartbeat& beat) {
  std::unique_lock lock(mutex_);
  const int64_t now_mono = clock_.MonotonicMs();
  auto [it, added] = nodes_.try_emplace(beat.id);
  Entry& entry = it->second;
  if (added) entry.known_since_mono_ms = now_mono;
  // Anything but a routine beat of a node that was up: someone may wait.
  bool changed = added || !entry.beaten || HealthLocked(beat.id) != NodeHealth::kUp ||
                 entry.view.read_only != beat.read_only;
  if (!added && LostLocked(entry, now_mono)) {
    ++entry.view.returns_after_loss;
    changed = true;
  } else if (entry.beaten && (now_mono - entry.last_beat_mono_ms > heartbeat_timeout_ms_ ||
                              (!beat.boot_id.empty() && beat.boot_id != entry.boot_id))) {
    ++entry.view.rejoins;
    changed = true;
  }
  entry.boot_id = beat.boot_id;
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
  if (beat.shard_count == 0 && (!entry.beaten || entry.view.shard_count > 0)) {
    ++entry.view.empty_reports;
    changed = true;
  }
  entry.beaten = true;
  entry.view.shard_count = beat.shard_count;
  entry.view.scrub = beat.scrub;
  entry.last_beat_mono_ms = now_mono;
  entry.suspect_until_mono_ms = -1;
  meta::NodeRecord persisted = record;
  lock.unlock();
  if (changed) changes_.Notify();
  return persisted;
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

bool ClusterView::LostLocked(const Entry& entry, int64_t now_mono_ms) const {
  // Down since its last beat timed out, or since we first heard of it if it
  // has not beaten since this gateway started.
  const int64_t down_since = entry.last_beat_mono_ms < 0
                                 ? entry.known_since_mono_ms
                                 : entry.last_beat_mono_ms + heartbeat_timeout_ms_;
  const bool down = entry.last_beat_mono_ms < 0 ||
                    now_mono_ms - entry.last_beat_mono_ms > heartbeat_timeout_ms_;
  return down && now_mono_ms - down_since > loss_grace_ms_;
}

NodeView ClusterView::ViewLocked(const std::string& node_id, const Entry& entry) const {
  NodeView view = entry.view;
  view.health = HealthLocked(node_id);
  view.lost = LostLocked(entry, clock_.MonotonicMs());
  view.drain = DrainLocked(entry.view.record);
  return view;
}

std::optional<meta::DrainState> ClusterView::DrainLocked(const meta::NodeRecord& record) const {
  std::optional<meta::DrainState> state;
  for (const meta::Drain& drain : drains_) {
    const bool covers = drain.scope == meta::DrainScope::kNode ? drain.name == record.id
                                                                : drain.name == record.provider;
    if (!covers) continue;
    if (!state || drain.state == meta::DrainState::kRetired) state = drain.state;
  }
  return state;
}

void ClusterView::SetDrains(std::vector<meta::Drain> drains) {
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    changed = drains != drains_;
    drains_ = std::move(drains);
  }
  if (changed) changes_.Notify();
}

std::vector<meta::Drain> ClusterView::Drains() const {
  std::lock_guard lock(mutex_);
  return drains_;
}

std::vector<std::string> ClusterView::NodesOf(meta::DrainScope scope, const std::string& name) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, entry] : nodes_) {
    const bool covered = scope == meta::DrainScope::kNode ? id == name
                                                          : entry.view.record.provider == name;
    if (covered) ids.push_back(id);
  }
  return ids;
}

std::vector<NodeView> ClusterView::Nodes() const {
  std::lock_guard lock(mutex_);
  std::vector<NodeView> out;
  for (const auto& [id, entry] : nodes_) out.push_back(ViewLocked(id, entry));
  return out;
}

std::optional<NodeView> ClusterView::Node(const std::string& node_id) const {
  std::lock_guard lock(mutex_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return std::nullopt;
  return ViewLocked(node_id, it->second);
}

std::vector<placement::NodeInfo> ClusterView::PlacementNodes() const {
  std::lock_guard lock(mutex_);
  std::vector<placement::NodeInfo> out;
  for (const auto& [id, entry] : nodes_) {
    if (DrainLocked(entry.view.record)) continue;  // leaving: no new shards
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
