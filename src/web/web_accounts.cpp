// Accounts, sessions, access keys, usage, search and the operator's
// dashboard data (docs/web.md).
#include <algorithm>
#include <cctype>

#include "common/log.h"
#include "gateway/operations.h"
#include "gateway/users.h"
#include "web/passwords.h"
#include "web/web_internal.h"

namespace holdfast::web {

using net::Task;

namespace {

// 3-32 of a-z, 0-9 and '-', starting and ending with a letter or digit: a
// valid user name and a valid bucket name (the home bucket).
bool IsValidAccountName(const std::string& name) {
  if (name.size() < 3 || name.size() > 32) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front())) ||
      !std::isalnum(static_cast<unsigned char>(name.back()))) {
    return false;
  }
  return name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
}

bool IsValidPassword(const std::string& password) { return password.size() >= 8 && password.size() <= 1024; }

std::string StringField(const nlohmann::json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

// A hash of a password nobody has, verified when the name is unknown, so
// that a sign-in takes as long whether or not the account exists.
const std::string& DecoyHash() {
  static const std::string hash = [] {
    auto made = HashPassword("holdfast-decoy-password");
    return made.ok() ? *made : std::string();
  }();
  return hash;
}

Task<void> SendTooManyAttempts(WebRequest& r, int64_t retry_after_ms) {
  const int64_t seconds = std::max<int64_t>(1, (retry_after_ms + 999) / 1000);
  nlohmann::json body;
  body["code"] = "TooManyAttempts";
  body["error"] = "Too many failed attempts. Try again in " + std::to_string((seconds + 59) / 60) + " minute(s).";
  body["retry_after_s"] = seconds;
  net::Headers headers = SecurityHeaders();
  headers.Set("Retry-After", std::to_string(seconds));
  std::string text = body.dump();
  co_await SendJsonWithHeaders(r, 429, std::move(text), std::move(headers));
}

}  // namespace

Task<void> HandleSignUp(WebRequest& r) {
  auto body = co_await ReadJsonBody(r);
  if (!body) co_return;
  const std::string name = StringField(*body, "name");
  const std::string password = StringField(*body, "password");
  if (!IsValidAccountName(name)) {
    co_return co_await SendApiError(r, 400, "InvalidName",
                                    "Names are 3 to 32 characters: lower-case letters, digits and '-', "
                                    "starting and ending with a letter or digit.");
  }
  if (!IsValidPassword(password)) {
    co_return co_await SendApiError(r, 400, "InvalidPassword", "Passwords are 8 to 1024 characters long.");
  }
  auto hash = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return HashPassword(password); });
  if (!hash) co_return co_await SendApiError(r, 500, "InternalError", "Could not hash the password.");
  meta::WebAccount account{name, *hash, meta::WebRole::kUser, r.now_ms()};
  meta::Bucket home{name, name, r.ctx.settings.region, r.now_ms()};
  Status created = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.SignUp(account, home); });
  if (!created && created.error().code == Errc::kAlreadyExists) {
    std::string message = "The name " + name + " is taken. Choose another one.";
    co_return co_await SendApiError(r, 409, "NameTaken", std::move(message));
  }
  if (!created) {
    std::string message = "Could not create the account: " + created.error().message;
    co_return co_await SendApiError(r, 500, "InternalError", std::move(message));
  }
  HF_LOG_INFO("web: account {} signed up from {}", name, r.http.remote_address);
  co_await StartSession(r, name, meta::WebRole::kUser, 201);
}

Task<void> HandleSignIn(WebRequest& r) {
  auto body = co_await ReadJsonBody(r);
  if (!body) co_return;
  const std::string name = StringField(*body, "name");
  const std::string password = StringField(*body, "password");
  const std::string address = r.http.remote_address;
  const int64_t now = r.now_ms();
  // Refused attempts do not touch the password at all.
  auto wait_name = r.state.failures_by_name.RetryAfterMs(name, now);
  auto wait_address = r.state.failures_by_address.RetryAfterMs(address, now);
  if (wait_name || wait_address) {
    HF_LOG_WARN("web: sign-in for {} from {} refused: too many failures", name, address);
    co_return co_await SendTooManyAttempts(r, std::max(wait_name.value_or(0), wait_address.value_or(0)));
  }
  auto account = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetWebAccount(name); });
  const std::string& hash = account ? account->password_hash : DecoyHash();
  const bool good = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return VerifyPassword(hash, password); });
  if (!account || !good) {
    r.state.failures_by_name.RecordFailure(name, now);
    r.state.failures_by_address.RecordFailure(address, now);
    HF_LOG_INFO("web: failed sign-in for {} from {}", name, address);
    co_return co_await SendApiError(r, 401, "InvalidCredentials", "Wrong name or password.");
  }
  r.state.failures_by_name.Clear(name);
  co_await StartSession(r, name, account->role, 200);
}

Task<void> HandleSession(WebRequest& r) {
  const std::string user = r.user();
  auto home = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetBucket(user); });
  std::string home_bucket = home && home->owner_id == user ? user : "";
  std::string body = SessionJson(r, home_bucket);
  co_await SendJson(r, 200, std::move(body));
}

