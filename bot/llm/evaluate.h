// Scoring an LLM on the held-out pairs with the local model's harness
// (bot/model/eval.h): one QueryOutcome per validation question, summarised
// by model::Summarize, so the numbers of both backends mean the same thing.
//
// A question counts as answered right when the LLM's answer is the same
// canned reply as the true answer (model::AnswerKey) or close to it
// (token-F1 >= correct_f1) -- the local model's rule for its top answer.
#pragma once

#include <cstdint>
#include <vector>

#include "bot/core/store.h"
#include "bot/core/types.h"
#include "bot/llm/answer_model.h"
#include "bot/model/eval.h"
#include "bot/model/local_model.h"

namespace deskbot::llm {

// The store's pairs of one split, as the local model trains on them.
util::Result<std::vector<model::TrainingExample>> LoadSplit(Store& store, Split split);

struct LlmEvaluation {
  model::EvalMetrics metrics;
  std::vector<model::QueryOutcome> outcomes;
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
};

// Asks `llm` every question (Mode::kEvaluate: a backend failure is an error,
// never silently the local model's answer).
util::Result<LlmEvaluation> EvaluateLlm(const LlmAnswerModel& llm, const std::vector<model::TrainingExample>& valid,
                                        double correct_f1, double target_precision);

// Whether `answer` counts as right for `truth`.
bool AnswerMatches(const std::string& answer, const std::string& truth, double correct_f1);

}  // namespace deskbot::llm
