#include "gateway/deletion_notices.h"

#include <nlohmann/json.hpp>

#include <algorithm>
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

constexpr std::chrono::milliseconds kPassInterval{500};
constexpr std::chrono::milliseconds kDeliveryTimeout{5000};
constexpr int64_t kMaxRetryDelayMs = 3'600'000;
constexpr std::chrono::milliseconds kBlockedRetry{2000};

using Query = std::vector<std::pair<std::string, std::string>>;

Query ParseParams(const net::Request& http) {
  Query query;
  net::ParseQuery(http.query, &query);
  return query;
}

std::string Param(const Query& query, std::string_view name) {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return "";
}

// "http://host[:port][/path]" -> ("host:port", "/path"). Only plain HTTP:
// the gateway speaks no TLS (docs/deletion-notices.md).
bool SplitUrl(const std::string& url, std::string* endpoint, std::string* target) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme) || url.size() > 2048) return false;
  const std::string rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string host = rest.substr(0, slash);
  *target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (host.empty() || host.find_first_of(" @\r\n") != std::string::npos) return false;
  if (host.find(':') == std::string::npos) host += ":80";
  *endpoint = host;
  return true;
}

json DeliveryJson(const meta::NoticeDelivery& delivery) {
  json out = {{"url", delivery.url}, {"attempts", delivery.attempts}, {"last_result", delivery.last_result}};
  if (delivery.delivered_unix_ms != 0) {
    out["delivered_unix_ms"] = delivery.delivered_unix_ms;
  } else {
    out["next_attempt_unix_ms"] = delivery.next_attempt_unix_ms;
  }
  return out;
}

json NoticeJson(const meta::DeletionNotice& notice) {
  json deliveries = json::array();
  for (const meta::NoticeDelivery& delivery : notice.deliveries) deliveries.push_back(DeliveryJson(delivery));
  return {{"id", notice.notice_id},
          {"scope", notice.scope},
          {"target", notice.target},
          {"reason", notice.reason},
          {"issued_by", notice.issued_by},
          {"issued_unix_ms", notice.issued_unix_ms},
          {"effective_unix_ms", notice.effective_unix_ms},
          {"ledger_index", notice.ledger_index},
          {"state", meta::NoticeStateName(notice.state)},
          {"outcome", notice.outcome},
          {"finished_unix_ms", notice.finished_unix_ms},
          {"deliveries", deliveries}};
}

// What a recipient receives.
std::string WebhookBody(const meta::DeletionNotice& notice) {
  json body = {{"type", "holdfast.deletion_notice"},
               {"notice_id", notice.notice_id},
               {"scope", notice.scope},
               {"target", notice.target},
               {"reason", notice.reason},
               {"issued_by", notice.issued_by},
               {"issued_unix_ms", notice.issued_unix_ms},
               {"effective_unix_ms", notice.effective_unix_ms},
               {"ledger_index", notice.ledger_index}};
  return body.dump();
}

Task<void> Fail(net::ResponseWriter& out, int code, std::string message) {
  co_await SendAdminJson(out, code, AdminErrorJson(message));
}

// ---- Issuing -------------------------------------------------------------------

