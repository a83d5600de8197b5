// deskbot train / eval / ask / models / bench qa: the local model from the
// command line. The work is in bot/model (registry.h, local_model.h,
// qa_bench.h); this file parses options and prints.
#include <CLI/CLI.hpp>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "bot/cli/context.h"
#include "bot/cli/llm_commands.h"
#include "bot/model/eval.h"
#include "bot/model/qa_bench.h"
#include "bot/model/registry.h"

namespace deskbot::cli {
namespace {

using nlohmann::json;

using model::Fixed;

std::string Pct(double v) { return Fixed(v * 100, 1) + "%"; }

std::string MetricsText(const model::EvalMetrics& m) {
  std::ostringstream o;
  o << "  queries " << m.queries << "\n"
    << "  retrieval: P@1 " << Pct(m.p1) << "  P@5 " << Pct(m.p5) << "  MRR " << Fixed(m.mrr) << "  MAP "
    << Fixed(m.map) << "  recall@5 " << Pct(m.recall5) << "  recall@10 " << Pct(m.recall10) << "\n"
    << "  answers at the threshold: precision " << Pct(m.precision) << "  coverage " << Pct(m.coverage)
    << "  (target precision " << Pct(m.target_precision) << "; best coverage at it on this set "
    << Pct(m.coverage_at_target) << ")\n"
    << "  calibration error (ECE) " << Fixed(m.ece) << "  token-F1 " << Pct(m.f1) << "  ROUGE-L " << Pct(m.rouge_l)
    << "\n";
  return o.str();
}

model::SplitMode SplitFrom(const std::string& s) {
  auto mode = model::ParseSplitMode(s);
  if (!mode) throw CliError("--split must be stored, random or time, not '" + s + "'");
  return *mode;
}

// --- train -------------------------------------------------------------------

struct TrainArgs {
  std::string split = "stored";
  bool json = false;
  std::string backend;  // local | openai; "" = model.backend
};

void RunTrain(CliContext& ctx, const TrainArgs& args) {
  const std::string backend = args.backend.empty() ? ctx.config().GetString("model.backend", "local") : args.backend;
  if (backend == "openai") return StartFineTuneCommand(ctx, {});  // the same as `deskbot finetune start`
  if (backend != "local") throw CliError("train: --backend must be local or openai, not '" + backend + "'");
  auto out = Check(model::TrainVersion(ctx.store(), ctx.config(), SplitFrom(args.split)));
  const auto& r = out.report;
  if (args.json) {
    json j = r.ToJson();
    j["version"] = out.version.id;
    j["state"] = ModelStateName(out.version.state);
    j["promoted"] = out.promoted;
    j["note"] = out.note;
    j["path"] = model::VersionDir(ctx.config(), out.version);
    j["checksum"] = out.version.checksum;
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << "model version " << out.version.id << " trained in " << Fixed(r.seconds, 2) << " s on "
            << r.train_pairs << " pairs (" << r.clusters << " distinct answers, " << r.vocabulary
            << " terms); " << r.valid_pairs << " validation pairs\n"
            << "  files: " << model::VersionDir(ctx.config(), out.version) << " (sha256 "
            << out.version.checksum.substr(0, 16) << "...)\n"
            << "  threshold " << Fixed(r.threshold) << " for precision " << Pct(r.valid.target_precision)
            << " (calibrated on " << r.calibration << ")\n"
            << "validation:\n"
            << MetricsText(r.valid);
  if (out.previous) std::cout << "promoted version " << *out.previous_id << " on the same pairs:\n" << MetricsText(*out.previous);
  std::cout << out.note << "\n";
}

// --- eval --------------------------------------------------------------------

struct EvalArgs {
  std::optional<std::int64_t> version;
  std::string split = "stored";
  bool json = false;
};

ModelVersion VersionOrPromoted(Store& store, const std::optional<std::int64_t>& id) {
  if (!id) return Check(model::PromotedVersion(store));
  auto v = Check(store.GetModelVersion(*id));
  if (!v) throw CliError("model version " + std::to_string(*id) + " does not exist");
  return *v;
}

void RunEval(CliContext& ctx, const EvalArgs& args) {
  ModelVersion v = VersionOrPromoted(ctx.store(), args.version);
  auto model = Check(model::LoadVersion(ctx.config(), v));
  auto sets = Check(model::LoadPairs(ctx.store(), SplitFrom(args.split),
                                     ctx.config().GetDouble("dataset.valid_fraction", 0.1),
                                     static_cast<std::uint64_t>(ctx.config().GetInt("model.seed", 7))));
  if (sets.valid.empty()) throw CliError("no validation pairs to evaluate on: run `deskbot dataset build`");
  model::EvalMetrics m = model->Score(sets.valid);
  if (args.json) {
    json j = m.ToJson();
    j["version"] = v.id;
    j["threshold"] = model->threshold();
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << "model version " << v.id << " (" << ModelStateName(v.state) << ") on " << sets.valid.size()
            << " validation pairs, threshold " << Fixed(model->threshold()) << ":\n"
            << MetricsText(m);
}

// --- ask ---------------------------------------------------------------------

struct AskArgs {
  std::string question;
  std::optional<std::int64_t> version;
  bool json = false;
  bool explain = false;
};

void RunAsk(CliContext& ctx, const AskArgs& args) {
  std::unique_ptr<model::LocalModel> model;
  ModelVersion version;
  if (args.version) {
    version = VersionOrPromoted(ctx.store(), args.version);
    model = Check(model::LoadVersion(ctx.config(), version));
  } else {
    auto serving = Check(model::LoadServing(ctx.store(), ctx.config()));
    for (const auto& w : serving.warnings) std::cerr << "deskbot: warning: " << w << "\n";
    model = std::move(serving.model);
    version = serving.version;
  }
  if (args.explain) {
    std::cout << model->Explain(args.question, 5).dump(2) << "\n";
    return;
  }
  Suggestion s = Check(model->Suggest(args.question));
  if (args.json) {
    json sources = json::array();
    for (const auto& ref : s.sources)
      sources.push_back({{"source", ref.source}, {"ticket", ref.ticket_external_id}, {"question", ref.question},
                         {"score", ref.score}});
    json j = {{"question", args.question},
              {"answer", s.abstained ? json(nullptr) : json(s.text)},
              {"abstained", s.abstained},
              {"confidence", s.confidence},
              {"threshold", model->threshold()},
              {"model_version", s.model_version},
              {"sources", sources}};
    std::cout << j.dump() << "\n";
    return;
  }
  if (s.abstained) {
    std::cout << "No confident answer (confidence " << Fixed(s.confidence, 2) << " is below the threshold "
              << Fixed(model->threshold(), 2) << "; model version " << s.model_version << ").\n";
    if (!s.sources.empty()) std::cout << "Nearest past tickets:\n";
  } else {
    std::cout << s.text << "\n\n"
              << "confidence " << Fixed(s.confidence, 2) << " (model version " << s.model_version << ")\n"
              << "from tickets:\n";
  }
  for (const auto& ref : s.sources) {
    std::string q = ref.question.substr(0, 100);
    for (char& c : q)
      if (c == '\n' || c == '\r') c = ' ';
    std::cout << "  " << ref.source << " " << ref.ticket_external_id << ": " << q
              << (ref.question.size() > 100 ? "..." : "") << "\n";
  }
}

// --- models ------------------------------------------------------------------

void RunModelsList(CliContext& ctx, bool as_json) {
  auto versions = Check(ctx.store().ListModelVersions());
  if (as_json) {
    json arr = json::array();
    for (const auto& v : versions) {
      json metrics = json::parse(v.metrics_json.empty() ? "null" : v.metrics_json, nullptr, false);
      arr.push_back({{"id", v.id},
                     {"backend", v.backend},
                     {"state", ModelStateName(v.state)},
                     {"snapshot_id", v.snapshot_id},
                     {"path", v.path},
                     {"checksum", v.checksum},
                     {"created_at", v.created_at},
                     {"note", v.note},
                     {"metrics", metrics.is_discarded() ? json(nullptr) : metrics}});
    }
    std::cout << arr.dump() << "\n";
    return;
  }
  if (versions.empty()) {
    std::cout << "no model versions yet: run `deskbot train`\n";
    return;
  }
  std::cout << std::left << std::setw(5) << "id" << std::setw(11) << "state" << std::setw(9) << "backend"
            << std::setw(10) << "snapshot" << std::setw(8) << "P@1" << std::setw(10) << "coverage" << "note\n";
  for (const auto& v : versions) {
    std::string p1 = "-", coverage = "-";
    json metrics = json::parse(v.metrics_json.empty() ? "{}" : v.metrics_json, nullptr, false);
    if (!metrics.is_discarded() && metrics.contains("valid")) {
      auto m = model::EvalMetrics::FromJson(metrics["valid"]);
      p1 = Pct(m.p1);
      coverage = Pct(m.coverage);
    }
    std::cout << std::left << std::setw(5) << v.id << std::setw(11) << ModelStateName(v.state) << std::setw(9)
              << v.backend << std::setw(10) << v.snapshot_id << std::setw(8) << p1 << std::setw(10) << coverage
              << v.note << "\n";
  }
}

void RunModelsPromote(CliContext& ctx, std::int64_t id) {
  Check(model::PromoteVersion(ctx.store(), ctx.config(), id, "promoted by hand"));
  std::cout << "model version " << id << " promoted\n";
}

void RunModelsRollback(CliContext& ctx) {
  ModelVersion v = Check(model::Rollback(ctx.store(), ctx.config()));
  std::cout << "model version " << v.id << " promoted again (" << v.note << ")\n";
}

// --- bench qa ----------------------------------------------------------------

struct BenchQaArgs {
  std::string train, test, label;
  bool json = false;
};

void RunBenchQa(CliContext& ctx, const BenchQaArgs& args) {
  model::QaBenchOptions o;
  o.train_path = args.train;
  o.test_path = args.test;
  o.label_field = args.label;
  // Model settings from the config when one is given (defaults otherwise).
  o.model = Check(model::ModelSettings::FromConfig(ctx.config())).local;
  auto result = Check(model::RunQaBench(o));
  std::cout << result.ToText();
  if (args.json) std::cout << result.ToJson().dump() << "\n";
}

CLI::App* FindOrAdd(CLI::App& app, const std::string& name, const std::string& help) {
  auto found = app.get_subcommands([&](CLI::App* s) { return s->get_name() == name; });
  if (!found.empty()) return found.front();
  auto* sub = app.add_subcommand(name, help);
  sub->require_subcommand(1);
  return sub;
}

void Register(CLI::App& app, CliContext& ctx) {
  auto train_args = std::make_shared<TrainArgs>();
  auto* train = app.add_subcommand("train", "Train a model version on the current pairs and apply the promotion gate");
  train->add_option("--split", train_args->split, "Held-out pairs: stored (from dataset build), random or time")
      ->capture_default_str();
  train->add_flag("--json", train_args->json, "Print the report as JSON");
  train->add_option("--backend", train_args->backend,
                    "local (in-process) or openai (a fine-tuning job, as `deskbot finetune start`); "
                    "default model.backend");
  train->callback([&ctx, train_args] { RunTrain(ctx, *train_args); });

  auto eval_args = std::make_shared<EvalArgs>();
  auto* eval = app.add_subcommand("eval", "Score a model version on the validation pairs");
  eval->add_option("--version", eval_args->version, "Model version id (default: the promoted one)");
  eval->add_option("--split", eval_args->split, "Held-out pairs: stored, random or time")->capture_default_str();
  eval->add_flag("--json", eval_args->json, "Print the metrics as JSON");
  eval->callback([&ctx, eval_args] { RunEval(ctx, *eval_args); });

  auto ask_args = std::make_shared<AskArgs>();
  auto* ask = app.add_subcommand("ask", "Suggest an answer to a question, with confidence and source tickets");
  ask->add_option("question", ask_args->question, "The question")->required();
  ask->add_option("--version", ask_args->version, "Model version id (default: the promoted one)");
  ask->add_flag("--json", ask_args->json, "Print JSON");
  ask->add_flag("--explain", ask_args->explain, "Print the ranking's features and scores (JSON)");
  ask->callback([&ctx, ask_args] { RunAsk(ctx, *ask_args); });

  auto* models = app.add_subcommand("models", "The model registry: list, promote, rollback");
  models->require_subcommand(1);
  auto list_json = std::make_shared<bool>(false);
  auto* list = models->add_subcommand("list", "List model versions");
  list->add_flag("--json", *list_json, "Print JSON");
  list->callback([&ctx, list_json] { RunModelsList(ctx, *list_json); });
  auto promote_id = std::make_shared<std::int64_t>(0);
  auto* promote = models->add_subcommand("promote", "Promote a version (its files are checked first)");
  promote->add_option("id", *promote_id, "Model version id")->required();
  promote->callback([&ctx, promote_id] { RunModelsPromote(ctx, *promote_id); });
  auto* rollback = models->add_subcommand("rollback", "Promote the previous version again");
  rollback->callback([&ctx] { RunModelsRollback(ctx); });

  auto bench_args = std::make_shared<BenchQaArgs>();
  auto* bench = FindOrAdd(app, "bench", "Benchmarks");
  auto* qa = bench->add_subcommand("qa", "BM25 vs the local model on a help-desk data file, side by side");
  qa->add_option("--train", bench_args->train, "JSONL with split = train (fitted) / valid (tuning) rows")
      ->required();
  qa->add_option("--test", bench_args->test, "JSONL to test on (its valid rows when it is the --train file)")
      ->required();
  qa->add_option("--label", bench_args->label, "Field naming the right answer (e.g. answer_doc_id) for P@1/MRR");
  qa->add_flag("--json", bench_args->json, "End with one JSON line of the metrics (in percent)");
  qa->callback([&ctx, bench_args] { RunBenchQa(ctx, *bench_args); });
}

}  // namespace

DESKBOT_COMMANDS(40, Register);

}  // namespace deskbot::cli
