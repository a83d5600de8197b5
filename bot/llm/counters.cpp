#include "bot/llm/counters.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace deskbot::llm {

void LlmCounters::Add(const AnswerUsage& u) {
  constexpr auto relaxed = std::memory_order_relaxed;
  suggestions_.fetch_add(1, relaxed);
  if (u.asked) requests_.fetch_add(1, relaxed);
  if (u.failed) failures_.fetch_add(1, relaxed);
  if (u.fallback) fallbacks_.fetch_add(1, relaxed);
  if (u.abstained) abstained_.fetch_add(1, relaxed);
  if (u.truncated) truncated_.fetch_add(1, relaxed);
  if (u.asked && !u.failed && !u.priced) unpriced_.fetch_add(1, relaxed);
  prompt_tokens_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, u.prompt_tokens)), relaxed);
  completion_tokens_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, u.completion_tokens)), relaxed);
  if (u.cost_usd > 0) cost_nano_usd_.fetch_add(static_cast<std::uint64_t>(std::llround(u.cost_usd * 1e9)), relaxed);
}

LlmCountersSnapshot LlmCounters::Snapshot() const {
  constexpr auto relaxed = std::memory_order_relaxed;
  LlmCountersSnapshot s;
  s.suggestions = suggestions_.load(relaxed);
  s.requests = requests_.load(relaxed);
  s.failures = failures_.load(relaxed);
  s.fallbacks = fallbacks_.load(relaxed);
  s.abstained = abstained_.load(relaxed);
  s.truncated = truncated_.load(relaxed);
  s.unpriced_requests = unpriced_.load(relaxed);
  s.prompt_tokens = prompt_tokens_.load(relaxed);
  s.completion_tokens = completion_tokens_.load(relaxed);
  s.cost_usd = static_cast<double>(cost_nano_usd_.load(relaxed)) / 1e9;
  return s;
}

std::string LlmCounters::RenderPrometheus() const {
  const LlmCountersSnapshot s = Snapshot();
  std::string out;
  auto counter = [&out](const char* name, const char* help, const std::string& value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " + value + "\n";
  };
  auto n = [](std::uint64_t v) { return std::to_string(v); };
  counter("deskbot_llm_suggestions_total", "Suggestions asked of the LLM answer model.", n(s.suggestions));
  counter("deskbot_llm_requests_total", "Chat completion requests sent.", n(s.requests));
  counter("deskbot_llm_failures_total", "Chat completion requests that failed (backend down, timeout, bad answer).",
          n(s.failures));
  counter("deskbot_llm_fallbacks_total", "Suggestions the local model answered because the LLM was unavailable.",
          n(s.fallbacks));
  counter("deskbot_llm_abstained_total", "LLM suggestions that abstained.", n(s.abstained));
  counter("deskbot_llm_truncated_total", "Answers cut at the token limit (not posted as answers).", n(s.truncated));
  counter("deskbot_llm_unpriced_requests_total", "Requests to a model with no known price.", n(s.unpriced_requests));
  counter("deskbot_llm_prompt_tokens_total", "Prompt tokens billed.", n(s.prompt_tokens));
  counter("deskbot_llm_completion_tokens_total", "Completion tokens billed.", n(s.completion_tokens));
  char cost[64];
  std::snprintf(cost, sizeof cost, "%.9f", s.cost_usd);
  counter("deskbot_llm_cost_usd_total", "Estimated cost of the requests (see bot/llm/pricing.h).", cost);
  return out;
}

}  // namespace deskbot::llm
