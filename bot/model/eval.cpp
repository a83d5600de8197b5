#include "bot/model/eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

namespace deskbot::model {

namespace {

std::vector<std::pair<double, bool>> ConfidenceCorrect(const std::vector<QueryOutcome>& outcomes) {
  std::vector<std::pair<double, bool>> cc;
  cc.reserve(outcomes.size());
  for (const auto& o : outcomes) cc.emplace_back(o.confidence, o.correct());
  return cc;
}

}  // namespace

std::string Fixed(double v, int digits) {
  // Sized by a first call: a huge value is printed whole, never cut short.
  const int n = std::snprintf(nullptr, 0, "%.*f", digits, v);
  if (n <= 0) return {};
  std::string out(static_cast<std::size_t>(n), '\0');
  std::snprintf(out.data(), out.size() + 1, "%.*f", digits, v);
  return out;
}

EvalMetrics Summarize(const std::vector<QueryOutcome>& outcomes, double target_precision) {
  EvalMetrics m;
  m.queries = outcomes.size();
  m.target_precision = target_precision;
  if (outcomes.empty()) return m;
  size_t answered = 0, answered_right = 0;
  for (const auto& o : outcomes) {
    const auto& rel = o.relevant;
    size_t found = static_cast<size_t>(std::count(rel.begin(), rel.end(), true));
    size_t total = o.relevant_total >= 0 ? static_cast<size_t>(o.relevant_total) : found;
    if (!rel.empty() && rel[0]) m.p1 += 1;
    double hits5 = 0, hits10 = 0, ap = 0, hits = 0;
    bool first = true;
    for (size_t i = 0; i < rel.size(); ++i) {
      if (!rel[i]) continue;
      hits += 1;
      ap += hits / (i + 1);
      if (i < 5) hits5 += 1;
      if (i < 10) hits10 += 1;
      if (first) {
        m.mrr += 1.0 / (i + 1);
        first = false;
      }
    }
    m.p5 += hits5 / 5.0;
    if (total > 0) {
      m.map += ap / total;
      m.recall5 += hits5 / total;
      m.recall10 += hits10 / total;
    }
    if (o.answered) {
      ++answered;
      if (o.correct()) ++answered_right;
    }
    m.f1 += o.f1;
    m.rouge_l += o.rouge_l;
  }
  double n = static_cast<double>(outcomes.size());
  m.p1 /= n;
  m.p5 /= n;
  m.mrr /= n;
  m.map /= n;
  m.recall5 /= n;
  m.recall10 /= n;
  m.f1 /= n;
  m.rouge_l /= n;
  m.coverage = answered / n;
  m.precision = answered ? static_cast<double>(answered_right) / answered : 0;
  auto cc = ConfidenceCorrect(outcomes);
  m.ece = ExpectedCalibrationError(cc);
  m.coverage_at_target = CoverageAtPrecision(cc, target_precision);
  return m;
}

double CoverageAtPrecision(const std::vector<std::pair<double, bool>>& cc, double target) {
  if (cc.empty()) return 0;
  auto sorted = cc;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t best = 0, right = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i].second) ++right;
    // Only cut between different confidences: equal ones are answered together.
    bool cut = i + 1 == sorted.size() || sorted[i + 1].first < sorted[i].first;
    if (cut && static_cast<double>(right) / (i + 1) >= target) best = i + 1;
  }
  return static_cast<double>(best) / sorted.size();
}

double ChooseThreshold(const std::vector<std::pair<double, bool>>& cc, double target) {
  auto sorted = cc;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  double threshold = std::numeric_limits<double>::infinity();
  size_t right = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i].second) ++right;
    bool cut = i + 1 == sorted.size() || sorted[i + 1].first < sorted[i].first;
    if (cut && static_cast<double>(right) / (i + 1) >= target) threshold = sorted[i].first;
  }
  if (std::isinf(threshold)) {
    // Nothing reaches the target: answer nothing (just above the best).
    double top = sorted.empty() ? 1.0 : sorted[0].first;
    threshold = std::nextafter(top, 2.0);
  }
  return threshold;
}

