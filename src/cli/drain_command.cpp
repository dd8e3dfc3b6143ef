// `holdfast node drain|undrain|retire ID` and `holdfast provider
// drain|undrain|retire NAME` (gateway/drain.h, docs/admin-api.md).
//
// `drain` starts the drain and then follows it until nothing is left
// (exit 0), printing what is left, the rate and an estimate every few
// seconds; it stops following with exit 3 when a complete pass ended with
// shards it could not move, and lists them with the reason (the drain itself
// goes on retrying in the gateway). --no-wait returns once the drain is
// recorded. --json prints the scope's progress objects, one per line.
#include <nlohmann/json.hpp>

#include <algorithm>
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

struct ScopeCommand {
  std::string scope;  // "node" or "provider"
  std::string name;
  bool no_wait = false;
  int poll_ms = 1000;
  // How long shards that only wait for repair may block all progress
  // before the command stops following.
  int patience_s = 120;
};

std::string Query(const ScopeCommand& command) {
  return "?" + command.scope + "=" + net::PercentEncode(command.name, false);
}

std::string Label(const ScopeCommand& command) { return command.scope + " " + command.name; }

// This scope's entry in the drain object, or null.
Json FindDrain(const Json& drain, const ScopeCommand& command) {
  if (!drain.contains("drains") || !drain["drains"].is_array()) return nullptr;
  for (const Json& entry : drain["drains"]) {
    if (entry.value("scope", "") == command.scope && entry.value("name", "") == command.name) return entry;
  }
  return nullptr;
}

// Shards the gateway could not move off this scope's nodes.
Json BlockedHere(const Json& drain, const Json& entry) {
  Json out = Json::array();
  if (!drain.contains("blocked") || !entry.contains("nodes")) return out;
  for (const Json& blocked : drain["blocked"]) {
    for (const Json& node : entry["nodes"]) {
      if (blocked.value("node_id", "") == node.get<std::string>()) out.push_back(blocked);
    }
  }
  return out;
}

std::string ProgressLine(const Json& drain, const Json& entry) {
  std::string line = "  " + std::to_string(entry.value("objects_left", int64_t{0})) + " objects, " +
                     std::to_string(entry.value("shards_left", int64_t{0})) + " shards, " +
                     HumanBytes(entry.value("bytes_left", 0.0)) + " left";
  if (entry.value("pending_shards", int64_t{0}) > 0) {
    line += " (+" + std::to_string(entry.value("pending_shards", int64_t{0})) + " shards of writes in flight)";
  }
  line += "; moved " + HumanBytes(drain.value("bytes_moved", 0.0)) + " at " +
          HumanRate(drain.value("rate_bytes_per_second", 0.0));
  if (drain.contains("eta_seconds") && drain["eta_seconds"].is_number()) {
    line += ", about " + HumanDuration(drain["eta_seconds"].get<double>()) + " to go";
  }
  return line;
}

int Follow(const AdminTarget& admin, const ScopeCommand& command, const AdminOptions& options) {
  int64_t passes_at_start = -1;
  std::string last_line;
  int64_t last_shards_left = -1;
  auto last_progress = std::chrono::steady_clock::now();
  while (true) {
    auto body = AdminGet(admin, "/_holdfast/v1/drains", std::chrono::seconds(options.timeout_s));
    if (!body) {
      std::cerr << "holdfast " << command.scope << " drain: " << body.error().message << "\n";
      return 1;
    }
    const Json drain = Json::parse(*body, nullptr, /*allow_exceptions=*/false);
    const Json entry = FindDrain(drain, command);
    if (!entry.is_object()) {
      std::cerr << "holdfast " << command.scope << " drain: the gateway no longer drains " << Label(command)
                << " (cancelled?)\n";
      return 1;
    }
    const int64_t passes = drain.value("passes", int64_t{0});
    if (passes_at_start < 0) passes_at_start = passes;
    const Json blocked = BlockedHere(drain, entry);
    const int64_t shards_left = entry.value("shards_left", int64_t{0});
    if (shards_left != last_shards_left) {
      last_shards_left = shards_left;
      last_progress = std::chrono::steady_clock::now();
    }
    if (options.json) {
      Json line = entry;
      line["bytes_moved"] = drain.value("bytes_moved", 0);
      line["rate_bytes_per_second"] = drain.value("rate_bytes_per_second", 0.0);
      line["eta_seconds"] = drain.value("eta_seconds", Json());
      line["blocked"] = blocked;
      std::cout << line.dump() << std::endl;
    } else {
      std::string text = ProgressLine(drain, entry);
      if (text != last_line) std::cout << text << std::endl;
      last_line = text;
    }
    if (entry.value("ready_to_retire", false)) {
      if (!options.json) {
        std::cout << Label(command) << " is drained: nothing is left on it. Retire it with `holdfast "
                  << command.scope << " retire " << command.name << "` before wiping it.\n";
      }
      return 0;
    }
    // Only after a pass that began once we were watching: earlier findings
    // may have been fixed since. Shards that only wait for repair get time.
    const bool stuck = std::any_of(blocked.begin(), blocked.end(),
                                   [](const Json& b) { return !b.value("waits_for_repair", false); });
    const bool stalled = std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(command.patience_s);
    if (!blocked.empty() && passes >= passes_at_start + 2 && (stuck || stalled)) {
      if (!options.json) {
        std::cout << "The drain of " << Label(command) << " cannot finish: " << blocked.size()
                  << " shard(s) could not be moved:\n";
        for (const Json& move : blocked) {
          std::cout << "  " << move.value("bucket", "") << "/" << move.value("key", "") << " (version "
                    << move.value("version_id", "") << ", shard " << move.value("shard_index", 0) << " on "
                    << move.value("node_id", "") << "): " << move.value("reason", "") << "\n";
        }
        std::cout << "The gateway keeps retrying them; nothing is skipped. Fix the cause and run this "
                     "command again to follow the drain.\n";
      }
      return 3;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(command.poll_ms));
  }
}

