// A supervised fastText classifier from a question to the canned reply
// (answer cluster) that resolved it: the part of the local model that is
// "fine-tuned" on the organisation's tickets in the strict sense. It learns
// which words point to which reply across all the tickets that got it, where
// retrieval only sees one past ticket at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/util/status.h"

namespace deskbot::model {

struct ClassifierOptions {
  int dim = 50;
  int epochs = 0;                         // 0: from the token budget, between 3 and 100
  std::int64_t token_budget = 5'000'000;  // tokens x epochs
  int threads = 2;
  int seed = 7;
  std::string work_dir;
};

class ReplyClassifier {
 public:
  ReplyClassifier();
  ~ReplyClassifier();
  ReplyClassifier(ReplyClassifier&&) noexcept;
  ReplyClassifier& operator=(ReplyClassifier&&) noexcept;

  // `texts[i]` (space-separated terms) has reply `labels[i]`; examples with a
  // negative label are skipped. Returns an untrained classifier (predicting
  // nothing) when fewer than two labels have examples.
  static util::Result<ReplyClassifier> Train(const std::vector<std::string>& texts,
                                             const std::vector<std::int64_t>& labels,
                                             const ClassifierOptions& options);

  bool trained() const;
  // The k most likely replies of `text` (space-separated terms), with
  // probabilities. Thread-safe.
  void Predict(const std::string& text, int k, std::vector<std::pair<float, std::int64_t>>* out) const;

  util::Status Save(const std::string& path) const;
  static util::Result<ReplyClassifier> Load(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskbot::model
