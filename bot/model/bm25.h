// Lexical retrieval: a term dictionary and a compact BM25 inverted index.
//
// Why not Xapian or SQLite FTS5 here: the model needs the BM25 score of EVERY
// candidate (not only of each engine's own top hits) as a ranker feature, and
// must answer in about a millisecond with 100k documents. Postings that store
// the precomputed BM25 impact of each (term, document) and a dense score
// buffer give both in a few hundred lines; the bench compares it with BM25-only
// retrieval in the same run.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bot/model/binary_io.h"

namespace deskbot::model {

class Vocabulary {
 public:
  // -1 when the term is unknown.
  std::int32_t Find(std::string_view term) const {
    auto it = ids_.find(term);
    return it == ids_.end() ? -1 : it->second;
  }
  std::int32_t Add(const std::string& term) {
    auto [it, inserted] = ids_.try_emplace(term, static_cast<std::int32_t>(terms_.size()));
    if (inserted) terms_.push_back(term);
    return it->second;
  }
  size_t size() const { return terms_.size(); }
  const std::string& term(std::int32_t id) const { return terms_[id]; }

  void Write(BinaryWriter* w) const { w->PutStrings(terms_); }
  util::Status Read(BinaryReader* r);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::int32_t, Hash, std::equal_to<>> ids_;
  std::vector<std::string> terms_;
};

// Scores of one query over all documents: a dense array plus the list of
// documents touched, so clearing costs only what the query touched.
class ScoreBuffer {
 public:
  void Resize(size_t n) {
    score_.assign(n, 0.0f);
    touched_.clear();
  }
  void Add(std::uint32_t doc, float v) {
    if (score_[doc] == 0.0f) touched_.push_back(doc);
    score_[doc] += v;
    if (score_[doc] == 0.0f) score_[doc] = 1e-30f;  // stays "touched"
  }
  float operator[](std::uint32_t doc) const { return score_[doc]; }
  void Clear() {
    for (auto d : touched_) score_[d] = 0.0f;
    touched_.clear();
  }
  // The k best documents, best first, skipping `exclude` (-1: none).
  void TopK(size_t k, std::int64_t exclude, std::vector<std::pair<float, std::uint32_t>>* out) const;
  const std::vector<std::uint32_t>& touched() const { return touched_; }
  size_t size() const { return score_.size(); }

 private:
  std::vector<float> score_;
  std::vector<std::uint32_t> touched_;
};

struct Bm25Params {
  float k1 = 1.2f;
  float b = 0.75f;
};

class Bm25Index {
 public:
  // `docs[i]` = term ids of document i (repeats = term frequency).
  static Bm25Index Build(const std::vector<std::vector<std::int32_t>>& docs, size_t vocab_size,
                         Bm25Params params = {});

  // scores[d] += weight * bm25(term, d) for every document d holding `term`.
  void Accumulate(std::int32_t term, float weight, ScoreBuffer* scores) const {
    if (term < 0 || static_cast<size_t>(term) + 1 >= offsets_.size()) return;
    for (auto i = offsets_[term]; i < offsets_[term + 1]; ++i) scores->Add(docs_[i], weight * impact_[i]);
  }
  // The highest score a document can get from `term` (idf * (k1 + 1)): the
  // query's ceiling, used to normalise scores across queries.
  float MaxImpact(std::int32_t term) const {
    if (term < 0 || static_cast<size_t>(term) >= idf_.size()) return 0;
    return idf_[term] * (params_.k1 + 1);
  }
  // The ceiling for a term no document has (the most specific kind): counted
  // in a query's ceiling, so that a query of unknown words scores low.
  float UnseenImpact() const {
    const double n = static_cast<double>(num_docs_);
    return static_cast<float>(std::log(1.0 + (n + 0.5) / 0.5) * (params_.k1 + 1));
  }
  float Idf(std::int32_t term) const { return term < 0 || static_cast<size_t>(term) >= idf_.size() ? 0 : idf_[term]; }
  std::uint32_t DocFreq(std::int32_t term) const {
    return term < 0 || static_cast<size_t>(term) + 1 >= offsets_.size() ? 0 : offsets_[term + 1] - offsets_[term];
  }
  size_t num_docs() const { return num_docs_; }
  size_t num_terms() const { return idf_.size(); }

  void Write(BinaryWriter* w) const;
  util::Status Read(BinaryReader* r);

 private:
  Bm25Params params_;
  std::uint64_t num_docs_ = 0;
  std::vector<std::uint32_t> offsets_;  // per term, into docs_/impact_ (size terms + 1)
  std::vector<std::uint32_t> docs_;
  std::vector<float> impact_;
  std::vector<float> idf_;
};

}  // namespace deskbot::model
