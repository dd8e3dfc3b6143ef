// Counts failed attempts per key (an account name, a client address, a
// share link) in a sliding window and says how long a key must wait once it
// reached its limit. A refused attempt is not counted, so waiting out the
// window always works; a success can clear a key. In memory: a gateway
// restart forgets the counts (docs/web.md). Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace holdfast::web {

class AttemptLimiter {
 public:
  AttemptLimiter(int max_failures, int64_t window_ms) : max_failures_(max_failures), window_ms_(window_ms) {}
  // Milliseconds until `key` may try again, or nullopt if it may now.
  std::optional<int64_t> RetryAfterMs(const std::string& key, int64_t now_ms);
  void RecordFailure(const std::string& key, int64_t now_ms);
  void Clear(const std::string& key);

 private:
  void Expire(std::deque<int64_t>& failures, int64_t now_ms) const;

  const int max_failures_;
  const int64_t window_ms_;
  std::mutex mu_;
  std::map<std::string, std::deque<int64_t>> failures_;  // guarded by mu_
};

}  // namespace holdfast::web
