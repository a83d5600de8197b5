#include "bot/model/embed.h"

#include <fasttext/fasttext.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "bot/model/ann.h"

namespace deskbot::model {
namespace {

void Normalize(float* v, int dim) {
  float n = std::sqrt(Dot(v, v, dim));
  if (n > 0)
    for (int i = 0; i < dim; ++i) v[i] /= n;
}

// A temporary file removed when it goes out of scope.
class TempFile {
 public:
  explicit TempFile(const std::string& dir) {
    std::string d = dir.empty() ? std::filesystem::temp_directory_path().string() : dir;
    std::string pattern = d + "/deskbot-corpus-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    int fd = mkstemp(buf.data());
    if (fd >= 0) {
      close(fd);
      path_ = buf.data();
    }
  }
  ~TempFile() {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

util::Result<std::vector<float>> TrainWordVectors(const std::vector<std::vector<std::int32_t>>& sentences,
                                                  const Vocabulary& vocab, const EmbedOptions& options) {
  const int dim = options.dim;
  std::vector<float> vectors(vocab.size() * static_cast<size_t>(dim), 0.0f);
  std::int64_t tokens = 0;
  for (const auto& s : sentences) tokens += static_cast<std::int64_t>(s.size());
  if (tokens < 2) return vectors;  // nothing to learn from
  // Two passes at least; when the corpus is bigger than that allows, every
  // k-th sentence (a deterministic sample).
  const int min_epochs = 2;
  size_t stride = 1;
  if (options.epochs <= 0 && tokens * min_epochs > options.token_budget)
    stride = static_cast<size_t>((tokens * min_epochs + options.token_budget - 1) / options.token_budget);
  std::int64_t sampled = 0;
  for (size_t i = 0; i < sentences.size(); i += stride) sampled += static_cast<std::int64_t>(sentences[i].size());

  TempFile corpus(options.work_dir);
  if (corpus.path().empty()) return util::Status::IOError("cannot create a temporary corpus file");
  {
    std::ofstream out(corpus.path());
    for (size_t k = 0; k < sentences.size(); k += stride) {
      const auto& s = sentences[k];
      if (s.empty()) continue;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i) out << ' ';
        out << vocab.term(s[i]);
      }
      out << '\n';
    }
    if (!out) return util::Status::IOError("writing the temporary corpus file failed");
  }
  tokens = std::max<std::int64_t>(sampled, 1);

  fasttext::Args args;
  args.input = corpus.path();
  args.model = options.cbow ? fasttext::model_name::cbow : fasttext::model_name::sg;
  args.loss = fasttext::loss_name::ns;
  args.dim = dim;
  args.ws = 5;
  args.neg = 5;
  args.minCount = 2;
  args.minn = options.min_subword;
  args.maxn = options.max_subword;
  // Small corpora need many passes; large ones get fewer so training stays in seconds.
  args.epoch = options.epochs > 0
                   ? options.epochs
                   : static_cast<int>(std::clamp<std::int64_t>(options.token_budget / tokens, min_epochs, 20));
  args.lr = 0.05;
  // One thread for small corpora: deterministic (threads race on the shared
  // weights), and fast enough there.
  args.thread = tokens > 500'000 ? std::max(1, options.threads) : 1;
  args.bucket = options.max_subword > 0 ? static_cast<int>(std::clamp<size_t>(vocab.size() * 20, 20000, 200000)) : 0;
  args.verbose = 0;
  args.seed = options.seed;
  args.t = 1e-4;

