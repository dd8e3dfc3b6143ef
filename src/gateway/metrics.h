// Prometheus metrics (GET /_holdfast/metrics, docs/admin-api.md), made
// from the status document (GET /_holdfast/v1/status) and nothing else: the
// two can never disagree about a number, and whatever the status gains
// (per-node scrub counters, the drain queue) needs one line here to be
// scraped too. Pure; unit-tested in metrics_test.cpp.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace holdfast::gateway {

// Content-Type of the text exposition format this produces.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The status JSON as Prometheus text exposition format 0.0.4. Fields the
// document lacks (or holds as null) produce no series. kInvalidArgument if
// `status_json` is not a JSON object.
Result<std::string> MetricsFromStatusJson(std::string_view status_json);

}  // namespace holdfast::gateway
