// `holdfast account create NAME [--operator]`: creates a web account
// (docs/web.md) or sets a new password (and role) for it. This is how the
// first operator comes to exist: there is no default password. The password
// is read from --password-file or the first line of standard input (a
// terminal echoes it: pipe it in or use the file to keep it off the screen),
// hashed here with Argon2id, and only the hash is sent to the admin API
// (POST /_holdfast/v1/accounts).
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <fstream>
#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "net/message.h"
#include "web/passwords.h"

namespace holdfast::cli {
namespace {

int RunAccountCreate(const AdminOptions& options, const std::string& name, bool operator_role,
                     const std::string& password_file) {
  std::string password;
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in || !std::getline(in, password)) {
      std::cerr << "holdfast account create: cannot read a password from " << password_file << "\n";
      return 2;
    }
  } else {
    if (isatty(STDIN_FILENO)) std::cerr << "Password for " << name << ": " << std::flush;
    if (!std::getline(std::cin, password)) {
      std::cerr << "\nholdfast account create: no password on standard input\n";
      return 2;
    }
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.size() < 8 || password.size() > 1024) {
    std::cerr << "holdfast account create: the password must be 8 to 1024 characters long\n";
    return 2;
  }
  auto admin = ResolveAdminTarget(options);
  if (!admin) {
    std::cerr << "holdfast account create: " << admin.error().message << "\n";
    return 2;
  }
  auto hash = web::HashPassword(password);
  if (!hash) {
    std::cerr << "holdfast account create: " << hash.error().message << "\n";
    return 1;
  }
  nlohmann::json request{{"password_hash", *hash}, {"role", operator_role ? "operator" : "user"}};
  std::string target = "/_holdfast/v1/accounts?user=" + net::PercentEncode(name, false);
  auto body = AdminRequest(*admin, "POST", target, std::chrono::seconds(options.timeout_s), request.dump());
  if (!body) {
    std::cerr << "holdfast account create: " << body.error().message << "\n";
    return 1;
  }
  if (options.json) {
    std::cout << *body << "\n";
    return 0;
  }
  const nlohmann::json answer = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object()) {
    std::cerr << "holdfast account create: unexpected answer from the gateway: " << body->substr(0, 200) << "\n";
    return 1;
  }
  std::cout << "Account " << answer.value("user_id", name) << " (" << answer.value("role", "user")
            << ") can sign in to the web interface.";
  const std::string home = answer.value("home_bucket", "");
  if (!home.empty()) std::cout << " Home bucket: " << home << ".";
  std::cout << "\n";
  return 0;
}

}  // namespace

void AddAccountCommand(CLI::App& app, Action* run) {
  CLI::App* account = app.add_subcommand("account", "Web interface accounts (docs/web.md)");
  account->require_subcommand(1);
  auto options = std::make_shared<AdminOptions>();
  auto name = std::make_shared<std::string>();
  auto operator_role = std::make_shared<bool>(false);
  auto password_file = std::make_shared<std::string>();
  CLI::App* create = account->add_subcommand(
      "create", "Create an account or set its password; the password is read from stdin or --password-file");
  create->add_option("name", *name, "Account (user) name")->required();
  create->add_flag("--operator", *operator_role, "Give the account the operator role (the dashboard)");
  create->add_option("--password-file", *password_file, "Read the password from the first line of this file");
  AddAdminOptions(create, options.get(), 30);
  create->callback([=] { *run = [=] { return RunAccountCreate(*options, *name, *operator_role, *password_file); }; });
}

}  // namespace holdfast::cli
