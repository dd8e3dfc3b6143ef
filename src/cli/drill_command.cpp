// `holdfast drill --lose provider=P [--lose node=N ...]`: what losing those
// nodes would do -- unreadable and degraded object versions, the bytes
// repair would move across provider boundaries and how long it would take
// -- computed by the gateway from metadata alone (GET /_holdfast/v1/drill,
// docs/admin-api.md). Nothing is read from or written to any node.
#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/reports.h"
#include "net/message.h"

namespace holdfast::cli {
namespace {

struct DrillOptions {
  AdminOptions admin;
  std::vector<std::string> lose;  // provider=P or node=N
  int limit = 100;
  std::string repairer_provider;
};

// provider=P / node=N (or with ':') -> the query's provider:P / node:N.
bool LoseTerm(const std::string& text, std::string* term) {
  const size_t sep = text.find_first_of("=:");
  if (sep == std::string::npos || sep + 1 == text.size()) return false;
  const std::string kind = text.substr(0, sep);
  if (kind != "provider" && kind != "node") return false;
  *term = kind + ":" + text.substr(sep + 1);
  return true;
}

int RunDrill(const DrillOptions& options) {
  std::string target = "/_holdfast/v1/drill?limit=" + std::to_string(options.limit);
  for (const std::string& lose : options.lose) {
    std::string term;
    if (!LoseTerm(lose, &term)) {
      std::cerr << "holdfast drill: --lose " << lose << ": expected provider=NAME or node=ID\n";
      return 2;
    }
    target += "&lose=" + net::PercentEncode(term, false);
  }
  if (!options.repairer_provider.empty()) {
    target += "&repairer_provider=" + net::PercentEncode(options.repairer_provider, false);
  }
  auto admin = ResolveAdminTarget(options.admin);
  if (!admin) {
    std::cerr << "holdfast drill: " << admin.error().message << "\n";
    return 2;
  }
  auto body = AdminGet(*admin, target, std::chrono::seconds(options.admin.timeout_s));
  if (!body) {
    std::cerr << "holdfast drill: " << body.error().message << "\n";
    return body.error().code == Errc::kInvalidArgument ? 2 : 1;
  }
  if (options.admin.json) {
    std::cout << *body << "\n";
    return 0;
  }
  const nlohmann::json drill = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!drill.is_object()) {
    std::cerr << "holdfast drill: the gateway's answer is not a JSON object: " << body->substr(0, 200) << "\n";
    return 1;
  }
  std::cout << RenderDrillReport(drill);
  return 0;
}

}  // namespace

void AddDrillCommand(CLI::App& app, Action* run) {
  auto options = std::make_shared<DrillOptions>();
  CLI::App* cmd = app.add_subcommand(
      "drill", "Predict, from metadata only, what losing a provider or nodes would do");
  cmd->add_option("--lose", options->lose,
                  "What to lose: provider=NAME or node=ID (repeat for more; nodes down now count as lost too)")
      ->required()
      ->allow_extra_args(false);  // one term per --lose
  cmd->add_option("--limit", options->limit, "List at most this many unreadable (and degraded) object versions")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--repairer-provider", options->repairer_provider,
                  "The provider the repairing gateway runs in (bytes read there do not cross a provider "
                  "boundary; default: none)");
  AddAdminOptions(cmd, &options->admin, 600);
  cmd->callback([=] { *run = [=] { return RunDrill(*options); }; });
}

}  // namespace holdfast::cli
