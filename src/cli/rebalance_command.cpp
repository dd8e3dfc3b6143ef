// `holdfast rebalance [--dry-run] [--no-wait]`: moves shards of objects
// written before nodes or providers joined to where placement would put them
// today (gateway/rebalance.h), and follows the run, printing progress; exit
// 0 when it ends, 3 when it ended with skipped shards (they are listed by
// reason in the last line; repair or a later run handles them).
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/admin_client.h"
#include "cli/commands.h"

namespace holdfast::cli {
namespace {

using json = nlohmann::json;

struct RebalanceArgs {
  bool dry_run = false;
  bool no_wait = false;
  int poll_ms = 1000;
};

void PrintProgress(const json& p) {
  std::cout << (p.value("dry_run", false) ? "dry run: " : "") << p.value("versions_scanned", 0)
            << " versions scanned, " << p.value("shards_misplaced", 0) << " shards misplaced, "
            << p.value("shards_moved", 0) << " moved (" << (p.value("bytes_moved", uint64_t{0}) >> 20) << " MiB), "
            << p.value("shards_skipped", 0) << " skipped\n";
}

int Rebalance(const AdminOptions& options, const RebalanceArgs& args) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast rebalance: " << admin.error().message << "\n";
    return 2;
  }
  const auto timeout = std::chrono::seconds(options.timeout_s);
  auto started = AdminRequest(*admin, "POST", args.dry_run ? "/_holdfast/v1/rebalance?dry-run=true"
                                                            : "/_holdfast/v1/rebalance", timeout);
  if (!started) {
    std::cerr << "holdfast rebalance: " << started.error().message << "\n";
    return 1;
  }
  const json first = json::parse(*started, nullptr, false);
  const uint64_t runs_before = first.is_object() ? first.value("runs", uint64_t{0}) : 0;
  if (args.no_wait) {
    if (options.json) {
      std::cout << *started << "\n";
    } else {
      std::cout << "Rebalance requested; follow it with GET /_holdfast/v1/rebalance.\n";
    }
    return 0;
  }
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(args.poll_ms));
    auto body = AdminGet(*admin, "/_holdfast/v1/rebalance", timeout);
    if (!body) {
      std::cerr << "holdfast rebalance: " << body.error().message << "\n";
      return 1;
    }
    const json progress = json::parse(*body, nullptr, false);
    if (!progress.is_object()) {
      std::cerr << "holdfast rebalance: unexpected answer: " << body->substr(0, 200) << "\n";
      return 1;
    }
    const bool done = progress.value("runs", uint64_t{0}) > runs_before && !progress.value("running", false) &&
                      !progress.value("requested", false);
    if (!done) {
      if (!options.json) PrintProgress(progress);
      continue;
    }
    if (options.json) {
      std::cout << *body << "\n";
    } else {
      std::cout << "Rebalance done: ";
      PrintProgress(progress);
      if (progress.value("shards_skipped", 0) > 0) {
        std::cout << "Skipped shards stay where they are (e.g. " << progress.value("last_skip", "") << ").\n";
      }
    }
    return progress.value("shards_skipped", 0) > 0 ? 3 : 0;
  }
}

}  // namespace

void AddRebalanceCommand(CLI::App& app, Action* run) {
  CLI::App* cmd = app.add_subcommand(
      "rebalance", "Move shards of older objects to where placement puts them today (after nodes joined)");
  auto options = std::make_shared<AdminOptions>();
  auto args = std::make_shared<RebalanceArgs>();
  cmd->add_flag("--dry-run", args->dry_run, "Count what would move; move nothing");
  cmd->add_flag("--no-wait", args->no_wait, "Start it and return");
  cmd->add_option("--poll-ms", args->poll_ms, "How often to print progress, in milliseconds")
      ->check(CLI::Range(50, 600000));
  AddAdminOptions(cmd, options.get(), 30);
  cmd->callback([=] { *run = [=] { return Rebalance(*options, *args); }; });
}

}  // namespace holdfast::cli
