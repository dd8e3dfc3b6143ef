#include "web/attempt_limiter.h"

namespace holdfast::web {

void AttemptLimiter::Expire(std::deque<int64_t>& failures, int64_t now_ms) const {
  while (!failures.empty() && failures.front() + window_ms_ <= now_ms) failures.pop_front();
}

std::optional<int64_t> AttemptLimiter::RetryAfterMs(const std::string& key, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return std::nullopt;
  Expire(it->second, now_ms);
  if (static_cast<int>(it->second.size()) < max_failures_) {
    if (it->second.empty()) failures_.erase(it);
    return std::nullopt;
  }
  return it->second.front() + window_ms_ - now_ms;
}

void AttemptLimiter::RecordFailure(const std::string& key, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto& failures = failures_[key];
  Expire(failures, now_ms);
  failures.push_back(now_ms);
  // Keys that stopped failing are dropped on their next look-up; bound the
  // map anyway so a flood of distinct names cannot grow it without limit.
  if (failures_.size() > 100000) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      Expire(it->second, now_ms);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
  }
}

void AttemptLimiter::Clear(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

}  // namespace holdfast::web
