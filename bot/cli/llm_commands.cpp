// deskbot finetune start / status / poll / cancel: fine-tuning an LLM at an
// OpenAI-style provider on the current dataset snapshot, following the job,
// and evaluating and gating the result like a local model version.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>

#include "bot/cli/llm_commands.h"
#include "bot/llm/poller.h"
#include "bot/llm/record.h"
#include "bot/llm/trainer.h"
#include "bot/model/eval.h"

namespace deskbot::cli {
namespace {

std::unique_ptr<openai::Client> ProviderClient(const Config& config) {
  llm::Endpoint endpoint = Check(llm::ProviderEndpoint(config, /*need_key=*/true));
  return Check(openai::Client::Create(endpoint.client));
}

}  // namespace

void StartFineTuneCommand(CliContext& ctx, const FineTuneStartArgs& args) {
  llm::StartRequest request;
  request.dry_run = args.dry_run;
  request.base_model = args.base;
  if (!args.method.empty()) {
    request.method = llm::ParseFineTuneMethod(args.method);
    if (!request.method) throw CliError("finetune start: --method must be supervised or preference");
  }
  // A dry run needs no key and opens no connection: nothing can be sent.
  std::unique_ptr<openai::Client> client;
  if (!args.dry_run) client = ProviderClient(ctx.config());
  llm::StartReport report = Check(llm::StartFineTune(ctx.store(), ctx.config(), client.get(), request));
  std::cout << report.ToText();
}

namespace {

using model::Fixed;

void RunStatus(CliContext& ctx) {
  std::vector<ModelVersion> versions = Check(ctx.store().ListModelVersions());
  int shown = 0;
  for (const ModelVersion& v : versions) {
    if (v.backend != "openai") continue;
    ++shown;
    llm::FineTuneRecord r = Check(llm::ReadRecord(v));
    std::cout << "version " << v.id << "  " << ModelStateName(v.state) << "  "
              << (v.state == ModelState::kCandidate ? r.phase : std::string(llm::kPhaseDone)) << "  "
              << r.method << " on " << r.base_model << "\n";
    std::cout << "  job: " << (v.remote_id.empty() ? "-" : v.remote_id)
              << (r.job_status.empty() ? "" : " (" + r.job_status + ")") << ", snapshot " << v.snapshot_id << ", "
              << r.train_examples << " training / " << r.valid_examples << " validation examples, "
              << r.events_logged << " events logged\n";
    if (!r.fine_tuned_model.empty()) std::cout << "  model: " << r.fine_tuned_model << "\n";
    if (r.trained_tokens) std::cout << "  trained tokens: " << *r.trained_tokens << "\n";
    if (auto m = llm::ReadEvalMetrics(v))
      std::cout << "  validation: p1 " << Fixed(m->p1) << ", precision " << Fixed(m->precision) << ", coverage "
                << Fixed(m->coverage) << ", f1 " << Fixed(m->f1) << " on " << m->queries << " questions\n";
    if (r.eval_prompt_tokens > 0)
      std::cout << "  evaluation used " << r.eval_prompt_tokens << " prompt + " << r.eval_completion_tokens
                << " completion tokens (~$" << Fixed(r.eval_cost_usd) << ")\n";
    if (!v.note.empty()) std::cout << "  note: " << v.note << "\n";
    if (!r.last_error.empty()) std::cout << "  last error: " << r.last_error << "\n";
  }
  if (shown == 0) std::cout << "No fine-tuning versions. Start one with `deskbot finetune start`.\n";
}

void RunPoll(CliContext& ctx) {
  std::unique_ptr<llm::FineTunePoller> poller = Check(llm::MakeFineTunePoller(ctx.config()));
  llm::PollReport report = Check(poller->PollOnce(ctx.store()));
  std::cout << report.ToText();
  if (report.errors > 0)
    throw CliError("finetune poll: " + std::to_string(report.errors) +
                   " version(s) could not be moved on (see above); they stay as they were and the next poll retries");
}

void RunCancel(CliContext& ctx, std::int64_t version) {
  std::unique_ptr<openai::Client> client = ProviderClient(ctx.config());
  Check(llm::CancelFineTune(ctx.store(), *client, version));
  std::cout << "Cancelled fine-tuning version " << version << ".\n";
}

void Register(CLI::App& app, CliContext& ctx) {
  CLI::App* ft = app.add_subcommand("finetune", "Fine-tune an LLM at an OpenAI-style provider and follow the job");
  ft->require_subcommand(1);
  ft->footer(
      "Settings: [openai] base_url, auth_header, auth_scheme, organization, project, api_version; the key from "
      "DESKBOT_OPENAI_API_KEY or openai.api_key_file. [llm.finetune] base_model, preference_base, method, suffix, "
      "seed, n_epochs, batch_size, learning_rate_multiplier, beta. [model] gate_metric, promotion_margin.");

  auto start_args = std::make_shared<FineTuneStartArgs>();
  CLI::App* start = ft->add_subcommand(
      "start", "Export the dataset snapshot, upload it and create a fine-tuning job (registered as a candidate)");
  start->add_flag("--dry-run", start_args->dry_run,
                  "Export, validate and estimate tokens and cost; send nothing");
  start->add_option("--method", start_args->method,
                    "supervised (chat examples) or preference (DPO on agents' edits; default llm.finetune.method)");
  start->add_option("--base", start_args->base,
                    "Base model (default llm.finetune.base_model; for preference: the newest supervised fine-tune)");
  start->callback([&ctx, start_args] { StartFineTuneCommand(ctx, *start_args); });

  CLI::App* status = ft->add_subcommand("status", "Show the fine-tuning versions in the registry");
  status->callback([&ctx] { RunStatus(ctx); });

  CLI::App* poll = ft->add_subcommand(
      "poll", "Move unfinished fine-tuning jobs on once: log events, evaluate finished models, apply the gate");
  poll->callback([&ctx] { RunPoll(ctx); });

  auto cancel_version = std::make_shared<std::int64_t>(0);
  CLI::App* cancel = ft->add_subcommand("cancel", "Cancel the job of a fine-tuning version");
  cancel->add_option("version", *cancel_version, "The model version (see `deskbot finetune status`)")->required();
  cancel->callback([&ctx, cancel_version] { RunCancel(ctx, *cancel_version); });
}

}  // namespace

DESKBOT_COMMANDS(50, Register);

}  // namespace deskbot::cli
