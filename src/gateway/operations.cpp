#include "gateway/operations.h"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "common/log.h"
#include "gateway/drain.h"
#include "gateway/drill.h"
#include "gateway/meta_backup.h"
#include "gateway/metrics.h"

namespace holdfast::gateway {
namespace {

using net::Task;

constexpr size_t kDefaultListLimit = 100;
constexpr size_t kMaxListLimit = 100000;

// Built outside coroutines (GCC 12 and brace-initialised JSON temporaries).

struct DrillRequest {
  std::vector<std::string> requested;  // the lose= terms as given
  DrillScenario scenario;
};

// One lose= term: "provider:P" or "node:N" ("=" is accepted for ":", as
// the CLI spells it). Marks the nodes it names; false with `why` if it
// names nothing registered, so a typo cannot predict that nothing happens.
bool ApplyLoseTerm(const std::string& term, std::vector<DrillNode>* nodes, std::string* why) {
  const size_t colon = term.find_first_of(":=");
  const std::string kind = colon == std::string::npos ? "" : term.substr(0, colon);
  const std::string name = colon == std::string::npos ? "" : term.substr(colon + 1);
  if ((kind != "provider" && kind != "node") || name.empty()) {
    *why = "lose=" + term + ": expected provider:NAME or node:ID";
    return false;
  }
  bool matched = false;
  for (DrillNode& node : *nodes) {
    if ((kind == "provider" ? node.provider : node.id) == name) {
      node.named = true;
      matched = true;
    }
  }
  if (!matched) {
    *why = "lose=" + term + ": no registered node " +
           (kind == "provider" ? "belongs to provider " + name : "has id " + name);
  }
  return matched;
}

Result<DrillRequest> ParseDrill(std::string_view query, const std::vector<NodeView>& views,
                                const placement::DurabilityPolicy& policy) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!net::ParseQuery(query, &params)) {
    return MakeError(Errc::kInvalidArgument, "malformed percent-escape in the query");
  }
  DrillRequest request;
  request.scenario.policy = policy;
  request.scenario.list_limit = kDefaultListLimit;
  for (const NodeView& view : views) {
    DrillNode node;
    node.id = view.record.id;
    node.provider = view.record.provider;
    node.site = view.record.site;
    node.down = view.health == NodeHealth::kDown;
    // The drill asks about a loss to come, so a node that is only suspect
    // (one request to it just failed; placement skips it for a moment)
    // still counts as a repair target: a passing blip must not change the
    // prediction.
    node.writable = (view.health == NodeHealth::kUp || view.health == NodeHealth::kSuspect) &&
                    !view.read_only;
    request.scenario.nodes.push_back(std::move(node));
  }
  for (const auto& [name, value] : params) {
    std::string why;
    if (name == "lose") {
      if (!ApplyLoseTerm(value, &request.scenario.nodes, &why)) {
        return MakeError(Errc::kInvalidArgument, why);
      }
      request.requested.push_back(value);
    } else if (name == "limit") {
      try {
        size_t used = 0;
        const unsigned long long limit = std::stoull(value, &used);
        if (used != value.size() || limit > kMaxListLimit) throw std::out_of_range("limit");
        request.scenario.list_limit = static_cast<size_t>(limit);
      } catch (const std::exception&) {
        return MakeError(Errc::kInvalidArgument,
                         "limit must be a number from 0 to " + std::to_string(kMaxListLimit));
      }
    } else if (name == "repairer_provider") {
      request.scenario.repairer_provider = value;
    } else {
      return MakeError(Errc::kInvalidArgument,
                       "unknown parameter '" + name + "' (expected lose, limit, repairer_provider)");
    }
  }
  if (request.requested.empty()) {
    return MakeError(Errc::kInvalidArgument,
                     "name what to lose: lose=provider:NAME and/or lose=node:ID (repeatable)");
  }
  return request;
}

DrillRate RateFor(const GatewayContext& ctx) {
  const RepairCounters repair = ctx.repair_stats.Snapshot(ctx.clock.MonotonicMs());
  if (repair.measured_rate_bytes_per_second > 0) {
    return DrillRate{repair.measured_rate_bytes_per_second, true};
  }
  return DrillRate{double(ctx.settings.repair_bytes_per_second), false};
}

std::string MergeReporting(const std::string& status_json,
                           const Result<std::map<int, int64_t>>& by_spare,
                           const Result<int64_t>& gc_queued, double measured_rate,
                           const placement::DurabilityPolicy& policy) {
  nlohmann::json status = nlohmann::json::parse(status_json, nullptr, false);
  if (!status.is_object()) return status_json;  // StatusJson always makes an object
  std::string errors;
  if (by_spare) {
    nlohmann::json histogram = nlohmann::json::object();
    int64_t total = 0;
    for (const auto& [spare, count] : *by_spare) {
      histogram[std::to_string(spare)] = count;
      total += count;
    }
    status["versions"] = total;
    status["versions_by_spare_shards"] = histogram;
  } else {
    status["versions"] = nullptr;
    status["versions_by_spare_shards"] = nullptr;
    errors = by_spare.error().message;
  }
  if (gc_queued) {
    status["gc"] = {{"queued_shards", *gc_queued}};
  } else {
    status["gc"] = nullptr;
    errors += (errors.empty() ? "" : "; ") + gc_queued.error().message;
  }
  if (!errors.empty()) status["reporting_error"] = errors;
  status["policy"] = {{"provider_losses", policy.provider_losses},
                      {"server_losses", policy.server_losses}};
  if (status.contains("repair") && status["repair"].is_object()) {
    status["repair"]["measured_rate_bytes_per_second"] = measured_rate;
  }
  return status.dump();
}

