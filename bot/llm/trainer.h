// The remote trainer: starts a fine-tuning job at an OpenAI-style provider
// from the current dataset snapshot, and records it in the model registry.
//
//   1. export the snapshot's pairs (redacted again on the way out, by the
//      dataset library) as train/valid JSONL: chat examples for supervised
//      fine-tuning, agents' preference pairs (edited answer preferred over
//      the suggestion) for preference fine-tuning (DPO);
//   2. validate them and estimate tokens and cost for the base model;
//      a dry run stops here and sends nothing;
//   3. register a version (backend "openai", state candidate, phase
//      "creating"), upload the files, create the job (base model, suffix,
//      seed, method and hyperparameters from [llm.finetune]; metadata names
//      the version), and record the job id as the version's remote_id.
// It returns without waiting: FineTunePoller follows the job (poller.h).
//
// Preference fine-tuning starts from a supervised fine-tuned model: --base,
// else [llm.finetune] preference_base, else the newest succeeded supervised
// fine-tune in the registry (the promoted one first).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bot/core/config.h"
#include "bot/core/store.h"
#include "bot/llm/settings.h"
#include "connectors/openai/client.h"
#include "connectors/openai/estimate.h"

namespace deskbot::llm {

struct StartRequest {
  std::optional<FineTuneMethod> method;  // unset: [llm.finetune] method
  std::string base_model;                // empty: from settings (see above)
  bool dry_run = false;
  std::string actor = "cli";             // for the audit log
};

struct StartReport {
  bool dry_run = false;
  FineTuneMethod method = FineTuneMethod::kSupervised;
  std::string base_model;
  std::int64_t snapshot_id = 0;
  std::string train_path, valid_path;  // valid_path empty: no validation examples
  std::int64_t train_examples = 0, valid_examples = 0;
  std::int64_t skipped = 0;            // pairs the exporter could not render
  openai::TrainingEstimate estimate;   // of the training file
  std::int64_t version_id = 0;         // 0 for a dry run
  std::string job_id;
  std::string job_status;
  std::string ToText() const;
};

// `client` may be null only for a dry run. Errors leave no half state: a
// failure after the version was registered marks it failed with the reason
// (or, when the provider's answer was lost, leaves it "creating" for the
// poller to find the job by its metadata).
util::Result<StartReport> StartFineTune(Store& store, const Config& config, openai::Client* client,
                                        const StartRequest& request);

// Cancels the job of registry version `version_id` and marks the version
// failed ("cancelled by <actor>").
util::Status CancelFineTune(Store& store, openai::Client& client, std::int64_t version_id,
                            const std::string& actor = "cli");

// The base model name of a fine-tuned one: "ft:gpt-4o-mini-2024-07-18:org:x:id" -> "gpt-4o-mini-2024-07-18".
std::string BaseOf(const std::string& model);

}  // namespace deskbot::llm
