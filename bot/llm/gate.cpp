#include "bot/llm/gate.h"

#include <cmath>

namespace deskbot::llm {

using model::Fixed;

GateDecision ApplyGate(const model::EvalMetrics& candidate, const std::optional<model::EvalMetrics>& incumbent,
                       const std::string& incumbent_name, const GateSettings& settings) {
  GateDecision d;
  const std::string& metric = settings.gate_metric;
  const std::string on = " on " + std::to_string(candidate.queries) + " validation pairs";
  if (candidate.queries == 0) {
    d.note = "not promoted: no validation pairs to judge it on";
    return d;
  }
  const double mine = candidate.Get(metric);
  if (std::isnan(mine)) {
    d.note = "not promoted: unknown gate metric '" + metric + "'";
    return d;
  }
  if (!incumbent) {
    d.promote = true;
    d.note = "promoted: no version was promoted; " + metric + " " + Fixed(mine) + on;
    return d;
  }
  const double theirs = incumbent->Get(metric);
  d.promote = model::PassesGate(mine, theirs, settings.promotion_margin);
  d.note = std::string(d.promote ? "promoted: " : "not promoted: ") + metric + " " + Fixed(mine) +
           (d.promote ? " >= " : " < ") + Fixed(theirs) + " (" + incumbent_name + ") + margin " +
           Fixed(settings.promotion_margin) + on;
  return d;
}

}  // namespace deskbot::llm
