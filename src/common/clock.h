// Time reaches the core through this interface so tests can control it.
#pragma once

#include <cstdint>

namespace holdfast {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock milliseconds since the Unix epoch (for timestamps users see).
  virtual int64_t NowUnixMs() const = 0;
  // Monotonic milliseconds (for timeouts and rates; never jumps).
  virtual int64_t MonotonicMs() const = 0;
};

// The process's real clocks. Thread-safe.
const Clock& SystemClock();

}  // namespace holdfast
