// deskbot: the only place that wires the libraries together. Each command
// group is a file bot/cli/*_commands.cpp that registers itself.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <vector>

#include "bot/cli/context.h"

namespace deskbot::cli {
std::vector<std::pair<int, RegisterFn>>& CommandGroups();
}

int main(int argc, char** argv) {
  using namespace deskbot::cli;
  CLI::App app{"deskbot: a help-desk bot that learns from resolved tickets"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "deskbot 0.1.0");
  CliContext ctx;
  app.add_option("-c,--config", ctx.config_path, "TOML config file (settings also come from DESKBOT_* variables)")
      ->envname("DESKBOT_CONFIG");

  auto groups = CommandGroups();
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, fn] : groups) fn(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const CliError& e) {
    std::cerr << "deskbot: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
