#include "gateway/users.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <variant>

#include "common/digest.h"
#include "common/log.h"
#include "gateway/operations.h"
#include "s3/s3.h"

namespace holdfast::gateway {

bool IsValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string_view::npos;
}

meta::AccessKey NewAccessKey(const std::string& user_id, int64_t now_unix_ms) {
  // AWS-shaped credentials: a 20-character key id and a 40-character secret.
  meta::AccessKey key;
  key.user_id = user_id;
  key.access_key_id = "HF" + RandomHex(9);
  for (char& c : key.access_key_id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  key.secret_key = RandomHex(20);
  key.created_unix_ms = now_unix_ms;
  return key;
}

namespace {

std::string InvalidUserNameMessage(const std::string& user) {
  return "user names are 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit; got '" +
         user + "'";
}

// The ?user= parameter ("" if absent).
std::string UserParameter(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string user;
  for (const auto& [name, value] : query) {
    if (name == "user") user = value;
  }
  return user;
}

std::string KeyBody(const meta::AccessKey& key) {
  return nlohmann::json{{"user_id", key.user_id},
                        {"access_key_id", key.access_key_id},
                        {"secret_access_key", key.secret_key}}
      .dump();
}

}  // namespace

namespace {

// allow-bypass-governance=true|false, if given.
std::variant<std::optional<bool>, std::string> ParseBypass(
    const std::vector<std::pair<std::string, std::string>>& query) {
  for (const auto& [name, value] : query) {
    if (name != "allow-bypass-governance") continue;
    if (value == "true") return std::optional<bool>(true);
    if (value == "false") return std::optional<bool>(false);
    return "allow-bypass-governance must be true or false; got '" + value + "'";
  }
  return std::optional<bool>();
}

std::string PermissionBody(const std::string& user, bool may_bypass) {
  return nlohmann::json{{"user_id", user}, {"may_bypass_governance", may_bypass}}.dump();
}

}  // namespace

net::Task<void> HandleUsers(GatewayContext& ctx, const net::Request& http, net::ResponseWriter& out) {
  net::Headers headers;
  headers.Set("Content-Type", "application/json");
  if (http.method != "POST" && http.method != "PUT" && http.method != "GET") {
    headers.Set("Allow", "GET, POST, PUT");
    std::string error = AdminErrorJson(http.method + " is not allowed on " + http.path +
                                  "; use POST ?user=NAME (new key), PUT ?user=NAME&allow-bypass-governance=true|false "
                                  "or GET ?user=NAME");
    (void)co_await out.Send(405, headers, error);
    co_return;
  }
  std::vector<std::pair<std::string, std::string>> query;
  net::ParseQuery(http.query, &query);
  const std::string user = UserParameter(query);
  if (!IsValidUserName(user)) {
    std::string error = AdminErrorJson(InvalidUserNameMessage(user));
    (void)co_await out.Send(400, headers, error);
    co_return;
  }
  auto bypass = ParseBypass(query);
  if (auto* message = std::get_if<std::string>(&bypass)) {
    std::string error = AdminErrorJson(*message);
    (void)co_await out.Send(400, headers, error);
    co_return;
  }
  const std::optional<bool> set_bypass = std::get<std::optional<bool>>(bypass);
  if (http.method == "PUT" && !set_bypass) {
    std::string error = AdminErrorJson("PUT needs allow-bypass-governance=true|false");
    (void)co_await out.Send(400, headers, error);
    co_return;
  }
  // Who may bypass GOVERNANCE retention (docs/object-lock.md): set by the
  // operator, never by the user. COMPLIANCE retention and legal holds have
  // no bypass at all.
  if (set_bypass) {
    Status set = co_await net::RunBlocking(ctx.blocking_pool,
                                           [&] { return ctx.store.SetUserMayBypassGovernance(user, *set_bypass); });
    if (!set) {
      std::string error = AdminErrorJson("cannot store the permission: " + set.error().message);
      (void)co_await out.Send(500, headers, error);
      co_return;
    }
    HF_LOG_INFO("user {} {} bypass governance retention", user, *set_bypass ? "may now" : "may no longer");
  }
  if (http.method != "POST") {
    auto allowed = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.UserMayBypassGovernance(user); });
    if (!allowed) {
      std::string error = AdminErrorJson("cannot read the permission: " + allowed.error().message);
      (void)co_await out.Send(500, headers, error);
      co_return;
    }
    std::string body = PermissionBody(user, *allowed);
    (void)co_await out.Send(200, headers, body);
    co_return;
  }
  meta::AccessKey key = NewAccessKey(user, ctx.clock.NowUnixMs());
  Status saved = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.PutAccessKey(key); });
  if (!saved) {
    std::string error = AdminErrorJson("cannot store the access key: " + saved.error().message);
    (void)co_await out.Send(500, headers, error);
    co_return;
  }
  HF_LOG_INFO("created access key {} for user {}", key.access_key_id, user);
  std::string body = KeyBody(key);
  (void)co_await out.Send(201, headers, body);
}