Task<void> Issue(GatewayContext& ctx, const Query& query, net::ResponseWriter& out) {
  meta::DeletionNotice notice;
  notice.scope = Param(query, "scope");
  notice.target = Param(query, "target");
  notice.reason = Param(query, "reason");
  notice.issued_by = Param(query, "issued-by");
  if (notice.scope != "user" && notice.scope != "provider") {
    co_await Fail(out, 400, "scope must be user or provider; got '" + notice.scope + "'");
    co_return;
  }
  if (notice.target.empty() || notice.reason.empty() || notice.issued_by.empty()) {
    co_await Fail(out, 400, "a deletion notice needs target, reason and issued-by");
    co_return;
  }
  if (ctx.ledger == nullptr) {
    co_await Fail(out, 500, "this gateway has no notice ledger");
    co_return;
  }
  int64_t wait_ms = ctx.settings.deletion_notice_min_wait.count();
  if (const std::string wait = Param(query, "wait-s"); !wait.empty()) {
    int64_t seconds = -1;
    try {
      seconds = std::stoll(wait);
    } catch (const std::exception&) {
    }
    if (seconds < 0 || seconds > (int64_t{1} << 32)) {
      co_await Fail(out, 400, "wait-s must be a number of seconds; got '" + wait + "'");
      co_return;
    }
    if (seconds * 1000 < wait_ms) {
      co_await Fail(out, 400, "wait-s " + wait + " is shorter than this gateway's minimum waiting period of " +
                                  std::to_string(wait_ms / 1000) + " s");
      co_return;
    }
    wait_ms = seconds * 1000;
  }
  std::vector<std::string> recipients;
  if (notice.scope == "user") {
    auto hooks = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.UserWebhooks(notice.target); });
    if (!hooks) {
      co_await Fail(out, 500, hooks.error().message);
      co_return;
    }
    recipients = *hooks;
    auto owned = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.ListBuckets(notice.target); });
    if (!owned) {
      co_await Fail(out, 500, owned.error().message);
      co_return;
    }
    if (owned->empty() && recipients.empty()) {
      co_await Fail(out, 404, "no user " + notice.target + " (no bucket and no webhook endpoint)");
      co_return;
    }
  } else if (ctx.cluster.NodesOf(meta::DrainScope::kProvider, notice.target).empty()) {
    co_await Fail(out, 404, "no registered node belongs to provider " + notice.target);
    co_return;
  }
  for (const auto& [k, v] : query) {
    if (k == "notify") recipients.push_back(v);
  }
  std::sort(recipients.begin(), recipients.end());
  recipients.erase(std::unique(recipients.begin(), recipients.end()), recipients.end());
  if (recipients.empty()) {
    // Built apart from the co_await: GCC 12 mishandles temporaries of ?:
    // inside a co_await expression.
    std::string message = "nobody would be told: ";
    if (notice.scope == "user") {
      message += "user " + notice.target +
                 " has no webhook endpoint (holdfast user webhook add) and no notify URL was given";
    } else {
      message += "give at least one notify URL";
    }
    co_await Fail(out, 400, std::move(message));
    co_return;
  }
  for (const std::string& url : recipients) {
    std::string endpoint, target;
    if (!SplitUrl(url, &endpoint, &target)) {
      co_await Fail(out, 400, "recipient '" + url + "' is not an http:// URL");
      co_return;
    }
    meta::NoticeDelivery delivery;
    delivery.url = url;
    notice.deliveries.push_back(std::move(delivery));
  }
  notice.notice_id = "notice-" + RandomHex(8);
  notice.issued_unix_ms = ctx.clock.NowUnixMs();
  notice.effective_unix_ms = notice.issued_unix_ms + wait_ms;
  json fields = {{"notice_id", notice.notice_id},  {"scope", notice.scope},
                 {"target", notice.target},        {"reason", notice.reason},
                 {"issued_by", notice.issued_by},  {"effective_ms", notice.effective_unix_ms},
                 {"recipients", recipients}};
  auto receipt = co_await net::RunBlocking(ctx.blocking_pool, [&] {
    return ctx.ledger->AppendWithReceipt(ledger::EntryKind::kDeletionNotice, fields);
  });
  if (!receipt) {
    co_await Fail(out, 500, "cannot record the notice in the ledger: " + receipt.error().message);
    co_return;
  }
  notice.ledger_index = receipt->appended.entry.index;
  Status created = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.CreateDeletionNotice(notice); });
  if (!created) {
    co_await Fail(out, 500, created.error().message);
    co_return;
  }
  HF_LOG_INFO("deletion notice {} issued by {} for {} {}: effective in {} s, {} recipient(s)", notice.notice_id,
              notice.issued_by, notice.scope, notice.target, wait_ms / 1000, recipients.size());
  json body = {{"notice", NoticeJson(notice)}, {"receipt", ledger::ReceiptToJson(*receipt)}};
  co_await SendAdminJson(out, 201, body.dump());
}

