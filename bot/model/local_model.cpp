#include "bot/model/local_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <sys/resource.h>

#include <atomic>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "bot/model/bm25.h"
#include "bot/model/checksum.h"
#include "bot/model/classifier.h"
#include "bot/model/ranker.h"
#include "bot/model/text.h"

namespace deskbot::model {
namespace {

using Hits = std::vector<std::pair<float, std::uint32_t>>;

// The retrievers whose top lists make the candidates.
enum List { kBq, kBa, kBx, kVq, kVa, kClf, kLists };
constexpr size_t kTopK[kLists] = {30, 20, 15, 30, 20, 10};
constexpr size_t kMaxClusters = 30;   // clusters scored per question
constexpr size_t kMbrPeers = 10;      // candidates an answer is compared with for agreement
constexpr float kRrfK = 10;           // reciprocal-rank-fusion constant
constexpr float kExpansionWeight = 0.5f;
constexpr double kOrderAnchor = 2.0;  // listwise ranker: L2 pull toward the pointwise weights
constexpr int kExpansionsPerTerm = 3;
constexpr float kExpansionMinCosine = 0.6f;

// A question is read up to here: a pasted log of megabytes must not cost more
// than a long question (the head of a message is what it is about).
constexpr size_t kMaxQueryBytes = 64 * 1024;
constexpr size_t kMaxQueryTerms = 400;

constexpr int kNumFeatures = 27;
constexpr std::uint32_t kMaxMembersScanned = 256;
constexpr size_t kMaxClassifierLabels = 5000;
const char* const kFeatureNames[kNumFeatures] = {
    "bm25_q_norm", "bm25_q_rel", "bm25_a_norm", "bm25_a_rel", "bm25_expanded_rel", "cos_q",
    "cos_q_gap", "cos_a", "cos_a_gap", "members", "rrf_sum", "cluster_size", "rrf_max",
    "answer_agreement", "answer_length", "known_terms", "query_terms", "classifier_prob", "cluster_bm25_sum", "cluster_bm25_mean", "classifier_log_prob",
    "site_prob", "site_log_prob", "site_share", "handle_reply_share", "handle_reply_log_share",
    "handle_site_share"};

constexpr const char* kFormat = "deskbot-local-model";
constexpr int kFormatVersion = 3;

struct Query {
  std::vector<std::pair<std::int32_t, float>> terms;  // unique known terms, with counts
  std::vector<std::int32_t> sequence;                 // known terms in order
  std::vector<float> vec;                             // sentence vector (may be zero)
  size_t raw_terms = 0;                               // terms before dropping unknown ones
  std::vector<std::uint32_t> handles;                 // the known @names it addresses
};

struct DocCand {
  std::uint32_t doc = 0;
  std::int16_t rank[kLists];
  float bq = 0, ba = 0, bx = 0, cq = 0, ca = 0, rrf = 0;
};

struct ClusterCand {
  std::uint32_t cluster = 0;
  std::uint32_t rep = 0;    // the retrieved ticket that matched best
  std::uint32_t reply = 0;  // the ticket whose answer would be suggested
  float rrf_max = 0;
  double f[kNumFeatures] = {};
  double raw = 0;    // pointwise ranker score
  double order = 0;  // listwise ranker score (orders the candidates)
  double score = 0;  // softmax of the ranker scores over the question's candidates
};

// What the confidence model sees of a ranking: how clearly the best answer
// won, and the best answer's own features.
// A handful of absolute signals rather than every ranking feature: fitted on
// a few hundred questions in a small help desk, more would overfit.
constexpr int kConfidenceFrom[] = {0 /*bm25_q_norm*/, 2 /*bm25_a_norm*/, 5 /*cos_q*/, 7 /*cos_a*/,
                                   11 /*cluster_size*/, 15 /*known_terms*/, 17 /*classifier_prob*/,
                                   18 /*cluster_bm25_sum*/};
constexpr int kNumConfidenceFeatures = 2 + static_cast<int>(std::size(kConfidenceFrom));
void ConfidenceFeatures(const std::vector<ClusterCand>& ranked, double* g) {
  double p1 = ranked[0].score, p2 = 0;
  for (size_t i = 1; i < ranked.size(); ++i) p2 = std::max(p2, ranked[i].score);
  g[0] = p1;
  g[1] = std::log(std::max(p1, 1e-6) / std::max(p2, 1e-6));
  for (size_t i = 0; i < std::size(kConfidenceFrom); ++i) g[2 + i] = ranked[0].f[kConfidenceFrom[i]];
}

struct Scratch {
  ScoreBuffer q, a, x;
  Hits hits;
  std::vector<std::pair<std::uint32_t, std::pair<int, int>>> entries;  // doc, (list, rank)
  std::vector<DocCand> docs;
  std::vector<ClusterCand> clusters;
  std::vector<std::pair<float, std::int64_t>> predicted;  // classifier output
  std::vector<std::pair<float, std::int64_t>> sites;      // site classifier output
  // The question's handles that other training questions named too, and
  // the share of each site among the replies those questions got.
  struct NamedHandle {
    std::uint32_t handle = 0;
    double total = 0;   // training questions naming it (the left-out one not counted)
    bool self = false;  // the left-out question names it
  };
  std::vector<NamedHandle> handles;
  std::vector<std::pair<std::int32_t, double>> handle_sites;
};

// Token-F1 of two sorted unique term-id bags.
double BagF1(const std::int32_t* a, size_t na, const std::int32_t* b, size_t nb) {
  if (na == 0 || nb == 0) return 0;
  size_t i = 0, j = 0, common = 0;
  while (i < na && j < nb) {
    if (a[i] == b[j]) {
      ++common;
      ++i;
      ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  if (common == 0) return 0;
  double p = static_cast<double>(common) / na, r = static_cast<double>(common) / nb;
  return 2 * p * r / (p + r);
}

std::vector<std::int32_t> TermIds(const Vocabulary& vocab, std::string_view text, bool add,
                                  Vocabulary* mutable_vocab) {
  std::vector<std::string> terms;
  Terms(text, &terms);
  std::vector<std::int32_t> ids;
  ids.reserve(terms.size());
  for (const auto& t : terms) {
    std::int32_t id = add ? mutable_vocab->Add(t) : vocab.Find(t);
    if (id >= 0) ids.push_back(id);
  }
  return ids;
}

// Runs fn(i) for i in [0, n) on `threads` threads.
template <typename Fn>
void ParallelFor(size_t n, int threads, Fn&& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}

}  // namespace

nlohmann::json TrainReport::ToJson() const {
  return {{"train_pairs", train_pairs},   {"valid_pairs", valid_pairs},   {"clusters", clusters},
          {"vocabulary", vocabulary},     {"tune_queries", tune_queries}, {"feedback_used", feedback_used},
          {"seconds", seconds},           {"threshold", threshold},       {"calibration", calibration},
          {"valid", valid.ToJson()}, {"stage_seconds", stage_seconds}, {"ranker_weights", ranker_weights}};
}

struct LocalModel::Impl {
  LocalModelOptions options;
  // The training pairs.
  std::vector<std::string> questions, answers, sources, tickets;
  std::vector<std::uint32_t> cluster_of, cluster_size;
  std::vector<std::string> cluster_keys;
  std::vector<std::uint32_t> bag_offsets;  // answer term bags (sorted, unique), for agreement
  std::vector<std::int32_t> bag_terms;
  // Lexical retrieval.
  Vocabulary vocab;
  Bm25Index bm_q, bm_a;
  Neighbours neighbours;
  // Vectors.
  bool has_vectors = false;
  SentenceEncoder encoder;
  VectorIndex ann_q;  // one vector per training pair's question
  VectorIndex ann_a;  // one per reply (cluster): the mean of its answers
  // The members of every cluster (derived from cluster_of).
  std::vector<std::uint32_t> member_offsets, members;
  // The supervised reply classifier; during training also one per fold, each
  // fitted without the questions it scores.
  ReplyClassifier classifier;
  std::vector<std::uint8_t> fold_of;
  std::vector<ReplyClassifier> fold_classifier;  // [k] was trained without fold k
  // The site of every reply (text.h ReplySite; -1: links none) and a
  // classifier from a question to the site whose articles answer it.
  std::vector<std::int32_t> site_of;
  std::vector<std::uint32_t> site_size;  // pairs per site; [last]: pairs whose reply links none
  ReplyClassifier site_classifier;
  std::vector<ReplyClassifier> fold_site_classifier;
  // Whom questions address: per @handle (text.h Handles), how many training
  // questions naming it got each reply. Rebuilt from the questions when
  // loading, not stored.
  std::unordered_map<std::string, std::uint32_t> handle_ids;
  std::vector<std::uint32_t> handle_offsets;  // handle -> its entries, sorted by reply
  std::vector<std::uint32_t> handle_cluster, handle_count;
  std::vector<std::uint32_t> handle_total;    // questions naming the handle
  // Learned on top.
  LogisticRegression ranker;            // pointwise: P(a candidate answer is right)
  LogisticRegression order_ranker;      // listwise: orders a question's candidate answers
  LogisticRegression confidence_model;  // pointwise: P(the best answer is right), before calibration
  LogisticRegression calibrator;        // Platt scaling of that on the validation split
  double threshold = 1.0;
  std::string calibration_source = "none";
  nlohmann::json report = nlohmann::json::object();

  mutable std::mutex pool_mu;
  mutable std::vector<std::unique_ptr<Scratch>> pool;

  size_t num_docs() const { return questions.size(); }

  std::unique_ptr<Scratch> Acquire() const {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!pool.empty()) {
        auto s = std::move(pool.back());
        pool.pop_back();
        return s;
      }
    }
    auto s = std::make_unique<Scratch>();
    s->q.Resize(num_docs());
    s->a.Resize(num_docs());
    s->x.Resize(num_docs());
    return s;
  }
  void Release(std::unique_ptr<Scratch> s) const {
    std::lock_guard<std::mutex> lock(pool_mu);
    pool.push_back(std::move(s));
  }

