// `holdfast recover --owner USER`: rebuilds a lost catalogue from the shards
// on the nodes (gateway/recover.h, docs/recovery.md) and follows the job to
// its end, printing progress. Exit codes: 0 everything found came back,
// 3 done but some versions could not be recovered or some nodes were not
// scanned (listed), 1 the recovery failed, 2 bad usage.
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/reports.h"
#include "net/message.h"

namespace holdfast::cli {
namespace {

using Json = nlohmann::json;

std::string ProgressLine(const Json& p) {
  return "  nodes scanned " + std::to_string(p.value("nodes_scanned", 0)) + "/" +
         std::to_string(p.value("nodes_total", 0)) + ", shards seen " +
         std::to_string(p.value("shards_seen", uint64_t{0})) + ", versions recovered " +
         std::to_string(p.value("versions_recovered", uint64_t{0})) + " (" +
         HumanBytes(p.value("bytes_recovered", 0.0)) + ")";
}

int Summarise(const Json& p) {
  if (!p.value("backup_restored", "").empty()) {
    std::cout << "Restored the metadata backup " << p.value("backup_restored", "") << " (taken at unix ms "
              << p.value("backup_created_unix_ms", int64_t{0}) << "), then added what was written after it.\n";
  } else {
    std::cout << "No metadata backup restored: " << p.value("backup_note", "") << ".\n";
  }
  std::cout << "Recovery " << p.value("state", "?") << ": " << p.value("versions_recovered", uint64_t{0})
            << " object versions recovered (" << p.value("multipart_objects_recovered", uint64_t{0})
            << " multipart, " << HumanBytes(p.value("bytes_recovered", 0.0)) << "), "
            << p.value("versions_present", uint64_t{0}) << " already in the catalogue, "
            << p.value("versions_superseded", uint64_t{0}) << " superseded.\n";
  if (p.contains("buckets_created") && !p["buckets_created"].empty()) {
    std::cout << "Buckets created:";
    for (const Json& b : p["buckets_created"]) std::cout << " " << b.get<std::string>();
    std::cout << "\n";
  }
  int code = 0;
  if (p.contains("nodes_not_scanned") && !p["nodes_not_scanned"].empty()) {
    std::cout << "Nodes NOT scanned (down or failing; run recover again once they are up):";
    for (const Json& n : p["nodes_not_scanned"]) std::cout << " " << n.get<std::string>();
    std::cout << "\n";
    code = 3;
  }
  const uint64_t unrecoverable = p.value("unrecoverable_count", uint64_t{0});
  if (unrecoverable > 0) {
    std::cout << unrecoverable << " version(s) could not be recovered:\n";
    for (const Json& u : p["unrecoverable"]) {
      std::cout << "  " << u.value("bucket", "") << "/" << u.value("key", "") << " (version "
                << u.value("version_id", "") << "): " << u.value("reason", "") << " ("
                << u.value("shards_found", 0) << " found, " << u.value("k", 0) << " needed)\n";
    }
    code = 3;
  }
  return code;
}

int RunRecover(const AdminOptions& options, const std::string& owner, int poll_ms) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast recover: " << admin.error().message << "\n";
    return 2;
  }
  auto started = AdminRequest(*admin, "POST", "/_holdfast/v1/recover?owner=" + net::PercentEncode(owner, false),
                              std::chrono::seconds(options.timeout_s));
  if (!started) {
    std::cerr << "holdfast recover: " << started.error().message << "\n";
    return 1;
  }
  if (!options.json) std::cout << "Recovering the catalogue from the shards on the nodes...\n";
  std::string last;
  while (true) {
    auto body = AdminGet(*admin, "/_holdfast/v1/recover", std::chrono::seconds(options.timeout_s));
    if (!body) {
      std::cerr << "holdfast recover: " << body.error().message << "\n";
      return 1;
    }
    const Json progress = Json::parse(*body, nullptr, /*allow_exceptions=*/false);
    const std::string state = progress.value("state", "");
    if (options.json) {
      std::cout << progress.dump() << std::endl;
    } else if (std::string line = ProgressLine(progress); line != last) {
      std::cout << line << std::endl;
      last = line;
    }
    if (state == "failed") {
      std::cerr << "holdfast recover: recovery failed: " << progress.value("error", "") << "\n";
      return 1;
    }
    if (state == "done") {
      if (options.json) {
        const bool complete = progress.value("unrecoverable_count", 0) == 0 &&
                              progress.value("nodes_not_scanned", Json::array()).empty();
        return complete ? 0 : 3;
      }
      return Summarise(progress);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

}  // namespace

void AddRecoverCommand(CLI::App& app, Action* run) {
  auto options = std::make_shared<AdminOptions>();
  auto owner = std::make_shared<std::string>();
  auto poll_ms = std::make_shared<int>(500);
  CLI::App* cmd = app.add_subcommand(
      "recover", "Rebuild a lost metadata store from the self-describing shards on the nodes");
  cmd->add_option("--owner", *owner, "User who owns the buckets recovery creates (shards do not record owners)")
      ->required();
  cmd->add_option("--poll-ms", *poll_ms, "How often to print progress, in milliseconds")
      ->check(CLI::Range(50, 60000));
  AddAdminOptions(cmd, options.get(), 30);
  cmd->callback([=] { *run = [=] { return RunRecover(*options, *owner, *poll_ms); }; });
}

}  // namespace holdfast::cli
