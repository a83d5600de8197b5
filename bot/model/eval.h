// The evaluation harness: retrieval and answer metrics over a held-out set,
// and the splits to make one. Independent of how answers are produced, so the
// LLM backends reuse it: a backend fills one QueryOutcome per test question.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace deskbot::model {

// What a model did with one held-out question.
struct QueryOutcome {
  std::vector<bool> relevant;   // relevance of the ranked answers, best first (top 1 = the suggestion)
  int relevant_total = -1;      // how many relevant answers exist; -1: those found in `relevant`
  double confidence = 0;        // calibrated confidence of the suggestion
  bool answered = true;         // confidence reached the threshold (did not abstain)
  double f1 = 0;                // token-F1 of the suggestion against the true answer
  double rouge_l = 0;           // ROUGE-L F of the suggestion against the true answer
  bool correct() const { return !relevant.empty() && relevant[0]; }
};

struct EvalMetrics {
  size_t queries = 0;
  // Retrieval, over every query (in [0, 1]).
  double p1 = 0, p5 = 0, mrr = 0, map = 0, recall5 = 0, recall10 = 0;
  // Answers at the threshold: precision among answered queries, share answered.
  double precision = 0, coverage = 0;
  // Expected calibration error (10 equal-width bins) of the confidence.
  double ece = 0;
  // Coverage reachable at the target precision on THIS set (oracle threshold).
  double coverage_at_target = 0;
  double target_precision = 0.9;
  // Overlap of the suggestion with the true answer, over every query.
  double f1 = 0, rouge_l = 0;

  nlohmann::json ToJson() const;
  static EvalMetrics FromJson(const nlohmann::json& j);
  // A metric by name ("p1", "mrr", "f1", "coverage", ...); nullopt-like NaN when unknown.
  double Get(const std::string& name) const;
};

// The promotion rule every gate applies (the local registry's and the
// fine-tuned LLMs'): the candidate's gate metric must reach the promoted
// version's plus the margin. A small tolerance so that 0.8 + 0.1 is reached by
// 0.9; an unknown (NaN) value never passes.
inline bool PassesGate(double candidate, double incumbent, double margin) {
  return !std::isnan(candidate) && !std::isnan(incumbent) && candidate + 1e-9 >= incumbent + margin;
}

// `v` with `digits` digits after the point ("0.812"): how reports, CLI
// output and gate notes print metrics, so they read the same everywhere.
std::string Fixed(double v, int digits = 3);

EvalMetrics Summarize(const std::vector<QueryOutcome>& outcomes, double target_precision);

// The largest share of queries that can be answered with precision >= target,
// answering in order of confidence.
double CoverageAtPrecision(const std::vector<std::pair<double, bool>>& confidence_correct, double target);

// The lowest confidence threshold whose answered set (confidence >= it) has
// precision >= target on these outcomes; above every confidence (abstain on
// everything) when no threshold reaches the target.
double ChooseThreshold(const std::vector<std::pair<double, bool>>& confidence_correct, double target);

double ExpectedCalibrationError(const std::vector<std::pair<double, bool>>& confidence_correct, int bins = 10);

// How much better system B is than system A on the same queries, and how sure
// that is: the mean of b[i] - a[i] (per-query scores, e.g. 1/0 for a right
// first answer) with a 95% interval from a paired bootstrap (queries drawn
// with replacement, both systems' scores kept together; percentile interval).
// On a hundred queries a few points of difference are within the interval's
// width, which is what a benchmark should say rather than leave to the reader.
struct PairedDifference {
  double mean = 0, lo = 0, hi = 0;
};
PairedDifference PairedBootstrap(const std::vector<double>& a, const std::vector<double>& b, int resamples = 2000,
                                 std::uint64_t seed = 1);

// Splits: true marks a validation item.
// Random: each item independently with probability `valid_fraction` (seeded).
std::vector<bool> RandomSplit(size_t n, double valid_fraction, std::uint64_t seed);
// By time: the newest `valid_fraction` of items (by `times`) are validation, so
// the model is scored on questions asked after everything it learned from.
std::vector<bool> TimeSplit(const std::vector<std::int64_t>& times, double valid_fraction);

}  // namespace deskbot::model
