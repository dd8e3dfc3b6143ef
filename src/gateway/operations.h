// Operators' endpoints on the internal API (docs/admin-api.md), all behind
// the cluster secret like the rest of /_holdfast/:
//
//   GET /_holdfast/v1/drill?lose=provider:P&lose=node:N...   the loss drill (gateway/drill.h)
//   GET /_holdfast/metrics                                    Prometheus text (gateway/metrics.h)
//
// and the reporting half of GET /_holdfast/v1/status: versions by spare
// shards, the GC and drain queues, the policy and the measured repair rate,
// added to what RenderStatusJson (gateway/repair.cpp) reports. The metrics
// path is not under /v1/ because scrapers expect it fixed, and not at
// /metrics because that is a valid S3 bucket name.
#pragma once

#include <string>
#include <string_view>

#include "gateway/context.h"
#include "net/http.h"

namespace holdfast::gateway {

inline constexpr std::string_view kDrillPath = "/_holdfast/v1/drill";
inline constexpr std::string_view kMetricsPath = "/_holdfast/metrics";

// {"error": message}: the body of every admin API error.
std::string AdminErrorJson(const std::string& message);
// The admin API's HTTP status for a store error: 404 kNotFound, 409
// kConflict and kLocked (a hold or retention refuses it; the message says
// which), 400 kInvalidArgument and kAlreadyExists, 500 otherwise.
int AdminHttpCode(Errc code);
// Sends `body` as application/json with HTTP status `code`.
net::Task<void> SendAdminJson(net::ResponseWriter& out, int code, std::string body);

// Whether HandleOperations serves `path`.
bool IsOperationsPath(std::string_view path);

// Answers an authenticated request to an operations path. `http` and `out`
// must outlive the call (the connection's own objects do).
net::Task<void> HandleOperations(GatewayContext& context, const net::Request& http,
                                 net::ResponseWriter& out);

// `status_json` (StatusJson's object) with the reporting fields added.
net::Task<std::string> AddReportingToStatus(GatewayContext& context, std::string status_json);

}  // namespace holdfast::gateway
