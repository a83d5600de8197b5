#include "bot/model/bm25.h"

#include <algorithm>
#include <cmath>

namespace deskbot::model {

util::Status Vocabulary::Read(BinaryReader* r) {
  std::vector<std::string> terms;
  DESK_RETURN_IF_ERROR(r->GetStrings(&terms));
  ids_.clear();
  terms_.clear();
  ids_.reserve(terms.size());
  for (auto& t : terms) Add(t);
  if (terms_.size() != terms.size()) return util::Status::Corruption("vocabulary: duplicate terms");
  return util::Status::OK();
}

void ScoreBuffer::TopK(size_t k, std::int64_t exclude,
                       std::vector<std::pair<float, std::uint32_t>>* out) const {
  out->clear();
  if (k == 0) return;
  // A min-heap of the best k seen so far.
  auto worse = [](const std::pair<float, std::uint32_t>& a, const std::pair<float, std::uint32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  for (auto d : touched_) {
    if (static_cast<std::int64_t>(d) == exclude) continue;
    float s = score_[d];
    if (out->size() < k) {
      out->emplace_back(s, d);
      std::push_heap(out->begin(), out->end(), worse);
    } else if (s > out->front().first) {
      std::pop_heap(out->begin(), out->end(), worse);
      out->back() = {s, d};
      std::push_heap(out->begin(), out->end(), worse);
    }
  }
  std::sort_heap(out->begin(), out->end(), worse);
}

Bm25Index Bm25Index::Build(const std::vector<std::vector<std::int32_t>>& docs, size_t vocab_size,
                           Bm25Params params) {
  Bm25Index index;
  index.params_ = params;
  index.num_docs_ = docs.size();
  std::vector<std::uint32_t> df(vocab_size, 0);
  double total_len = 0;
  std::vector<std::int32_t> sorted;
  for (const auto& d : docs) {
    total_len += d.size();
    sorted.assign(d.begin(), d.end());
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    for (auto t : sorted) df[t]++;
  }
  double avgdl = docs.empty() ? 1.0 : std::max(1.0, total_len / docs.size());
  index.offsets_.assign(vocab_size + 1, 0);
  for (size_t t = 0; t < vocab_size; ++t) index.offsets_[t + 1] = index.offsets_[t] + df[t];
  index.docs_.resize(index.offsets_.back());
  index.impact_.resize(index.offsets_.back());
  index.idf_.resize(vocab_size);
  const double n = static_cast<double>(docs.size());
  for (size_t t = 0; t < vocab_size; ++t)
    index.idf_[t] = static_cast<float>(std::log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5)));
  std::vector<std::uint32_t> fill(index.offsets_.begin(), index.offsets_.end() - 1);
  for (size_t i = 0; i < docs.size(); ++i) {
    sorted.assign(docs[i].begin(), docs[i].end());
    std::sort(sorted.begin(), sorted.end());
    double norm = params.k1 * (1 - params.b + params.b * docs[i].size() / avgdl);
    for (size_t j = 0; j < sorted.size();) {
      size_t e = j;
      while (e < sorted.size() && sorted[e] == sorted[j]) ++e;
      double tf = static_cast<double>(e - j);
      auto t = sorted[j];
      auto slot = fill[t]++;
      index.docs_[slot] = static_cast<std::uint32_t>(i);
      index.impact_[slot] = static_cast<float>(index.idf_[t] * tf * (params.k1 + 1) / (tf + norm));
      j = e;
    }
  }
  return index;
}

void Bm25Index::Write(BinaryWriter* w) const {
  w->Put(params_.k1);
  w->Put(params_.b);
  w->Put(num_docs_);
  w->PutVector(offsets_);
  w->PutVector(docs_);
  w->PutVector(impact_);
  w->PutVector(idf_);
}

util::Status Bm25Index::Read(BinaryReader* r) {
  DESK_RETURN_IF_ERROR(r->Get(&params_.k1));
  DESK_RETURN_IF_ERROR(r->Get(&params_.b));
  DESK_RETURN_IF_ERROR(r->Get(&num_docs_));
  DESK_RETURN_IF_ERROR(r->GetVector(&offsets_));
  DESK_RETURN_IF_ERROR(r->GetVector(&docs_));
  DESK_RETURN_IF_ERROR(r->GetVector(&impact_));
  DESK_RETURN_IF_ERROR(r->GetVector(&idf_));
  // Structural checks, so that a bad file cannot make Accumulate read out of bounds.
  if (offsets_.size() != idf_.size() + 1 || docs_.size() != impact_.size() ||
      (offsets_.empty() ? false : offsets_.back() != docs_.size()))
    return r->Truncated();
  for (size_t i = 1; i < offsets_.size(); ++i)
    if (offsets_[i] < offsets_[i - 1]) return r->Truncated();
  for (auto d : docs_)
    if (d >= num_docs_) return r->Truncated();
  return util::Status::OK();
}

}  // namespace deskbot::model
