// An AnswerModel that asks an LLM: a fine-tuned model at the fine-tuning
// provider, or any OpenAI-compatible server (vLLM, llama.cpp, Ollama) with a
// model name, over chat completions.
//
// The local model stays in the loop as the "support" model:
//  - it finds the resolved tickets most similar to the question; the top
//    [llm] context_tickets of them go into the prompt (prompts/answer/) and
//    are the suggestion's sources;
//  - CONFIDENCE is its calibrated retrieval confidence (P that the best
//    matching past answer is right, see bot/model/local_model.h): an LLM's
//    own words carry no calibrated probability, and logprobs are not asked
//    for (not every compatible server returns them, and they measure
//    fluency rather than correctness). With n > 1 choices it is multiplied by
//    the chosen choice's agreement (mean token-F1) with the other choices, so
//    samples that disagree lower it;
//  - it ABSTAINS (and the LLM is not asked, which costs nothing) when the
//    support is below [llm] min_support (default: the local model's own
//    threshold for the target precision), and also when the answer was cut
//    at max_tokens, refused, filtered, or empty. No local model: no support,
//    every suggestion abstains (goes to agents without an answer);
//  - FALLBACK: when the LLM fails or times out (after the client's retries),
//    the local model answers and the suggestion's model_version reads
//    "<local version> (llm unavailable)".
// Questions are redacted ([llm] redact_questions) before they leave the
// building. Every suggestion's token usage and estimated cost are added to
// the shared LlmCounters.
#pragma once

#include <memory>
#include <string>

#include "bot/core/interfaces.h"
#include "bot/llm/counters.h"
#include "bot/llm/prompt.h"
#include "bot/llm/settings.h"
#include "connectors/openai/client.h"

namespace deskbot::model {
class LocalModel;
}

namespace deskbot::llm {

inline constexpr const char* kUnavailableMark = " (llm unavailable)";

struct LlmAnswer {
  Suggestion suggestion;
  AnswerUsage usage;
  std::string llm_text;  // the LLM's answer as given (also when abstaining on it)
  std::string error;     // why the LLM's answer was not used, if it was not
};

class LlmAnswerModel : public AnswerModel {
 public:
  enum class Mode {
    kServe,     // skip the LLM without support; on failure fall back to the local model
    kEvaluate,  // always ask the LLM; a failure is an error (never the local model's score)
  };

  // `model`: the model name to ask; `version`: shown in suggestions (e.g.
  // "7:ft:gpt-4o-mini-...:deskbot:abc"); empty: the model name. `support`
  // may be null; `counters` may be null.
  LlmAnswerModel(AnswerSettings settings, std::string model, std::string version,
                 std::shared_ptr<openai::Client> client, std::shared_ptr<const model::LocalModel> support,
                 std::shared_ptr<const AnswerPrompt> prompt, std::shared_ptr<LlmCounters> counters);
  ~LlmAnswerModel() override;

  util::Result<Suggestion> Suggest(const std::string& question) const override;
  util::Result<LlmAnswer> Answer(const std::string& question, Mode mode) const;

  const std::string& model() const;
  const std::string& version() const;
  const std::shared_ptr<LlmCounters>& counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskbot::llm
