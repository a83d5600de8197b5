#include "bot/model/classifier.h"

#include <fasttext/fasttext.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

namespace deskbot::model {

util::Result<ReplyClassifier> ReplyClassifier::Train(const std::vector<std::vector<std::int32_t>>& questions,
                                                     const std::vector<std::int64_t>& labels,
                                                     const Vocabulary& vocab, const ClassifierOptions& options) {
  ReplyClassifier c;
  std::set<std::int64_t> distinct;
  std::int64_t tokens = 0;
  for (size_t i = 0; i < questions.size(); ++i) {
    if (labels[i] < 0 || questions[i].empty()) continue;
    distinct.insert(labels[i]);
    tokens += static_cast<std::int64_t>(questions[i].size()) + 1;
  }
  if (distinct.size() < 2) return c;

  std::string dir = options.work_dir.empty() ? std::filesystem::temp_directory_path().string() : options.work_dir;
  std::string pattern = dir + "/deskbot-labels-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  int fd = mkstemp(buf.data());
  if (fd < 0) return util::Status::IOError("cannot create a temporary training file in " + dir);
  close(fd);
  std::string path = buf.data();
  struct Remove {
    std::string p;
    ~Remove() { std::remove(p.c_str()); }
  } remove{path};
  {
    std::ofstream out(path);
    for (size_t i = 0; i < questions.size(); ++i) {
      if (labels[i] < 0 || questions[i].empty()) continue;
      out << "__label__" << labels[i];
      for (auto t : questions[i]) out << ' ' << vocab.term(t);
      out << '\n';
    }
    if (!out) return util::Status::IOError("writing the classifier's training file failed");
  }
  fasttext::Args args;
  args.input = path;
  args.model = fasttext::model_name::sup;
  // A full softmax with few replies; negative sampling keeps training fast
  // with thousands (and, unlike hierarchical softmax, one output row per
  // reply, which is what Predict reads).
  c.softmax_ = distinct.size() <= 1000 ? 1 : 0;
  args.loss = c.softmax_ ? fasttext::loss_name::softmax : fasttext::loss_name::ns;
  args.neg = 5;
  args.dim = options.dim;
  args.epoch = options.epochs > 0 ? options.epochs
                                  : static_cast<int>(std::clamp<std::int64_t>(
                                        options.token_budget / std::max<std::int64_t>(tokens, 1), 3, 100));
  // A few hundred tickets per reply at most: many passes, a high rate.
  args.lr = 1.0;
  args.minCount = 1;
  args.wordNgrams = 1;
  args.minn = 0;
  args.maxn = 0;
  args.bucket = 0;
  args.thread = tokens > 500'000 ? std::max(1, options.threads) : 1;  // deterministic when small
  args.verbose = 0;
  args.seed = options.seed;
  // Copy the weights out, then let fastText (and its 120 MB dictionary) go.
  try {
    fasttext::FastText ft;
    ft.train(args);
    auto dict = ft.getDictionary();
    auto in = ft.getInputMatrix();
    auto outm = ft.getOutputMatrix();
    c.dim_ = options.dim;
    c.row_of_term_.assign(vocab.size(), -1);
    std::int32_t rows = 0;
    for (std::int32_t w = 0; w < dict->nwords(); ++w) {
      const std::string word = dict->getWord(w);
      std::int32_t term = word == fasttext::Dictionary::EOS ? -2 : vocab.Find(word);
      if (term == -1) continue;
      if (term == -2) c.eos_row_ = rows;
      else c.row_of_term_[term] = rows;
      c.input_.insert(c.input_.end(), in->data() + static_cast<size_t>(w) * c.dim_,
                      in->data() + static_cast<size_t>(w + 1) * c.dim_);
      ++rows;
    }
    for (std::int32_t l = 0; l < dict->nlabels(); ++l) {
      c.labels_.push_back(std::strtoll(dict->getLabel(l).c_str() + 9, nullptr, 10));  // "__label__123"
      c.output_.insert(c.output_.end(), outm->data() + static_cast<size_t>(l) * c.dim_,
                       outm->data() + static_cast<size_t>(l + 1) * c.dim_);
    }
  } catch (const std::exception& e) {
    return util::Status::Internal(std::string("training the reply classifier: ") + e.what());
  }
  return c;
}

void ReplyClassifier::Predict(const std::int32_t* terms, size_t n, int k,
                              std::vector<std::pair<float, std::int64_t>>* out) const {
  out->clear();
  if (!trained() || n == 0 || k <= 0) return;
  // The hidden vector: the mean of the input rows (fastText adds the line's end).
  float hidden[512];
  const int dim = std::min<std::int32_t>(dim_, 512);
  std::fill(hidden, hidden + dim, 0.0f);
  int count = 0;
  auto add = [&](std::int32_t row) {
    const float* v = &input_[static_cast<size_t>(row) * dim_];
    for (int j = 0; j < dim; ++j) hidden[j] += v[j];
    ++count;
  };
  for (size_t i = 0; i < n; ++i) {
    auto t = terms[i];
    if (t >= 0 && static_cast<size_t>(t) < row_of_term_.size() && row_of_term_[t] >= 0) add(row_of_term_[t]);
  }
  if (count == 0) return;  // no word it knows: no opinion
  if (eos_row_ >= 0) add(eos_row_);
  for (int j = 0; j < dim; ++j) hidden[j] /= count;

  const size_t labels = labels_.size();
  out->reserve(static_cast<size_t>(k) + 1);
  auto worse = [](const auto& a, const auto& b) { return a.first > b.first; };
  // One pass: the top k in a heap, the softmax normaliser kept online.
  float max_logit = -1e30f;
  double norm = 0;
  for (size_t l = 0; l < labels; ++l) {
    const float* w = &output_[l * dim_];
    float s = 0;
    for (int j = 0; j < dim; ++j) s += w[j] * hidden[j];
    if (softmax_) {
      if (s > max_logit) {
        norm = norm * std::exp(static_cast<double>(max_logit - s)) + 1;
        max_logit = s;
      } else {
        norm += std::exp(static_cast<double>(s - max_logit));
      }
    } else {
      s = 1.0f / (1.0f + std::exp(-s));
    }
    if (out->size() < static_cast<size_t>(k)) {
      out->emplace_back(s, static_cast<std::int64_t>(l));
      std::push_heap(out->begin(), out->end(), worse);
    } else if (s > out->front().first) {
      std::pop_heap(out->begin(), out->end(), worse);
      out->back() = {s, static_cast<std::int64_t>(l)};
      std::push_heap(out->begin(), out->end(), worse);
    }
  }
  std::sort_heap(out->begin(), out->end(), worse);
  if (softmax_)
    for (auto& p : *out) p.first = static_cast<float>(std::exp(p.first - max_logit) / norm);
  for (auto& p : *out) p.second = labels_[p.second];
}

void ReplyClassifier::Write(BinaryWriter* w) const {
  w->Put(dim_);
  w->Put(softmax_);
  w->Put(eos_row_);
  w->PutVector(row_of_term_);
  w->PutVector(input_);
  w->PutVector(output_);
  w->PutVector(labels_);
}

util::Status ReplyClassifier::Read(BinaryReader* r, size_t vocab_size) {
  DESK_RETURN_IF_ERROR(r->Get(&dim_));
  DESK_RETURN_IF_ERROR(r->Get(&softmax_));
  DESK_RETURN_IF_ERROR(r->Get(&eos_row_));
  DESK_RETURN_IF_ERROR(r->GetVector(&row_of_term_));
  DESK_RETURN_IF_ERROR(r->GetVector(&input_));
  DESK_RETURN_IF_ERROR(r->GetVector(&output_));
  DESK_RETURN_IF_ERROR(r->GetVector(&labels_));
  if (labels_.empty()) return util::Status::OK();
  if (dim_ <= 0 || dim_ > 512 || row_of_term_.size() != vocab_size || input_.size() % dim_ != 0 ||
      output_.size() != labels_.size() * static_cast<size_t>(dim_))
    return r->Truncated();
  const auto rows = static_cast<std::int64_t>(input_.size() / dim_);
  for (auto row : row_of_term_)
    if (row >= rows) return r->Truncated();
  if (eos_row_ >= rows) return r->Truncated();
  return util::Status::OK();
}

}  // namespace deskbot::model
