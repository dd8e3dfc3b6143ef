#include "gateway/users.h"

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/log.h"

namespace holdfast::gateway {

namespace {

// Lower-case letters, digits, '.', '_' and '-', starting with a letter or
// digit, at most 64 bytes: safe in logs, paths and bucket owner fields.
bool IsValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string_view::npos;
}

std::string ErrorBody(const std::string& message) { return nlohmann::json{{"error", message}}.dump(); }

std::string KeyBody(const meta::AccessKey& key) {
  return nlohmann::json{{"user_id", key.user_id},
                        {"access_key_id", key.access_key_id},
                        {"secret_access_key", key.secret_key}}
      .dump();
}

}  // namespace

net::Task<void> HandleUsers(GatewayContext& ctx, const net::Request& http, net::ResponseWriter& out) {
  net::Headers headers;
  headers.Set("Content-Type", "application/json");
  if (http.method != "POST") {
    headers.Set("Allow", "POST");
    std::string error = ErrorBody(http.method + " is not allowed on " + http.path + "; use POST ?user=NAME");
    (void)co_await out.Send(405, headers, error);
    co_return;
  }
  std::vector<std::pair<std::string, std::string>> query;
  net::ParseQuery(http.query, &query);
  std::string user;
  for (const auto& [name, value] : query) {
    if (name == "user") user = value;
  }
  if (!IsValidUserName(user)) {
    std::string error = ErrorBody("user names are 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit; got '" + user + "'");
    (void)co_await out.Send(400, headers, error);
    co_return;
  }
  // AWS-shaped credentials: a 20-character key id and a 40-character secret.
  meta::AccessKey key;
  key.user_id = user;
  key.access_key_id = "HF" + RandomHex(9);
  for (char& c : key.access_key_id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  key.secret_key = RandomHex(20);
  Status saved = co_await net::RunBlocking(ctx.blocking_pool, [&] { return ctx.store.PutAccessKey(key); });
  if (!saved) {
    std::string error = ErrorBody("cannot store the access key: " + saved.error().message);
    (void)co_await out.Send(500, headers, error);
    co_return;
  }
  HF_LOG_INFO("created access key {} for user {}", key.access_key_id, user);
  std::string body = KeyBody(key);
  (void)co_await out.Send(201, headers, body);
}

}  // namespace holdfast::gateway
