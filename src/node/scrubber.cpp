#include "node/scrubber.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "common/log.h"

namespace holdfast::node {
namespace {

// How far ahead of the rate the scrubber may read in one go: smooths the
// pacing of small shards without letting a burst compete with clients.
constexpr double kBurstMs = 250;

// "00".."ff": the store's shard directories, in order.
std::string DirectoryPrefix(int index) {
  char text[3];
  std::snprintf(text, sizeof text, "%02x", index);
  return text;
}

}  // namespace

Scrubber::Scrubber(storage::ShardStore& store, ScrubOptions options, const Clock& clock)
    : store_(store), options_(options), clock_(clock) {
  stats_.rate_limit_bytes_per_second = options_.bytes_per_second;
}

Scrubber::~Scrubber() { Stop(); }

void Scrubber::Start() {
  // Quarantined shards whose reports may not have reached the gateway
  // before a restart; reporting one twice changes nothing.
  auto quarantined = store_.ListQuarantined();
  if (!quarantined) {
    HF_LOG_ERROR("scrub: cannot list quarantined shards: {}", quarantined.error().message);
  } else {
    std::lock_guard lock(mutex_);
    reports_.insert(quarantined->begin(), quarantined->end());
  }
  if (options_.bytes_per_second == 0) {
    HF_LOG_INFO("scrub is off");
    return;
  }
  HF_LOG_INFO("scrubbing every shard at up to {} bytes/s, a pass every {} s at most",
              options_.bytes_per_second, options_.interval.count());
  thread_ = std::thread([this] { Run(); });
}

void Scrubber::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scrubber::Suspect(const std::string& shard_id) {
  if (options_.bytes_per_second == 0) return;
  {
    std::lock_guard lock(mutex_);
    if (suspects_.size() >= kMaxSuspects) return;
    suspects_.insert(shard_id);
  }
  wake_.notify_all();
}

ScrubStats Scrubber::Stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

std::vector<std::string> Scrubber::PendingReports(size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (auto it = reports_.begin(); it != reports_.end() && out.size() < limit; ++it) {
    out.push_back(*it);
  }
  return out;
}

void Scrubber::Acknowledge(const std::vector<std::string>& shard_ids) {
  std::lock_guard lock(mutex_);
  for (const std::string& id : shard_ids) reports_.erase(id);
}

void Scrubber::RunPassForTest() {
  paced_ = false;
  Progress progress;
  progress.pass_started_unix_ms = clock_.NowUnixMs();
  progress.next_directory = 0;
  RunPass(&progress);
}

void Scrubber::Run() {
  Progress progress = LoadProgress();
  {
    std::lock_guard lock(mutex_);
    stats_.last_pass_completed_unix_ms = progress.last_pass_completed_unix_ms;
  }
  const int64_t interval_ms = options_.interval.count() * 1000;
  // When the next pass is due, from the wall clock of the last start (a
  // clock jump only moves one pass).
  const int64_t since_start_ms = clock_.NowUnixMs() - progress.pass_started_unix_ms;
  int64_t next_pass_ms = clock_.MonotonicMs();
  if (progress.pass_started_unix_ms > 0 && since_start_ms >= 0) {
    next_pass_ms += std::max<int64_t>(0, interval_ms - since_start_ms);
  }
  if (progress.next_directory < kDirectories) {
    HF_LOG_INFO("scrub: resuming the pass started at {} from directory {}",
                progress.pass_started_unix_ms, progress.next_directory);
    if (!RunPass(&progress)) return;
  }
  while (true) {
    // Between passes, only suspects are scrubbed.
    while (clock_.MonotonicMs() < next_pass_ms) {
      if (!WaitUntil(next_pass_ms, true) || !ScrubSuspects()) return;
    }
    next_pass_ms = clock_.MonotonicMs() + interval_ms;
    progress.pass_started_unix_ms = clock_.NowUnixMs();
    progress.next_directory = 0;
    if (!RunPass(&progress)) return;
  }
}

bool Scrubber::RunPass(Progress* progress) {
  // Progress is saved every few seconds, not after every directory: losing
  // a little on a crash costs less than writing a file per directory.
  constexpr int64_t kSaveEveryMs = 10000;
  const int64_t started_ms = clock_.MonotonicMs();
  int64_t saved_ms = started_ms;
  const ScrubStats before = Stats();
  for (; progress->next_directory < kDirectories; ++progress->next_directory) {
    if (clock_.MonotonicMs() - saved_ms >= kSaveEveryMs) {
      SaveProgress(*progress);
      saved_ms = clock_.MonotonicMs();
    }
    auto ids = store_.List(DirectoryPrefix(progress->next_directory));
    if (!ids) {
      HF_LOG_ERROR("scrub: cannot list shards: {}", ids.error().message);
      continue;  // the next pass tries again
    }
    for (const std::string& id : *ids) {
      if (!ScrubSuspects() || !ScrubOne(id)) {
        SaveProgress(*progress);  // this directory again after a restart
        return false;
      }
    }
  }
  if (!ScrubSuspects()) return false;
  progress->last_pass_completed_unix_ms = clock_.NowUnixMs();
  SaveProgress(*progress);
  ScrubStats after;
  {
    std::lock_guard lock(mutex_);
    ++stats_.passes_completed;
    stats_.last_pass_completed_unix_ms = progress->last_pass_completed_unix_ms;
    after = stats_;
  }
  HF_LOG_INFO("scrub pass {} done in {} ms: {} shards ({} bytes) verified clean, {} corrupt",
              after.passes_completed, clock_.MonotonicMs() - started_ms,
              after.shards_verified - before.shards_verified,
              after.bytes_verified - before.bytes_verified,
              after.corrupt_found - before.corrupt_found);
  return true;
}

Scrubber::Progress Scrubber::LoadProgress() const {
  Progress progress;
  if (options_.progress_file.empty()) return progress;
  std::ifstream in(options_.progress_file);
  if (!in) return progress;  // the first start
  try {
    auto j = nlohmann::json::parse(in);
    progress.pass_started_unix_ms = j.at("pass_started_unix_ms").get<int64_t>();
    progress.next_directory = std::clamp(j.at("next_directory").get<int>(), 0, kDirectories);
    progress.last_pass_completed_unix_ms = j.at("last_pass_completed_unix_ms").get<int64_t>();
  } catch (const std::exception& e) {
    HF_LOG_WARN("scrub: ignoring unreadable progress file {} ({}); starting a new pass",
                options_.progress_file.string(), e.what());
    return Progress{};
  }
  return progress;
}

void Scrubber::SaveProgress(const Progress& progress) const {
  if (options_.progress_file.empty()) return;
  // Not fsynced: progress lost in a crash only makes a pass longer.
  const std::string tmp = options_.progress_file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << nlohmann::json{{"pass_started_unix_ms", progress.pass_started_unix_ms},
                          {"next_directory", progress.next_directory},
                          {"last_pass_completed_unix_ms", progress.last_pass_completed_unix_ms}}
               .dump()
        << "\n";
    if (!out) {
      HF_LOG_WARN("scrub: cannot write {}", tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, options_.progress_file, ec);
  if (ec) HF_LOG_WARN("scrub: cannot write {}: {}", options_.progress_file.string(), ec.message());
}

bool Scrubber::ScrubSuspects() {
  while (true) {
    std::string id;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
      if (suspects_.empty()) return true;
      id = *suspects_.begin();
      suspects_.erase(suspects_.begin());
    }
    HF_LOG_INFO("scrub: a read found shard {} failing verification; scrubbing it now", id);
    if (!ScrubOne(id)) return false;
  }
}

bool Scrubber::ScrubOne(const std::string& shard_id) {
  if (!Pace(kPerShardCostBytes)) return false;
  auto outcome = store_.Scrub(shard_id, [this](uint64_t bytes) { return Pace(bytes); });
  std::lock_guard lock(mutex_);
  if (!outcome) {
    if (outcome.error().code == Errc::kNotFound) return !stopping_;  // removed meanwhile
    ++stats_.read_errors;
    HF_LOG_WARN("scrub: cannot read shard {} (retried next pass): {}", shard_id,
                outcome.error().message);
    return !stopping_;
  }
  stats_.bytes_verified += outcome->bytes_read;
  switch (outcome->verdict) {
    case storage::ScrubVerdict::kClean:
      ++stats_.shards_verified;
      break;
    case storage::ScrubVerdict::kQuarantined:
      ++stats_.corrupt_found;
      reports_.insert(shard_id);
      HF_LOG_WARN("scrub: shard {} failed verification ({}); quarantined, to be rebuilt", shard_id,
                  outcome->problem);
      break;
    case storage::ScrubVerdict::kGone:  // removed or rebuilt while read
    case storage::ScrubVerdict::kStopped:
      break;
  }
  return !stopping_;
}

bool Scrubber::Pace(uint64_t bytes) {
  if (!paced_) {
    std::lock_guard lock(mutex_);
    return !stopping_;
  }
  // GCRA: a virtual clock runs ahead by each read's cost; the scrubber
  // waits only while it is more than one burst ahead of real time.
  const double now = double(clock_.MonotonicMs());
  theoretical_arrival_ms_ = std::max(theoretical_arrival_ms_, now) +
                            double(bytes) * 1000.0 / double(options_.bytes_per_second);
  const double wait_ms = theoretical_arrival_ms_ - kBurstMs - now;
  if (wait_ms <= 0) {
    std::lock_guard lock(mutex_);
    return !stopping_;
  }
  return WaitUntil(static_cast<int64_t>(now + wait_ms + 0.999), false);
}

bool Scrubber::WaitUntil(int64_t deadline_mono_ms, bool wake_for_suspects) {
  std::unique_lock lock(mutex_);
  while (!stopping_ && !(wake_for_suspects && !suspects_.empty())) {
    const int64_t left_ms = deadline_mono_ms - clock_.MonotonicMs();
    if (left_ms <= 0) break;
    wake_.wait_for(lock, std::chrono::milliseconds(left_ms));
  }
  return !stopping_;
}

}  // namespace holdfast::node
