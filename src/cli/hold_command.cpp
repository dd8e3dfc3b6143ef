// `holdfast hold place|release|list`: the operator's preservation holds
// (docs/holds.md) through the admin API (/_holdfast/v1/holds). A hold names
// exactly one scope -- an object version, a bucket, a user's account, or a
// provider (a preservation order on everything with shards there) -- and
// must say which case it serves, who asked and why; releasing one records
// who and why as well. Both are written to the notice ledger, and the
// command prints the ledger index of the entry (--json prints the receipt).
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "net/message.h"

namespace holdfast::cli {
namespace {

using json = nlohmann::json;

struct PlaceArgs {
  std::string object;  // BUCKET/KEY
  std::string version_id;
  std::string bucket;
  std::string user;
  std::string provider;
  std::string case_reference;
  std::string requested_by;
  std::string reason;
};

std::string Encode(const std::string& value) { return net::PercentEncode(value, false); }

std::string Describe(const json& hold) {
  const std::string scope = hold.value("scope", "");
  if (scope == "version") {
    return "version " + hold.value("version_id", "") + " of " + hold.value("bucket", "") + "/" +
           hold.value("key", "");
  }
  return scope + " " + hold.value("target", "");
}

void PrintLedger(const json& answer) {
  if (answer.contains("receipt")) {
    std::cout << "Recorded in the notice ledger as entry " << answer["receipt"].value("index", 0)
              << " (--json prints the signed receipt).\n";
  } else if (answer.contains("ledger_error")) {
    std::cout << "WARNING: the ledger could not record it: " << answer.value("ledger_error", "") << "\n";
  }
}

int RunPlace(const AdminOptions& options, const PlaceArgs& args) {
  std::string target = "/_holdfast/v1/holds?";
  if (!args.object.empty()) {
    const size_t slash = args.object.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == args.object.size()) {
      std::cerr << "holdfast hold place: --object must be BUCKET/KEY; got '" << args.object << "'\n";
      return 2;
    }
    target += "scope=version&bucket=" + Encode(args.object.substr(0, slash)) +
              "&key=" + Encode(args.object.substr(slash + 1));
    if (!args.version_id.empty()) target += "&version-id=" + Encode(args.version_id);
  } else if (!args.bucket.empty()) {
    target += "scope=bucket&target=" + Encode(args.bucket);
  } else if (!args.user.empty()) {
    target += "scope=user&target=" + Encode(args.user);
  } else {
    target += "scope=provider&target=" + Encode(args.provider);
  }
  target += "&case=" + Encode(args.case_reference) + "&requested-by=" + Encode(args.requested_by) +
            "&reason=" + Encode(args.reason);
  return RunAdminCommand(options, "hold place", "POST", target, [](const json& answer) {
    const json& hold = answer["hold"];
    std::cout << "Hold " << hold.value("id", "") << " placed on " << Describe(hold) << " (case "
              << hold.value("case", "") << ", requested by " << hold.value("requested_by", "") << ").\n";
    if (hold.value("scope", "") == "provider") {
      std::cout << "It covers the " << hold.value("versions_recorded", 0)
                << " object version(s) with shards there now, and any placed there later.\n";
    }
    std::cout << "Nothing it covers can be deleted until it is released.\n";
    PrintLedger(answer);
  });
}

int RunRelease(const AdminOptions& options, const std::string& id, const std::string& by,
               const std::string& reason) {
  const std::string target = "/_holdfast/v1/holds?id=" + Encode(id) + "&released-by=" + Encode(by) +
                             "&reason=" + Encode(reason);
  return RunAdminCommand(options, "hold release", "DELETE", target, [](const json& answer) {
    const json& hold = answer["hold"];
    std::cout << "Hold " << hold.value("id", "") << " on " << Describe(hold) << " released by "
              << hold.value("released_by", "") << ".\n";
    PrintLedger(answer);
  });
}

int RunList(const AdminOptions& options, bool all) {
  const std::string target = std::string("/_holdfast/v1/holds") + (all ? "?all=true" : "");
  return RunAdminCommand(options, "hold list", "GET", target, [all](const json& answer) {
    const json& holds = answer["holds"];
    if (holds.empty()) {
      std::cout << (all ? "No hold was ever placed.\n" : "No active holds.\n");
      return;
    }
    for (const json& hold : holds) {
      std::cout << hold.value("id", "") << "  " << Describe(hold) << "\n"
                << "    case " << hold.value("case", "") << ", requested by " << hold.value("requested_by", "")
                << " at " << FormatUtcTime(hold.value("placed_unix_ms", int64_t{0})) << ": "
                << hold.value("reason", "") << "\n";
      if (!hold.value("active", true)) {
        std::cout << "    released by " << hold.value("released_by", "") << " at "
                  << FormatUtcTime(hold.value("released_unix_ms", int64_t{0})) << ": "
                  << hold.value("release_reason", "") << "\n";
      }
    }
  });
}

}  // namespace

void AddHoldCommand(CLI::App& app, Action* run) {
  CLI::App* hold = app.add_subcommand("hold", "Place, release and list preservation holds (docs/holds.md)");
  hold->require_subcommand(1);
  auto options = std::make_shared<AdminOptions>();

  auto args = std::make_shared<PlaceArgs>();
  CLI::App* place = hold->add_subcommand("place", "Place a hold: covered data cannot be deleted until released");
  auto* object = place->add_option("--object", args->object, "An object version: BUCKET/KEY (current version "
                                                              "unless --version-id)");
  place->add_option("--version-id", args->version_id, "With --object: the S3 version id (\"null\" too)")
      ->needs(object);
  auto* bucket = place->add_option("--bucket", args->bucket, "Every version in a bucket");
  auto* user = place->add_option("--user", args->user, "Every version in every bucket of a user");
  auto* provider = place->add_option("--provider", args->provider,
                                     "A preservation order: every version with shards on the provider");
  place->add_option("--case", args->case_reference, "Case reference")->required();
  place->add_option("--requested-by", args->requested_by, "Who asked for the hold")->required();
  place->add_option("--reason", args->reason, "Why")->required();
  AddAdminOptions(place, options.get(), 30);
  place->callback([=] {
    const int scopes = static_cast<int>(object->count() + bucket->count() + user->count() + provider->count());
    if (scopes != 1) throw CLI::ValidationError("give exactly one of --object, --bucket, --user, --provider");
    *run = [=] { return RunPlace(*options, *args); };
  });

  auto id = std::make_shared<std::string>();
  auto by = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  CLI::App* release = hold->add_subcommand("release", "Release a hold (recorded with who and why)");
  release->add_option("id", *id, "Hold id (from `holdfast hold list`)")->required();
  release->add_option("--by", *by, "Who released it")->required();
  release->add_option("--reason", *reason, "Why")->required();
  AddAdminOptions(release, options.get(), 30);
  release->callback([=] { *run = [=] { return RunRelease(*options, *id, *by, *reason); }; });

  auto all = std::make_shared<bool>(false);
  CLI::App* list = hold->add_subcommand("list", "List active holds");
  list->add_flag("--all", *all, "Also released holds");
  AddAdminOptions(list, options.get(), 30);
  list->callback([=] { *run = [=] { return RunList(*options, *all); }; });
}

}  // namespace holdfast::cli