  fasttext::FastText ft;
  try {
    ft.train(args);
  } catch (const std::exception& e) {
    // fastText refuses a corpus with no word seen twice: keep zero vectors,
    // the lexical features still work.
    std::string what = e.what();
    if (what.find("Empty vocabulary") != std::string::npos) return vectors;
    return util::Status::Internal("training word vectors: " + what);
  }
  fasttext::Vector v(dim);
  for (size_t t = 0; t < vocab.size(); ++t) {
    ft.getWordVector(v, vocab.term(static_cast<std::int32_t>(t)));
    float* row = &vectors[t * dim];
    for (int i = 0; i < dim; ++i) row[i] = v[i];
    Normalize(row, dim);
  }
  return vectors;
}

Neighbours NearestTerms(const std::vector<float>& word_vectors, int dim, const std::vector<std::uint32_t>& df,
                        std::uint32_t min_df, int per_term, float min_cosine, int threads) {
  Neighbours nb;
  const size_t terms = df.size();
  nb.offsets.assign(terms + 1, 0);
  std::vector<std::int32_t> eligible;
  for (size_t t = 0; t < terms; ++t) {
    if (df[t] >= min_df && Dot(&word_vectors[t * dim], &word_vectors[t * dim], dim) > 0.5f)
      eligible.push_back(static_cast<std::int32_t>(t));
  }
  if (eligible.size() < 2) return nb;
  std::vector<float> rows(eligible.size() * dim);
  for (size_t i = 0; i < eligible.size(); ++i)
    std::copy_n(&word_vectors[static_cast<size_t>(eligible[i]) * dim], dim, &rows[i * dim]);
  AnnParams params;
  params.threads = threads;
  params.ef_construction = 64;
  auto index = VectorIndex::Build(rows.data(), eligible.size(), dim, params);
  if (!index.ok()) return nb;
  std::vector<std::vector<std::pair<std::int32_t, float>>> found(terms);
  std::vector<std::pair<float, std::uint32_t>> hits;
  for (size_t i = 0; i < eligible.size(); ++i) {
    index->Search(&rows[i * dim], per_term + 1, &hits);
    for (const auto& [cos, j] : hits) {
      if (j == i || cos < min_cosine) continue;
      if (found[eligible[i]].size() < static_cast<size_t>(per_term)) found[eligible[i]].push_back({eligible[j], cos});
    }
  }
  for (size_t t = 0; t < terms; ++t) {
    nb.offsets[t + 1] = nb.offsets[t] + static_cast<std::uint32_t>(found[t].size());
    for (const auto& [term, cos] : found[t]) {
      nb.terms.push_back(term);
      nb.cosines.push_back(cos);
    }
  }
  return nb;
}

SentenceEncoder::SentenceEncoder(std::vector<float> word_vectors, int dim,
                                 const std::vector<std::uint64_t>& term_counts)
    : dim_(dim) {
  // Keep only the rows that hold a vector: most terms of a big corpus (ticket
  // numbers, hosts, typos) are seen once and have none.
  row_of_term_.assign(term_counts.size(), -1);
  std::int32_t rows = 0;
  for (size_t t = 0; t < term_counts.size() && (t + 1) * dim <= word_vectors.size(); ++t) {
    const float* v = &word_vectors[t * dim];
    if (Dot(v, v, dim) == 0) continue;
    row_of_term_[t] = rows++;
    vectors_.insert(vectors_.end(), v, v + dim);
  }
  double total = 0;
  for (auto c : term_counts) total += static_cast<double>(c);
  const double a = 1e-3;
  weights_.resize(term_counts.size());
  for (size_t t = 0; t < term_counts.size(); ++t) {
    double p = total > 0 ? term_counts[t] / total : 0;
    weights_[t] = static_cast<float>(a / (a + p));
  }
  component_.assign(dim_, 0.0f);
}

void SentenceEncoder::EncodeRaw(const std::int32_t* terms, size_t n, float* out) const {
  std::fill(out, out + dim_, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    auto t = terms[i];
    if (t < 0 || static_cast<size_t>(t) >= weights_.size()) continue;
    const float* v = WordVector(t);
    if (!v) continue;
    float w = weights_[t];
    for (int j = 0; j < dim_; ++j) out[j] += w * v[j];
  }
  Normalize(out, dim_);
}

void SentenceEncoder::Encode(const std::int32_t* terms, size_t n, float* out) const {
  EncodeRaw(terms, n, out);
  float proj = Dot(out, component_.data(), dim_);
  if (proj == 0.0f) return;
  for (int j = 0; j < dim_; ++j) out[j] -= proj * component_[j];
  Normalize(out, dim_);
}

void SentenceEncoder::FitCommonComponent(const std::vector<std::vector<std::int32_t>>& sentences) {
  // First principal component (uncentred, as in SIF) by power iteration over
  // a sample of sentence vectors.
  std::vector<std::vector<float>> sample;
  std::mt19937 rng(11);
  size_t step = std::max<size_t>(1, sentences.size() / 5000);
  for (size_t i = 0; i < sentences.size(); i += step) {
    std::vector<float> v(dim_);
    EncodeRaw(sentences[i].data(), sentences[i].size(), v.data());
    if (Dot(v.data(), v.data(), dim_) > 0) sample.push_back(std::move(v));
  }
  component_.assign(dim_, 0.0f);
  if (sample.size() < 2) return;
  std::vector<float> u(dim_), next(dim_);
  std::normal_distribution<float> gauss;
  for (auto& x : u) x = gauss(rng);
  Normalize(u.data(), dim_);
  for (int iter = 0; iter < 30; ++iter) {
    std::fill(next.begin(), next.end(), 0.0f);
    for (const auto& v : sample) {
      float p = Dot(v.data(), u.data(), dim_);
      for (int j = 0; j < dim_; ++j) next[j] += p * v[j];
    }
    Normalize(next.data(), dim_);
    u.swap(next);
  }
  component_ = u;
}

void SentenceEncoder::Write(BinaryWriter* w) const {
  w->Put<std::int32_t>(dim_);
  w->PutVector(row_of_term_);
  w->PutVector(vectors_);
  w->PutVector(weights_);
  w->PutVector(component_);
}

util::Status SentenceEncoder::Read(BinaryReader* r) {
  std::int32_t dim = 0;
  DESK_RETURN_IF_ERROR(r->Get(&dim));
  dim_ = dim;
  DESK_RETURN_IF_ERROR(r->GetVector(&row_of_term_));
  DESK_RETURN_IF_ERROR(r->GetVector(&vectors_));
  DESK_RETURN_IF_ERROR(r->GetVector(&weights_));
  DESK_RETURN_IF_ERROR(r->GetVector(&component_));
  if (dim_ <= 0 || vectors_.size() % dim_ != 0 || row_of_term_.size() != weights_.size() ||
      component_.size() != static_cast<size_t>(dim_))
    return r->Truncated();
  const auto rows = static_cast<std::int64_t>(vectors_.size() / dim_);
  for (auto row : row_of_term_)
    if (row >= rows) return r->Truncated();
  return util::Status::OK();
}

}  // namespace deskbot::model
