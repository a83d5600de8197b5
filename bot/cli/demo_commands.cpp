// deskbot demo: the whole product on its embedded defaults, from nothing.
// Imports the project's sample tickets, builds the dataset, trains the local
// model, then serves the web chat. Each step is the same library call the
// individual subcommands make; the serving step re-executes this binary as
// `deskbot serve`, so there is exactly one serve path.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "bot/cli/context.h"
#include "bot/dataset/pipeline.h"
#include "bot/model/registry.h"
#include "bot/sources/factory.h"
#include "bot/sources/harvest.h"

namespace deskbot::cli {
namespace {

namespace fs = std::filesystem;

struct DemoArgs {
  std::string tickets;      // the sample export; found next to the binary by default
  std::string data_dir = "./deskbot-demo";
  std::string listen = "127.0.0.1:8080";
  std::string agent = "demo-agent";
  bool serve = true;
};

// The sample tickets: <repo>/deploy/sample-data from the build tree, the
// installed copy, or the current directory.
std::string FindSampleTickets() {
  std::vector<fs::path> candidates;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  for (fs::path dir = exe.parent_path(); !ec && !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
    candidates.push_back(dir / "deploy/sample-data/tickets.jsonl");
  candidates.push_back("/usr/share/deskbot/sample-data/tickets.jsonl");
  candidates.push_back("deploy/sample-data/tickets.jsonl");
  for (const auto& c : candidates)
    if (fs::exists(c)) return c.string();
  throw CliError("demo: the sample tickets (deploy/sample-data/tickets.jsonl) were not found; pass --tickets FILE");
}

// Sets an environment default that the operator has not set already.
void DefaultEnv(const char* name, const std::string& value) {
  if (std::getenv(name) == nullptr) setenv(name, value.c_str(), 1);
}

void Step(int n, const std::string& what) { std::cout << "\n[" << n << "/4] " << what << std::endl; }

void ImportSample(const DemoArgs& args, Store& store, const Config& base) {
  Step(1, "import the sample tickets from " + args.tickets);
  // A files source for the sample, in the native export format.
  std::string toml = "data_dir = \"" + base.DataDir() + "\"\n[[sources]]\nname = \"sample\"\ntype = \"files\"\n"
                     "path = \"" + fs::absolute(args.tickets).string() + "\"\nformat = \"jsonl\"\n";
  Config config = Check(Config::LoadString(toml));
  auto source = Check(MakeSource(config, "sample"));
  HarvestReport report = Check(Harvest(*source, store));
  std::cout << "  " << report.tickets() << " resolved tickets stored (" << report.tickets_new << " new, "
            << report.tickets_updated << " updated), " << report.skipped << " not resolved skipped, "
            << report.rejects.size() << " rejected rows" << std::endl;
  // (A second run stores nothing new: what counts is what the store holds.)
  if (report.tickets() == 0 && Check(store.CountTickets()) == 0) {
    // Nothing to learn from: say why here rather than fail two steps later.
    std::string why = "demo: no resolved tickets in " + args.tickets;
    if (!report.rejects.empty())
      why += " (" + std::to_string(report.rejects.size()) + " rows rejected; the first: " +
             report.rejects.front().where + ": " + report.rejects.front().reason + ")";
    throw CliError(why);
  }
}

void BuildDataset(Store& store, const Config& config) {
  Step(2, "build the training pairs (clean, redact, dedupe, validate, split)");
  auto options = Check(dataset::DatasetOptions::FromConfig(config));
  auto report = Check(dataset::BuildDataset(store, options));
  std::cout << report.ToText();
}

void Train(Store& store, const Config& config) {
  Step(3, "train the local model and evaluate it on the validation split");
  model::TrainOutcome outcome = Check(model::TrainVersion(store, config));
  const auto& r = outcome.report;
  const auto& m = r.valid;
  std::cout << std::fixed << std::setprecision(1) << "  version " << outcome.version.id << ": trained on "
            << r.train_pairs << " pairs in " << std::setprecision(2) << r.seconds << " s; validation ("
            << m.queries << " questions): P@1 " << std::setprecision(1) << 100 * m.p1 << "%, MRR "
            << 100 * m.mrr << "%, precision " << 100 * m.precision << "% at coverage " << 100 * m.coverage
            << "%" << std::endl;
  std::cout << "  " << (outcome.promoted ? "promoted" : "not promoted") << ": " << outcome.note << std::endl;
}

void RunDemo(DemoArgs args, CliContext& ctx) {
  // The demo's defaults; anything the operator set in the environment wins.
  DefaultEnv("DESKBOT_DATA_DIR", args.data_dir);
  DefaultEnv("DESKBOT_LISTEN", args.listen);
  DefaultEnv("DESKBOT_AGENTS", args.agent);
  if (args.tickets.empty()) args.tickets = FindSampleTickets();
  if (!fs::is_regular_file(args.tickets)) throw CliError("demo: no ticket file at " + args.tickets);

  const Config& config = ctx.config();
  std::cout << "deskbot demo: data in " << fs::absolute(config.DataDir()).string() << std::endl;
  Store& store = ctx.store();
  ImportSample(args, store, config);
  BuildDataset(store, config);
  Train(store, config);

  if (!args.serve) {
    std::cout << "\n[4/4] not serving (--no-serve). Try: deskbot ask \"my VPN keeps disconnecting\"" << std::endl;
    return;
  }
  Step(4, "serve the web chat (Ctrl-C to stop)");
  std::cout << "  ask at http://" << std::getenv("DESKBOT_LISTEN") << "/ ; approve at http://"
            << std::getenv("DESKBOT_LISTEN") << "/?agent=" << std::getenv("DESKBOT_AGENTS")
            << std::endl;
  std::vector<std::string> argv_s = {"deskbot"};
  if (!ctx.config_path.empty()) argv_s.insert(argv_s.end(), {"--config", ctx.config_path});
  argv_s.push_back("serve");
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  throw CliError(std::string("demo: cannot start `deskbot serve`: ") + std::strerror(errno));
}

void Register(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<DemoArgs>();
  auto* demo = app.add_subcommand(
      "demo", "Import the sample tickets, build the dataset, train the local model, serve the web chat");
  demo->add_option("--tickets", args->tickets, "Ticket export to start from (default: the project's sample)");
  demo->add_option("--data-dir", args->data_dir, "Where the demo keeps its store (unless DESKBOT_DATA_DIR is set)");
  demo->add_option("--listen", args->listen, "host:port for the web chat (unless DESKBOT_LISTEN is set)");
  demo->add_option("--agent", args->agent, "The agent id allowed to approve (unless DESKBOT_AGENTS is set)");
  demo->add_flag("!--no-serve", args->serve, "Stop after training instead of serving");
  demo->callback([args, &ctx] { RunDemo(*args, ctx); });
}

}  // namespace

DESKBOT_COMMANDS(5, Register);

}  // namespace deskbot::cli
