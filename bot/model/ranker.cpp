#include "bot/model/ranker.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace deskbot::model {

double Sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  double e = std::exp(z);
  return e / (1.0 + e);
}

double Logit(double p) {
  p = std::clamp(p, 1e-6, 1 - 1e-6);
  return std::log(p / (1 - p));
}

namespace {

// Solves a x = b for a small symmetric positive definite a (Gaussian
// elimination with partial pivoting; a and b are consumed).
std::vector<double> Solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[piv][c])) piv = r;
    std::swap(a[c], a[piv]);
    std::swap(b[c], b[piv]);
    if (std::abs(a[c][c]) < 1e-12) continue;
    for (size_t r = c + 1; r < n; ++r) {
      double f = a[r][c] / a[c][c];
      if (f == 0) continue;
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n, 0);
  for (size_t i = n; i-- > 0;) {
    if (std::abs(a[i][i]) < 1e-12) continue;
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= a[i][k] * x[k];
    x[i] = s / a[i][i];
  }
  return x;
}

}  // namespace

void LogisticRegression::Fit(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                             const std::vector<double>& weight, double l2, int iterations) {
  const size_t n = x.size();
  const size_t d = n ? x[0].size() : 0;
  mean_.assign(d, 0);
  scale_.assign(d, 1);
  coef_.assign(d, 0);
  bias_ = 0;
  if (n == 0) return;
  double wsum = 0;
  for (size_t i = 0; i < n; ++i) {
    wsum += weight[i];
    for (size_t j = 0; j < d; ++j) mean_[j] += weight[i] * x[i][j];
  }
  for (auto& m : mean_) m /= wsum;
  std::vector<double> var(d, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) var[j] += weight[i] * (x[i][j] - mean_[j]) * (x[i][j] - mean_[j]);
  for (size_t j = 0; j < d; ++j) scale_[j] = var[j] > 1e-12 ? std::sqrt(var[j] / wsum) : 1.0;

  // Parameters: coef_ then the bias; the penalty spares the bias. The
  // penalty is scaled by the total weight so that l2 means the same at any n.
  const size_t p = d + 1;
  std::vector<double> z(p);
  for (int it = 0; it < iterations; ++it) {
    std::vector<double> grad(p, 0);
    std::vector<std::vector<double>> hess(p, std::vector<double>(p, 0));
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < d; ++j) z[j] = (x[i][j] - mean_[j]) / scale_[j];
      z[d] = 1;
      double s = bias_;
      for (size_t j = 0; j < d; ++j) s += coef_[j] * z[j];
      double pr = Sigmoid(s);
      double g = weight[i] * (pr - y[i]);
      double h = weight[i] * std::max(pr * (1 - pr), 1e-9);
      for (size_t a = 0; a < p; ++a) {
        grad[a] += g * z[a];
        for (size_t b = a; b < p; ++b) hess[a][b] += h * z[a] * z[b];
      }
    }
    for (size_t a = 0; a < p; ++a)
      for (size_t b = 0; b < a; ++b) hess[a][b] = hess[b][a];
    for (size_t j = 0; j < d; ++j) {
      grad[j] += l2 * wsum * coef_[j];
      hess[j][j] += l2 * wsum;
    }
    hess[d][d] += 1e-9 * wsum;
    auto step = Solve(hess, grad);
    double change = 0;
    for (size_t j = 0; j < d; ++j) {
      coef_[j] -= step[j];
      change = std::max(change, std::abs(step[j]));
    }
    bias_ -= step[d];
    change = std::max(change, std::abs(step[d]));
    if (change < 1e-6) break;
  }
}

