// qa_bench: `deskbot bench qa` without the rest of the CLI (no store needed).
//   qa_bench --train FILE --test FILE [--label FIELD] [--json]
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bot/model/qa_bench.h"

// Development aid: K-fold cross-validation over the whole --train file (test
// folds by conversation group), for decisions that 100 valid rows are too
// noisy to make. Prints the query-weighted means.
static int CrossValidate(const deskbot::model::QaBenchOptions& options, int k) {
  auto rows = deskbot::model::ReadQaJsonl(options.train_path, options.label_field, nullptr);
  if (!rows.ok()) {
    std::cerr << rows.status().ToString() << "\n";
    return 1;
  }
  double n = 0, sums[9] = {};
  deskbot::model::QaSide pooled_bm25, pooled_model;  // every fold's rows, for one paired interval
  for (int fold = 0; fold < k; ++fold) {
    std::vector<deskbot::model::QaRow> train, valid, test;
    for (const auto& r : *rows) {
      std::string group = r.id.substr(0, r.id.find('#'));
      if (std::hash<std::string>{}(group) % k == static_cast<size_t>(fold)) test.push_back(r);
      else if (r.split == "valid") valid.push_back(r);
      else train.push_back(r);
    }
    auto res = deskbot::model::RunQaBenchRows(train, valid, test, options);
    if (!res.ok()) {
      std::cerr << res.status().ToString() << "\n";
      return 1;
    }
    auto append = [](const deskbot::model::QaSide& from, deskbot::model::QaSide* to) {
      to->row_p1.insert(to->row_p1.end(), from.row_p1.begin(), from.row_p1.end());
      to->row_f1.insert(to->row_f1.end(), from.row_f1.begin(), from.row_f1.end());
    };
    append(res->bm25, &pooled_bm25);
    append(res->model, &pooled_model);
    double q = static_cast<double>(res->queries);
    double v[9] = {res->bm25.p1.value_or(0), res->bm25.f1, res->model.p1.value_or(0), res->model.mrr.value_or(0),
                   res->model.f1, res->model.rouge_l, res->model.coverage_at_p90.value_or(0),
                   res->model.coverage.value_or(0), res->model.precision.value_or(0)};
    for (int i = 0; i < 9; ++i) sums[i] += q * v[i];
    n += q;
    std::cerr << "fold " << fold << ": bm25 p1 " << v[0] * 100 << " f1 " << v[1] * 100 << " | model p1 " << v[2] * 100
              << " f1 " << v[4] * 100 << " cov@p90 " << v[6] * 100 << "\n";
  }
  const char* names[9] = {"bm25_p1", "bm25_f1", "model_p1", "model_mrr", "model_f1", "model_rougeL",
                          "model_cov_at_p90", "model_cov_at_thr", "model_prec_at_thr"};
  for (int i = 0; i < 9; ++i) std::cout << names[i] << " " << sums[i] / n * 100 << "\n";
  auto gain = [](const char* name, const std::vector<double>& a, const std::vector<double>& b) {
    auto d = deskbot::model::PairedBootstrap(a, b);
    std::cout << name << " " << d.mean * 100 << " ci95 " << d.lo * 100 << " " << d.hi * 100 << "\n";
  };
  if (!options.label_field.empty()) gain("gain_p1", pooled_bm25.row_p1, pooled_model.row_p1);
  gain("gain_f1", pooled_bm25.row_f1, pooled_model.row_f1);
  return 0;
}

int main(int argc, char** argv) {
  deskbot::model::QaBenchOptions options;
  bool json = false;
  int cv = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "qa_bench: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--train") options.train_path = next();
    else if (a == "--test") options.test_path = next();
    else if (a == "--label") options.label_field = next();
    else if (a == "--json") json = true;
    else if (a == "--cv") cv = std::stoi(next());
    else if (a == "--lexical-only") options.model.use_vectors = false;
    else if (a == "--epochs") options.model.embed.epochs = std::stoi(next());
    else if (a == "--dim") options.model.embed.dim = std::stoi(next());
    else if (a == "--no-classifier") options.model.use_classifier = false;
    else if (a == "--soft") options.model.soft_target = std::stod(next());
    else if (a == "--cbow") options.model.embed.cbow = true;
    else if (a == "--no-subwords") options.model.embed.max_subword = 0;
    else if (a == "--seed") options.model.seed = std::stoull(next());
    else {
      std::cerr << "usage: qa_bench --train FILE --test FILE [--label FIELD] [--json]\n";
      return 2;
    }
  }
  if (options.train_path.empty() || options.test_path.empty()) {
    std::cerr << "usage: qa_bench --train FILE --test FILE [--label FIELD] [--json]\n";
    return 2;
  }
  if (cv > 0) return CrossValidate(options, cv);
  auto result = deskbot::model::RunQaBench(options);
  if (!result.ok()) {
    std::cerr << "qa_bench: " << result.status().ToString() << "\n";
    return 1;
  }
  std::cout << result->ToText();
  if (std::getenv("QA_BENCH_VERBOSE")) std::cerr << result->report.ToJson().dump(1) << "\n";
  if (json) std::cout << result->ToJson().dump() << "\n";
  return 0;
}
