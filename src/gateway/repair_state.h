// Repair and drain bookkeeping that the rest of the gateway shares: counters
// for the status endpoint, and the in-process lock that keeps garbage
// collection and repair from touching the same shard copy at once. All
// thread-safe except ThroughputMeter (used under its owner's mutex).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

// Bytes per second over a sliding window, and over the latest stretch of
// continuous work (additions less than the window apart, lasting at least a
// second). The stretch rate is kept when work stops, so it can predict the
// next job; 0 until such a stretch has been seen. Not thread-safe.
class ThroughputMeter {
 public:
  void Add(uint64_t bytes, int64_t now_mono_ms);
  double WindowRate(int64_t now_mono_ms);
  double StretchRate() const { return stretch_rate_; }

 private:
  static constexpr int64_t kWindowMs = 5000;
  static constexpr int64_t kMinStretchMs = 1000;
  std::deque<std::pair<int64_t, uint64_t>> recent_;  // (time, bytes) in the window
  // The bytes of a stretch's first addition were produced before it began,
  // so they are left out of its rate.
  int64_t stretch_first_ms_ = -1;
  int64_t stretch_last_ms_ = -1;
  uint64_t stretch_bytes_ = 0;
  double stretch_rate_ = 0;
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
  mutable std::mutex mutex_;
  RepairCounters counters_;
  mutable ThroughputMeter meter_;
};

// A shard a drain could not move, and why (gateway/drain.h).
struct BlockedMove {
  std::string version_id;
  std::string bucket;
  std::string key;
  int shard_index = 0;
  std::string node_id;
  std::string reason;
  // Only waiting for repair to rebuild other shards of the object first:
  // usually resolves by itself, unlike a shard with nowhere to go.
  bool waits_for_repair = false;
};

struct DrainCounters {
  uint64_t shards_moved = 0;
  uint64_t bytes_moved = 0;           // bytes of moved shards written to their new nodes
  uint64_t passes = 0;                // passes over the draining nodes' shards
  double rate_bytes_per_second = 0;   // over the last few seconds
  double measured_rate_bytes_per_second = 0;  // latest stretch of continuous moving
  // Shards that could not be moved in the current or the last complete
  // pass; a drain with any is not done and says why.
  std::vector<BlockedMove> blocked;
};

class DrainStats {
 public:
  void AddMoved(uint64_t bytes, int64_t now_mono_ms);
  void Block(BlockedMove move);
  // A pass over every draining node ended: what it could not move replaces
  // what the pass before could not.
  void EndPass();
  DrainCounters Snapshot(int64_t now_mono_ms) const;

 private:
  mutable std::mutex mutex_;
  DrainCounters counters_;
  std::vector<BlockedMove> blocked_last_pass_;
  std::vector<BlockedMove> blocked_this_pass_;
  mutable ThroughputMeter meter_;
};

// A rebalance (gateway/rebalance.h): requested by the operator, run by the
// rebalance loop, watched through the admin API.
struct RebalanceProgress {
  bool requested = false;  // asked for, not started yet
  bool running = false;
  bool dry_run = false;    // count what would move, move nothing
  uint64_t runs = 0;       // completed
  int64_t started_unix_ms = 0;
  int64_t finished_unix_ms = 0;     // of the latest completed run
  uint64_t versions_scanned = 0;
  uint64_t shards_misplaced = 0;    // not on the node placement would choose today
  uint64_t shards_moved = 0;
  uint64_t bytes_moved = 0;
  uint64_t shards_skipped = 0;      // misplaced but not movable now (see last_skip)
  std::string last_skip;
};

class RebalanceStats {
 public:
  // False (and nothing changes) while a run is requested or running.
  bool Request(bool dry_run);
  // Starts the requested run, if any: counters reset. Returns its dry_run.
  std::optional<bool> Start(int64_t now_unix_ms);
  void Scanned(uint64_t versions);
  void Misplaced();
  void Moved(uint64_t bytes);
  void Skipped(std::string why);
  void Finish(int64_t now_unix_ms);
  RebalanceProgress Snapshot() const;

 private:
  mutable std::mutex mutex_;
  RebalanceProgress progress_;
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