Task<void> List(GatewayContext& ctx, net::ResponseWriter& out) {
  auto notices = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.ListDeletionNotices(false); });
  if (!notices) {
    co_await Fail(out, 500, notices.error().message);
    co_return;
  }
  json list = json::array();
  for (const meta::DeletionNotice& notice : *notices) list.push_back(NoticeJson(notice));
  json body = {{"notices", list}};
  co_await SendAdminJson(out, 200, body.dump());
}

Task<void> Cancel(GatewayContext& ctx, const Query& query, net::ResponseWriter& out) {
  const std::string id = Param(query, "id");
  const std::string by = Param(query, "by");
  const std::string reason = Param(query, "reason");
  if (id.empty() || by.empty() || reason.empty()) {
    co_await Fail(out, 400, "cancelling a notice needs id, by and reason");
    co_return;
  }
  const std::string outcome = "cancelled by " + by + ": " + reason;
  const int64_t now = ctx.clock.NowUnixMs();
  Status cancelled = co_await net::RunBlocking(ctx.blocking_pool, [&] {
    return ctx.store.SetNoticeOutcome(id, meta::NoticeState::kCancelled, outcome, now);
  });
  if (!cancelled) {
    co_await Fail(out, AdminHttpCode(cancelled.error().code), cancelled.error().message);
    co_return;
  }
  HF_LOG_INFO("deletion notice {} {}", id, outcome);
  json body = {{"cancelled", id}, {"outcome", outcome}};
  co_await SendAdminJson(out, 200, body.dump());
}

Task<void> HandleWebhooks(GatewayContext& ctx, const net::Request& http, const Query& query,
                          net::ResponseWriter& out) {
  const std::string user = Param(query, "user");
  const std::string url = Param(query, "url");
  if (user.empty()) {
    co_await Fail(out, 400, "user is required");
    co_return;
  }
  if (http.method != "GET") {
    std::string endpoint, target;
    if (!SplitUrl(url, &endpoint, &target)) {
      co_await Fail(out, 400, "url must be an http:// URL; got '" + url + "'");
      co_return;
    }
    Status changed = co_await net::RunBlocking(ctx.blocking_pool, [&] {
      return http.method == "POST" ? ctx.store.AddUserWebhook(user, url) : ctx.store.RemoveUserWebhook(user, url);
    });
    if (!changed) {
      co_await Fail(out, AdminHttpCode(changed.error().code), changed.error().message);
      co_return;
    }
  }
  auto hooks = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.UserWebhooks(user); });
  if (!hooks) {
    co_await Fail(out, 500, hooks.error().message);
    co_return;
  }
  json body = {{"user", user}, {"webhooks", *hooks}};
  co_await SendAdminJson(out, 200, body.dump());
}

// ---- Delivery and execution ------------------------------------------------------

