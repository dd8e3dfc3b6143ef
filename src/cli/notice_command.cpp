// `holdfast deletion-notice issue|list|cancel` and `holdfast user webhook
// add|remove|list`: deleting an account's or a provider's data with notice
// (docs/deletion-notices.md) through the admin API. `issue` prints the
// notice, when it takes effect and its ledger entry (--json: the signed
// receipt); `list` shows each notice's deliveries and what it waits for.
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"
#include "net/message.h"

namespace holdfast::cli {
namespace {

using json = nlohmann::json;

std::string Encode(const std::string& value) { return net::PercentEncode(value, false); }

void PrintNotice(const json& notice) {
  std::cout << notice.value("id", "") << "  delete " << notice.value("scope", "") << " "
            << notice.value("target", "") << "  [" << notice.value("state", "") << "]\n"
            << "    issued by " << notice.value("issued_by", "") << " at "
            << FormatUtcTime(notice.value("issued_unix_ms", int64_t{0})) << ": " << notice.value("reason", "") << "\n"
            << "    effective " << FormatUtcTime(notice.value("effective_unix_ms", int64_t{0})) << ", ledger entry "
            << notice.value("ledger_index", 0) << "\n";
  for (const json& delivery : notice["deliveries"]) {
    std::cout << "    -> " << delivery.value("url", "") << ": ";
    if (delivery.contains("delivered_unix_ms")) {
      std::cout << "delivered " << FormatUtcTime(delivery.value("delivered_unix_ms", int64_t{0}));
    } else {
      std::cout << "not delivered yet (" << delivery.value("attempts", 0) << " attempt(s)";
      if (!delivery.value("last_result", "").empty()) std::cout << ", last: " << delivery.value("last_result", "");
      std::cout << ")";
    }
    std::cout << "\n";
  }
  if (!notice.value("outcome", "").empty()) std::cout << "    " << notice.value("outcome", "") << "\n";
}

}  // namespace

void AddDeletionNoticeCommand(CLI::App& app, Action* run) {
  CLI::App* notices = app.add_subcommand(
      "deletion-notice", "Delete an account's or a provider's data with notice (docs/deletion-notices.md)");
  notices->require_subcommand(1);
  auto options = std::make_shared<AdminOptions>();

  struct IssueArgs {
    std::string user, provider, reason, issued_by;
    int64_t wait_s = -1;
    std::vector<std::string> notify;
  };
  auto args = std::make_shared<IssueArgs>();
  CLI::App* issue = notices->add_subcommand("issue", "Issue a deletion notice; it runs after the waiting period, "
                                                     "once every recipient has it and no hold applies");
  auto* user = issue->add_option("--user", args->user, "Delete this user's account and all its data");
  auto* provider = issue->add_option("--provider", args->provider,
                                     "Retire this provider (its disks may then be wiped); it must be drained");
  issue->add_option("--reason", args->reason, "Why")->required();
  issue->add_option("--issued-by", args->issued_by, "Who issues it")->required();
  issue->add_option("--wait-s", args->wait_s, "Waiting period in seconds (default: the gateway's minimum)");
  issue->add_option("--notify", args->notify, "Also deliver the notice to this http:// URL (repeatable)");
  AddAdminOptions(issue, options.get(), 30);
  issue->callback([=] {
    if (user->count() + provider->count() != 1) throw CLI::ValidationError("give exactly one of --user, --provider");
    *run = [=] {
      std::string target = "/_holdfast/v1/deletion-notices?scope=" +
                           std::string(args->user.empty() ? "provider" : "user") +
                           "&target=" + Encode(args->user.empty() ? args->provider : args->user) +
                           "&reason=" + Encode(args->reason) + "&issued-by=" + Encode(args->issued_by);
      if (args->wait_s >= 0) target += "&wait-s=" + std::to_string(args->wait_s);
      for (const std::string& url : args->notify) target += "&notify=" + Encode(url);
      return RunAdminCommand(*options, "deletion-notice issue", "POST", target, [](const json& answer) {
        const json& notice = answer["notice"];
        std::cout << "Deletion notice " << notice.value("id", "") << " issued: " << notice.value("scope", "") << " "
                  << notice.value("target", "") << " is deleted no earlier than "
                  << FormatUtcTime(notice.value("effective_unix_ms", int64_t{0})) << ",\nonce all "
                  << notice["deliveries"].size() << " recipient(s) have it and no hold or retention applies.\n"
                  << "Recorded in the notice ledger as entry " << notice.value("ledger_index", 0)
                  << " (--json prints the signed receipt).\n";
      });
    };
  });

  CLI::App* list = notices->add_subcommand("list", "List deletion notices with their deliveries");
  AddAdminOptions(list, options.get(), 30);
  list->callback([=] {
    *run = [=] {
      return RunAdminCommand(*options, "deletion-notice list", "GET", "/_holdfast/v1/deletion-notices", [](const json& answer) {
        if (answer["notices"].empty()) std::cout << "No deletion notices.\n";
        for (const json& notice : answer["notices"]) PrintNotice(notice);
      });
    };
  });

  auto id = std::make_shared<std::string>();
  auto by = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  CLI::App* cancel = notices->add_subcommand("cancel", "Cancel a waiting deletion notice");
  cancel->add_option("id", *id, "Notice id")->required();
  cancel->add_option("--by", *by, "Who cancels it")->required();
  cancel->add_option("--reason", *reason, "Why")->required();
  AddAdminOptions(cancel, options.get(), 30);
  cancel->callback([=] {
    *run = [=] {
      const std::string target = "/_holdfast/v1/deletion-notices?id=" + Encode(*id) + "&by=" + Encode(*by) +
                                 "&reason=" + Encode(*reason);
      return RunAdminCommand(*options, "deletion-notice cancel", "DELETE", target, [](const json& answer) {
        std::cout << "Deletion notice " << answer.value("cancelled", "") << " " << answer.value("outcome", "") << ".\n";
      });
    };
  });

  // Webhook endpoints live with the user.
  CLI::App* users = app.get_subcommand("user");
  CLI::App* webhook = users->add_subcommand("webhook", "Where a user's deletion notices are delivered");
  webhook->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  auto url = std::make_shared<std::string>();
  for (const char* verb : {"add", "remove", "list"}) {
    const std::string action = verb;
    CLI::App* cmd = webhook->add_subcommand(action, action == "list" ? "List a user's webhook endpoints"
                                                                     : action + " a webhook endpoint (http:// URL)");
    cmd->add_option("name", *name, "User name")->required();
    if (action != "list") cmd->add_option("url", *url, "http:// URL")->required();
    AddAdminOptions(cmd, options.get(), 30);
    cmd->callback([=] {
      *run = [=] {
        std::string target = "/_holdfast/v1/webhooks?user=" + Encode(*name);
        if (action != "list") target += "&url=" + Encode(*url);
        const std::string method = action == "add" ? "POST" : action == "remove" ? "DELETE" : "GET";
        return RunAdminCommand(*options, "user webhook " + action, method, target, [](const json& answer) {
          std::cout << "Webhook endpoints of user " << answer.value("user", "") << ":";
          if (answer["webhooks"].empty()) std::cout << " none";
          std::cout << "\n";
          for (const json& hook : answer["webhooks"]) std::cout << "  " << hook.get<std::string>() << "\n";
        });
      };
    });
  }
}

}  // namespace holdfast::cli
