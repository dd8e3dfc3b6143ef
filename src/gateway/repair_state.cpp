#include "gateway/repair_state.h"

#include <algorithm>

namespace holdfast::gateway {

void ThroughputMeter::Add(uint64_t bytes, int64_t now_mono_ms) {
  recent_.emplace_back(now_mono_ms, bytes);
  if (stretch_last_ms_ < 0 || now_mono_ms - stretch_last_ms_ > kWindowMs) {
    stretch_first_ms_ = now_mono_ms;
    stretch_bytes_ = 0;
  } else {
    stretch_bytes_ += bytes;
  }
  stretch_last_ms_ = now_mono_ms;
  const int64_t stretch_ms = stretch_last_ms_ - stretch_first_ms_;
  if (stretch_ms >= kMinStretchMs) stretch_rate_ = double(stretch_bytes_) * 1000.0 / double(stretch_ms);
}

double ThroughputMeter::WindowRate(int64_t now_mono_ms) {
  while (!recent_.empty() && recent_.front().first <= now_mono_ms - kWindowMs) recent_.pop_front();
  uint64_t bytes = 0;
  for (const auto& [when, n] : recent_) bytes += n;
  return double(bytes) * 1000.0 / double(kWindowMs);
}

void RepairStats::AddRebuilt(uint64_t shards, uint64_t bytes, int64_t now_mono_ms) {
  std::lock_guard lock(mutex_);
  counters_.shards_rebuilt += shards;
  counters_.bytes_rebuilt += bytes;
  meter_.Add(bytes, now_mono_ms);
}

void RepairStats::AddFailure() {
  std::lock_guard lock(mutex_);
  ++counters_.failures;
}

void RepairStats::AddMarkedLost(uint64_t shards) {
  std::lock_guard lock(mutex_);
  counters_.shards_marked_lost += shards;
}

void RepairStats::AddReconciled(uint64_t shards) {
  std::lock_guard lock(mutex_);
  counters_.shards_reconciled += shards;
}

void RepairStats::EndPass(uint64_t unplaceable_shards, uint64_t unreadable_versions) {
  std::lock_guard lock(mutex_);
  counters_.unplaceable_shards = unplaceable_shards;
  counters_.unreadable_versions = unreadable_versions;
  ++counters_.passes;
}

RepairCounters RepairStats::Snapshot(int64_t now_mono_ms) const {
  std::lock_guard lock(mutex_);
  RepairCounters out = counters_;
  out.rate_bytes_per_second = meter_.WindowRate(now_mono_ms);
  out.measured_rate_bytes_per_second = meter_.StretchRate();
  return out;
}

void DrainStats::AddMoved(uint64_t bytes, int64_t now_mono_ms) {
  std::lock_guard lock(mutex_);
  ++counters_.shards_moved;
  counters_.bytes_moved += bytes;
  meter_.Add(bytes, now_mono_ms);
}

void DrainStats::Block(BlockedMove move) {
  std::lock_guard lock(mutex_);
  blocked_this_pass_.push_back(std::move(move));
}

void DrainStats::EndPass() {
  std::lock_guard lock(mutex_);
  blocked_last_pass_ = std::move(blocked_this_pass_);
  blocked_this_pass_.clear();
  ++counters_.passes;
}

DrainCounters DrainStats::Snapshot(int64_t now_mono_ms) const {
  std::lock_guard lock(mutex_);
  DrainCounters out = counters_;
  out.rate_bytes_per_second = meter_.WindowRate(now_mono_ms);
  out.measured_rate_bytes_per_second = meter_.StretchRate();
  // This pass's findings first; the last pass's too until this one has
  // looked at them again.
  out.blocked = blocked_this_pass_;
  for (const BlockedMove& old : blocked_last_pass_) {
    const bool seen = std::any_of(out.blocked.begin(), out.blocked.end(), [&](const BlockedMove& b) {
      return b.version_id == old.version_id && b.shard_index == old.shard_index;
    });
    if (!seen) out.blocked.push_back(old);
  }
  return out;
}

std::string ShardCopyLocks::Key(const std::string& version_id, int shard_index,
                                const std::string& node_id) {
  return version_id + "." + std::to_string(shard_index) + "@" + node_id;
}

bool ShardCopyLocks::TryLock(const std::string& version_id, int shard_index,
                             const std::string& node_id) {
  std::lock_guard lock(mutex_);
  return held_.insert(Key(version_id, shard_index, node_id)).second;
}

void ShardCopyLocks::Unlock(const std::string& version_id, int shard_index,
                            const std::string& node_id) {
  std::lock_guard lock(mutex_);
  held_.erase(Key(version_id, shard_index, node_id));
}

bool RebalanceStats::Request(bool dry_run) {
  std::lock_guard lock(mutex_);
  if (progress_.requested || progress_.running) return false;
  progress_.requested = true;
  progress_.dry_run = dry_run;
  return true;
}

std::optional<bool> RebalanceStats::Start(int64_t now_unix_ms) {
  std::lock_guard lock(mutex_);
  if (!progress_.requested) return std::nullopt;
  RebalanceProgress next;
  next.running = true;
  next.dry_run = progress_.dry_run;
  next.runs = progress_.runs;
  next.finished_unix_ms = progress_.finished_unix_ms;
  next.started_unix_ms = now_unix_ms;
  progress_ = next;
  return progress_.dry_run;
}

void RebalanceStats::Scanned(uint64_t versions) {
  std::lock_guard lock(mutex_);
  progress_.versions_scanned += versions;
}

void RebalanceStats::Misplaced() {
  std::lock_guard lock(mutex_);
  ++progress_.shards_misplaced;
}

void RebalanceStats::Moved(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  ++progress_.shards_moved;
  progress_.bytes_moved += bytes;
}

void RebalanceStats::Skipped(std::string why) {
  std::lock_guard lock(mutex_);
  ++progress_.shards_skipped;
  progress_.last_skip = std::move(why);
}

void RebalanceStats::Finish(int64_t now_unix_ms) {
  std::lock_guard lock(mutex_);
  progress_.running = false;
  ++progress_.runs;
  progress_.finished_unix_ms = now_unix_ms;
}

RebalanceProgress RebalanceStats::Snapshot() const {
  std::lock_guard lock(mutex_);
  return progress_;
}

}  // namespace holdfast::gateway