  // `exclude`: the training pair whose question this is (leave-one-out). Its
  // words that no other pair uses count as unknown, exactly as a new word
  // would at serving time -- otherwise the ranker would learn from held-out
  // questions whose every word is "known".
  Query MakeQuery(std::string_view text, std::int64_t exclude = -1) const {
    Query q;
    std::vector<std::string> terms;
    Terms(text.substr(0, kMaxQueryBytes), &terms);
    if (terms.size() > kMaxQueryTerms) terms.resize(kMaxQueryTerms);
    q.raw_terms = terms.size();
    for (const auto& t : terms) {
      auto id = vocab.Find(t);
      if (id >= 0 && exclude >= 0 && OnlyIn(id, static_cast<std::uint32_t>(exclude))) id = -1;
      if (id >= 0) q.sequence.push_back(id);
    }
    std::vector<std::int32_t> sorted = q.sequence;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size();) {
      size_t e = i;
      while (e < sorted.size() && sorted[e] == sorted[i]) ++e;
      q.terms.emplace_back(sorted[i], static_cast<float>(e - i));
      i = e;
    }
    std::vector<std::string> names;
    Handles(text.substr(0, kMaxQueryBytes), &names);
    for (const auto& name : names) {
      auto it = handle_ids.find(name);
      if (it != handle_ids.end()) q.handles.push_back(it->second);
    }
    if (has_vectors) {
      q.vec.assign(encoder.dim(), 0.0f);
      encoder.Encode(q.sequence.data(), q.sequence.size(), q.vec.data());
    }
    return q;
  }

  // Whether `term` (of pair `doc`'s question) occurs in no other pair.
  bool OnlyIn(std::int32_t term, std::uint32_t doc) const {
    const auto* b = bag_terms.data() + bag_offsets[doc];
    const auto* e = bag_terms.data() + bag_offsets[doc + 1];
    std::uint32_t in_answer = std::binary_search(b, e, term) ? 1 : 0;
    return bm_q.DocFreq(term) <= 1 && bm_a.DocFreq(term) <= in_answer;
  }

  bool HasVector(const Query& q) const {
    return has_vectors && !q.vec.empty() && Dot(q.vec.data(), q.vec.data(), encoder.dim()) > 0.5f;
  }

  // `exclude`: a training pair left out (its question is the query);
  // `exclude_cluster`: a whole reply left out, to see what the ranking looks
  // like when the right answer is not there at all.
  void Candidates(const Query& query, std::int64_t exclude, Scratch* s, std::int64_t exclude_cluster = -1) const;
  const ReplyClassifier& ClassifierFor(std::int64_t exclude) const {
    if (exclude >= 0 && static_cast<size_t>(exclude) < fold_of.size()) return fold_classifier[fold_of[exclude]];
    return classifier;
  }
  const ReplyClassifier& SiteClassifierFor(std::int64_t exclude) const {
    if (exclude >= 0 && static_cast<size_t>(exclude) < fold_of.size() && !fold_site_classifier.empty())
      return fold_site_classifier[fold_of[exclude]];
    return site_classifier;
  }
  void IndexSites() {
    std::unordered_map<std::string, std::int32_t> ids;
    site_of.assign(cluster_keys.size(), -1);
    for (size_t c = 0; c < cluster_keys.size(); ++c) {
      std::string site = ReplySite(cluster_keys[c]);
      if (!site.empty()) site_of[c] = ids.try_emplace(site, static_cast<std::int32_t>(ids.size())).first->second;
    }
    site_size.assign(ids.size() + 1, 0);
    for (size_t c = 0; c < cluster_keys.size(); ++c)
      site_size[site_of[c] >= 0 ? site_of[c] : ids.size()] += cluster_size[c];
  }
  void IndexHandles() {
    handle_ids.clear();
    std::vector<std::uint64_t> pairs;  // handle << 32 | cluster, one per question naming it
    std::vector<std::string> names;
    for (size_t d = 0; d < questions.size(); ++d) {
      names.clear();
      Handles(std::string_view(questions[d]).substr(0, kMaxQueryBytes), &names);
      for (const auto& name : names) {
        auto it = handle_ids.try_emplace(name, static_cast<std::uint32_t>(handle_ids.size())).first;
        pairs.push_back(static_cast<std::uint64_t>(it->second) << 32 | cluster_of[d]);
      }
    }
    std::sort(pairs.begin(), pairs.end());
    handle_offsets.assign(handle_ids.size() + 1, 0);
    handle_total.assign(handle_ids.size(), 0);
    handle_cluster.clear();
    handle_count.clear();
    for (size_t i = 0; i < pairs.size();) {
      size_t e = i;
      while (e < pairs.size() && pairs[e] == pairs[i]) ++e;
      const auto h = static_cast<std::uint32_t>(pairs[i] >> 32);
      handle_cluster.push_back(static_cast<std::uint32_t>(pairs[i]));
      handle_count.push_back(static_cast<std::uint32_t>(e - i));
      handle_total[h] += static_cast<std::uint32_t>(e - i);
      handle_offsets[h + 1] = static_cast<std::uint32_t>(handle_cluster.size());
      i = e;
    }
    for (size_t h = 1; h < handle_offsets.size(); ++h)
      handle_offsets[h] = std::max(handle_offsets[h], handle_offsets[h - 1]);
  }
  // Questions naming handle `h` that got reply `cluster`.
  std::uint32_t HandleCount(std::uint32_t h, std::uint32_t cluster) const {
    auto b = handle_cluster.begin() + handle_offsets[h], e = handle_cluster.begin() + handle_offsets[h + 1];
    auto it = std::lower_bound(b, e, cluster);
    return it != e && *it == cluster ? handle_count[it - handle_cluster.begin()] : 0;
  }
  // The query's handles with their counts, the left-out pair's own question
  // not counted; and the share of each site among their questions.
  void HandleEvidence(const Query& query, std::int64_t exclude, Scratch* s) const;
  void IndexMembers() {
    member_offsets.assign(cluster_keys.size() + 1, 0);
    for (auto c : cluster_of) member_offsets[c + 1]++;
    for (size_t c = 0; c < cluster_keys.size(); ++c) member_offsets[c + 1] += member_offsets[c];
    members.assign(cluster_of.size(), 0);
    std::vector<std::uint32_t> fill(member_offsets.begin(), member_offsets.end() - 1);
    for (size_t d = 0; d < cluster_of.size(); ++d) members[fill[cluster_of[d]]++] = static_cast<std::uint32_t>(d);
  }
  // A training pair that stands for `cluster` (its first, unless left out); -1: none.
  // The ticket whose answer is suggested for `cluster`: its most typical
  // answer, unless that is the left-out pair (then `fallback`).
  std::int64_t ReplyOf(std::uint32_t cluster, std::int64_t exclude, std::uint32_t fallback) const {
    auto d = cluster_reply[cluster];
    return static_cast<std::int64_t>(d) == exclude ? fallback : d;
  }
  // The member whose answer shares most words with the others (a medoid over
  // up to 32 members): personal greetings and one-off details average out.
  void ChooseReplies() {
    cluster_reply.assign(cluster_keys.size(), 0);
    for (size_t c = 0; c < cluster_keys.size(); ++c) {
      auto b = member_offsets[c], e = std::min(member_offsets[c + 1], member_offsets[c] + 32);
      double best = -1;
      for (auto i = b; i < e; ++i) {
        double sum = 0;
        const auto di = members[i];
        for (auto j = b; j < e; ++j) {
          if (i == j) continue;
          const auto dj = members[j];
          sum += BagF1(bag_terms.data() + bag_offsets[di], bag_offsets[di + 1] - bag_offsets[di],
                       bag_terms.data() + bag_offsets[dj], bag_offsets[dj + 1] - bag_offsets[dj]);
        }
        if (sum > best) {
          best = sum;
          cluster_reply[c] = di;
        }
      }
    }
  }
  std::vector<std::uint32_t> cluster_reply;
  std::int64_t RepOf(std::uint32_t cluster, std::int64_t exclude) const {
    for (auto i = member_offsets[cluster]; i < member_offsets[cluster + 1]; ++i)
      if (static_cast<std::int64_t>(members[i]) != exclude) return members[i];
    return -1;
  }
  util::Status TrainClassifiers(const std::vector<std::vector<std::int32_t>>& q_terms);
  util::Status TrainCrossFitted(const std::vector<std::vector<std::int32_t>>& q_terms,
                                const std::vector<std::int64_t>& labels, unsigned folds, const ClassifierOptions& co,
                                ReplyClassifier* full, std::vector<ReplyClassifier>* per_fold) const;
  void ScoreClusters(Scratch* s) const { ScoreClustersWith(ranker, order_ranker, &s->clusters); }
  // `r`: pointwise P(right) per candidate, whose softmax is the score the
  // confidence reads; `order` (when fitted): the listwise ranker that orders.
  static void ScoreClustersWith(const LogisticRegression& r, const LogisticRegression& order,
                                std::vector<ClusterCand>* clusters) {
    // Untrained (a handful of pairs): reciprocal-rank fusion of the retrievers.
    for (auto& c : *clusters) {
      c.raw = r.fitted() ? r.Score(c.f) : 4 * c.f[12];
      c.order = order.fitted() ? order.Score(c.f) : c.raw;
    }
    std::sort(clusters->begin(), clusters->end(), [](const ClusterCand& a, const ClusterCand& b) {
      return a.order > b.order || (a.order == b.order && a.rep < b.rep);
    });
    if (clusters->empty()) return;
    double top = clusters->front().raw;
    for (const auto& c : *clusters) top = std::max(top, c.raw);
    double norm = 0;
    for (auto& c : *clusters) norm += (c.score = std::exp(c.raw - top));
    for (auto& c : *clusters) c.score /= norm;
  }
  // P(best answer is right) before calibration.
  double RawConfidence(const std::vector<ClusterCand>& ranked) const {
    if (ranked.empty()) return 0;
    double g[kNumConfidenceFeatures];
    ConfidenceFeatures(ranked, g);
    return confidence_model.fitted() ? confidence_model.Predict(g) : g[0];
  }
  double Calibrate(const std::vector<ClusterCand>& ranked) const {
    if (ranked.empty()) return 0;
    double raw = RawConfidence(ranked);
    if (!calibrator.fitted()) return raw;
    double x[1] = {Logit(raw)};
    return calibrator.Predict(x);
  }
  // Whether `doc`'s answer counts as right for a question whose true answer is
  // `truth` (with cluster key `truth_key`).
  bool Correct(std::uint32_t doc, const std::string& truth, const std::string& truth_key,
               double* f1_out = nullptr) const {
    double f1 = TokenF1(answers[doc], truth);
    if (f1_out) *f1_out = f1;
    return cluster_keys[cluster_of[doc]] == truth_key || f1 >= options.correct_f1;
  }