// One delivery attempt, recorded in the store and the ledger.
Task<void> Deliver(GatewayContext& ctx, net::ConnectionPool& pool, const meta::DeletionNotice& notice,
                   const meta::NoticeDelivery& delivery) {
  std::string endpoint, target;
  int http_status = 0;
  std::string error;
  if (!SplitUrl(delivery.url, &endpoint, &target)) {
    error = "not an http:// URL";
  } else {
    net::Headers headers;
    headers.Set("Content-Type", "application/json");
    headers.Set("X-Holdfast-Notice", notice.notice_id);
    const std::string body = WebhookBody(notice);
    auto response = co_await net::Fetch(&pool, endpoint, "POST", target, headers, body, kDeliveryTimeout);
    if (response) {
      http_status = response->status;
      if (http_status < 200 || http_status > 299) error = "HTTP " + std::to_string(http_status);
    } else {
      error = response.error().message;
    }
  }
  const bool delivered = error.empty();
  const int64_t now = ctx.clock.NowUnixMs();
  const int shift = std::min(delivery.attempts, 20);
  const int64_t delay = std::min<int64_t>(ctx.settings.notice_retry_base.count() << shift, kMaxRetryDelayMs);
  const std::string result = delivered ? "HTTP " + std::to_string(http_status) : error;
  Status recorded = co_await net::RunBlocking(ctx.blocking_pool, [&] {
    return ctx.store.RecordNoticeDelivery(notice.notice_id, delivery.url, delivered, result, now, now + delay);
  });
  if (!recorded) HF_LOG_ERROR("deletion notice {}: cannot record a delivery: {}", notice.notice_id, recorded.error().message);
  json fields = {{"notice_index", notice.ledger_index}, {"attempt", delivery.attempts + 1}, {"url", delivery.url},
                 {"http_status", http_status},          {"error", error},
                 {"notice_id", notice.notice_id}};
  auto appended = co_await net::RunBlocking(ctx.blocking_pool, [&] {
    return ctx.ledger->Append(ledger::EntryKind::kNoticeDelivery, fields);
  });
  if (!appended) HF_LOG_ERROR("ledger: cannot record a notice delivery: {}", appended.error().message);
  if (delivered) {
    HF_LOG_INFO("deletion notice {} delivered to {}", notice.notice_id, delivery.url);
  } else {
    HF_LOG_WARN("deletion notice {} not delivered to {} (attempt {}): {}; next try in {} ms", notice.notice_id,
                delivery.url, delivery.attempts + 1, error, delay);
  }
}

// What executing the notice did, or why it cannot run yet (nullopt + reason).
struct Execution {
  bool done = false;
  std::string outcome;
  json destroyed;  // data_destroyed fields when done
};

Task<Execution> Execute(GatewayContext& ctx, const meta::DeletionNotice& notice) {
  Execution result;
  const int64_t now = ctx.clock.NowUnixMs();
  if (notice.scope == "user") {
    // The store marks the notice executed in the same transaction, so a
    // cancel that lands meanwhile wins or loses as a whole.
    auto deleted = co_await net::RunBlocking(
        ctx.blocking_pool, [&] { return ctx.store.DeleteUserData(notice.target, now, notice.notice_id); });
    if (!deleted) {
      result.outcome = "waiting: " + deleted.error().message;
      co_return result;
    }
    result.done = true;
    result.outcome = "deleted user " + notice.target + ": " + std::to_string(deleted->versions) + " version(s), " +
                     std::to_string(deleted->bytes) + " bytes, " + std::to_string(deleted->buckets) + " bucket(s), " +
                     std::to_string(deleted->uploads) + " upload(s)";
    result.destroyed = {{"versions", deleted->versions}, {"bytes", deleted->bytes}, {"buckets", deleted->buckets}};
    co_return result;
  }
  const std::vector<std::string> nodes = ctx.cluster.NodesOf(meta::DrainScope::kProvider, notice.target);
  auto left = co_await net::RunBlocking(ctx.blocking_pool, [&] {
    return ctx.store.RetireDrain(meta::DrainScope::kProvider, notice.target, nodes, now, notice.notice_id);
  });
  if (!left) {
    result.outcome = "waiting: " + left.error().message;
    if (left.error().code == Errc::kNotFound) result.outcome += "; drain it (holdfast provider drain " + notice.target + ")";
    co_return result;
  }
  if (!left->empty()) {
    result.outcome = "waiting: " + std::to_string(left->versions) + " object version(s) still have shards on provider " +
                     notice.target + "; the drain moves them";
    co_return result;
  }
  auto drains = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.ListDrains(); });
  if (drains) ctx.cluster.SetDrains(std::move(*drains));
  result.done = true;
  result.outcome = "retired provider " + notice.target + ": its disks may be wiped";
  result.destroyed = {{"nodes", nodes}};
  co_return result;
}

