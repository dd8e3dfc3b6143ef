#include "gateway/holds.h"

#include <nlohmann/json.hpp>

#include <map>

#include "common/digest.h"
#include "common/log.h"
#include "gateway/operations.h"
#include "ledger/ledger.h"
#include "net/message.h"

namespace holdfast::gateway {
namespace {

using json = nlohmann::json;
using net::Task;

std::map<std::string, std::string> Params(const net::Request& http) {
  std::vector<std::pair<std::string, std::string>> query;
  net::ParseQuery(http.query, &query);
  return {query.begin(), query.end()};
}

std::string Param(const std::map<std::string, std::string>& params, const std::string& name) {
  const auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

std::optional<meta::HoldScope> ParseScope(const std::string& text) {
  if (text == "version") return meta::HoldScope::kVersion;
  if (text == "bucket") return meta::HoldScope::kBucket;
  if (text == "user") return meta::HoldScope::kUser;
  if (text == "provider") return meta::HoldScope::kProvider;
  return std::nullopt;
}

// The ledger fields that say what a hold covers and on whose word.
json LedgerFields(const meta::Hold& hold, bool released) {
  json fields = {{"hold_id", hold.hold_id},
                 {"scope", meta::HoldScopeName(hold.scope)},
                 {"target", hold.target},
                 {"case_reference", hold.case_reference}};
  if (hold.scope == meta::HoldScope::kVersion) {
    fields["bucket"] = hold.bucket;
    fields["key"] = hold.key;
    fields["version_id"] = hold.s3_version_id;
  }
  if (released) {
    fields["released_by"] = hold.released_by;
    fields["reason"] = hold.release_reason;
  } else {
    fields["requested_by"] = hold.requested_by;
    fields["reason"] = hold.reason;
  }
  return fields;
}

// Records the change in the ledger and answers with the hold and receipt.
// The hold is in force already; a ledger failure is reported, not undone.
Task<void> AnswerWithReceipt(GatewayContext& ctx, const meta::Hold& hold, bool released, int code,
                             net::ResponseWriter& out) {
  json body = {{"hold", HoldJson(hold)}};
  if (ctx.ledger != nullptr) {
    const json fields = LedgerFields(hold, released);
    const ledger::EntryKind kind = released ? ledger::EntryKind::kHoldReleased : ledger::EntryKind::kHoldPlaced;
    auto receipt = co_await net::RunBlocking(ctx.blocking_pool,
                                             [&] { return ctx.ledger->AppendWithReceipt(kind, fields); });
    if (receipt) {
      body["receipt"] = ledger::ReceiptToJson(*receipt);
    } else {
      HF_LOG_ERROR("ledger: cannot record hold {}: {}", hold.hold_id, receipt.error().message);
      body["ledger_error"] = receipt.error().message;
    }
  }
  co_await SendAdminJson(out, code, body.dump());
}

Task<void> Place(GatewayContext& ctx, const std::map<std::string, std::string>& params, net::ResponseWriter& out) {
  const auto scope = ParseScope(Param(params, "scope"));
  if (!scope) {
    co_await SendAdminJson(out, 400, AdminErrorJson("scope must be version, bucket, user or provider; got '" +
                                                    Param(params, "scope") + "'"));
    co_return;
  }
  meta::Hold hold;
  hold.hold_id = "hold-" + RandomHex(8);
  hold.scope = *scope;
  hold.case_reference = Param(params, "case");
  hold.requested_by = Param(params, "requested-by");
  hold.reason = Param(params, "reason");
  hold.placed_unix_ms = ctx.clock.NowUnixMs();
  std::string missing;
  if (*scope == meta::HoldScope::kVersion) {
    hold.bucket = Param(params, "bucket");
    hold.key = Param(params, "key");
    hold.s3_version_id = params.contains("version-id") ? Param(params, "version-id") : "";
    if (hold.bucket.empty() || hold.key.empty()) missing = "bucket and key";
  } else {
    hold.target = Param(params, "target");
    if (hold.target.empty()) missing = "target";
  }
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"case", &hold.case_reference},
                                    {"requested-by", &hold.requested_by},
                                    {"reason", &hold.reason}}) {
    if (value->empty()) missing += std::string(missing.empty() ? "" : ", ") + name;
  }
  if (!missing.empty()) {
    co_await SendAdminJson(out, 400, AdminErrorJson("a hold needs " + missing +
                                                    ": every hold records its case reference, who asked and why"));
    co_return;
  }
  if (*scope == meta::HoldScope::kVersion && hold.s3_version_id.empty()) {
    // No version named: the current one, as S3 does for GET.
    auto current = co_await net::RunBlocking(ctx.blocking_pool,
                                             [&] { return ctx.store.GetObject(hold.bucket, hold.key); });
    if (!current) {
      co_await SendAdminJson(out, AdminHttpCode(current.error().code), AdminErrorJson(current.error().message));
      co_return;
    }
    hold.s3_version_id = meta::S3VersionId(*current);
  }
  auto placed = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.PlaceHold(hold); });
  if (!placed) {
    co_await SendAdminJson(out, AdminHttpCode(placed.error().code), AdminErrorJson(placed.error().message));
    co_return;
  }
  HF_LOG_INFO("hold {} placed on {} {} (case {}, requested by {})", placed->hold_id,
              meta::HoldScopeName(placed->scope), placed->target, placed->case_reference, placed->requested_by);
  co_await AnswerWithReceipt(ctx, *placed, false, 201, out);
}