  Ranking ToRanking(const Scratch& s, size_t max_answers) const {
    Ranking r;
    for (size_t i = 0; i < s.clusters.size() && i < max_answers; ++i)
      r.answers.push_back({s.clusters[i].cluster, s.clusters[i].rep, s.clusters[i].reply, s.clusters[i].score});
    r.confidence = Calibrate(s.clusters);
    if (!s.clusters.empty()) {
      std::vector<std::pair<float, std::uint32_t>> members;
      for (const auto& d : s.docs)
        if (cluster_of[d.doc] == s.clusters[0].cluster) members.emplace_back(d.rrf, d.doc);
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      for (size_t i = 0; i < members.size() && i < 3; ++i) r.sources.push_back(members[i].second);
    }
    return r;
  }

  util::Status Build(const std::vector<TrainingExample>& train, const LocalModelOptions& opts);
  void FitRanker(const std::vector<TrainingExample>& train, const std::vector<FeedbackExample>& feedback,
                 TrainReport* report);
  std::vector<QueryOutcome> Evaluate(const std::vector<TrainingExample>& test,
                                     std::vector<double>* raw_confidence) const;

  // Training time per stage, for the report.
  std::vector<std::pair<std::string, double>> stages;
  std::chrono::steady_clock::time_point stage_start = std::chrono::steady_clock::now();
  void Stage(const char* name) {
    auto now = std::chrono::steady_clock::now();
    stages.emplace_back(name, std::chrono::duration<double>(now - stage_start).count());
    stage_start = now;
  }

  // Tune-set results kept for calibration when validation is too small.
  std::vector<double> tune_confidence;
  std::vector<bool> tune_correct;
};

void LocalModel::Impl::HandleEvidence(const Query& query, std::int64_t exclude, Scratch* s) const {
  s->handles.clear();
  s->handle_sites.clear();
  if (query.handles.empty()) return;
  std::vector<std::string> own;  // the left-out question's handles
  if (exclude >= 0) Handles(std::string_view(questions[exclude]).substr(0, kMaxQueryBytes), &own);
  for (auto h : query.handles) {
    bool self = false;
    for (const auto& name : own) {
      auto it = handle_ids.find(name);
      self = self || (it != handle_ids.end() && it->second == h);
    }
    const double total = handle_total[h] - (self ? 1.0 : 0.0);
    if (total <= 0) continue;  // only the left-out question named it
    s->handles.push_back({h, total, self});
    for (auto i = handle_offsets[h]; i < handle_offsets[h + 1]; ++i) {
      const std::int32_t site = site_of[handle_cluster[i]];
      if (site < 0) continue;
      double n = handle_count[i] - (self && cluster_of[exclude] == handle_cluster[i] ? 1.0 : 0.0);
      auto it = std::find_if(s->handle_sites.begin(), s->handle_sites.end(),
                             [site](const auto& p) { return p.first == site; });
      if (it == s->handle_sites.end()) s->handle_sites.emplace_back(site, n / total);
      else it->second += n / total;
    }
  }
  if (!s->handles.empty())
    for (auto& [site, share] : s->handle_sites) share /= s->handles.size();
}

