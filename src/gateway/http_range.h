// HTTP Range header for GET, as S3 implements it: one range per request
// ("bytes=a-b", "bytes=a-", "bytes=-n"). A header that does not parse is
// ignored (the whole object is served), as RFC 9110 asks; a range that
// starts past the end is unsatisfiable (S3: 416 InvalidRange).
#pragma once

#include <cstdint>
#include <string_view>

namespace holdfast::gateway {

struct ByteRange {
  enum class Kind { kWhole, kPartial, kUnsatisfiable } kind = Kind::kWhole;
  uint64_t first = 0;   // kPartial: first byte
  uint64_t length = 0;  // kPartial: byte count (>= 1)
};

ByteRange ParseRange(std::string_view header, uint64_t object_size);

}  // namespace holdfast::gateway
