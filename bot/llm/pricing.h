// What an answer from a hosted model costs, for the per-suggestion cost
// counters. Prices change: this is a dated table (OpenAI's published prices
// per million tokens as read in 2025; check before relying on them), and
// [llm] usd_per_million_input_tokens / usd_per_million_output_tokens replace
// it. Models with no entry (local servers: vLLM, llama.cpp, Ollama) cost
// nothing here and are counted as unpriced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace deskbot::llm {

struct InferencePrice {
  std::string model_prefix;  // "ft:gpt-4o-mini" matches "ft:gpt-4o-mini-2024-07-18:org:x:id"; longest wins
  double usd_per_million_input = 0;
  double usd_per_million_output = 0;
};

std::vector<InferencePrice> DefaultInferencePricing();

// The price of `model`: the override when both parts are given, else the
// table's longest matching prefix, else nullopt.
std::optional<InferencePrice> PriceFor(const std::string& model, std::optional<double> input_override,
                                       std::optional<double> output_override,
                                       const std::vector<InferencePrice>& table = DefaultInferencePricing());

double CostUsd(const InferencePrice& price, std::int64_t prompt_tokens, std::int64_t completion_tokens);

}  // namespace deskbot::llm