void LocalModel::Impl::Candidates(const Query& query, std::int64_t exclude, Scratch* s,
                                  std::int64_t exclude_cluster) const {
  s->q.Clear();
  s->a.Clear();
  s->x.Clear();
  s->entries.clear();
  s->docs.clear();
  s->clusters.clear();
  double qmax_q = 0, qmax_a = 0;
  for (const auto& [t, w] : query.terms) {
    bm_q.Accumulate(t, w, &s->q);
    bm_a.Accumulate(t, w, &s->a);
    bm_q.Accumulate(t, w, &s->x);
    qmax_q += w * bm_q.MaxImpact(t);
    qmax_a += w * bm_a.MaxImpact(t);
  }
  // Words the index has never seen are part of the question too.
  const double unknown = static_cast<double>(query.raw_terms - query.sequence.size());
  qmax_q += unknown * bm_q.UnseenImpact();
  qmax_a += unknown * bm_a.UnseenImpact();
  // Query expansion: the organisation's own near-synonyms of each term.
  if (!neighbours.offsets.empty()) {
    for (const auto& [t, w] : query.terms) {
      for (auto i = neighbours.offsets[t]; i < neighbours.offsets[t + 1]; ++i) {
        auto u = neighbours.terms[i];
        bool in_query = std::any_of(query.terms.begin(), query.terms.end(),
                                    [u](const auto& p) { return p.first == u; });
        if (!in_query) bm_q.Accumulate(u, w * kExpansionWeight * neighbours.cosines[i], &s->x);
      }
    }
  }
  const size_t extra = exclude_cluster >= 0 ? std::min<size_t>(cluster_size[exclude_cluster], 64) : 0;
  auto add_list = [&](int list, const Hits& hits) {
    int rank = 0;
    for (const auto& [score, doc] : hits) {
      if (static_cast<std::int64_t>(doc) == exclude) continue;
      if (static_cast<std::int64_t>(cluster_of[doc]) == exclude_cluster) continue;
      if (rank >= static_cast<int>(kTopK[list])) break;
      s->entries.push_back({doc, {list, rank++}});
    }
  };
  s->q.TopK(kTopK[kBq] + extra, exclude, &s->hits);
  add_list(kBq, s->hits);
  s->a.TopK(kTopK[kBa] + extra, exclude, &s->hits);
  add_list(kBa, s->hits);
  s->x.TopK(kTopK[kBx] + extra, exclude, &s->hits);
  add_list(kBx, s->hits);
  const bool vectors = HasVector(query);
  const int dim = encoder.dim();
  if (vectors) {
    ann_q.Search(query.vec.data(), kTopK[kVq] + 1 + extra, &s->hits);
    add_list(kVq, s->hits);
    // Replies, each through one of its tickets.
    ann_a.Search(query.vec.data(), kTopK[kVa] + 1, &s->hits);
    int rank = 0;
    for (const auto& [cos, cluster] : s->hits) {
      if (static_cast<std::int64_t>(cluster) == exclude_cluster) continue;
      auto doc = RepOf(cluster, exclude);
      if (doc >= 0 && rank < static_cast<int>(kTopK[kVa])) s->entries.push_back({static_cast<std::uint32_t>(doc), {kVa, rank++}});
    }
  }
  // The classifier's likely replies, each through one of its tickets.
  s->predicted.clear();
  const ReplyClassifier& clf = ClassifierFor(exclude);
  if (clf.trained() && !query.sequence.empty()) {
    clf.Predict(query.sequence.data(), query.sequence.size(), static_cast<int>(kTopK[kClf]), &s->predicted);
    int rank = 0;
    for (const auto& [prob, cluster] : s->predicted) {
      if (cluster < 0 || static_cast<size_t>(cluster) >= cluster_keys.size() || cluster == exclude_cluster) continue;
      auto doc = RepOf(static_cast<std::uint32_t>(cluster), exclude);
      if (doc >= 0) s->entries.push_back({static_cast<std::uint32_t>(doc), {kClf, rank++}});
    }
  }
  s->sites.clear();
  const ReplyClassifier& site_clf = SiteClassifierFor(exclude);
  if (site_clf.trained() && !query.sequence.empty())
    site_clf.Predict(query.sequence.data(), query.sequence.size(), static_cast<int>(site_clf.labels().size()),
                     &s->sites);
  if (s->entries.empty()) return;
  HandleEvidence(query, exclude, s);

  // One candidate per document, with its rank in every list.
  std::sort(s->entries.begin(), s->entries.end());
  float best_bq = 0, best_ba = 0, best_bx = 0, best_cq = -1, best_ca = -1;
  for (size_t i = 0; i < s->entries.size();) {
    DocCand d;
    d.doc = s->entries[i].first;
    std::fill(std::begin(d.rank), std::end(d.rank), static_cast<std::int16_t>(-1));
    for (; i < s->entries.size() && s->entries[i].first == d.doc; ++i) {
      auto [list, rank] = s->entries[i].second;
      d.rank[list] = static_cast<std::int16_t>(rank);
      d.rrf += 1.0f / (kRrfK + rank + 1);
    }
    d.bq = s->q[d.doc];
    d.ba = s->a[d.doc];
    d.bx = s->x[d.doc];
    if (vectors) {
      d.cq = Dot(query.vec.data(), ann_q.Vector(d.doc), dim);
      d.ca = Dot(query.vec.data(), ann_a.Vector(cluster_of[d.doc]), dim);
    }
    best_bq = std::max(best_bq, d.bq);
    best_ba = std::max(best_ba, d.ba);
    best_bx = std::max(best_bx, d.bx);
    best_cq = std::max(best_cq, d.cq);
    best_ca = std::max(best_ca, d.ca);
    s->docs.push_back(d);
  }

  // The best candidates overall, for the agreement feature.
  std::vector<const DocCand*> peers;
  for (const auto& d : s->docs) peers.push_back(&d);
  auto by_rrf = [](const DocCand* a, const DocCand* b) { return a->rrf > b->rrf || (a->rrf == b->rrf && a->doc < b->doc); };
  size_t n_peers = std::min(kMbrPeers, peers.size());
  std::partial_sort(peers.begin(), peers.begin() + n_peers, peers.end(), by_rrf);
  peers.resize(n_peers);

  // Group by cluster.
  std::sort(s->docs.begin(), s->docs.end(), [&](const DocCand& a, const DocCand& b) {
    auto ca = cluster_of[a.doc], cb = cluster_of[b.doc];
    return ca < cb || (ca == cb && (a.rrf > b.rrf || (a.rrf == b.rrf && a.doc < b.doc)));
  });
  const double known = query.raw_terms ? static_cast<double>(query.sequence.size()) / query.raw_terms : 0;
  for (size_t i = 0; i < s->docs.size();) {
    ClusterCand c;
    c.cluster = cluster_of[s->docs[i].doc];
    c.rep = s->docs[i].doc;
    c.reply = static_cast<std::uint32_t>(ReplyOf(c.cluster, exclude, c.rep));
    c.rrf_max = s->docs[i].rrf;
    float bq = 0, ba = 0, bx = 0, cq = -1, ca = -1, rrf_sum = 0;
    int members = 0;
    for (; i < s->docs.size() && cluster_of[s->docs[i].doc] == c.cluster; ++i) {
      const auto& d = s->docs[i];
      bq = std::max(bq, d.bq);
      ba = std::max(ba, d.ba);
      bx = std::max(bx, d.bx);
      cq = std::max(cq, d.cq);
      ca = std::max(ca, d.ca);
      rrf_sum += d.rrf;
      ++members;
    }
    double size = cluster_size[c.cluster];
    if (exclude >= 0 && cluster_of[exclude] == c.cluster) size -= 1;
    auto* f = c.f;
    f[0] = qmax_q > 0 ? bq / qmax_q : 0;
    f[1] = best_bq > 0 ? bq / best_bq : 0;
    f[2] = qmax_a > 0 ? ba / qmax_a : 0;
    f[3] = best_ba > 0 ? ba / best_ba : 0;
    f[4] = best_bx > 0 ? bx / best_bx : 0;
    f[5] = vectors ? cq : 0;
    f[6] = vectors ? cq - best_cq : 0;
    f[7] = vectors ? ca : 0;
    f[8] = vectors ? ca - best_ca : 0;
    f[9] = std::log1p(members);
    f[10] = rrf_sum * kRrfK;
    f[11] = std::log1p(std::max(0.0, size));
    f[12] = c.rrf_max * kRrfK;
    f[14] = std::log1p(bag_offsets[c.reply + 1] - bag_offsets[c.reply]);
    f[15] = known;
    f[16] = std::log1p(static_cast<double>(query.raw_terms));
    // Evidence from every ticket that got this reply, not only the retrieved ones.
    {
      double sum = 0;
      std::uint32_t counted = 0;
      auto b = member_offsets[c.cluster], e = std::min(member_offsets[c.cluster + 1], b + kMaxMembersScanned);
      for (auto i = b; i < e; ++i) {
        if (static_cast<std::int64_t>(this->members[i]) == exclude) continue;
        sum += s->q[this->members[i]];
        ++counted;
      }
      f[18] = qmax_q > 0 ? sum / qmax_q : 0;
      f[19] = qmax_q > 0 && counted ? sum / counted / qmax_q : 0;
    }
    f[17] = 0;
    for (const auto& [prob, cluster] : s->predicted)
      if (cluster == static_cast<std::int64_t>(c.cluster)) f[17] = prob;
    f[20] = std::log(f[17] + 1e-3);  // odds-like: the ranker is linear
    f[21] = 0;
    if (site_of[c.cluster] >= 0)
      for (const auto& [prob, site] : s->sites)
        if (site == site_of[c.cluster]) f[21] = prob;
    f[22] = std::log(f[21] + 1e-3);
    // The reply's share of its site's tickets: which of a team's replies is
    // the usual one.
    {
      double in_site = site_size[site_of[c.cluster] >= 0 ? site_of[c.cluster] : site_size.size() - 1];
      if (exclude >= 0 && site_of[cluster_of[exclude]] == site_of[c.cluster]) in_site -= 1;
      f[23] = in_site > 0 ? std::max(0.0, size) / in_site : 0;
    }
    // Whom the question addresses: the share of this reply (and of its site)
    // among the questions that named the same handles; with no handle, among
    // all questions (the reply's prior).
    if (!s->handles.empty()) {
      double share = 0, site_share = 0;
      for (const auto& h : s->handles) {
        double n = HandleCount(h.handle, c.cluster);
        if (h.self && cluster_of[exclude] == c.cluster) n -= 1;
        share += n / h.total;
      }
      for (const auto& [site, sh] : s->handle_sites)
        if (site == site_of[c.cluster] && site >= 0) site_share = sh;
      f[24] = share / s->handles.size();
      f[26] = site_share;
    } else {
      const double all = static_cast<double>(num_docs()) - (exclude >= 0 ? 1 : 0);
      f[24] = all > 0 ? std::max(0.0, size) / all : 0;
      double in_site = site_of[c.cluster] >= 0 ? site_size[site_of[c.cluster]] : 0;
      if (exclude >= 0 && site_of[c.cluster] >= 0 && site_of[cluster_of[exclude]] == site_of[c.cluster]) in_site -= 1;
      f[26] = all > 0 ? std::max(0.0, in_site) / all : 0;
    }
    f[25] = std::log(f[24] + 1e-2);
    s->clusters.push_back(c);
  }
  if (s->clusters.size() > kMaxClusters) {
    std::partial_sort(s->clusters.begin(), s->clusters.begin() + kMaxClusters, s->clusters.end(),
                      [](const ClusterCand& a, const ClusterCand& b) {
                        return a.rrf_max > b.rrf_max || (a.rrf_max == b.rrf_max && a.rep < b.rep);
                      });
    s->clusters.resize(kMaxClusters);
  }
  // Agreement: how much this answer says what the other strong candidates say
  // (a minimum-Bayes-risk vote, which favours the consensus reply).
  for (auto& c : s->clusters) {
    double num = 0, den = 0;
    const auto* a = bag_terms.data() + bag_offsets[c.reply];
    size_t na = bag_offsets[c.reply + 1] - bag_offsets[c.reply];
    for (const auto* p : peers) {
      if (cluster_of[p->doc] == c.cluster) continue;
      const auto* b = bag_terms.data() + bag_offsets[p->doc];
      size_t nb = bag_offsets[p->doc + 1] - bag_offsets[p->doc];
      num += p->rrf * BagF1(a, na, b, nb);
      den += p->rrf;
    }
    c.f[13] = den > 0 ? num / den : 0;
  }
}