double ExpectedCalibrationError(const std::vector<std::pair<double, bool>>& cc, int bins) {
  if (cc.empty()) return 0;
  std::vector<double> conf(bins, 0), acc(bins, 0), count(bins, 0);
  for (const auto& [c, right] : cc) {
    int b = std::clamp(static_cast<int>(c * bins), 0, bins - 1);
    conf[b] += c;
    acc[b] += right ? 1 : 0;
    count[b] += 1;
  }
  double ece = 0;
  for (int b = 0; b < bins; ++b)
    if (count[b] > 0) ece += std::abs(acc[b] - conf[b]) / cc.size();
  return ece;
}

PairedDifference PairedBootstrap(const std::vector<double>& a, const std::vector<double>& b, int resamples,
                                 std::uint64_t seed) {
  PairedDifference d;
  const size_t n = std::min(a.size(), b.size());
  if (n == 0) return d;
  std::vector<double> diff(n);
  for (size_t i = 0; i < n; ++i) diff[i] = b[i] - a[i];
  d.mean = std::accumulate(diff.begin(), diff.end(), 0.0) / n;
  d.lo = d.hi = d.mean;
  if (resamples < 2) return d;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> means(static_cast<size_t>(resamples));
  for (auto& m : means) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += diff[pick(rng)];
    m = sum / n;
  }
  std::sort(means.begin(), means.end());
  auto at = [&](double q) { return means[static_cast<size_t>(std::lround(q * (means.size() - 1)))]; };
  d.lo = at(0.025);
  d.hi = at(0.975);
  return d;
}

std::vector<bool> RandomSplit(size_t n, double valid_fraction, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<bool> valid(n);
  for (size_t i = 0; i < n; ++i) valid[i] = u(rng) < valid_fraction;
  return valid;
}

std::vector<bool> TimeSplit(const std::vector<std::int64_t>& times, double valid_fraction) {
  std::vector<size_t> order(times.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return times[a] < times[b]; });
  size_t n_valid = static_cast<size_t>(std::llround(valid_fraction * times.size()));
  std::vector<bool> valid(times.size(), false);
  for (size_t i = times.size() - n_valid; i < times.size(); ++i) valid[order[i]] = true;
  return valid;
}

nlohmann::json EvalMetrics::ToJson() const {
  return {{"queries", queries},   {"p1", p1},         {"p5", p5},
          {"mrr", mrr},           {"map", map},       {"recall5", recall5},
          {"recall10", recall10}, {"precision", precision}, {"coverage", coverage},
          {"ece", ece},           {"coverage_at_target", coverage_at_target},
          {"target_precision", target_precision}, {"f1", f1}, {"rougeL", rouge_l}};
}

EvalMetrics EvalMetrics::FromJson(const nlohmann::json& j) {
  EvalMetrics m;
  auto get = [&](const char* k, double* v) {
    if (j.contains(k) && j[k].is_number()) *v = j[k].get<double>();
  };
  if (j.contains("queries") && j["queries"].is_number()) m.queries = j["queries"].get<size_t>();
  get("p1", &m.p1);
  get("p5", &m.p5);
  get("mrr", &m.mrr);
  get("map", &m.map);
  get("recall5", &m.recall5);
  get("recall10", &m.recall10);
  get("precision", &m.precision);
  get("coverage", &m.coverage);
  get("ece", &m.ece);
  get("coverage_at_target", &m.coverage_at_target);
  get("target_precision", &m.target_precision);
  get("f1", &m.f1);
  get("rougeL", &m.rouge_l);
  return m;
}

double EvalMetrics::Get(const std::string& name) const {
  auto j = ToJson();
  if (name == "rouge_l") return rouge_l;
  if (j.contains(name) && j[name].is_number()) return j[name].get<double>();
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace deskbot::model
