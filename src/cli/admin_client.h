// How operator commands (`holdfast status`, `holdfast drill`, `holdfast
// user`) reach a
// gateway's admin API (docs/admin-api.md): the shared connection flags and
// one blocking GET.
//
// Where the gateway and the cluster secret come from, first match wins:
//   gateway: --gateway HOST:PORT; the endpoint in DIR/dev.json of --dev-dir;
//            127.0.0.1:9000.
//   secret:  --secret-file FILE; cluster_secret in DIR/credentials.json of
//            --dev-dir; $HOLDFAST_CLUSTER_SECRET.
// (--dev-dir beats the environment: naming a dev cluster is more specific
// than a variable left in the shell.)
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "common/result.h"

namespace holdfast::cli {

struct AdminOptions {
  std::string gateway;  // "" = from --dev-dir or the default
  std::string secret_file;
  std::string dev_dir;
  int timeout_s = 30;
  bool json = false;
};

// Registers --gateway, --secret-file, --dev-dir, --timeout-s and --json.
void AddAdminOptions(CLI::App* cmd, AdminOptions* options, int default_timeout_s);

struct AdminTarget {
  std::string endpoint;  // host:port
  std::string secret;
};

// Resolves the flags as above; kInvalidArgument naming what is missing.
Result<AdminTarget> ResolveAdminTarget(const AdminOptions& options);

// GET `target` (path and query) with the cluster secret. Returns the body of
// a 200; any other status becomes an error carrying the gateway's message.
Result<std::string> AdminGet(const AdminTarget& admin, const std::string& target,
                             std::chrono::seconds timeout);
// The same with another method (e.g. POST) and an optional request body.
Result<std::string> AdminRequest(const AdminTarget& admin, const std::string& method,
                                 const std::string& target, std::chrono::seconds timeout,
                                 const std::string& request_body = "");

// One admin request for command `command` (e.g. "hold place"): prints the
// answer as is with --json, else hands the parsed JSON object to `print`.
// Exit codes: 0, 1 (the gateway refused or answered nonsense; its message is
// printed), 2 (no gateway or secret configured).
int RunAdminCommand(const AdminOptions& options, const std::string& command, const std::string& method,
                    const std::string& target, const std::function<void(const nlohmann::json&)>& print);

// "2026-11-21 20:45:21Z" for a Unix time in milliseconds (UTC).
std::string FormatUtcTime(int64_t unix_ms);

}  // namespace holdfast::cli
