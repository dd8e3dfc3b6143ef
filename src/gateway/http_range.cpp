#include "gateway/http_range.h"

#include <charconv>

namespace holdfast::gateway {
namespace {

bool ParseNumber(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

ByteRange ParseRange(std::string_view header, uint64_t object_size) {
  ByteRange whole;
  constexpr std::string_view kPrefix = "bytes=";
  if (!header.starts_with(kPrefix)) return whole;
  std::string_view spec = header.substr(kPrefix.size());
  if (spec.find(',') != std::string_view::npos) return whole;  // S3 serves one range only
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  std::string_view first_text = spec.substr(0, dash), last_text = spec.substr(dash + 1);
  ByteRange range{ByteRange::Kind::kPartial, 0, 0};
  if (first_text.empty()) {  // suffix: the last n bytes
    uint64_t suffix = 0;
    if (!ParseNumber(last_text, &suffix)) return whole;
    if (suffix == 0 || object_size == 0) return {ByteRange::Kind::kUnsatisfiable};
    range.length = suffix < object_size ? suffix : object_size;
    range.first = object_size - range.length;
    return range;
  }
  uint64_t first = 0, last = 0;
  if (!ParseNumber(first_text, &first)) return whole;
  if (last_text.empty()) {
    last = object_size == 0 ? 0 : object_size - 1;
  } else if (!ParseNumber(last_text, &last) || last < first) {
    return whole;
  }
  if (first >= object_size) return {ByteRange::Kind::kUnsatisfiable};
  if (last >= object_size) last = object_size - 1;
  range.first = first;
  range.length = last - first + 1;
  return range;
}

}  // namespace holdfast::gateway
