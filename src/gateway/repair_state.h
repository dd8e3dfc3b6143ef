// Repair bookkeeping that the rest of the gateway shares: counters for the
// status endpoint, and the in-process lock that keeps garbage collection and
// repair from touching the same shard copy at once. Both thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace holdfast::gateway {

struct RepairCounters {
  uint64_t shards_rebuilt = 0;
  uint64_t bytes_rebuilt = 0;          // bytes of rebuilt shards written to nodes
  uint64_t failures = 0;               // version repairs that failed (retried later)
  uint64_t shards_marked_lost = 0;     // recorded as missing because their node was lost
  uint64_t shards_reconciled = 0;      // found intact on a node that came back
  uint64_t unplaceable_shards = 0;     // in the last full pass: no eligible node yet
  uint64_t unreadable_versions = 0;    // in the last full pass: fewer than k shards reachable
  uint64_t passes = 0;                 // full passes over the repair queue
  double rate_bytes_per_second = 0;    // rebuilt bytes over the last few seconds
  // Rebuilt bytes per second over the latest stretch of continuous repair
  // (rebuilds less than the rate window apart, lasting at least a second);
  // kept when repair goes idle, so the loss drill can predict with it. 0
  // until such a stretch has been seen.
  double measured_rate_bytes_per_second = 0;
};

class RepairStats {
 public:
  void AddRebuilt(uint64_t shards, uint64_t bytes, int64_t now_mono_ms);
  void AddFailure();
  void AddMarkedLost(uint64_t shards);
  void AddReconciled(uint64_t shards);
  void EndPass(uint64_t unplaceable_shards, uint64_t unreadable_versions);
  RepairCounters Snapshot(int64_t now_mono_ms) const;

 private:
  static constexpr int64_t kRateWindowMs = 5000;
  void TrimLocked(int64_t now_mono_ms) const;

  mutable std::mutex mutex_;
  RepairCounters counters_;
  mutable std::deque<std::pair<int64_t, uint64_t>> recent_;  // (time, bytes) in the window
  // The current stretch of continuous repair. The bytes of its first
  // rebuild were written before it began, so they are left out of the rate.
  static constexpr int64_t kMinStretchMs = 1000;
  int64_t stretch_first_ms_ = -1;
  int64_t stretch_last_ms_ = -1;
  uint64_t stretch_bytes_ = 0;  // after the first rebuild
};

// Names one shard copy: shard `shard_index` of a version at one node. GC
// (deleting a copy) and repair (writing one) each hold the copy's lock while
// they decide and act, so that a stale GC item can never delete a copy that
// repair has just written in the same place.
class ShardCopyLocks {
 public:
  // False if someone holds it already.
  bool TryLock(const std::string& version_id, int shard_index, const std::string& node_id);
  void Unlock(const std::string& version_id, int shard_index, const std::string& node_id);

 private:
  static std::string Key(const std::string& version_id, int shard_index, const std::string& node_id);
  std::mutex mutex_;
  std::set<std::string> held_;
};

}  // namespace holdfast::gateway
