// `holdfast user add NAME`: gives an S3 user a new access key through the
// admin API (POST /_holdfast/v1/users, docs/admin-api.md) and prints it. The
// secret is shown once; Holdfast keeps it (SigV4 needs it) but never prints
// it again. `holdfast user set NAME --allow-bypass-governance` (or
// `--deny-bypass-governance`) decides whether the user may bypass GOVERNANCE
// Object Lock retention (docs/object-lock.md); `holdfast user show NAME`
// prints it.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "net/message.h"

namespace holdfast::cli {
namespace {

std::string UserTarget(const std::string& name) {
  return "/_holdfast/v1/users?user=" + net::PercentEncode(name, false);
}

int RunUserAdd(const AdminOptions& options, const std::string& name, bool allow_bypass) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast user add: " << admin.error().message << "\n";
    return 2;
  }
  std::string target = UserTarget(name);
  if (allow_bypass) target += "&allow-bypass-governance=true";
  auto body = AdminRequest(*admin, "POST", target, std::chrono::seconds(options.timeout_s));
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
  if (allow_bypass) std::cout << "The user may bypass GOVERNANCE retention (never COMPLIANCE or legal holds).\n";
  return 0;
}

// `set` (PUT with a new value) and `show` (GET).
int RunUserPermission(const AdminOptions& options, const std::string& command, const std::string& name,
                      std::optional<bool> allow_bypass) {
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast user " << command << ": " << admin.error().message << "\n";
    return 2;
  }
  std::string target = UserTarget(name);
  if (allow_bypass) target += *allow_bypass ? "&allow-bypass-governance=true" : "&allow-bypass-governance=false";
  auto body = AdminRequest(*admin, allow_bypass ? "PUT" : "GET", target, std::chrono::seconds(options.timeout_s));
  if (!body) {
    std::cerr << "holdfast user " << command << ": " << body.error().message << "\n";
    return 1;
  }
  if (options.json) {
    std::cout << *body << "\n";
    return 0;
  }
  const nlohmann::json answer = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer.contains("may_bypass_governance")) {
    std::cerr << "holdfast user " << command << ": unexpected answer from the gateway: " << body->substr(0, 200) << "\n";
    return 1;
  }
  const bool may = answer.value("may_bypass_governance", false);
  std::cout << "User " << answer.value("user_id", name)
            << (may ? " may bypass GOVERNANCE retention (with x-amz-bypass-governance-retention: true).\n"
                    : " may not bypass GOVERNANCE retention.\n")
            << "Nobody can bypass COMPLIANCE retention or a legal hold.\n";
  return 0;
}

}  // namespace

void AddUserCommand(CLI::App& app, Action* run) {
  CLI::App* user = app.add_subcommand("user", "Manage S3 users, their access keys and permissions");
  user->require_subcommand(1);
  auto options = std::make_shared<AdminOptions>();
  auto name = std::make_shared<std::string>();
  auto allow = std::make_shared<bool>(false);
  auto deny = std::make_shared<bool>(false);

  CLI::App* add = user->add_subcommand("add", "Give a user (new or existing) a new S3 access key");
  add->add_option("name", *name, "User name (a-z, 0-9, '.', '_', '-')")->required();
  add->add_flag("--allow-bypass-governance", *allow,
                "Also let the user bypass GOVERNANCE Object Lock retention (S3's s3:BypassGovernanceRetention)");
  AddAdminOptions(add, options.get(), 30);
  add->callback([=] { *run = [=] { return RunUserAdd(*options, *name, *allow); }; });

  CLI::App* set = user->add_subcommand("set", "Change a user's permissions");
  set->add_option("name", *name, "User name")->required();
  auto* allow_flag = set->add_flag("--allow-bypass-governance", *allow,
                                   "The user may bypass GOVERNANCE retention (with x-amz-bypass-governance-retention)");
  auto* deny_flag = set->add_flag("--deny-bypass-governance", *deny, "The user may not bypass GOVERNANCE retention");
  allow_flag->excludes(deny_flag);
  AddAdminOptions(set, options.get(), 30);
  set->callback([=] {
    if (!*allow && !*deny) throw CLI::ValidationError("give --allow-bypass-governance or --deny-bypass-governance");
    *run = [=] { return RunUserPermission(*options, "set", *name, std::optional<bool>(*allow)); };
  });

  CLI::App* show = user->add_subcommand("show", "Print a user's permissions");
  show->add_option("name", *name, "User name")->required();
  AddAdminOptions(show, options.get(), 30);
  show->callback([=] { *run = [=] { return RunUserPermission(*options, "show", *name, std::nullopt); }; });
}

}  // namespace holdfast::cli
