// `holdfast user add NAME`: gives an S3 user a new access key through the
// admin API (POST /_holdfast/v1/users, docs/admin-api.md) and prints it. The
// secret is shown once; Holdfast keeps it (SigV4 needs it) but never prints
// it again.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "net/message.h"

namespace holdfast::cli {
namespace {

int RunUserAdd(const AdminOptions& options, const std::string& name) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast user add: " << admin.error().message << "\n";
    return 2;
  }
  auto body = AdminRequest(*admin, "POST", "/_holdfast/v1/users?user=" + net::PercentEncode(name, false),
                           std::chrono::seconds(options.timeout_s));
  if (!body) {
    std::cerr << "holdfast user add: " << body.error().message << "\n";
    return 1;
  }
  if (options.json) {
    std::cout << *body << "\n";
    return 0;
  }
  const nlohmann::json key = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!key.is_object() || !key.contains("access_key_id") || !key.contains("secret_access_key")) {
    std::cerr << "holdfast user add: unexpected answer from the gateway: " << body->substr(0, 200) << "\n";
    return 1;
  }
  std::cout << "New access key for user " << key.value("user_id", name) << "\n"
            << "  access key: " << key["access_key_id"].get<std::string>() << "\n"
            << "  secret key: " << key["secret_access_key"].get<std::string>() << "\n"
            << "Keep the secret now: it is not shown again.\n";
  return 0;
}

}  // namespace

void AddUserCommand(CLI::App& app, Action* run) {
  CLI::App* user = app.add_subcommand("user", "Manage S3 users and their access keys");
  user->require_subcommand(1);
  auto options = std::make_shared<AdminOptions>();
  auto name = std::make_shared<std::string>();
  CLI::App* add = user->add_subcommand("add", "Give a user (new or existing) a new S3 access key");
  add->add_option("name", *name, "User name (a-z, 0-9, '.', '_', '-')")->required();
  AddAdminOptions(add, options.get(), 30);
  add->callback([=] { *run = [=] { return RunUserAdd(*options, *name); }; });
}

}  // namespace holdfast::cli
