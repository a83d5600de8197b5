#include "bot/llm/evaluate.h"

#include "bot/model/text.h"

namespace deskbot::llm {

util::Result<std::vector<model::TrainingExample>> LoadSplit(Store& store, Split split) {
  std::vector<model::TrainingExample> out;
  DESK_RETURN_IF_ERROR(store.ForEachPair([&](const Pair& p) {
    if (p.split != split) return true;
    model::TrainingExample e;
    e.question = p.question;
    e.answer = p.answer;
    e.source = p.source;
    e.ticket_id = p.ticket_external_id;
    e.weight = p.weight;
    e.created_at = p.created_at;
    out.push_back(std::move(e));
    return true;
  }));
  return out;
}

bool AnswerMatches(const std::string& answer, const std::string& truth, double correct_f1) {
  if (answer.empty() || truth.empty()) return false;
  const std::string key = model::AnswerKey(answer);
  if (!key.empty() && key == model::AnswerKey(truth)) return true;
  return model::TokenF1(answer, truth) >= correct_f1;
}

util::Result<LlmEvaluation> EvaluateLlm(const LlmAnswerModel& llm, const std::vector<model::TrainingExample>& valid,
                                        double correct_f1, double target_precision) {
  LlmEvaluation ev;
  ev.outcomes.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size(); ++i) {
    const model::TrainingExample& ex = valid[i];
    auto answer = llm.Answer(ex.question, LlmAnswerModel::Mode::kEvaluate);
    if (!answer.ok())
      return answer.status().WithContext("evaluating " + llm.model() + " on validation question " +
                                         std::to_string(i + 1) + " of " + std::to_string(valid.size()));
    ev.prompt_tokens += answer->usage.prompt_tokens;
    ev.completion_tokens += answer->usage.completion_tokens;
    ev.cost_usd += answer->usage.cost_usd;
    model::QueryOutcome o;
    // One answer per question: relevant = whether it is right; one right answer exists.
    o.relevant = {AnswerMatches(answer->llm_text, ex.answer, correct_f1)};
    o.relevant_total = 1;
    o.confidence = answer->suggestion.confidence;
    o.answered = !answer->suggestion.abstained;
    o.f1 = model::TokenF1(answer->llm_text, ex.answer);
    o.rouge_l = model::RougeL(answer->llm_text, ex.answer);
    ev.outcomes.push_back(std::move(o));
  }
  ev.metrics = model::Summarize(ev.outcomes, target_precision);
  return ev;
}

}  // namespace deskbot::llm