Task<void> ServeDrill(GatewayContext& ctx, const net::Request& http, net::ResponseWriter& out) {
  net::Headers headers;
  headers.Set("Content-Type", "application/json");
  auto request = ParseDrill(http.query, ctx.cluster.Nodes(), ctx.PolicyFor(ctx.cluster.PlacementNodes()));
  if (!request) {
    std::string error = AdminErrorJson(request.error().message);
    (void)co_await out.Send(400, headers, error);
    co_return;
  }
  const DrillScenario scenario = request->scenario;
  auto report = co_await net::RunBlocking(ctx.blocking_pool,
                                          [&] { return RunDrill(ctx.store, scenario); });
  if (!report) {
    std::string error = AdminErrorJson("cannot read the metadata store: " + report.error().message);
    (void)co_await out.Send(503, headers, error);
    co_return;
  }
  std::string lose;
  for (const std::string& term : request->requested) lose += (lose.empty() ? "" : " ") + term;
  HF_LOG_INFO("drill: losing {} would leave {} object versions unreadable and {} degraded", lose,
              report->unreadable_versions, report->degraded_versions);
  std::string body = DrillJson(scenario, request->requested, *report, RateFor(ctx));
  (void)co_await out.Send(200, headers, body);
}

Task<void> ServeMetrics(GatewayContext& ctx, net::ResponseWriter& out) {
  std::string status = co_await RenderStatusJson(ctx);
  auto text = MetricsFromStatusJson(status);
  net::Headers headers;
  if (!text) {
    headers.Set("Content-Type", "application/json");
    std::string error = AdminErrorJson(text.error().message);
    (void)co_await out.Send(500, headers, error);
    co_return;
  }
  headers.Set("Content-Type", std::string(kMetricsContentType));
  (void)co_await out.Send(200, headers, *text);
}

}  // namespace

bool IsOperationsPath(std::string_view path) { return path == kDrillPath || path == kMetricsPath; }

Task<void> HandleOperations(GatewayContext& ctx, const net::Request& http, net::ResponseWriter& out) {
  if (http.method != "GET") {
    net::Headers headers;
    headers.Set("Content-Type", "application/json");
    headers.Set("Allow", "GET");
    std::string error = AdminErrorJson(http.method + " is not allowed on " + http.path + "; use GET");
    (void)co_await out.Send(405, headers, error);
    co_return;
  }
  if (http.path == kDrillPath) {
    co_await ServeDrill(ctx, http, out);
  } else {
    co_await ServeMetrics(ctx, out);
  }
}

int AdminHttpCode(Errc code) {
  switch (code) {
    case Errc::kNotFound:
      return 404;
    case Errc::kConflict:
    case Errc::kLocked:
      return 409;
    case Errc::kInvalidArgument:
    case Errc::kAlreadyExists:
      return 400;
    default:
      return 500;
  }
}

std::string AdminErrorJson(const std::string& message) { return nlohmann::json{{"error", message}}.dump(); }

Task<void> SendAdminJson(net::ResponseWriter& out, int code, std::string body) {
  net::Headers headers;
  headers.Set("Content-Type", "application/json");
  (void)co_await out.Send(code, headers, body);
}

Task<std::string> AddReportingToStatus(GatewayContext& ctx, std::string status_json) {
  // Shards on down nodes give no margin now, lost or not yet.
  std::vector<std::string> down;
  for (const NodeView& view : ctx.cluster.Nodes()) {
    if (view.health == NodeHealth::kDown) down.push_back(view.record.id);
  }
  auto by_spare = co_await net::RunBlocking(ctx.blocking_pool,
                                            [&] { return ctx.store.CountVersionsBySpareShards(down); });
  auto gc_queued = co_await net::RunBlocking(ctx.blocking_pool,
                                             [&] { return ctx.store.CountGcQueue(); });
  const double measured_rate =
      ctx.repair_stats.Snapshot(ctx.clock.MonotonicMs()).measured_rate_bytes_per_second;
  std::string merged = MergeReporting(status_json, by_spare, gc_queued, measured_rate,
                                     ctx.PolicyFor(ctx.cluster.PlacementNodes()));
  std::string drain = co_await RenderDrainJson(ctx);
  nlohmann::json status = nlohmann::json::parse(merged);
  status["drain"] = nlohmann::json::parse(drain);
  status["metadata_backup"] = nlohmann::json::parse(RenderBackupJson(ctx));
  co_return status.dump();
}

}  // namespace holdfast::gateway