void LogisticRegression::FitListwise(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                                     const std::vector<size_t>& group_end, const std::vector<double>& group_weight,
                                     double l2, const LogisticRegression* prior, int iterations) {
  const size_t n = x.size();
  const size_t d = n ? x[0].size() : 0;
  mean_.assign(d, 0);
  scale_.assign(d, 1);
  coef_.assign(d, 0);
  bias_ = 0;
  if (n == 0) return;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) mean_[j] += x[i][j] / n;
  std::vector<double> var(d, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) var[j] += (x[i][j] - mean_[j]) * (x[i][j] - mean_[j]) / n;
  for (size_t j = 0; j < d; ++j) scale_[j] = var[j] > 1e-12 ? std::sqrt(var[j]) : 1.0;
  // The penalty pulls toward the prior's weights (on these standardised
  // features), or toward 0.
  std::vector<double> c0(d, 0);
  if (prior && prior->coef_.size() == d)
    for (size_t j = 0; j < d; ++j) c0[j] = prior->coef_[j] / prior->scale_[j] * scale_[j];
  std::vector<std::vector<double>> z(n, std::vector<double>(d));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < d; ++j) z[i][j] = (x[i][j] - mean_[j]) / scale_[j];
  // The groups that have something to learn from, and their target shares.
  std::vector<double> t(n, 0);
  std::vector<size_t> starts;
  double wsum = 0;
  for (size_t g = 0, b = 0; g < group_end.size(); b = group_end[g++]) {
    double sum = 0;
    for (size_t i = b; i < group_end[g]; ++i) sum += std::max(0.0, y[i]);
    if (sum <= 0 || group_end[g] - b < 2) continue;
    for (size_t i = b; i < group_end[g]; ++i) t[i] = std::max(0.0, y[i]) / sum;
    wsum += group_weight[g];
  }
  if (wsum <= 0) return;
  auto loss_at = [&](const std::vector<double>& c) {
    double loss = 0;
    for (size_t g = 0, b = 0; g < group_end.size(); b = group_end[g++]) {
      if (t[b] == 0 && std::all_of(t.begin() + b, t.begin() + group_end[g], [](double v) { return v == 0; })) continue;
      double mx = -1e300;
      std::vector<double> s(group_end[g] - b);
      for (size_t i = b; i < group_end[g]; ++i) {
        double v = 0;
        for (size_t j = 0; j < d; ++j) v += c[j] * z[i][j];
        s[i - b] = v;
        mx = std::max(mx, v);
      }
      double norm = 0;
      for (double v : s) norm += std::exp(v - mx);
      for (size_t i = b; i < group_end[g]; ++i)
        if (t[i] > 0) loss -= group_weight[g] * t[i] * (s[i - b] - mx - std::log(norm));
    }
    double pen = 0;
    for (size_t j = 0; j < d; ++j) pen += (c[j] - c0[j]) * (c[j] - c0[j]);
    return loss + 0.5 * l2 * wsum * pen;
  };
  double loss = loss_at(coef_);
  for (int it = 0; it < iterations; ++it) {
    std::vector<double> grad(d, 0);
    std::vector<std::vector<double>> hess(d, std::vector<double>(d, 0));
    for (size_t g = 0, b = 0; g < group_end.size(); b = group_end[g++]) {
      const size_t e = group_end[g];
      if (std::all_of(t.begin() + b, t.begin() + e, [](double v) { return v == 0; })) continue;
      std::vector<double> s(e - b);
      double mx = -1e300;
      for (size_t i = b; i < e; ++i) {
        double v = 0;
        for (size_t j = 0; j < d; ++j) v += coef_[j] * z[i][j];
        s[i - b] = v;
        mx = std::max(mx, v);
      }
      double norm = 0;
      for (auto& v : s) norm += (v = std::exp(v - mx));
      std::vector<double> mean(d, 0);
      for (size_t i = b; i < e; ++i) {
        double p = s[i - b] / norm;
        s[i - b] = p;
        for (size_t j = 0; j < d; ++j) mean[j] += p * z[i][j];
      }
      const double w = group_weight[g];
      for (size_t i = b; i < e; ++i) {
        const double p = s[i - b];
        for (size_t j = 0; j < d; ++j) {
          grad[j] += w * (p - t[i]) * z[i][j];
          const double zj = z[i][j] - mean[j];
          for (size_t k = j; k < d; ++k) hess[j][k] += w * p * zj * (z[i][k] - mean[k]);
        }
      }
    }
    for (size_t j = 0; j < d; ++j) {
      for (size_t k = 0; k < j; ++k) hess[j][k] = hess[k][j];
      grad[j] += l2 * wsum * (coef_[j] - c0[j]);
      hess[j][j] += l2 * wsum + 1e-9;
    }
    auto step = Solve(hess, grad);
    // Newton with backtracking: the softmax loss is convex but a full step
    // can overshoot far from the optimum.
    double rate = 1;
    std::vector<double> next(d);
    double next_loss = loss;
    for (int k = 0; k < 20; ++k, rate /= 2) {
      for (size_t j = 0; j < d; ++j) next[j] = coef_[j] - rate * step[j];
      next_loss = loss_at(next);
      if (next_loss <= loss) break;
    }
    if (next_loss > loss) break;
    double change = 0;
    for (size_t j = 0; j < d; ++j) change = std::max(change, std::abs(next[j] - coef_[j]));
    coef_ = next;
    loss = next_loss;
    if (change < 1e-6) break;
  }
}

double LogisticRegression::Score(const double* features) const {
  double s = bias_;
  for (size_t j = 0; j < coef_.size(); ++j) s += coef_[j] * (features[j] - mean_[j]) / scale_[j];
  return s;
}

double LogisticRegression::Predict(const double* features) const { return Sigmoid(Score(features)); }

void LogisticRegression::SetFixed(std::vector<double> coef, double bias) {
  coef_ = std::move(coef);
  mean_.assign(coef_.size(), 0);
  scale_.assign(coef_.size(), 1);
  bias_ = bias;
}

nlohmann::json LogisticRegression::ToJson() const {
  return {{"mean", mean_}, {"scale", scale_}, {"coef", coef_}, {"bias", bias_}};
}

bool LogisticRegression::FromJson(const nlohmann::json& j) {
  try {
    mean_ = j.at("mean").get<std::vector<double>>();
    scale_ = j.at("scale").get<std::vector<double>>();
    coef_ = j.at("coef").get<std::vector<double>>();
    bias_ = j.at("bias").get<double>();
  } catch (const std::exception&) {
    return false;
  }
  if (mean_.size() != coef_.size() || scale_.size() != coef_.size()) return false;
  for (double s : scale_)
    if (!(s > 0)) return false;
  return true;
}

}  // namespace deskbot::model
