// Conditional requests: RFC 7232 section 6's order of evaluation, S3's
// conditional writes, and entity-tag lists parsed the way RFC 7232 writes
// them (quoted tags may hold commas).
#include "s3/dates.h"
#include "s3/internal.h"
#include "s3/s3_ops.h"

namespace holdfast::s3 {
namespace {

// Every value of `name`, joined with ',': a list may be split over lines.
std::optional<std::string> JoinedHeader(const net::Headers& headers, std::string_view name) {
  std::optional<std::string> joined;
  for (const auto& [field, value] : headers.all()) {
    if (AsciiLower(field) != name) continue;
    joined = joined ? *joined + "," + value : value;
  }
  return joined;
}

std::optional<int64_t> DateHeader(const net::Headers& headers, std::string_view name) {
  std::optional<std::string> value = JoinedHeader(headers, name);
  return value ? ParseHttpDate(TrimBlanks(*value)) : std::nullopt;
}

Preconditions GetWithPrefix(const net::Headers& headers, const std::string& prefix) {
  Preconditions out;
  out.if_match = JoinedHeader(headers, prefix + "if-match");
  out.if_none_match = JoinedHeader(headers, prefix + "if-none-match");
  out.if_modified_since_ms = DateHeader(headers, prefix + "if-modified-since");
  out.if_unmodified_since_ms = DateHeader(headers, prefix + "if-unmodified-since");
  return out;
}

// Whether `list` ("*", or tags like "a", W/"b", c) names `etag`. Weak tags
// match only under weak comparison (If-None-Match), as RFC 7232 says.
bool ListMatches(std::string_view list, std::string_view etag, bool weak_comparison) {
  etag = StripQuotes(etag);
  size_t i = 0;
  while (i < list.size()) {
    if (list[i] == ' ' || list[i] == '\t' || list[i] == ',') {
      ++i;
      continue;
    }
    bool weak = list.substr(i, 2) == "W/";
    if (weak) i += 2;
    size_t end;
    std::string_view tag;
    if (i < list.size() && list[i] == '"') {
      end = list.find('"', i + 1);
      if (end == std::string_view::npos) end = list.size();
      tag = list.substr(i + 1, end - i - 1);
      ++end;
    } else {
      end = std::min(list.find(',', i), list.size());
      tag = TrimBlanks(list.substr(i, end - i));
      // Unquoted: the wildcard, or a bare ETag as some clients send it.
      if (tag == "*" && !weak) return true;
    }
    if (tag == etag && (!weak || weak_comparison)) return true;
    i = end;
  }
  return false;
}

S3Error PreconditionFailed() {
  return MakeS3Error("PreconditionFailed", std::string(kPreconditionFailedMessage));
}

}  // namespace

Preconditions GetPreconditions(const net::Headers& headers) { return GetWithPrefix(headers, ""); }

Preconditions GetCopySourcePreconditions(const net::Headers& headers) {
  return GetWithPrefix(headers, "x-amz-copy-source-");
}

PreconditionOutcome EvaluatePreconditions(const Preconditions& preconditions, std::string_view etag,
                                          int64_t modified_unix_ms) {
  // Last-Modified goes out in whole seconds; compare what the client saw.
  int64_t modified_s = modified_unix_ms / 1000;
  if (preconditions.if_match) {
    if (!ListMatches(*preconditions.if_match, etag, /*weak_comparison=*/false)) {
      return PreconditionOutcome::kFailed;
    }
  } else if (preconditions.if_unmodified_since_ms &&
             modified_s > *preconditions.if_unmodified_since_ms / 1000) {
    return PreconditionOutcome::kFailed;
  }
  if (preconditions.if_none_match) {
    if (ListMatches(*preconditions.if_none_match, etag, /*weak_comparison=*/true)) {
      return PreconditionOutcome::kNotModified;
    }
  } else if (preconditions.if_modified_since_ms &&
             modified_s <= *preconditions.if_modified_since_ms / 1000) {
    return PreconditionOutcome::kNotModified;
  }
  return PreconditionOutcome::kProceed;
}

std::optional<S3Error> CheckWritePreconditions(const net::Headers& headers,
                                               const std::optional<std::string>& current_etag) {
  if (std::optional<std::string> if_none_match = JoinedHeader(headers, "if-none-match")) {
    if (TrimBlanks(*if_none_match) != "*") {
      return MakeS3Error("NotImplemented",
                         "A header you provided implies functionality that is not implemented");
    }
    if (current_etag) return PreconditionFailed();
  }
  if (std::optional<std::string> if_match = JoinedHeader(headers, "if-match")) {
    if (!current_etag) return MakeS3Error("NoSuchKey", "The specified key does not exist.");
    if (!ListMatches(*if_match, *current_etag, /*weak_comparison=*/false)) {
      return PreconditionFailed();
    }
  }
  return std::nullopt;
}

}  // namespace holdfast::s3
