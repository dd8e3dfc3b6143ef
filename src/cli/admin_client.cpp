#include "cli/admin_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <optional>

#include "cli/commands.h"
#include "net/http.h"
#include "node/node_api.h"

namespace holdfast::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultGateway = "127.0.0.1:9000";

Result<nlohmann::json> ReadJsonFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return MakeError(Errc::kInvalidArgument, "cannot read " + path.string());
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return MakeError(Errc::kInvalidArgument, path.string() + " is not a JSON object");
  return j;
}

// A free coroutine, parameters by value: a capturing lambda coroutine
// handed to co_spawn as a temporary would dangle under GCC 12.
net::Task<void> FetchInto(std::string method, std::string endpoint, std::string target, std::string secret,
                          std::string body, std::chrono::milliseconds timeout,
                          std::optional<Result<net::SimpleResponse>>* out) {
  net::Headers headers;
  headers.Set("Authorization", node::AuthorizationValue(secret));
  headers.Set("Accept", "application/json");
  *out = co_await net::Fetch(nullptr, endpoint, method, target, headers, body, timeout);
}

}  // namespace

void AddAdminOptions(CLI::App* cmd, AdminOptions* options, int default_timeout_s) {
  options->timeout_s = default_timeout_s;
  cmd->add_option("--gateway", options->gateway,
                  "Gateway to ask (host:port; default: from --dev-dir, else 127.0.0.1:9000)");
  cmd->add_option("--secret-file", options->secret_file,
                  "File holding the cluster secret (default: from --dev-dir, else $HOLDFAST_CLUSTER_SECRET)");
  cmd->add_option("--dev-dir", options->dev_dir,
                  "Data directory of a `holdfast dev` cluster: take the gateway and secret from it");
  cmd->add_option("--timeout-s", options->timeout_s, "Give up after this many seconds")
      ->check(CLI::Range(1, 24 * 3600));
  cmd->add_flag("--json", options->json, "Print the gateway's JSON instead of a report");
}

Result<AdminTarget> ResolveAdminTarget(const AdminOptions& options) {
  AdminTarget admin;
  std::optional<nlohmann::json> dev_json, credentials;
  if (!options.dev_dir.empty()) {
    const fs::path dir = options.dev_dir;
    if (options.gateway.empty()) {
      auto j = ReadJsonFile(dir / "dev.json");
      if (!j) {
        return MakeError(Errc::kInvalidArgument,
                         j.error().message + " (is the dev cluster running? it writes dev.json once it is up)");
      }
      dev_json = *j;
    }
    if (options.secret_file.empty()) {
      auto j = ReadJsonFile(dir / "credentials.json");
      if (!j) return j.error();
      credentials = *j;
    }
  }
  if (!options.gateway.empty()) {
    admin.endpoint = options.gateway;
  } else if (dev_json) {
    std::string endpoint = dev_json->value("endpoint", "");
    if (endpoint.starts_with("http://")) endpoint = endpoint.substr(7);
    if (endpoint.empty()) {
      return MakeError(Errc::kInvalidArgument, options.dev_dir + "/dev.json names no endpoint");
    }
    admin.endpoint = endpoint;
  } else {
    admin.endpoint = kDefaultGateway;
  }
  if (credentials) {
    admin.secret = credentials->value("cluster_secret", "");
  } else {
    admin.secret = ReadClusterSecret(options.secret_file);
  }
  if (admin.secret.empty()) {
    return MakeError(Errc::kInvalidArgument,
                     "no cluster secret: use --secret-file, --dev-dir or set HOLDFAST_CLUSTER_SECRET");
  }
  return admin;
}

Result<std::string> AdminGet(const AdminTarget& admin, const std::string& target,
                             std::chrono::seconds timeout) {
  return AdminRequest(admin, "GET", target, timeout);
}

Result<std::string> AdminRequest(const AdminTarget& admin, const std::string& method,
                                 const std::string& target, std::chrono::seconds timeout,
                                 const std::string& request_body) {
  boost::asio::io_context io;
  std::optional<Result<net::SimpleResponse>> response;
  boost::asio::co_spawn(io, FetchInto(method, admin.endpoint, target, admin.secret, request_body, timeout, &response),
                        boost::asio::detached);
  io.run();
  if (!response) return MakeError(Errc::kInternal, "the request to " + admin.endpoint + " did not finish");
  if (!*response) {
    return MakeError(response->error().code,
                     "cannot reach the gateway at " + admin.endpoint + ": " + response->error().message);
  }
  const net::SimpleResponse& r = **response;
  if (r.status >= 200 && r.status < 300) return r.body;
  // Admin API errors are {"error": "..."}; show the message, not the JSON.
  std::string message = r.body;
  const nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    message = body["error"].get<std::string>();
  }
  const Errc code = r.status == 401 ? Errc::kPermission
                    : r.status == 400 ? Errc::kInvalidArgument
                                      : Errc::kUnavailable;
  return MakeError(code, "gateway " + admin.endpoint + " answered " + std::to_string(r.status) + ": " + message);
}

int RunAdminCommand(const AdminOptions& options, const std::string& command, const std::string& method,
                    const std::string& target, const std::function<void(const nlohmann::json&)>& print) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast " << command << ": " << admin.error().message << "\n";
    return 2;
  }
  auto body = AdminRequest(*admin, method, target, std::chrono::seconds(options.timeout_s));
  if (!body) {
    std::cerr << "holdfast " << command << ": " << body.error().message << "\n";
    return 1;
  }
  if (options.json) {
    std::cout << *body << "\n";
    return 0;
  }
  const nlohmann::json answer = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) {
    std::cerr << "holdfast " << command << ": unexpected answer from the gateway: " << body->substr(0, 200) << "\n";
    return 1;
  }
  print(answer);
  return 0;
}

std::string FormatUtcTime(int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace holdfast::cli