Task<void> Release(GatewayContext& ctx, const std::map<std::string, std::string>& params, net::ResponseWriter& out) {
  const std::string id = Param(params, "id");
  const std::string by = Param(params, "released-by");
  const std::string reason = Param(params, "reason");
  if (id.empty() || by.empty() || reason.empty()) {
    co_await SendAdminJson(out, 400, AdminErrorJson("releasing a hold needs id, released-by and reason"));
    co_return;
  }
  const int64_t now = ctx.clock.NowUnixMs();
  auto released =
      co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.ReleaseHold(id, by, reason, now); });
  if (!released) {
    co_await SendAdminJson(out, AdminHttpCode(released.error().code), AdminErrorJson(released.error().message));
    co_return;
  }
  HF_LOG_INFO("hold {} released by {}: {}", id, by, reason);
  co_await AnswerWithReceipt(ctx, *released, true, 200, out);
}

Task<void> List(GatewayContext& ctx, bool include_released, net::ResponseWriter& out) {
  auto holds = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.ListHolds(include_released); });
  if (!holds) {
    co_await SendAdminJson(out, 500, AdminErrorJson(holds.error().message));
    co_return;
  }
  json list = json::array();
  for (const meta::Hold& hold : *holds) list.push_back(HoldJson(hold));
  json body = {{"holds", list}};
  co_await SendAdminJson(out, 200, body.dump());
}

}  // namespace

json HoldJson(const meta::Hold& hold) {
  json out = {{"id", hold.hold_id},
              {"scope", meta::HoldScopeName(hold.scope)},
              {"target", hold.target},
              {"case", hold.case_reference},
              {"requested_by", hold.requested_by},
              {"reason", hold.reason},
              {"placed_unix_ms", hold.placed_unix_ms},
              {"active", hold.active()}};
  if (hold.scope == meta::HoldScope::kVersion) {
    out["bucket"] = hold.bucket;
    out["key"] = hold.key;
    out["version_id"] = hold.s3_version_id;
  }
  if (hold.scope == meta::HoldScope::kProvider) out["versions_recorded"] = hold.covered_versions;
  if (!hold.active()) {
    out["released_unix_ms"] = hold.released_unix_ms;
    out["released_by"] = hold.released_by;
    out["release_reason"] = hold.release_reason;
  }
  return out;
}

Task<void> HandleHolds(GatewayContext& ctx, const net::Request& http, net::ResponseWriter& out) {
  const auto params = Params(http);
  if (http.method == "POST") {
    co_await Place(ctx, params, out);
  } else if (http.method == "DELETE") {
    co_await Release(ctx, params, out);
  } else if (http.method == "GET") {
    co_await List(ctx, Param(params, "all") == "true", out);
  } else {
    co_await SendAdminJson(out, 405, AdminErrorJson(http.method + " is not allowed on " + http.path +
                                                    "; use POST (place), DELETE (release) or GET (list)"));
  }
}

}  // namespace holdfast::gateway
