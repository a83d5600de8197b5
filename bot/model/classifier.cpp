#include "bot/model/classifier.h"

#include <fasttext/fasttext.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace deskbot::model {

struct ReplyClassifier::Impl {
  fasttext::FastText ft;
  bool trained = false;
};

ReplyClassifier::ReplyClassifier() : impl_(std::make_unique<Impl>()) {}
ReplyClassifier::~ReplyClassifier() = default;
ReplyClassifier::ReplyClassifier(ReplyClassifier&&) noexcept = default;
ReplyClassifier& ReplyClassifier::operator=(ReplyClassifier&&) noexcept = default;

bool ReplyClassifier::trained() const { return impl_ && impl_->trained; }

util::Result<ReplyClassifier> ReplyClassifier::Train(const std::vector<std::string>& texts,
                                                     const std::vector<std::int64_t>& labels,
                                                     const ClassifierOptions& options) {
  ReplyClassifier c;
  std::set<std::int64_t> distinct;
  std::int64_t tokens = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (labels[i] < 0 || texts[i].empty()) continue;
    distinct.insert(labels[i]);
    tokens += std::count(texts[i].begin(), texts[i].end(), ' ') + 1;
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
    for (size_t i = 0; i < texts.size(); ++i) {
      if (labels[i] < 0 || texts[i].empty()) continue;
      out << "__label__" << labels[i] << ' ' << texts[i] << '\n';
    }
    if (!out) return util::Status::IOError("writing the classifier's training file failed");
  }
  fasttext::Args args;
  args.input = path;
  args.model = fasttext::model_name::sup;
  // A full softmax is best with few replies; hierarchical softmax keeps
  // training fast when there are thousands.
  args.loss = distinct.size() <= 1000 ? fasttext::loss_name::softmax : fasttext::loss_name::hs;
  args.dim = options.dim;
  args.epoch = options.epochs > 0 ? options.epochs
                                  : static_cast<int>(std::clamp<std::int64_t>(options.token_budget / std::max<std::int64_t>(tokens, 1), 3, 100));
  // A few hundred tickets per reply at most: many passes, a high rate.
  args.lr = 1.0;
  args.minCount = 1;
  args.wordNgrams = 1;
  args.minn = 0;
  args.maxn = 0;
  args.bucket = 0;
  args.thread = tokens * args.epoch > 4'000'000 ? std::max(1, options.threads) : 1;  // deterministic when small
  args.verbose = 0;
  args.seed = options.seed;
  try {
    c.impl_->ft.train(args);
  } catch (const std::exception& e) {
    return util::Status::Internal(std::string("training the reply classifier: ") + e.what());
  }
  c.impl_->trained = true;
  return c;
}

void ReplyClassifier::Predict(const std::string& text, int k,
                              std::vector<std::pair<float, std::int64_t>>* out) const {
  out->clear();
  if (!trained() || text.empty()) return;
  std::istringstream in(text + "\n");
  std::vector<std::pair<fasttext::real, std::string>> predictions;
  impl_->ft.predictLine(in, predictions, k, 0.0f);
  for (const auto& [prob, label] : predictions) {
    // "__label__123"
    if (label.size() <= 9) continue;
    out->emplace_back(prob, std::strtoll(label.c_str() + 9, nullptr, 10));
  }
}

util::Status ReplyClassifier::Save(const std::string& path) const {
  if (!trained()) return util::Status::InvalidArgument("classifier is not trained");
  try {
    impl_->ft.saveModel(path);
  } catch (const std::exception& e) {
    return util::Status::IOError(path + ": " + e.what());
  }
  return util::Status::OK();
}

util::Result<ReplyClassifier> ReplyClassifier::Load(const std::string& path) {
  ReplyClassifier c;
  try {
    c.impl_->ft.loadModel(path);
  } catch (const std::exception& e) {
    return util::Status::Corruption(path + ": " + e.what());
  }
  c.impl_->trained = true;
  return c;
}

}  // namespace deskbot::model