util::Status LocalModel::Impl::Build(const std::vector<TrainingExample>& train, const LocalModelOptions& opts) {
  options = opts;
  const size_t n = train.size();
  questions.resize(n);
  answers.resize(n);
  sources.resize(n);
  tickets.resize(n);
  std::vector<std::vector<std::int32_t>> q_terms(n), a_terms(n);
  for (size_t i = 0; i < n; ++i) {
    questions[i] = train[i].question;
    answers[i] = train[i].answer;
    sources[i] = train[i].source;
    tickets[i] = train[i].ticket_id;
    q_terms[i] = TermIds(vocab, train[i].question, true, &vocab);
    a_terms[i] = TermIds(vocab, train[i].answer, true, &vocab);
  }
  // Canned replies: one cluster per answer key.
  std::unordered_map<std::string, std::uint32_t> key_ids;
  cluster_of.resize(n);
  for (size_t i = 0; i < n; ++i) {
    auto [it, inserted] = key_ids.try_emplace(AnswerKey(answers[i]), static_cast<std::uint32_t>(cluster_keys.size()));
    if (inserted) {
      cluster_keys.push_back(it->first);
      cluster_size.push_back(0);
    }
    cluster_of[i] = it->second;
    cluster_size[it->second]++;
  }
  bag_offsets.assign(1, 0);
  for (size_t i = 0; i < n; ++i) {
    std::vector<std::int32_t> bag = a_terms[i];
    std::sort(bag.begin(), bag.end());
    bag.erase(std::unique(bag.begin(), bag.end()), bag.end());
    bag_terms.insert(bag_terms.end(), bag.begin(), bag.end());
    bag_offsets.push_back(static_cast<std::uint32_t>(bag_terms.size()));
  }
  bm_q = Bm25Index::Build(q_terms, vocab.size());
  bm_a = Bm25Index::Build(a_terms, vocab.size());
  Stage("lexical");
  DESK_RETURN_IF_ERROR(TrainClassifiers(q_terms));
  ChooseReplies();
  Stage("classifier");

  has_vectors = opts.use_vectors && n > 0;
  if (!has_vectors) return util::Status::OK();
  std::vector<std::vector<std::int32_t>> sentences;
  sentences.reserve(2 * n);
  std::vector<std::uint64_t> counts(vocab.size(), 0);
  std::vector<std::uint32_t> df(vocab.size(), 0);
  for (size_t i = 0; i < n; ++i) {
    for (auto* terms : {&q_terms[i], &a_terms[i]}) {
      for (auto t : *terms) counts[t]++;
      sentences.push_back(*terms);
    }
  }
  for (size_t t = 0; t < vocab.size(); ++t)
    df[t] = bm_q.DocFreq(static_cast<std::int32_t>(t)) + bm_a.DocFreq(static_cast<std::int32_t>(t));
  auto vectors = TrainWordVectors(sentences, vocab, opts.embed);
  if (!vectors.ok()) return vectors.status();
  Stage("word_vectors");
  const int dim = opts.embed.dim;
  neighbours = NearestTerms(*vectors, dim, df, 2, kExpansionsPerTerm, kExpansionMinCosine, opts.threads);
  Stage("neighbours");
  encoder = SentenceEncoder(std::move(vectors).value(), dim, counts);
  encoder.FitCommonComponent(sentences);
  std::vector<float> qv(n * dim);
  ParallelFor(n, opts.threads, [&](size_t i) { encoder.Encode(q_terms[i].data(), q_terms[i].size(), &qv[i * dim]); });
  // One vector per reply: the normalised mean of (up to 64 of) its answers.
  const size_t clusters = cluster_keys.size();
  std::vector<float> av(clusters * dim, 0.0f);
  ParallelFor(clusters, opts.threads, [&](size_t c) {
    std::vector<float> one(dim);
    float* sum = &av[c * dim];
    auto end = std::min(member_offsets[c + 1], member_offsets[c] + 64);
    for (auto i = member_offsets[c]; i < end; ++i) {
      const auto& terms = a_terms[members[i]];
      encoder.Encode(terms.data(), terms.size(), one.data());
      for (int j = 0; j < dim; ++j) sum[j] += one[j];
    }
    float norm = std::sqrt(Dot(sum, sum, dim));
    if (norm > 0)
      for (int j = 0; j < dim; ++j) sum[j] /= norm;
  });
  AnnParams ann = opts.ann;
  ann.threads = opts.threads;
  auto iq = VectorIndex::Build(qv.data(), n, dim, ann);
  if (!iq.ok()) return iq.status();
  auto ia = VectorIndex::Build(av.data(), clusters, dim, ann);
  if (!ia.ok()) return ia.status();
  ann_q = std::move(iq).value();
  ann_a = std::move(ia).value();
  Stage("sentence_vectors");
  return util::Status::OK();
}

util::Status LocalModel::Impl::TrainClassifiers(const std::vector<std::vector<std::int32_t>>& q_terms) {
  IndexMembers();
  IndexSites();
  IndexHandles();
  if (!options.use_classifier) return util::Status::OK();
  const size_t n = q_terms.size();
  // Labels: the replies given at least twice (the largest first, capped).
  std::vector<std::uint32_t> repeated;
  for (std::uint32_t c = 0; c < cluster_size.size(); ++c)
    if (cluster_size[c] >= 2) repeated.push_back(c);
  std::stable_sort(repeated.begin(), repeated.end(),
                   [&](auto a, auto b) { return cluster_size[a] > cluster_size[b]; });
  if (repeated.size() > kMaxClassifierLabels) repeated.resize(kMaxClassifierLabels);
  std::vector<bool> is_label(cluster_size.size(), false);
  for (auto c : repeated) is_label[c] = true;
  std::vector<std::int64_t> labels(n, -1);
  fold_of.assign(n, 0);
  // Cross-fitting: more folds make the held-out classifiers closer to the
  // final one; two keep training time in bounds on big sets.
  const unsigned folds = n < 20000 ? 5 : 2;
  std::mt19937_64 rng(options.seed ^ 0x5eed);
  for (size_t i = 0; i < n; ++i) {
    if (is_label[cluster_of[i]]) labels[i] = cluster_of[i];
    fold_of[i] = static_cast<std::uint8_t>(rng() % folds);
  }
  ClassifierOptions co = options.classifier;
  co.threads = options.threads;
  co.seed = static_cast<int>(options.seed);
  DESK_RETURN_IF_ERROR(TrainCrossFitted(q_terms, labels, folds, co, &classifier, &fold_classifier));
  // Sites: every question whose reply links an article.
  std::vector<std::int64_t> sites(n, -1);
  for (size_t i = 0; i < n; ++i) sites[i] = site_of[cluster_of[i]];
  return TrainCrossFitted(q_terms, sites, folds, co, &site_classifier, &fold_site_classifier);
}

// A classifier on every question with a label, and one per fold trained
// without that fold's questions (for the held-out questions the ranker is
// fitted on).
util::Status LocalModel::Impl::TrainCrossFitted(const std::vector<std::vector<std::int32_t>>& q_terms,
                                                const std::vector<std::int64_t>& labels, unsigned folds,
                                                const ClassifierOptions& co, ReplyClassifier* full,
                                                std::vector<ReplyClassifier>* per_fold) const {
  auto all = ReplyClassifier::Train(q_terms, labels, vocab, co);
  if (!all.ok()) return all.status();
  *full = std::move(all).value();
  if (!full->trained()) return util::Status::OK();
  for (unsigned f = 0; f < folds; ++f) {
    std::vector<std::int64_t> fold_labels(labels.size(), -1);
    for (size_t i = 0; i < labels.size(); ++i)
      if (fold_of[i] != f) fold_labels[i] = labels[i];
    auto c = ReplyClassifier::Train(q_terms, fold_labels, vocab, co);
    if (!c.ok()) return c.status();
    per_fold->push_back(std::move(c).value());
  }
  return util::Status::OK();
}

