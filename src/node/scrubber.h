// The node's scrubber: reads back every shard on this node, again and again,
// at a bounded rate, so that bitrot is found before it meets a second failure.
//
// A pass walks the store one shard directory at a time ("00".."ff") and
// scrubs each shard (ShardStore::Scrub: tail, footer and every block's XXH3
// checksum). A shard that fails is quarantined by the store -- from then on
// the node answers 404 for it, so no read can be served from it -- and its id
// is reported to the gateway in heartbeats until the gateway acknowledges it;
// the gateway records the shard as missing and repair rebuilds it (usually
// onto this node, which deletes the quarantined copy). Shards quarantined
// before a restart are reported again at start: quarantine/ is the durable
// list of reports, the in-memory one only a cache of it.
//
// Pacing: reads are limited to `bytes_per_second`, and every shard also
// costs kPerShardCostBytes of that budget (opening a file and reading its
// footer costs a seek or two, which a pure byte rate would not see). A pass
// starts `interval` after the previous one started, or at once if it took
// longer. Progress (where the pass is, when it started) is saved in
// `progress_file` every few seconds, so a restarted node resumes its pass
// rather than starting over -- a node restarted more often than a pass takes
// would otherwise never scrub its last directories. The scrubber holds no lock that client reads or writes wait for;
// shards removed or replaced while they are read are skipped, not reported.
//
// Reads on this node that find a block failing verification hand the shard
// over (Suspect): it is scrubbed next, ahead of the pass, so the corrupt file
// leaves service at once and is reported.
//
// Thread-safety: every public method may be called from any thread. The
// scrubber runs on a thread of its own between Start() and Stop(); `store`
// and `clock` must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "node/node_api.h"
#include "storage/shard_store.h"

namespace holdfast::node {

struct ScrubOptions {
  uint64_t bytes_per_second = 0;        // 0: scrubbing is off
  std::chrono::seconds interval{0};     // from one pass's start to the next's
  std::filesystem::path progress_file;  // "" = no resuming across restarts
};

class Scrubber {
 public:
  // Budget charged per shard on top of its bytes.
  static constexpr uint64_t kPerShardCostBytes = 64u << 10;
  // Suspects beyond this many wait for the next pass.
  static constexpr size_t kMaxSuspects = 4096;

  Scrubber(storage::ShardStore& store, ScrubOptions options, const Clock& clock);
  ~Scrubber();  // Stop()s
  Scrubber(const Scrubber&) = delete;
  Scrubber& operator=(const Scrubber&) = delete;

  // Loads the reports left in quarantine/ and starts the thread; nothing
  // (beyond the reports) when scrubbing is off.
  void Start();
  // Stops the thread, interrupting a pass (the next start begins anew).
  void Stop();

  // A read found `shard_id` failing verification: scrub it next.
  void Suspect(const std::string& shard_id);

  ScrubStats Stats() const;
  // Up to `limit` shards found corrupt and not yet acknowledged.
  std::vector<std::string> PendingReports(size_t limit) const;
  void Acknowledge(const std::vector<std::string>& shard_ids);

  // One whole pass on the calling thread, unpaced (tests; not while the
  // thread runs).
  void RunPassForTest();

 private:
  static constexpr int kDirectories = 256;
  // Saved in options_.progress_file as JSON.
  struct Progress {
    int64_t pass_started_unix_ms = 0;  // 0: never
    int next_directory = kDirectories;  // < kDirectories: a pass is under way
    int64_t last_pass_completed_unix_ms = 0;
  };
  Progress LoadProgress() const;
  void SaveProgress(const Progress& progress) const;

  void Run();
  // Scrubs directories progress->next_directory.. to the end; false if
  // stopping.
  bool RunPass(Progress* progress);
  // Scrubs one shard and records the outcome; false if stopping.
  bool ScrubOne(const std::string& shard_id);
  bool ScrubSuspects();
  // Waits until `bytes` more may be read; false if stopping.
  bool Pace(uint64_t bytes);
  // Waits until `deadline_mono_ms`, a suspect arrives or Stop(); false if
  // stopping.
  bool WaitUntil(int64_t deadline_mono_ms, bool wake_for_suspects);

  storage::ShardStore& store_;
  const ScrubOptions options_;
  const Clock& clock_;
  bool paced_ = true;
  double theoretical_arrival_ms_ = 0;  // pacing (GCRA), scrubber thread only

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  ScrubStats stats_;
  std::set<std::string> suspects_;
  std::set<std::string> reports_;
  std::thread thread_;
};

}  // namespace holdfast::node
