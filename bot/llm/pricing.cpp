#include "bot/llm/pricing.h"

namespace deskbot::llm {

std::vector<InferencePrice> DefaultInferencePricing() {
  // Fine-tuned models are billed above their base models.
  return {
      {"ft:gpt-4o-mini", 0.30, 1.20},  {"ft:gpt-4o", 3.75, 15.00},    {"ft:gpt-4.1-nano", 0.20, 0.80},
      {"ft:gpt-4.1-mini", 0.80, 3.20}, {"ft:gpt-4.1", 3.00, 12.00},   {"ft:gpt-3.5-turbo", 3.00, 6.00},
      {"gpt-4o-mini", 0.15, 0.60},     {"gpt-4o", 2.50, 10.00},       {"gpt-4.1-nano", 0.10, 0.40},
      {"gpt-4.1-mini", 0.40, 1.60},    {"gpt-4.1", 2.00, 8.00},       {"gpt-3.5-turbo", 0.50, 1.50},
  };
}

std::optional<InferencePrice> PriceFor(const std::string& model, std::optional<double> input_override,
                                       std::optional<double> output_override,
                                       const std::vector<InferencePrice>& table) {
  if (input_override && output_override) return InferencePrice{model, *input_override, *output_override};
  const InferencePrice* best = nullptr;
  for (const InferencePrice& p : table) {
    if (model.compare(0, p.model_prefix.size(), p.model_prefix) != 0) continue;
    if (best == nullptr || p.model_prefix.size() > best->model_prefix.size()) best = &p;
  }
  if (best == nullptr) {
    if (!input_override && !output_override) return std::nullopt;
    return InferencePrice{model, input_override.value_or(0), output_override.value_or(0)};
  }
  InferencePrice p = *best;
  if (input_override) p.usd_per_million_input = *input_override;
  if (output_override) p.usd_per_million_output = *output_override;
  return p;
}

double CostUsd(const InferencePrice& price, std::int64_t prompt_tokens, std::int64_t completion_tokens) {
  return (static_cast<double>(prompt_tokens) * price.usd_per_million_input +
          static_cast<double>(completion_tokens) * price.usd_per_million_output) /
         1e6;
}

}  // namespace deskbot::llm
