// Counters of the LLM answer model, shared by every thread that asks it and
// read by the service's /metrics (lock-free: plain atomics).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace deskbot::llm {

// What one suggestion used.
struct AnswerUsage {
  bool asked = false;        // a chat completion was requested
  bool failed = false;       // ...and failed (backend down, timeout, bad answer)
  bool fallback = false;     // the local model answered instead
  bool abstained = false;
  bool truncated = false;    // finish_reason "length": not posted as an answer
  bool priced = false;       // the model had a price (see pricing.h)
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double cost_usd = 0;
};

struct LlmCountersSnapshot {
  std::uint64_t suggestions = 0, requests = 0, failures = 0, fallbacks = 0, abstained = 0, truncated = 0;
  std::uint64_t unpriced_requests = 0;
  std::uint64_t prompt_tokens = 0, completion_tokens = 0;
  double cost_usd = 0;
};

class LlmCounters {
 public:
  void Add(const AnswerUsage& usage);
  LlmCountersSnapshot Snapshot() const;
  // Prometheus text format lines, "deskbot_llm_*" (counters), for /metrics.
  std::string RenderPrometheus() const;

 private:
  std::atomic<std::uint64_t> suggestions_{0}, requests_{0}, failures_{0}, fallbacks_{0}, abstained_{0},
      truncated_{0}, unpriced_{0}, prompt_tokens_{0}, completion_tokens_{0};
  std::atomic<std::uint64_t> cost_nano_usd_{0};  // billionths of a dollar: integral, so atomic adds are exact
};

}  // namespace deskbot::llm
