// `holdfast status`: the cluster's health as the gateway sees it, from
// GET /_holdfast/v1/status (docs/admin-api.md). A report by default, the
// endpoint's JSON with --json.
#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/reports.h"
#include "common/clock.h"

namespace holdfast::cli {
namespace {

int RunStatus(const AdminOptions& options) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast status: " << admin.error().message << "\n";
    return 2;
  }
  auto body = AdminGet(*admin, "/_holdfast/v1/status", std::chrono::seconds(options.timeout_s));
  if (!body) {
    std::cerr << "holdfast status: " << body.error().message << "\n";
    return 1;
  }
  if (options.json) {
    std::cout << *body << "\n";
    return 0;
  }
  const nlohmann::json status = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!status.is_object()) {
    std::cerr << "holdfast status: the gateway's answer is not a JSON object: " << body->substr(0, 200) << "\n";
    return 1;
  }
  std::cout << RenderStatusReport(status, admin->endpoint, SystemClock().NowUnixMs());
  return 0;
}

}  // namespace

void AddStatusCommand(CLI::App& app, Action* run) {
  auto options = std::make_shared<AdminOptions>();
  CLI::App* cmd = app.add_subcommand(
      "status", "Show nodes by provider, objects by remaining margin, repair and drain queues");
  AddAdminOptions(cmd, options.get(), 30);
  cmd->callback([=] { *run = [=] { return RunStatus(*options); }; });
}

}  // namespace holdfast::cli