Task<void> HandleKeys(WebRequest& r, std::string key_id) {
  const std::string user = r.user();
  const std::string& method = r.http.method;
  if (key_id.empty() && method == "GET") {
    auto keys = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.ListAccessKeys(user); });
    if (!keys) co_return co_await SendApiError(r, 500, "InternalError", "Could not list the access keys.");
    nlohmann::json list = nlohmann::json::array();
    for (const auto& key : *keys) {
      list.push_back({{"access_key_id", key.access_key_id}, {"created_unix_ms", key.created_unix_ms}});
    }
    nlohmann::json out;
    out["keys"] = std::move(list);
    std::string text = out.dump();
    co_return co_await SendJson(r, 200, std::move(text));
  }
  if (key_id.empty() && method == "POST") {
    meta::AccessKey key = gateway::NewAccessKey(user, r.now_ms());
    Status saved = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.PutAccessKey(key); });
    if (!saved) co_return co_await SendApiError(r, 500, "InternalError", "Could not store the access key.");
    HF_LOG_INFO("web: {} created access key {}", user, key.access_key_id);
    nlohmann::json out;
    out["access_key_id"] = key.access_key_id;
    out["secret_access_key"] = key.secret_key;
    out["created_unix_ms"] = key.created_unix_ms;
    std::string text = out.dump();
    co_return co_await SendJson(r, 201, std::move(text));
  }
  if (!key_id.empty() && method == "DELETE") {
    Status deleted =
        co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.DeleteAccessKey(user, key_id); });
    if (!deleted && deleted.error().code == Errc::kNotFound) {
      std::string message = "You have no access key " + key_id + ".";
      co_return co_await SendApiError(r, 404, "NoSuchKey", std::move(message));
    }
    if (!deleted) co_return co_await SendApiError(r, 500, "InternalError", "Could not revoke the access key.");
    HF_LOG_INFO("web: {} revoked access key {}", user, key_id);
    co_return co_await SendJson(r, 204, "");
  }
  co_await SendApiError(r, 405, "MethodNotAllowed", "Use GET or POST /api/keys, or DELETE /api/keys/{id}.");
}

Task<void> HandleUsage(WebRequest& r) {
  const std::string user = r.user();
  auto usage = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.UsageOfUser(user); });
  if (!usage) co_return co_await SendApiError(r, 500, "InternalError", "Could not add up the usage.");
  nlohmann::json buckets = nlohmann::json::array();
  int64_t objects = 0;
  uint64_t bytes = 0;
  for (const auto& bucket : *usage) {
    buckets.push_back({{"name", bucket.bucket}, {"objects", bucket.objects}, {"bytes", bucket.bytes}});
    objects += bucket.objects;
    bytes += bucket.bytes;
  }
  nlohmann::json out;
  out["buckets"] = std::move(buckets);
  out["objects"] = objects;
  out["bytes"] = bytes;
  std::string text = out.dump();
  co_await SendJson(r, 200, std::move(text));
}

// Keys of one of the caller's buckets containing the text, case-insensitive.
// A scan of the bucket's listing, bounded: at most 1000 matches, and it stops
// (truncated) after 200,000 keys, so one search cannot occupy the store.
Task<void> HandleSearch(WebRequest& r) {
  const std::string bucket = r.QueryValue("bucket");
  std::string needle = r.QueryValue("q");
  std::transform(needle.begin(), needle.end(), needle.begin(), [](unsigned char c) { return std::tolower(c); });
  auto owned = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.GetBucket(bucket); });
  if (!owned || owned->owner_id != r.user()) {
    std::string message = "You have no bucket named " + bucket + ".";
    co_return co_await SendApiError(r, 404, "NoSuchBucket", std::move(message));
  }
  nlohmann::json matches = nlohmann::json::array();
  bool truncated = false;
  meta::ListQuery query;
  int64_t scanned = 0;
  while (true) {
    auto page = co_await net::RunBlocking(r.ctx.blocking_pool, [&] { return r.ctx.store.ListObjects(bucket, query); });
    if (!page) co_return co_await SendApiError(r, 500, "InternalError", "Could not list the bucket.");
    for (const auto& object : page->objects) {
      std::string lower = object.key;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (lower.find(needle) == std::string::npos) continue;
      if (matches.size() == 1000) {
        truncated = true;
        break;
      }
      matches.push_back({{"key", object.key},
                         {"size", object.size_bytes},
                         {"etag", object.etag},
                         {"last_modified_unix_ms", object.modified_unix_ms}});
    }
    scanned += static_cast<int64_t>(page->objects.size());
    if (truncated || !page->is_truncated) break;
    if (scanned >= 200000) {
      truncated = true;
      break;
    }
    query.start_after = page->next_start_after;
  }
  nlohmann::json out;
  out["objects"] = std::move(matches);
  out["truncated"] = truncated;
  std::string text = out.dump();
  co_await SendJson(r, 200, std::move(text));
}

// The dashboard's data: the admin API's status and drill documents, for
// operators only.
Task<void> HandleAdmin(WebRequest& r, std::string what) {
  if (r.role != meta::WebRole::kOperator) {
    co_return co_await SendApiError(r, 403, "Forbidden", "Only operators can see the cluster's state.");
  }
  if (what == "status") {
    std::string status = co_await gateway::RenderStatusJson(r.ctx);
    co_return co_await SendJson(r, 200, std::move(status));
  }
  if (what == "drill") {
    net::Request drill = r.http;
    drill.path = std::string(gateway::kDrillPath);
    drill.target = drill.path + "?" + drill.query;
    co_return co_await gateway::HandleOperations(r.ctx, drill, r.out);
  }
  co_await SendApiError(r, 404, "NoSuchEndpoint", "The dashboard has /api/admin/status and /api/admin/drill.");
}

}  // namespace holdfast::web