void LocalModel::Impl::FitRanker(const std::vector<TrainingExample>& train,
                                 const std::vector<FeedbackExample>& feedback, TrainReport* report) {
  // Held-out training questions: each is asked of the index without itself
  // (leave-one-out), and every candidate answer is labelled by how right it
  // is for that question.
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(options.seed);
  std::shuffle(order.begin(), order.end(), rng);
  order.resize(std::min<size_t>(order.size(), static_cast<size_t>(options.max_tune_queries)));
  std::sort(order.begin(), order.end());

  struct Group {
    std::vector<ClusterCand> clusters;
    std::vector<double> y;
    std::vector<bool> correct;
    double weight = 1;
    bool tune = true;  // false: agent feedback
  };
  std::vector<Group> groups(order.size() + feedback.size());
  ParallelFor(order.size(), options.threads, [&](size_t k) {
    size_t doc = order[k];
    auto s = Acquire();
    Query q = MakeQuery(train[doc].question, static_cast<std::int64_t>(doc));
    Candidates(q, static_cast<std::int64_t>(doc), s.get());
    const std::string& truth = train[doc].answer;
    const std::string& key = cluster_keys[cluster_of[doc]];
    auto& g = groups[k];
    g.weight = train[doc].weight;
    for (const auto& c : s->clusters) {
      double f1 = 0;
      bool right = Correct(c.reply, truth, key, &f1);
      g.clusters.push_back(c);
      // Soft target: a wrong reply that shares much of the true one's words
      // is better than one that shares none.
      g.y.push_back(right ? 1.0 : options.soft_target * f1);
      g.correct.push_back(right);
    }
    Release(std::move(s));
  });
  // Agents' feedback: for the question, the preferred reply (when it is one of
  // the model's, e.g. an edited answer added to the pairs) is right and every
  // other candidate, the rejected one included, is not.
  size_t feedback_used = 0;
  for (size_t k = 0; k < feedback.size(); ++k) {
    auto s = Acquire();
    Query q = MakeQuery(feedback[k].question);
    Candidates(q, -1, s.get());
    std::string good = AnswerKey(feedback[k].preferred);
    auto& g = groups[order.size() + k];
    g.tune = false;
    g.weight = 3.0;
    for (const auto& c : s->clusters) {
      bool right = cluster_keys[c.cluster] == good;
      g.clusters.push_back(c);
      g.y.push_back(right ? 1.0 : 0.0);
      g.correct.push_back(right);
    }
    if (std::count(g.correct.begin(), g.correct.end(), true) > 0) ++feedback_used;
    Release(std::move(s));
  }
  report->tune_queries = order.size();
  report->feedback_used = feedback_used;

  // The ranker.
  std::vector<std::vector<double>> x;
  std::vector<double> y, group_weight;
  std::vector<size_t> group_end;
  size_t positive_groups = 0;
  for (const auto& g : groups) {
    for (size_t i = 0; i < g.clusters.size(); ++i) {
      x.emplace_back(g.clusters[i].f, g.clusters[i].f + kNumFeatures);
      y.push_back(g.y[i]);
    }
    group_end.push_back(x.size());
    group_weight.push_back(g.weight);
    if (std::any_of(g.y.begin(), g.y.end(), [](double v) { return v > 0; })) ++positive_groups;
  }
  // Pointwise (every candidate a yes/no question) beat a listwise softmax fit
  // on the validation sets: it also learns from questions whose right answer
  // was not among the candidates.
  if (positive_groups >= 10) {
    std::vector<double> w;
    for (size_t g = 0, i = 0; g < group_end.size(); ++g)
      for (; i < group_end[g]; ++i) w.push_back(group_weight[g]);
    ranker.Fit(x, y, w, 1e-3);
    // The order: a softmax over each question's candidates fitted to put the
    // right reply first. Where the right reply is among them the others are
    // simply wrong; where it is not, the soft targets say which come closest.
    std::vector<double> order_y = y;
    for (size_t g = 0, b = 0; g < group_end.size(); b = group_end[g++]) {
      bool has_right = false;
      for (size_t i = b; i < group_end[g]; ++i) has_right = has_right || y[i] >= 1.0;
      if (has_right)
        for (size_t i = b; i < group_end[g]; ++i) order_y[i] = y[i] >= 1.0 ? 1.0 : 0.0;
    }
    // Anchored to the pointwise ranker (the penalty pulls toward its weights,
    // not toward 0): one softmax per question is a tenth of the evidence of
    // one yes/no per candidate, and alone it overfits a small help desk.
    order_ranker.FitListwise(x, order_y, group_end, group_weight, kOrderAnchor, &ranker);
  }

  // The confidence model: from how the ranking came out to whether its best
  // answer was right, on the same held-out training questions.
  std::vector<std::vector<double>> cx;
  std::vector<double> cy, cw;
  for (auto& g : groups) {
    if (!g.tune || g.clusters.empty()) continue;
    std::vector<std::pair<ClusterCand, bool>> scored;
    for (size_t i = 0; i < g.clusters.size(); ++i) scored.emplace_back(g.clusters[i], g.correct[i]);
    ScoreClustersWith(ranker, order_ranker, &g.clusters);
    // ScoreClustersWith reorders; find each cluster's correctness again.
    std::vector<bool> correct;
    for (const auto& c : g.clusters)
      for (const auto& [orig, right] : scored)
        if (orig.cluster == c.cluster) {
          correct.push_back(right);
          break;
        }
    std::vector<double> row(kNumConfidenceFeatures);
    ConfidenceFeatures(g.clusters, row.data());
    cx.push_back(std::move(row));
    cy.push_back(correct[0] ? 1.0 : 0.0);
    cw.push_back(1.0);
  }
  // Unanswerable questions: the same held-out questions with their whole
  // reply left out, so the model learns what a near miss looks like (the
  // help desk gets questions it never answered before).
  std::vector<std::vector<double>> ux(order.size());
  std::vector<int> uy(order.size(), -1);
  ParallelFor(order.size(), options.threads, [&](size_t k) {
    size_t doc = order[k];
    if (cluster_size[cluster_of[doc]] < 2) return;  // leaving the pair out already did it
    auto s = Acquire();
    Query q = MakeQuery(train[doc].question, static_cast<std::int64_t>(doc));
    Candidates(q, static_cast<std::int64_t>(doc), s.get(), cluster_of[doc]);
    ScoreClusters(s.get());
    if (!s->clusters.empty()) {
      ux[k].resize(kNumConfidenceFeatures);
      ConfidenceFeatures(s->clusters, ux[k].data());
      uy[k] = Correct(s->clusters[0].reply, train[doc].answer, cluster_keys[cluster_of[doc]]) ? 1 : 0;
    }
    Release(std::move(s));
  });
  for (size_t k = 0; k < order.size(); ++k) {
    if (uy[k] < 0) continue;
    cx.push_back(std::move(ux[k]));
    cy.push_back(uy[k]);
    cw.push_back(1.0);
  }
  size_t right = static_cast<size_t>(std::count(cy.begin(), cy.end(), 1.0));
  if (right >= 5 && cy.size() - right >= 5) confidence_model.Fit(cx, cy, cw, 3e-2);
  for (size_t i = 0; i < cx.size(); ++i) {
    tune_confidence.push_back(confidence_model.fitted() ? confidence_model.Predict(cx[i].data()) : cx[i][0]);
    tune_correct.push_back(cy[i] > 0.5);
  }
}

std::vector<QueryOutcome> LocalModel::Impl::Evaluate(const std::vector<TrainingExample>& test,
                                                     std::vector<double>* raw_confidence) const {
  std::vector<QueryOutcome> outcomes(test.size());
  if (raw_confidence) raw_confidence->assign(test.size(), 0.0);
  ParallelFor(test.size(), options.threads, [&](size_t i) {
    auto s = Acquire();
    Query q = MakeQuery(test[i].question);
    Candidates(q, -1, s.get());
    ScoreClusters(s.get());
    const std::string key = AnswerKey(test[i].answer);
    auto& o = outcomes[i];
    for (size_t k = 0; k < s->clusters.size() && k < 10; ++k)
      o.relevant.push_back(Correct(s->clusters[k].reply, test[i].answer, key));
    o.confidence = Calibrate(s->clusters);
    o.answered = !s->clusters.empty() && o.confidence >= threshold;
    if (!s->clusters.empty()) {
      const auto& text = answers[s->clusters[0].reply];
      o.f1 = TokenF1(text, test[i].answer);
      o.rouge_l = RougeL(text, test[i].answer);
      if (raw_confidence) (*raw_confidence)[i] = RawConfidence(s->clusters);
    }
    Release(std::move(s));
  });
  return outcomes;
}

// ---------------------------------------------------------------------------

LocalModel::LocalModel() : impl_(std::make_unique<Impl>()) {}
LocalModel::~LocalModel() = default;

util::Result<std::unique_ptr<LocalModel>> LocalModel::Train(const std::vector<TrainingExample>& train,
                                                            const std::vector<TrainingExample>& valid,
                                                            const std::vector<FeedbackExample>& feedback,
                                                            const LocalModelOptions& options,
                                                            TrainReport* report) {
  auto start = std::chrono::steady_clock::now();
  if (train.empty()) return util::Status::InvalidArgument("no training pairs: build the dataset first");
  std::unique_ptr<LocalModel> model(new LocalModel());
  auto& impl = *model->impl_;
  DESK_RETURN_IF_ERROR(impl.Build(train, options));
  TrainReport local_report;
  TrainReport& r = report ? *report : local_report;
  r = TrainReport{};
  r.train_pairs = train.size();
  r.valid_pairs = valid.size();
  r.clusters = impl.cluster_keys.size();
  r.vocabulary = impl.vocab.size();
  impl.FitRanker(train, feedback, &r);
  impl.fold_of.clear();
  impl.fold_classifier.clear();
  impl.fold_site_classifier.clear();
  impl.Stage("ranker");

  // Calibration: the confidence model's output mapped to P(right) by a
  // logistic fit on its logit (Platt scaling) on the validation split; the
  // held-out training questions stand in when there are too few valid pairs.
  std::vector<double> raw;
  auto outcomes = impl.Evaluate(valid, &raw);
  std::vector<double> cal_x;
  std::vector<bool> cal_y;
  if (valid.size() >= static_cast<size_t>(options.min_valid_for_calibration)) {
    impl.calibration_source = "valid";
    cal_x = raw;
    for (const auto& o : outcomes) cal_y.push_back(o.correct());
  } else {
    impl.calibration_source = "train-holdout";
    cal_x = impl.tune_confidence;
    cal_y = impl.tune_correct;
  }
  if (!cal_x.empty()) {
    std::vector<std::vector<double>> x;
    std::vector<double> y, w;
    double mean = 0;
    for (size_t i = 0; i < cal_x.size(); ++i) {
      x.push_back({Logit(cal_x[i])});
      mean += Logit(cal_x[i]) / cal_x.size();
      y.push_back(cal_y[i] ? 1.0 : 0.0);
      w.push_back(1.0);
    }
    // One pseudo-observation each way keeps the fit finite when every
    // held-out answer was right (or wrong).
    x.push_back({mean}), y.push_back(1.0), w.push_back(0.5);
    x.push_back({mean}), y.push_back(0.0), w.push_back(0.5);
    impl.calibrator.Fit(x, y, w, 1e-3);
  }
  // The threshold: the lowest calibrated confidence at which the answered
  // held-out questions reach the target precision.
  std::vector<std::pair<double, bool>> conf_correct;
  for (size_t i = 0; i < cal_x.size(); ++i) {
    double x[1] = {Logit(cal_x[i])};
    conf_correct.emplace_back(impl.calibrator.fitted() ? impl.calibrator.Predict(x) : cal_x[i], cal_y[i]);
  }
  impl.threshold = ChooseThreshold(conf_correct, options.target_precision);
  r.threshold = impl.threshold;
  r.calibration = impl.calibration_source;
  // The validation outcomes again, now with calibrated confidences (the
  // rankings themselves did not change).
  for (size_t i = 0; i < outcomes.size(); ++i) {
    double x[1] = {Logit(raw[i])};
    outcomes[i].confidence = impl.calibrator.fitted() ? impl.calibrator.Predict(x) : raw[i];
    outcomes[i].answered = !outcomes[i].relevant.empty() && outcomes[i].confidence >= impl.threshold;
  }
  r.valid = Summarize(outcomes, options.target_precision);
  impl.Stage("calibration");
  r.stage_seconds = impl.stages;
  const auto& orders = impl.order_ranker.fitted() ? impl.order_ranker : impl.ranker;
  for (size_t j = 0; j < orders.coef().size() && j < kNumFeatures; ++j)
    r.ranker_weights.emplace_back(kFeatureNames[j], orders.coef()[j]);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  impl.report = r.ToJson();
  return model;
}

