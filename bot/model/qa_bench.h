// `deskbot bench qa`: the side-by-side quality benchmark on help-desk data
// files (JSONL: prompt/completion or question/answer, split, optional label).
//
// Plain BM25 (the answer of the nearest training question) and the local
// model are trained on the same rows and scored on the same test rows in one
// run. Tuning (the model's calibration and threshold) sees only the training
// file's valid rows. A training file with no split field at all is all
// training rows (the test rows must then come from another file).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "bot/model/eval.h"
#include "bot/model/local_model.h"
#include "connectors/util/status.h"

namespace deskbot::model {

struct QaRow {
  std::string id;
  std::string question;
  std::string answer;
  std::string split;   // "train" | "valid" (or "validation", "dev") | other (held-out files may have none)
  std::string label;   // the --label field's value, empty when none
};

// Reads a JSONL file of prompt/completion or question/answer rows, or of chat
// rows ({"messages":[...]}: the user's messages before the first assistant
// message are the question, the last assistant message the answer). Rows
// without a question or an answer are skipped and counted in *skipped. A
// malformed line is an error naming the line.
util::Result<std::vector<QaRow>> ReadQaJsonl(const std::string& path, const std::string& label_field,
                                             size_t* skipped);

struct QaBenchOptions {
  std::string train_path;
  std::string test_path;
  std::string label_field;  // empty: no label metrics
  LocalModelOptions model;
};

struct QaSide {
  std::optional<double> p1, mrr;                      // over labels (with --label)
  double f1 = 0, rouge_l = 0;                         // suggested vs true answer, all test rows
  std::optional<double> precision, coverage;          // at the model's threshold (model only)
  std::optional<double> coverage_at_p90;              // best coverage with precision >= 90% (model only)
  double p50_ms = 0, p99_ms = 0;                      // answer latency
  // Per test row, in test order: 1/0 for a right first label (with --label),
  // the token-F1. What the paired comparison and pooled folds are made of.
  std::vector<double> row_p1, row_f1;
};

struct QaBenchResult {
  size_t queries = 0, train_rows = 0, valid_rows = 0;
  size_t test_rows_in_train = 0;  // test questions asked word for word in training (a leak)
  double train_seconds = 0;
  QaSide bm25, model;
  // model minus BM25 on the same rows, with a 95% paired-bootstrap interval.
  std::optional<PairedDifference> p1_gain;  // with --label
  PairedDifference f1_gain;
  TrainReport report;
  nlohmann::json ToJson() const;  // metrics in percent
  std::string ToText() const;
};

util::Result<QaBenchResult> RunQaBench(const QaBenchOptions& options);
// The same on rows already read and split.
util::Result<QaBenchResult> RunQaBenchRows(const std::vector<QaRow>& train, const std::vector<QaRow>& valid,
                                           const std::vector<QaRow>& test, const QaBenchOptions& options);

}  // namespace deskbot::model
