// Semantic vectors learned from the organisation's own tickets.
//
// fastText (CBOW by default) is trained in-process on the
// questions and answers, so words that the help desk uses in the same places
// ("vpn"/"anyconnect", "locked"/"lockout") get close vectors. Sentences become
// SIF vectors (smooth-inverse-frequency weighted mean, first principal
// component removed; Arora et al. 2017), which need no extra training.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bot/model/binary_io.h"
#include "bot/model/bm25.h"
#include "connectors/util/status.h"

namespace deskbot::model {

struct EmbedOptions {
  int dim = 100;
  int epochs = 0;                           // 0: from the token budget, between 2 and 20
  // Tokens x epochs: caps training time. A corpus too big for two passes
  // within it is sampled (word vectors need far less text than retrieval).
  std::int64_t token_budget = 3'000'000;
  int threads = 2;
  int seed = 7;
  // CBOW without character n-grams trains ~5x faster than skip-gram with
  // them, and scored the same on the help-desk benchmarks (stemming already
  // joins word forms).
  bool cbow = true;
  int min_subword = 0, max_subword = 0;     // character n-grams (0 = none)
  std::string work_dir;                     // where the temporary corpus file goes
};

// Trains word vectors on `sentences` (term ids of `vocab`) and returns one
// L2-normalised row per vocabulary term (vocab.size() x dim, row-major).
util::Result<std::vector<float>> TrainWordVectors(const std::vector<std::vector<std::int32_t>>& sentences,
                                                  const Vocabulary& vocab, const EmbedOptions& options);

// For every term, its nearest terms by word vector (cosine >= min_cosine), as
// CSR arrays; terms with document frequency below min_df get none.
struct Neighbours {
  std::vector<std::uint32_t> offsets;  // size terms + 1
  std::vector<std::int32_t> terms;
  std::vector<float> cosines;
};
Neighbours NearestTerms(const std::vector<float>& word_vectors, int dim, const std::vector<std::uint32_t>& df,
                        std::uint32_t min_df, int per_term, float min_cosine, int threads);

class SentenceEncoder {
 public:
  SentenceEncoder() = default;
  // `term_counts`: corpus frequency of every term, for the SIF weights.
  SentenceEncoder(std::vector<float> word_vectors, int dim, const std::vector<std::uint64_t>& term_counts);

  int dim() const { return dim_; }
  // Writes a unit vector (or zeros when no term has a vector) to out[0..dim).
  void Encode(const std::int32_t* terms, size_t n, float* out) const;
  // Learns the common component to remove from a sample of encoded sentences.
  void FitCommonComponent(const std::vector<std::vector<std::int32_t>>& sentences);
  // Null when the term has no vector (seen once: fastText skips it).
  const float* WordVector(std::int32_t term) const {
    auto row = row_of_term_[term];
    return row < 0 ? nullptr : &vectors_[static_cast<size_t>(row) * dim_];
  }
  size_t num_terms() const { return weights_.size(); }

  void Write(BinaryWriter* w) const;
  util::Status Read(BinaryReader* r);

 private:
  void EncodeRaw(const std::int32_t* terms, size_t n, float* out) const;
  int dim_ = 0;
  std::vector<std::int32_t> row_of_term_;  // -1: no vector
  std::vector<float> vectors_;             // only the rows of terms that have one
  std::vector<float> weights_;     // a / (a + p(w))
  std::vector<float> component_;   // removed from every sentence vector
};

inline float Dot(const float* a, const float* b, int dim) {
  float s = 0;
  for (int i = 0; i < dim; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace deskbot::model