util::Result<Suggestion> LocalModel::Suggest(const std::string& question) const {
  Ranking ranking = Rank(question, 5);
  Suggestion s;
  s.model_version = version_;
  s.confidence = ranking.confidence;
  s.abstained = ranking.answers.empty() || ranking.confidence < impl_->threshold;
  if (!s.abstained) s.text = impl_->answers[ranking.answers[0].reply_doc];
  // The source tickets: those the suggestion came from, or, when abstaining,
  // the nearest ones, so an agent can still look.
  std::vector<std::uint32_t> docs = ranking.sources;
  if (s.abstained) {
    docs.clear();
    for (const auto& a : ranking.answers)
      if (docs.size() < 3) docs.push_back(a.doc);
  }
  for (auto d : docs) {
    SourceRef ref;
    ref.source = impl_->sources[d];
    ref.ticket_external_id = impl_->tickets[d];
    ref.question = impl_->questions[d];
    ref.score = ranking.answers.empty() ? 0 : ranking.answers[0].score;
    s.sources.push_back(std::move(ref));
  }
  return s;
}

Ranking LocalModel::Rank(const std::string& question, size_t max_answers) const {
  auto s = impl_->Acquire();
  Query q = impl_->MakeQuery(question);
  impl_->Candidates(q, -1, s.get());
  impl_->ScoreClusters(s.get());
  Ranking r = impl_->ToRanking(*s, max_answers);
  impl_->Release(std::move(s));
  return r;
}

nlohmann::json LocalModel::Explain(const std::string& question, size_t max_answers) const {
  auto s = impl_->Acquire();
  Query q = impl_->MakeQuery(question);
  impl_->Candidates(q, -1, s.get());
  impl_->ScoreClusters(s.get());
  nlohmann::json terms = nlohmann::json::array();
  for (auto t : q.sequence) terms.push_back(impl_->vocab.term(t));
  nlohmann::json out = {{"known_terms", terms}, {"raw_terms", q.raw_terms}};
  nlohmann::json answers = nlohmann::json::array();
  for (size_t i = 0; i < s->clusters.size() && i < max_answers; ++i) {
    const auto& c = s->clusters[i];
    nlohmann::json f;
    for (int j = 0; j < kNumFeatures; ++j) f[kFeatureNames[j]] = c.f[j];
    answers.push_back({{"ticket", impl_->tickets[c.rep]}, {"reply", impl_->cluster_keys[c.cluster].substr(0, 80)},
                       {"score", c.score}, {"raw", c.raw}, {"order", c.order},
                       {"features", f}});
  }
  out["answers"] = answers;
  out["confidence_raw"] = impl_->RawConfidence(s->clusters);
  out["confidence"] = impl_->Calibrate(s->clusters);
  out["threshold"] = impl_->threshold;
  impl_->Release(std::move(s));
  return out;
}

std::vector<QueryOutcome> LocalModel::Evaluate(const std::vector<TrainingExample>& test) const {
  return impl_->Evaluate(test, nullptr);
}

EvalMetrics LocalModel::Score(const std::vector<TrainingExample>& test) const {
  return Summarize(Evaluate(test), impl_->options.target_precision);
}

double LocalModel::threshold() const { return impl_->threshold; }
size_t LocalModel::num_pairs() const { return impl_->num_docs(); }
const std::string& LocalModel::answer(std::uint32_t doc) const { return impl_->answers[doc]; }
const std::string& LocalModel::question(std::uint32_t doc) const { return impl_->questions[doc]; }
const std::string& LocalModel::source(std::uint32_t doc) const { return impl_->sources[doc]; }
const std::string& LocalModel::ticket_id(std::uint32_t doc) const { return impl_->tickets[doc]; }
std::uint32_t LocalModel::cluster_of(std::uint32_t doc) const { return impl_->cluster_of[doc]; }

// --- files -----------------------------------------------------------------

namespace {

const char* const kManifest = "MANIFEST";
const char* const kMeta = "meta.json";
const char* const kCorpus = "corpus.bin";
const char* const kLexical = "lexical.bin";
const char* const kVectors = "vectors.bin";
const char* const kAnnQ = "questions.hnsw";
const char* const kAnnA = "answers.hnsw";
const char* const kClassifier = "classifier.bin";
const char* const kSiteClassifier = "sites.bin";

std::string Join(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

// Reads the MANIFEST ("<sha256>  <name>" lines) after checking it against the
// expected checksum; then checks every listed file. Returns name -> content
// for the small files it read anyway.
util::Result<std::vector<std::pair<std::string, std::string>>> CheckedFiles(const std::string& dir,
                                                                            const std::string& expected,
                                                                            std::string* checksum) {
  auto manifest = ReadFile(Join(dir, kManifest));
  if (!manifest.ok()) {
    if (manifest.status().code() == util::Status::Code::kNotFound)
      return util::Status::NotFound("model file " + Join(dir, kManifest) + " is missing");
    return manifest.status();
  }
  *checksum = Sha256Hex(*manifest);
  if (!expected.empty() && *checksum != expected)
    return util::Status::Corruption("model " + dir + ": MANIFEST does not match the registry's checksum");
  std::vector<std::pair<std::string, std::string>> files;
  std::istringstream in(*manifest);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto sep = line.find("  ");
    if (sep == std::string::npos || sep != 64)
      return util::Status::Corruption("model " + dir + ": malformed MANIFEST line");
    std::string digest = line.substr(0, sep), name = line.substr(sep + 2);
    if (name.find('/') != std::string::npos || name == ".." || name.empty())
      return util::Status::Corruption("model " + dir + ": bad file name in MANIFEST");
    auto content = ReadFile(Join(dir, name));
    if (!content.ok()) {
      if (content.status().code() == util::Status::Code::kNotFound)
        return util::Status::NotFound("model file " + Join(dir, name) + " is missing");
      return content.status();
    }
    if (Sha256Hex(*content) != digest)
      return util::Status::Corruption("model file " + Join(dir, name) + " is corrupt (SHA-256 mismatch)");
    // The vector indexes are read again by hnswlib: do not hold a second copy.
    bool keep = name.size() < 5 || name.compare(name.size() - 5, 5, ".hnsw") != 0;
    files.emplace_back(name, keep ? std::move(content).value() : std::string());
  }
  return files;
}

std::string* Find(std::vector<std::pair<std::string, std::string>>& files, const std::string& name) {
  for (auto& [n, c] : files)
    if (n == name) return &c;
  return nullptr;
}

// Frees a file's bytes once parsed (peak memory of a load ~ the model, not twice it).
void Drop(std::string* content) {
  content->clear();
  content->shrink_to_fit();
}

}  // namespace

util::Result<std::string> LocalModel::Save(const std::string& dir) const {
  const auto& m = *impl_;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return util::Status::IOError(dir + ": " + ec.message());

  std::vector<std::string> names;
  auto write = [&](const char* name, const std::string& data) -> util::Status {
    names.push_back(name);
    return WriteFile(Join(dir, name), data);
  };
  {
    BinaryWriter w("DBMC1");
    w.PutStrings(m.questions);
    w.PutStrings(m.answers);
    w.PutStrings(m.sources);
    w.PutStrings(m.tickets);
    w.PutVector(m.cluster_of);
    w.PutVector(m.cluster_size);
    w.PutStrings(m.cluster_keys);
    w.PutVector(m.bag_offsets);
    w.PutVector(m.bag_terms);
    DESK_RETURN_IF_ERROR(write(kCorpus, w.data()));
  }
  {
    BinaryWriter w("DBML1");
    m.vocab.Write(&w);
    m.bm_q.Write(&w);
    m.bm_a.Write(&w);
    w.PutVector(m.neighbours.offsets);
    w.PutVector(m.neighbours.terms);
    w.PutVector(m.neighbours.cosines);
    DESK_RETURN_IF_ERROR(write(kLexical, w.data()));
  }
  if (m.has_vectors) {
    BinaryWriter w("DBMV1");
    m.encoder.Write(&w);
    DESK_RETURN_IF_ERROR(write(kVectors, w.data()));
    DESK_RETURN_IF_ERROR(m.ann_q.Save(Join(dir, kAnnQ)));
    DESK_RETURN_IF_ERROR(m.ann_a.Save(Join(dir, kAnnA)));
    names.push_back(kAnnQ);
    names.push_back(kAnnA);
  }
  if (m.classifier.trained()) {
    BinaryWriter w("DBMK1");
    m.classifier.Write(&w);
    DESK_RETURN_IF_ERROR(write(kClassifier, w.data()));
  }
  if (m.site_classifier.trained()) {
    BinaryWriter w("DBMS1");
    m.site_classifier.Write(&w);
    DESK_RETURN_IF_ERROR(write(kSiteClassifier, w.data()));
  }
  nlohmann::json meta = {
      {"format", kFormat},
      {"has_classifier", m.classifier.trained()},
      {"has_site_classifier", m.site_classifier.trained()},
      {"version", version_},
      {"format_version", kFormatVersion},
      {"pairs", m.num_docs()},
      {"clusters", m.cluster_keys.size()},
      {"has_vectors", m.has_vectors},
      {"dim", m.has_vectors ? m.encoder.dim() : 0},
      {"ef_search", m.options.ann.ef_search},
      {"threshold", m.threshold},
      {"target_precision", m.options.target_precision},
      {"correct_f1", m.options.correct_f1},
      {"threads", m.options.threads},
      {"features", std::vector<std::string>(kFeatureNames, kFeatureNames + kNumFeatures)},
      {"ranker", m.ranker.fitted() ? m.ranker.ToJson() : nlohmann::json(nullptr)},
      {"order_ranker", m.order_ranker.fitted() ? m.order_ranker.ToJson() : nlohmann::json(nullptr)},
      {"confidence_model", m.confidence_model.fitted() ? m.confidence_model.ToJson() : nlohmann::json(nullptr)},
      {"calibrator", m.calibrator.fitted() ? m.calibrator.ToJson() : nlohmann::json(nullptr)},
      {"calibration", m.calibration_source},
      {"report", m.report}};
  DESK_RETURN_IF_ERROR(write(kMeta, meta.dump(2)));

  std::sort(names.begin(), names.end());
  std::string manifest;
  for (const auto& name : names) {
    auto digest = Sha256File(Join(dir, name));
    if (!digest.ok()) return digest.status();
    manifest += *digest + "  " + name + "\n";
  }
  DESK_RETURN_IF_ERROR(WriteFile(Join(dir, kManifest), manifest));
  return Sha256Hex(manifest);
}

