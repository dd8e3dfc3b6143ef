#include "gateway/repair_state.h"

namespace holdfast::gateway {

void RepairStats::AddRebuilt(uint64_t shards, uint64_t bytes, int64_t now_mono_ms) {
  std::lock_guard lock(mutex_);
  counters_.shards_rebuilt += shards;
  counters_.bytes_rebuilt += bytes;
  recent_.emplace_back(now_mono_ms, bytes);
  TrimLocked(now_mono_ms);
  if (stretch_last_ms_ < 0 || now_mono_ms - stretch_last_ms_ > kRateWindowMs) {
    stretch_first_ms_ = now_mono_ms;
    stretch_bytes_ = 0;
  } else {
    stretch_bytes_ += bytes;
  }
  stretch_last_ms_ = now_mono_ms;
  const int64_t stretch_ms = stretch_last_ms_ - stretch_first_ms_;
  if (stretch_ms >= kMinStretchMs) {
    counters_.measured_rate_bytes_per_second = double(stretch_bytes_) * 1000.0 / double(stretch_ms);
  }
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

void RepairStats::TrimLocked(int64_t now_mono_ms) const {
  while (!recent_.empty() && recent_.front().first <= now_mono_ms - kRateWindowMs) {
    recent_.pop_front();
  }
}

RepairCounters RepairStats::Snapshot(int64_t now_mono_ms) const {
  std::lock_guard lock(mutex_);
  TrimLocked(now_mono_ms);
  RepairCounters out = counters_;
  uint64_t bytes = 0;
  for (const auto& [when, n] : recent_) bytes += n;
  out.rate_bytes_per_second = double(bytes) * 1000.0 / double(kRateWindowMs);
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

}  // namespace holdfast::gateway
