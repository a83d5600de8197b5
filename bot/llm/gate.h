// The promotion gate for fine-tuned versions: the rule the local model's
// registry documents ([model] gate_metric, promotion_margin), as one small
// function. A candidate is promoted when no version is promoted, or when its
// gate metric on the validation pairs is at least the promoted version's
// (scored on the same pairs where possible) plus the margin.
#pragma once

#include <optional>
#include <string>

#include "bot/llm/settings.h"
#include "bot/model/eval.h"

namespace deskbot::llm {

struct GateDecision {
  bool promote = false;
  std::string note;  // why, with the numbers
};

GateDecision ApplyGate(const model::EvalMetrics& candidate, const std::optional<model::EvalMetrics>& incumbent,
                       const std::string& incumbent_name, const GateSettings& settings);

}  // namespace deskbot::llm
