// holdfast: one executable, several roles. See README.md.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Holdfast: erasure-coded object storage that outlives any one host"};
  app.require_subcommand(1);
  holdfast::cli::Action run;
  holdfast::cli::AddDevCommand(app, &run);
  holdfast::cli::AddDrillCommand(app, &run);
  holdfast::cli::AddGatewayCommand(app, &run);
  holdfast::cli::AddNodeCommand(app, &run);
  holdfast::cli::AddDrainCommands(app, &run);
  holdfast::cli::AddRecoverCommand(app, &run);
  holdfast::cli::AddHoldCommand(app, &run);
  holdfast::cli::AddRebalanceCommand(app, &run);
  holdfast::cli::AddStatusCommand(app, &run);
  holdfast::cli::AddUserCommand(app, &run);
  holdfast::cli::AddAccountCommand(app, &run);
  holdfast::cli::AddDeletionNoticeCommand(app, &run);  // after AddUserCommand
  holdfast::cli::AddLedgerCommand(app, &run);
  CLI11_PARSE(app, argc, argv);
  return run ? run() : 2;
}
