// cli: the `holdfast` executable's subcommands.  Start here for cli/.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace holdfast::cli {

// Each Add* registers a subcommand on `app` and stores the action to run
// when it is chosen into `run` (returning the process exit code).
using Action = std::function<int()>;
void AddNodeCommand(CLI::App& app, Action* run);
void AddGatewayCommand(CLI::App& app, Action* run);
void AddDevCommand(CLI::App& app, Action* run);
// Operators' commands against a gateway's admin API (cli/admin_client.h).
void AddStatusCommand(CLI::App& app, Action* run);
void AddUserCommand(CLI::App& app, Action* run);  // user_command.cpp
void AddLedgerCommand(CLI::App& app, Action* run);  // ledger_command.cpp
void AddDrillCommand(CLI::App& app, Action* run);
// `holdfast node drain|undrain|retire` and `holdfast provider ...`; call
// after AddNodeCommand.
void AddDrainCommands(CLI::App& app, Action* run);  // drain_command.cpp
void AddRecoverCommand(CLI::App& app, Action* run);  // recover_command.cpp
void AddHoldCommand(CLI::App& app, Action* run);     // hold_command.cpp
void AddRebalanceCommand(CLI::App& app, Action* run);  // rebalance_command.cpp
// `holdfast deletion-notice ...` and `holdfast user webhook ...`; call after AddUserCommand.
void AddDeletionNoticeCommand(CLI::App& app, Action* run);  // notice_command.cpp

// Blocks SIGINT/SIGTERM in this thread (and threads started later), then
// waits for one of them. Call BlockStopSignals before starting threads.
void BlockStopSignals();
int WaitForStopSignal();

// `holdfast account create` (account_command.cpp): web accounts (docs/web.md).
void AddAccountCommand(CLI::App& app, Action* run);

// Where the built web pages are by default: web/ beside the executable
// (`make` builds them into build/web/).
std::filesystem::path DefaultWebRoot();

// The cluster secret from $HOLDFAST_CLUSTER_SECRET or a file; empty if none.
std::string ReadClusterSecret(const std::string& secret_file);

}  // namespace holdfast::cli
