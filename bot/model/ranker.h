// The learned parts on top of retrieval: a logistic-regression ranker over a
// dozen features, and the calibration of its best score into P(correct).
//
// Hand-written because it is ~100 lines: the feature count is tiny, so
// Newton's method with an exact Hessian converges in a few steps, accepts soft
// targets (token-F1 of an answer) and per-sample weights (agent feedback) --
// none of which liblinear's C API takes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace deskbot::model {

class LogisticRegression {
 public:
  // Rows of `x` are standardised internally (means/scales kept). `y` in [0, 1].
  void Fit(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
           const std::vector<double>& weight, double l2, int iterations = 25);
  // Listwise: rows [group_end[g-1], group_end[g]) are one question's
  // candidates; the model's softmax over them is fitted to the targets `y`
  // normalised within the group (groups whose targets are all 0 are skipped).
  void FitListwise(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                   const std::vector<size_t>& group_end, const std::vector<double>& group_weight, double l2,
                   const LogisticRegression* prior = nullptr, int iterations = 30);
  double Score(const double* features) const;       // the logit
  double Predict(const double* features) const;     // sigmoid(Score)
  size_t num_features() const { return mean_.size(); }
  bool fitted() const { return !coef_.empty(); }
  const std::vector<double>& coef() const { return coef_; }

  // Weights, for the metrics report and persistence.
  nlohmann::json ToJson() const;
  bool FromJson(const nlohmann::json& j);

  // Defaults for an untrained ranker: a fixed blend, so a model trained on
  // a handful of pairs still ranks sensibly.
  void SetFixed(std::vector<double> coef, double bias);

 private:
  std::vector<double> mean_, scale_, coef_;
  double bias_ = 0;
};

double Sigmoid(double z);
double Logit(double p);

}  // namespace deskbot::model
