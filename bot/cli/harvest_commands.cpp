// deskbot harvest / import / tickets: bringing resolved tickets into the store.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "bot/cli/context.h"
#include "bot/sources/factory.h"
#include "bot/sources/files.h"
#include "bot/sources/harvest.h"

namespace deskbot::cli {
namespace {

constexpr std::size_t kRejectsShown = 10;

// Groups rejects by kind: "malformed JSON: syntax error ..." -> "malformed
// JSON", "message 2: field 'role' ..." -> "field 'role' ...".
std::string ReasonKind(std::string reason) {
  if (reason.rfind("message ", 0) == 0) {
    auto colon = reason.find(": ");
    if (colon != std::string::npos) reason = reason.substr(colon + 2);
  }
  auto colon = reason.find(": ");
  return colon == std::string::npos ? reason : reason.substr(0, colon);
}

void PrintReport(const HarvestReport& r, const TicketSource& source) {
  std::cout << "harvest " << r.source << ": " << r.pages << (r.pages == 1 ? " page, " : " pages, ")
            << r.tickets() << " tickets stored (" << r.tickets_new << " new, " << r.tickets_updated
            << " updated), " << r.skipped << " skipped (not resolved), " << r.rejects.size()
            << " rejected\n";
  if (r.rejects.empty()) return;
  if (const auto* files = dynamic_cast<const FilesSource*>(&source))
    std::cout << "  rejected rows were copied to " << files->options().rejects_path << "\n";
  std::map<std::string, int> kinds;
  for (const auto& reject : r.rejects) ++kinds[ReasonKind(reject.reason)];
  for (const auto& [kind, n] : kinds) std::cout << "  " << n << " x " << kind << "\n";
  for (std::size_t i = 0; i < r.rejects.size() && i < kRejectsShown; ++i)
    std::cout << "  " << r.rejects[i].where << ": " << r.rejects[i].reason << "\n";
  if (r.rejects.size() > kRejectsShown)
    std::cout << "  ... and " << (r.rejects.size() - kRejectsShown) << " more\n";
}

struct HarvestArgs {
  std::vector<std::string> sources;
  bool all = false;
};

void RunHarvest(CliContext& ctx, const HarvestArgs& args) {
  const Config& config = ctx.config();
  std::vector<std::string> names = args.sources;
  if (args.all) {
    names = config.SourceNames();
    if (names.empty()) throw CliError("harvest --all: no [[sources]] are configured");
  }
  if (names.empty()) throw CliError("harvest: give --source NAME or --all");

  std::vector<std::string> failures;
  for (const std::string& name : names) {
    auto source = MakeSource(config, name);
    if (!source.ok()) {
      if (names.size() == 1) throw CliError(source.status());
      std::cerr << "deskbot: " << source.status().ToString() << "\n";
      failures.push_back(name);
      continue;
    }
    auto report = Harvest(**source, ctx.store());
    if (!report.ok()) {
      if (names.size() == 1) throw CliError(report.status());
      std::cerr << "deskbot: " << report.status().ToString() << "\n";
      failures.push_back(name);
      continue;
    }
    PrintReport(*report, **source);
  }
  if (!failures.empty()) {
    std::string list;
    for (const auto& f : failures) list += (list.empty() ? "" : ", ") + f;
    throw CliError("harvest failed for: " + list);
  }
}

struct ImportArgs {
  std::string file;
  std::string format;
  std::string source = "import";
  std::string rejects;
};

void RunImport(CliContext& ctx, const ImportArgs& args) {
  const Config& config = ctx.config();
  std::optional<files::Format> format;
  if (!args.format.empty()) {
    format = files::ParseFormat(args.format);
    if (!format) throw CliError("import: --format must be jsonl or csv, not '" + args.format + "'");
  }
  FilesSourceOptions options =
      Check(FilesSourceOptions::ForFile(config, args.file, args.source, format));
  // A configured files source of that name lends its field mapping.
  if (auto entry = config.Source(args.source); entry && entry->GetString("type", "") == "files") {
    FilesSourceOptions configured = Check(FilesSourceOptions::FromConfig(config, args.source));
    if (configured.format == options.format) options.fields = configured.fields;
    options.resolved_statuses = configured.resolved_statuses;
    options.assume_resolved = configured.assume_resolved;
    options.page_size = configured.page_size;
  }
  // Rejects are named after the file, so an import never touches the
  // rejects file of a configured source's harvest.
  options.rejects_path =
      !args.rejects.empty()
          ? args.rejects
          : (std::filesystem::path(config.DataDir()) / "rejects" /
             (std::filesystem::path(args.file).stem().string() + ".rejects." +
              files::FormatName(options.format)))
                .string();

  FilesSource source(options);
  HarvestOptions once;
  once.resume = false;       // a one-off import reads the whole file
  once.save_cursor = false;  // and leaves harvest cursors alone
  PrintReport(Check(Harvest(source, ctx.store(), once)), source);
}

void Register(CLI::App& app, CliContext& ctx) {
  auto harvest_args = std::make_shared<HarvestArgs>();
  CLI::App* harvest =
      app.add_subcommand("harvest", "Harvest resolved tickets from configured [[sources]]");
  harvest->add_option("-s,--source", harvest_args->sources, "Source name (repeat for several)");
  harvest->add_flag("--all", harvest_args->all, "Every configured source, in config order");
  harvest->callback([&ctx, harvest_args] { RunHarvest(ctx, *harvest_args); });

  auto import_args = std::make_shared<ImportArgs>();
  CLI::App* import = app.add_subcommand(
      "import", "Import one ticket export file (JSONL or CSV) without configuring a source");
  import->add_option("file", import_args->file, "The export file")->required();
  import->add_option("--format", import_args->format, "jsonl or csv (default: from the extension)");
  import->add_option("--source", import_args->source,
                     "Source name to store the tickets under (default: import)");
  import->add_option("--rejects", import_args->rejects,
                     "Where to copy rejected rows (default: <data_dir>/rejects/<file>.rejects.<ext>)");
  import->callback([&ctx, import_args] { RunImport(ctx, *import_args); });

  CLI::App* tickets = app.add_subcommand("tickets", "Inspect stored tickets");
  tickets->require_subcommand(1);
  CLI::App* count = tickets->add_subcommand("count", "Print how many tickets are stored");
  count->callback([&ctx] { std::cout << Check(ctx.store().CountTickets()) << "\n"; });
}

}  // namespace

DESKBOT_COMMANDS(20, Register);

}  // namespace deskbot::cli