net::Task<void> HandleAccounts(GatewayContext& ctx, const net::Request& http, net::BodyReader& body,
                               net::ResponseWriter& out) {
  net::Headers headers;
  headers.Set("Content-Type", "application/json");
  if (http.method != "POST") {
    headers.Set("Allow", "POST");
    std::string error = AdminErrorJson(http.method + " is not allowed on " + http.path +
                                       "; use POST ?user=NAME with {\"password_hash\", \"role\"}");
    (void)co_await out.Send(405, headers, error);
    co_return;
  }
  std::vector<std::pair<std::string, std::string>> query;
  net::ParseQuery(http.query, &query);
  const std::string user = UserParameter(query);
  std::string text(std::min<uint64_t>(http.content_length.value_or(0), 16 * 1024), '\0');
  auto n = co_await body.ReadFull(std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()), text.size()));
  if (!n) co_return;
  text.resize(*n);
  meta::WebAccount account;
  account.user_id = user;
  account.created_unix_ms = ctx.clock.NowUnixMs();
  std::string problem;
  if (!IsValidUserName(user)) {
    problem = InvalidUserNameMessage(user);
  } else {
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("password_hash") || !parsed["password_hash"].is_string()) {
      problem = "the body must be {\"password_hash\": \"$argon2id$...\", \"role\": \"user\"|\"operator\"}";
    } else {
      account.password_hash = parsed["password_hash"].get<std::string>();
      std::string role = parsed.value("role", "user");
      if (!account.password_hash.starts_with("$argon2id$")) problem = "password_hash must be an encoded Argon2id hash";
      if (role != "user" && role != "operator") problem = "role must be user or operator; got '" + role + "'";
      account.role = role == "operator" ? meta::WebRole::kOperator : meta::WebRole::kUser;
    }
  }
  if (!problem.empty()) {
    std::string error = AdminErrorJson(problem);
    (void)co_await out.Send(400, headers, error);
    co_return;
  }
  Status saved = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.PutWebAccount(account); });
  if (!saved) {
    std::string error = AdminErrorJson("cannot store the account: " + saved.error().message);
    (void)co_await out.Send(500, headers, error);
    co_return;
  }
  // The account's home bucket (docs/web.md), when its name is a free bucket name.
  bool home = false;
  if (!s3::CheckBucketName(user)) {
    meta::Bucket bucket{user, user, ctx.settings.region, ctx.clock.NowUnixMs()};
    Status created = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.CreateBucket(bucket); });
    auto existing = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.GetBucket(user); });
    home = created.ok() || (existing.ok() && existing->owner_id == user);
  }
  HF_LOG_INFO("account {} set (role {})", user, meta::WebRoleName(account.role));
  std::string reply = nlohmann::json{{"user_id", user},
                                     {"role", meta::WebRoleName(account.role)},
                                     {"home_bucket", home ? user : ""}}
                          .dump();
  (void)co_await out.Send(200, headers, reply);
}

}  // namespace holdfast::gateway