util::Result<std::string> LocalModel::VerifyFiles(const std::string& dir) {
  std::string checksum;
  auto files = CheckedFiles(dir, "", &checksum);
  if (!files.ok()) return files.status();
  return checksum;
}

util::Result<std::unique_ptr<LocalModel>> LocalModel::Load(const std::string& dir,
                                                           const std::string& expected_checksum) {
  std::string checksum;
  auto files = CheckedFiles(dir, expected_checksum, &checksum);
  if (!files.ok()) return files.status();
  auto bad = [&](const std::string& what) {
    return util::Status::Corruption("model " + dir + ": " + what);
  };
  std::string* meta_text = Find(*files, kMeta);
  std::string* corpus = Find(*files, kCorpus);
  std::string* lexical = Find(*files, kLexical);
  if (!meta_text || !corpus || !lexical) return bad("MANIFEST lacks a model file");
  nlohmann::json meta = nlohmann::json::parse(*meta_text, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) return bad("meta.json is not JSON");
  if (meta.value("format", "") != kFormat) return bad("not a deskbot local model");
  if (const int version = meta.value("format_version", 0); version != kFormatVersion)
    return bad("model format version " + std::to_string(version) + ", this deskbot reads version " +
               std::to_string(kFormatVersion) + ": train a new version with `deskbot train`");

  std::unique_ptr<LocalModel> model(new LocalModel());
  auto& m = *model->impl_;
  if (meta.contains("version") && meta["version"].is_string()) model->version_ = meta["version"].get<std::string>();
  try {
    m.options.ann.ef_search = meta.at("ef_search").get<int>();
    m.options.target_precision = meta.at("target_precision").get<double>();
    m.options.correct_f1 = meta.at("correct_f1").get<double>();
    m.options.threads = meta.value("threads", 2);
    m.threshold = meta.at("threshold").get<double>();
    m.has_vectors = meta.at("has_vectors").get<bool>();
    m.calibration_source = meta.value("calibration", "none");
    m.report = meta.value("report", nlohmann::json::object());
    if (!meta.at("ranker").is_null() && !m.ranker.FromJson(meta.at("ranker"))) return bad("bad ranker weights");
    if (!meta.at("order_ranker").is_null() && !m.order_ranker.FromJson(meta.at("order_ranker")))
      return bad("bad ranker weights");
    if (!meta.at("calibrator").is_null() && !m.calibrator.FromJson(meta.at("calibrator")))
      return bad("bad calibration");
    if (!meta.at("confidence_model").is_null() && !m.confidence_model.FromJson(meta.at("confidence_model")))
      return bad("bad confidence model");
  } catch (const std::exception& e) {
    return bad(std::string("meta.json: ") + e.what());
  }
  if (m.ranker.fitted() && m.ranker.num_features() != kNumFeatures) return bad("ranker has the wrong features");
  if (m.order_ranker.fitted() && m.order_ranker.num_features() != kNumFeatures)
    return bad("ranker has the wrong features");
  if (m.calibrator.fitted() && m.calibrator.num_features() != 1) return bad("bad calibration");
  if (m.confidence_model.fitted() && m.confidence_model.num_features() != kNumConfidenceFeatures)
    return bad("bad confidence model");

  {
    BinaryReader r(kCorpus, *corpus);
    DESK_RETURN_IF_ERROR(r.ExpectMagic("DBMC1"));
    DESK_RETURN_IF_ERROR(r.GetStrings(&m.questions));
    DESK_RETURN_IF_ERROR(r.GetStrings(&m.answers));
    DESK_RETURN_IF_ERROR(r.GetStrings(&m.sources));
    DESK_RETURN_IF_ERROR(r.GetStrings(&m.tickets));
    DESK_RETURN_IF_ERROR(r.GetVector(&m.cluster_of));
    DESK_RETURN_IF_ERROR(r.GetVector(&m.cluster_size));
    DESK_RETURN_IF_ERROR(r.GetStrings(&m.cluster_keys));
    DESK_RETURN_IF_ERROR(r.GetVector(&m.bag_offsets));
    DESK_RETURN_IF_ERROR(r.GetVector(&m.bag_terms));
    const size_t n = m.questions.size();
    if (m.answers.size() != n || m.sources.size() != n || m.tickets.size() != n || m.cluster_of.size() != n ||
        m.bag_offsets.size() != n + 1 || m.cluster_size.size() != m.cluster_keys.size() ||
        m.bag_offsets.back() != m.bag_terms.size())
      return bad("corpus.bin is inconsistent");
    for (auto c : m.cluster_of)
      if (c >= m.cluster_keys.size()) return bad("corpus.bin is inconsistent");
  }
  Drop(corpus);
  {
    BinaryReader r(kLexical, *lexical);
    DESK_RETURN_IF_ERROR(r.ExpectMagic("DBML1"));
    DESK_RETURN_IF_ERROR(m.vocab.Read(&r));
    DESK_RETURN_IF_ERROR(m.bm_q.Read(&r));
    DESK_RETURN_IF_ERROR(m.bm_a.Read(&r));
    DESK_RETURN_IF_ERROR(r.GetVector(&m.neighbours.offsets));
    DESK_RETURN_IF_ERROR(r.GetVector(&m.neighbours.terms));
    DESK_RETURN_IF_ERROR(r.GetVector(&m.neighbours.cosines));
    const size_t n = m.questions.size(), v = m.vocab.size();
    if (m.bm_q.num_docs() != n || m.bm_a.num_docs() != n || m.bm_q.num_terms() != v || m.bm_a.num_terms() != v)
      return bad("lexical.bin does not match corpus.bin");
    const auto& nb = m.neighbours;
    if (!nb.offsets.empty() &&
        (nb.offsets.size() != v + 1 || nb.offsets.back() != nb.terms.size() || nb.terms.size() != nb.cosines.size()))
      return bad("lexical.bin: bad neighbour lists");
    for (auto t : nb.terms)
      if (t < 0 || static_cast<size_t>(t) >= v) return bad("lexical.bin: bad neighbour lists");
    for (auto t : m.bag_terms)
      if (t < 0 || static_cast<size_t>(t) >= v) return bad("corpus.bin: bad answer terms");
  }
  Drop(lexical);
  if (m.has_vectors) {
    std::string* vectors = Find(*files, kVectors);
    if (!vectors || !Find(*files, kAnnQ) || !Find(*files, kAnnA)) return bad("MANIFEST lacks a vector file");
    BinaryReader r(kVectors, *vectors);
    DESK_RETURN_IF_ERROR(r.ExpectMagic("DBMV1"));
    DESK_RETURN_IF_ERROR(m.encoder.Read(&r));
    if (m.encoder.num_terms() != m.vocab.size()) return bad("vectors.bin does not match the vocabulary");
    Drop(vectors);
    auto q = VectorIndex::Load(Join(dir, kAnnQ), m.encoder.dim(), m.questions.size(), m.options.ann.ef_search);
    if (!q.ok()) return q.status();
    auto a = VectorIndex::Load(Join(dir, kAnnA), m.encoder.dim(), m.cluster_keys.size(), m.options.ann.ef_search);
    if (!a.ok()) return a.status();
    m.ann_q = std::move(q).value();
    m.ann_a = std::move(a).value();
  }
  if (meta.value("has_classifier", false)) {
    std::string* data = Find(*files, kClassifier);
    if (!data) return bad("MANIFEST lacks the classifier");
    BinaryReader r(kClassifier, *data);
    DESK_RETURN_IF_ERROR(r.ExpectMagic("DBMK1"));
    DESK_RETURN_IF_ERROR(m.classifier.Read(&r, m.vocab.size()));
    for (auto label : m.classifier.labels())
      if (label < 0 || static_cast<size_t>(label) >= m.cluster_keys.size()) return bad("classifier.bin: bad reply ids");
  }
  m.IndexMembers();
  m.IndexSites();
  m.IndexHandles();
  if (meta.value("has_site_classifier", false)) {
    std::string* data = Find(*files, kSiteClassifier);
    if (!data) return bad("MANIFEST lacks the site classifier");
    BinaryReader r(kSiteClassifier, *data);
    DESK_RETURN_IF_ERROR(r.ExpectMagic("DBMS1"));
    DESK_RETURN_IF_ERROR(m.site_classifier.Read(&r, m.vocab.size()));
    const std::int64_t sites = m.site_of.empty() ? 0 : *std::max_element(m.site_of.begin(), m.site_of.end()) + 1;
    for (auto label : m.site_classifier.labels())
      if (label < 0 || label >= sites) return bad("sites.bin: bad site ids");
  }
  m.ChooseReplies();
  return model;
}

}  // namespace deskbot::model
