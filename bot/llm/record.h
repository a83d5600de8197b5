// What deskbot remembers about a fine-tuning job, kept in its registry
// version (ModelVersion.metrics_json, key "finetune"), so that a restarted
// process -- or a second one -- carries on where the last one stopped: which
// job, how far its events were logged, and whether it was evaluated.
//
// The evaluation metrics sit at the top level of metrics_json, in the shape
// EvalMetrics::ToJson() writes for local versions, so both backends' versions
// compare with the same code.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bot/core/types.h"
#include "connectors/util/status.h"

namespace deskbot::model {
struct EvalMetrics;
}

namespace deskbot::llm {

// Where a version stands:
//   creating    registered; files uploading or the job being created
//   running     the job exists at the provider and has not finished
//   evaluating  the job succeeded; its model is being scored on the valid split
//   done        finished: evaluated (and gated), failed or cancelled
inline constexpr const char* kPhaseCreating = "creating";
inline constexpr const char* kPhaseRunning = "running";
inline constexpr const char* kPhaseEvaluating = "evaluating";
inline constexpr const char* kPhaseDone = "done";

struct CheckpointInfo {
  std::string id;
  std::string model;  // usable as a model name
  std::int64_t step = 0;
  std::map<std::string, double> metrics;
};

struct FineTuneRecord {
  std::string phase = kPhaseCreating;
  std::string method;          // "supervised" | "preference"
  std::string base_model;
  std::string job_status;      // the provider's word, e.g. "running"
  std::string fine_tuned_model;
  std::string training_file, validation_file;
  std::int64_t train_examples = 0, valid_examples = 0;
  std::int64_t estimated_billable_tokens = 0;
  std::optional<double> estimated_cost_usd;
  std::optional<std::int64_t> trained_tokens;
  std::string last_event_id;   // newest event already logged
  std::int64_t events_logged = 0;
  std::map<std::string, double> train_metrics;  // latest metrics event (step, train_loss, ...)
  std::vector<CheckpointInfo> checkpoints;
  std::int64_t support_version = 0;  // the local version that gave context and confidence
  std::string last_error;            // of the last poll that failed; cleared on success
  std::int64_t poll_errors = 0;      // consecutive
  std::int64_t eval_prompt_tokens = 0, eval_completion_tokens = 0;
  double eval_cost_usd = 0;

  bool done() const { return phase == kPhaseDone; }
};

// The record in `version` (an empty one in phase "creating" when absent).
// Corruption when metrics_json is not JSON.
util::Result<FineTuneRecord> ReadRecord(const ModelVersion& version);
// Writes `record` into version->metrics_json, keeping the other keys.
void WriteRecord(const FineTuneRecord& record, ModelVersion* version);
// Writes the evaluation metrics at the top level, keeping "finetune".
void WriteEvalMetrics(const model::EvalMetrics& metrics, ModelVersion* version);
// The evaluation metrics of a version (either backend), when it has any.
std::optional<model::EvalMetrics> ReadEvalMetrics(const ModelVersion& version);

}  // namespace deskbot::llm