int RunDrain(const AdminOptions& options, const ScopeCommand& command) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast " << command.scope << " drain: " << admin.error().message << "\n";
    return 2;
  }
  auto body = AdminRequest(*admin, "POST", "/_holdfast/v1/drains" + Query(command),
                           std::chrono::seconds(options.timeout_s));
  if (!body) {
    std::cerr << "holdfast " << command.scope << " drain: " << body.error().message << "\n";
    return 1;
  }
  if (!options.json) {
    std::cout << "Draining " << Label(command)
              << ": it takes no new shards, and its shards move to other nodes.\n";
  }
  if (command.no_wait) {
    if (options.json) std::cout << *body << "\n";
    return 0;
  }
  return Follow(*admin, command, options);
}

int RunUndrain(const AdminOptions& options, const ScopeCommand& command) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast " << command.scope << " undrain: " << admin.error().message << "\n";
    return 2;
  }
  auto body = AdminRequest(*admin, "DELETE", "/_holdfast/v1/drains" + Query(command),
                           std::chrono::seconds(options.timeout_s));
  if (!body) {
    std::cerr << "holdfast " << command.scope << " undrain: " << body.error().message << "\n";
    return 1;
  }
  if (options.json) {
    std::cout << *body << "\n";
  } else {
    std::cout << "Stopped draining " << Label(command)
              << ": it takes new shards again; shards already moved stay where they are.\n";
  }
  return 0;
}

int RunRetire(const AdminOptions& options, const ScopeCommand& command) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast " << command.scope << " retire: " << admin.error().message << "\n";
    return 2;
  }
  auto body = AdminRequest(*admin, "POST", "/_holdfast/v1/drains/retire" + Query(command),
                           std::chrono::seconds(options.timeout_s));
  if (!body) {
    std::cerr << "holdfast " << command.scope << " retire: " << body.error().message << "\n";
    return 1;
  }
  if (options.json) {
    std::cout << *body << "\n";
    return 0;
  }
  const Json answer = Json::parse(*body, nullptr, /*allow_exceptions=*/false);
  std::string nodes;
  if (answer.is_object() && answer.contains("nodes")) {
    for (const Json& node : answer["nodes"]) nodes += (nodes.empty() ? "" : ", ") + node.get<std::string>();
  }
  std::cout << Label(command) << " is retired. Nothing the cluster needs is on "
            << (nodes.empty() ? std::string("its nodes") : "its nodes (" + nodes + ")")
            << "; they can be wiped.\n";
  return 0;
}

void AddScopeSubcommands(CLI::App* parent, const std::string& scope, const std::string& what, Action* run) {
  auto options = std::make_shared<AdminOptions>();
  auto command = std::make_shared<ScopeCommand>();
  command->scope = scope;

  CLI::App* drain = parent->add_subcommand(
      "drain", "Move every shard off this " + what + " and give it no new ones; shows progress until done");
  drain->add_option("name", command->name, what + " to drain")->required();
  drain->add_flag("--no-wait", command->no_wait, "Return once the drain is recorded");
  drain->add_option("--poll-ms", command->poll_ms, "How often to print progress, in milliseconds")
      ->check(CLI::Range(50, 60000));
  drain->add_option("--patience-s", command->patience_s,
                    "Stop following after this long without progress while shards wait for repair (default 120)")
      ->check(CLI::Range(1, 86400));
  AddAdminOptions(drain, options.get(), 30);
  drain->callback([=] { *run = [=] { return RunDrain(*options, *command); }; });

  CLI::App* undrain = parent->add_subcommand("undrain", "Stop draining this " + what);
  undrain->add_option("name", command->name, what)->required();
  AddAdminOptions(undrain, options.get(), 30);
  undrain->callback([=] { *run = [=] { return RunUndrain(*options, *command); }; });

  CLI::App* retire = parent->add_subcommand(
      "retire", "Record that this drained " + what + " may be wiped; refused while anything is left on it");
  retire->add_option("name", command->name, what)->required();
  AddAdminOptions(retire, options.get(), 30);
  retire->callback([=] { *run = [=] { return RunRetire(*options, *command); }; });
}

}  // namespace

void AddDrainCommands(CLI::App& app, Action* run) {
  // `holdfast node` also runs a storage node (server_commands.cpp) when no
  // subcommand is given.
  CLI::App* node = app.get_subcommand("node");
  AddScopeSubcommands(node, "node", "node", run);
  CLI::App* provider = app.add_subcommand("provider", "Drain and retire a whole provider");
  provider->require_subcommand(1);
  AddScopeSubcommands(provider, "provider", "provider", run);
}

}  // namespace holdfast::cli
