// deskbot: the only place that wires the libraries together.
#include <CLI/CLI.hpp>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"deskbot: a help-desk bot that learns from resolved tickets"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "deskbot 0.1.0");
  auto* demo = app.add_subcommand("demo", "import the sample tickets, build the dataset, train, serve");
  demo->callback([] { std::cout << "deskbot demo: not wired yet\n"; });
  CLI11_PARSE(app, argc, argv);
  return 0;
}
