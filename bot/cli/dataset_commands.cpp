// deskbot dataset build / export / validate: turning stored tickets into
// training data. Redaction is always on: there is deliberately no
// --no-redact, because exports leave the building (fine-tuning providers) and
// a dataset built without it would sit in the store looking like a normal one.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "bot/cli/context.h"
#include "bot/dataset/pipeline.h"

namespace deskbot::cli {
namespace {

using dataset::DatasetOptions;

struct BuildArgs {
  std::optional<std::string> split;
  std::optional<std::int64_t> seed;
  std::optional<double> valid_fraction;
  std::optional<double> near_threshold;
  std::optional<std::int64_t> token_limit;
  std::string report_path;
};

struct ExportArgs {
  std::string format;
  std::string out;
  std::string split = "all";
};

struct ValidateArgs {
  std::string file;
  std::string format = "chat";
  std::optional<std::int64_t> token_limit;
  std::string report_path;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text << "\n";
  if (!out) throw CliError("cannot write " + path);
}

DatasetOptions Options(CliContext& ctx) { return Check(DatasetOptions::FromConfig(ctx.config())); }

void RunBuild(CliContext& ctx, const BuildArgs& args) {
  DatasetOptions o = Options(ctx);
  if (args.split) {
    auto method = dataset::ParseSplitMethod(*args.split);
    if (!method) throw CliError("dataset build: --split must be random or time, not '" + *args.split + "'");
    o.split.method = *method;
  }
  if (args.seed) o.split.seed = static_cast<std::uint64_t>(*args.seed);
  if (args.valid_fraction) {
    if (!(*args.valid_fraction >= 0 && *args.valid_fraction <= 1))
      throw CliError("dataset build: --valid-fraction must be between 0 and 1");
    o.split.valid_fraction = *args.valid_fraction;
  }
  if (args.near_threshold) {
    if (!(*args.near_threshold > 0 && *args.near_threshold <= 1))
      throw CliError("dataset build: --near-threshold must be in (0, 1]");
    o.dedupe.near_threshold = *args.near_threshold;
  }
  if (args.token_limit) {
    if (*args.token_limit <= 0) throw CliError("dataset build: --token-limit must be positive");
    o.token_limit = *args.token_limit;
  }
  dataset::BuildReport report = Check(dataset::BuildDataset(ctx.store(), o));
  std::cout << report.ToText();
  if (!args.report_path.empty()) WriteFile(args.report_path, report.ToJson());
}

void RunExport(CliContext& ctx, const ExportArgs& args) {
  auto format = dataset::ParseExportFormat(args.format);
  if (!format) throw CliError("dataset export: --format must be chat, completion or preference");
  std::optional<Split> split;
  if (args.split != "all") {
    split = ParseSplit(args.split);
    if (!split) throw CliError("dataset export: --split must be train, valid or all");
  }
  dataset::ExportReport report = Check(dataset::ExportDataset(ctx.store(), *format, split, args.out, Options(ctx)));
  std::cout << report.ToText();
  if (!report.validation.ok()) throw CliError("dataset export: the written file failed validation: " + args.out);
}

void RunValidate(CliContext& ctx, const ValidateArgs& args) {
  auto format = dataset::ParseExportFormat(args.format);
  if (!format) throw CliError("dataset validate: --format must be chat, completion or preference");
  DatasetOptions o = Options(ctx);
  dataset::ValidationOptions v;
  v.format = *format;
  v.token_limit = args.token_limit ? *args.token_limit : o.token_limit;
  v.epochs = o.epochs;
  v.markers = o.markers;
  dataset::ValidationReport report = Check(dataset::ValidateJsonlFile(args.file, v));
  std::cout << args.file << "\n" << report.ToText();
  if (!args.report_path.empty()) WriteFile(args.report_path, report.ToJson());
  if (!report.ok()) throw CliError("dataset validate: problems found in " + args.file);
}

void Register(CLI::App& app, CliContext& ctx) {
  CLI::App* ds = app.add_subcommand("dataset", "Build, export and validate training data");
  ds->require_subcommand(1);

  auto build_args = std::make_shared<BuildArgs>();
  CLI::App* build = ds->add_subcommand(
      "build", "Clean, redact, filter, dedupe, validate and split the stored tickets into training pairs");
  build->add_option("--split", build_args->split, "random (hash of the ticket, seeded) or time (newest = valid)");
  build->add_option("--seed", build_args->seed, "Seed of the random split (dataset.seed, default 42)");
  build->add_option("--valid-fraction", build_args->valid_fraction, "Share of pairs for validation (default 0.1)");
  build->add_option("--near-threshold", build_args->near_threshold,
                    "Near-duplicate Jaccard threshold (dataset.near_duplicate_threshold, default 0.8)");
  build->add_option("--token-limit", build_args->token_limit,
                    "Drop examples over this many estimated tokens (dataset.token_limit, default 4096)");
  build->add_option("--report", build_args->report_path, "Also write the report as JSON to this file");
  build->callback([&ctx, build_args] { RunBuild(ctx, *build_args); });

  auto export_args = std::make_shared<ExportArgs>();
  CLI::App* exp = ds->add_subcommand("export", "Write the built pairs as OpenAI training JSONL");
  exp->add_option("--format", export_args->format, "chat, completion (legacy) or preference (DPO)")->required();
  exp->add_option("--out", export_args->out, "Output .jsonl file (written atomically)")->required();
  exp->add_option("--split", export_args->split, "train, valid or all (default all)");
  exp->callback([&ctx, export_args] { RunExport(ctx, *export_args); });

  auto validate_args = std::make_shared<ValidateArgs>();
  CLI::App* val = ds->add_subcommand("validate", "Check an existing JSONL export like the fine-tuning API would");
  val->add_option("file", validate_args->file, "The JSONL file")->required();
  val->add_option("--format", validate_args->format, "chat, completion or preference (default chat)");
  val->add_option("--token-limit", validate_args->token_limit, "Estimated tokens per example (default dataset.token_limit)");
  val->add_option("--report", validate_args->report_path, "Also write the report as JSON to this file");
  val->callback([&ctx, validate_args] { RunValidate(ctx, *validate_args); });
}

}  // namespace

DESKBOT_COMMANDS(30, Register);

}  // namespace deskbot::cli
