// A supervised fastText classifier from a question to the canned reply
// (answer cluster) that resolved it: the part of the local model that is
// "fine-tuned" on the organisation's tickets in the strict sense. It learns
// which words point to which reply across all the tickets that got it, where
// retrieval only sees one past ticket at a time.
//
// fastText trains it; the learned weights are then copied out (one input row
// per known term, one output row per reply), so that answering needs neither
// fastText nor its dictionary, whose fixed 30M-slot hash table alone costs
// 120 MB per loaded model.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bot/model/binary_io.h"
#include "bot/model/bm25.h"
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
  // Question `i` (term ids of `vocab`) has reply `labels[i]`; questions with a
  // negative label are skipped. Returns an untrained classifier (predicting
  // nothing) when fewer than two replies have examples.
  static util::Result<ReplyClassifier> Train(const std::vector<std::vector<std::int32_t>>& questions,
                                             const std::vector<std::int64_t>& labels, const Vocabulary& vocab,
                                             const ClassifierOptions& options);

  bool trained() const { return !labels_.empty(); }
  // The k most likely replies for a question's terms, best first, with their
  // scores (softmax probabilities, or per-reply sigmoids when trained with
  // negative sampling on many replies). Thread-safe; allocates only `out`.
  void Predict(const std::int32_t* terms, size_t n, int k, std::vector<std::pair<float, std::int64_t>>* out) const;

  const std::vector<std::int64_t>& labels() const { return labels_; }
  void Write(BinaryWriter* w) const;
  // `vocab_size`: the model's vocabulary, for bounds checks.
  util::Status Read(BinaryReader* r, size_t vocab_size);

 private:
  std::int32_t dim_ = 0;
  std::uint8_t softmax_ = 1;
  std::vector<std::int32_t> row_of_term_;  // term id -> input row, -1 when unknown to the classifier
  std::int32_t eos_row_ = -1;              // fastText's end-of-line token, part of every input
  std::vector<float> input_;               // rows x dim
  std::vector<float> output_;              // labels x dim
  std::vector<std::int64_t> labels_;       // output row -> reply (cluster id)
};

}  // namespace deskbot::model
