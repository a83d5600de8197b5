// Follows fine-tuning jobs to the end. PollOnce looks at every registry
// version with backend "openai" that is still a candidate and not finished,
// and moves it along, saving after every step so that a restarted process
// (or a new poller on the same store) continues exactly there:
//
//   creating   -> find the job by its metadata (a start whose answer was
//                 lost) and adopt it; or, once the start has clearly given
//                 up, mark the version failed
//   running    -> retrieve the job; log its new events (the newest logged
//                 event id is kept, so nothing is logged twice); keep the
//                 latest training metrics; on success record the model and
//                 its checkpoints -> evaluating; failed/cancelled -> state
//                 failed with the provider's reason
//   evaluating -> score the fine-tuned model on the validation split through
//                 the local model's harness (evaluate.h), asking it by chat
//                 completions, then apply the promotion gate (gate.h)
//
// Errors talking to the provider (rate limits, outages, malformed answers)
// leave the version where it was, with the error in its record; the next
// poll tries again. The service calls PollOnce on a schedule
// ([llm] poll_seconds) and reloads its model when a poll
// promoted one; `deskbot finetune poll` runs one by hand.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bot/core/config.h"
#include "bot/core/store.h"
#include "bot/llm/prompt.h"
#include "bot/llm/settings.h"
#include "bot/llm/support.h"
#include "connectors/openai/client.h"

namespace deskbot::llm {

struct PollerOptions {
  AnswerSettings answer;
  GateSettings gate;
  std::string data_dir;
  // A "creating" version whose start process left no word is given this
  // long (uploads of big files take a while) before it is looked for.
  std::chrono::seconds creating_grace{3600};
  int max_event_pages = 20;  // of 50 events each, per poll

  static util::Result<PollerOptions> FromConfig(const Config& config);
};

// "step 12/30, train_loss 0.3125" from a fine-tuning job's metrics event.
std::string TrainingProgress(const std::map<std::string, double>& metrics);

struct PollReport {
  int versions = 0;  // unfinished versions looked at
  int running = 0, evaluated = 0, promoted = 0, failed = 0, errors = 0;
  std::vector<std::string> lines;  // one per version
  std::string ToText() const;
};

class FineTunePoller {
 public:
  using SupportLoader = std::function<util::Result<SupportModel>(Store&, std::int64_t preferred_id)>;

  FineTunePoller(PollerOptions options, std::shared_ptr<openai::Client> client, AnswerPrompt prompt);
  ~FineTunePoller();

  // Errors only when the store cannot be read; a version's trouble is in the
  // report (errors) and in the version's record.
  util::Result<PollReport> PollOnce(Store& store);

  // Where evaluation gets its local support model (default: LoadSupportModel).
  void set_support_loader(SupportLoader loader);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The poller for `config`: the [openai] provider with its API key, the
// [llm] answer settings, the [model] gate. An error when no key is set (the
// service then runs without polling).
util::Result<std::unique_ptr<FineTunePoller>> MakeFineTunePoller(const Config& config);

// The service's scheduled job (a service::PeriodicJob's `run`): one PollOnce,
// its outcome logged; true when a version was promoted (reload the model).
std::function<util::Result<bool>()> ScheduledPoll(std::shared_ptr<FineTunePoller> poller, Store& store);

// The answer prompt of `config` ([llm] prompts_dir or the prompts folder
// found next to the binary).
util::Result<AnswerPrompt> LoadAnswerPrompt(const AnswerSettings& settings);

}  // namespace deskbot::llm