Task<void> RunOnce(GatewayContext& ctx, net::ConnectionPool& pool, std::map<std::string, int64_t>* blocked_until) {
  auto notices = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.ListDeletionNotices(true); });
  if (!notices) {
    HF_LOG_ERROR("deletion notices: cannot read them: {}", notices.error().message);
    co_return;
  }
  for (const meta::DeletionNotice& notice : *notices) {
    bool all_delivered = true;
    for (const meta::NoticeDelivery& delivery : notice.deliveries) {
      if (delivery.delivered_unix_ms != 0) continue;
      all_delivered = false;
      if (delivery.next_attempt_unix_ms <= ctx.clock.NowUnixMs()) co_await Deliver(ctx, pool, notice, delivery);
    }
    if (!all_delivered || ctx.clock.NowUnixMs() < notice.effective_unix_ms) continue;
    // A notice a hold or retention blocks is tried again every
    // kBlockedRetry, not every pass: each try is a whole account's
    // transaction, rolled back.
    if (auto next = blocked_until->find(notice.notice_id);
        next != blocked_until->end() && ctx.clock.MonotonicMs() < next->second) {
      continue;
    }
    Execution execution = co_await Execute(ctx, notice);
    if (!execution.done) {
      (*blocked_until)[notice.notice_id] = ctx.clock.MonotonicMs() + kBlockedRetry.count();
      if (execution.outcome != notice.outcome) {
        HF_LOG_WARN("deletion notice {} is due but {}", notice.notice_id, execution.outcome);
        const std::string outcome = execution.outcome;
        (void)co_await net::RunBlocking(ctx.blocking_pool, [&] {
          return ctx.store.SetNoticeOutcome(notice.notice_id, meta::NoticeState::kWaiting, outcome, 0);
        });
      }
      continue;
    }
    const std::string outcome = execution.outcome;  // recorded by the store with the execution
    json fields = execution.destroyed;
    fields["what"] = notice.scope + " " + notice.target;
    fields["reason"] = "deletion notice " + notice.notice_id + " (ledger entry " + std::to_string(notice.ledger_index) +
                       "): " + notice.reason;
    fields["notice_index"] = notice.ledger_index;
    fields["notice_id"] = notice.notice_id;
    auto appended = co_await net::RunBlocking(ctx.blocking_pool, [&] {
      return ctx.ledger->Append(ledger::EntryKind::kDataDestroyed, fields);
    });
    if (!appended) HF_LOG_ERROR("ledger: cannot record a destruction: {}", appended.error().message);
    HF_LOG_INFO("deletion notice {} executed: {}", notice.notice_id, outcome);
  }
}

}  // namespace

Task<void> HandleDeletionNotices(GatewayContext& ctx, const net::Request& http, net::ResponseWriter& out) {
  const Query query = ParseParams(http);
  if (http.path == kWebhooksPath) {
    if (http.method != "GET" && http.method != "POST" && http.method != "DELETE") {
      co_await Fail(out, 405, "use GET, POST (add) or DELETE (remove) on " + http.path);
      co_return;
    }
    co_await HandleWebhooks(ctx, http, query, out);
    co_return;
  }
  if (http.method == "POST") {
    co_await Issue(ctx, query, out);
    co_return;
  }
  if (http.method == "GET") {
    co_await List(ctx, out);
    co_return;
  }
  if (http.method == "DELETE") {
    co_await Cancel(ctx, query, out);
    co_return;
  }
  co_await Fail(out, 405, "use POST (issue), GET (list) or DELETE (cancel) on " + http.path);
}

Task<void> RunDeletionNotices(GatewayContext& ctx, const std::atomic<bool>& stopping) {
  net::ConnectionPool pool(kDeliveryTimeout, 1);
  std::map<std::string, int64_t> blocked_until;  // notice id -> monotonic ms of the next try
  while (!stopping) {
    if (ctx.ledger != nullptr) co_await RunOnce(ctx, pool, &blocked_until);
    co_await net::SleepFor(kPassInterval);
  }
}

}  // namespace holdfast::gateway
