// The embedded "fine-tuned model": learns from the training pairs in-process
// (no network) in seconds and answers in about a millisecond.
//
// How it answers a question:
//  1. candidates from five retrievers: BM25 over past questions, BM25 over past
//     answers, BM25 over questions with the query expanded by the terms the
//     organisation uses in the same places (learned word vectors), and nearest
//     neighbours (HNSW) of the question's sentence vector among question
//     vectors and among answer vectors;
//  2. candidates are grouped by answer: replies that are the same canned
//     answer (same linked article, or same words once names and numbers are
//     gone) form one cluster, so that their evidence adds up;
//  3. a logistic-regression ranker, fitted on held-out training questions
//     (leave-one-out) and on agents' feedback, scores each cluster from a
//     dozen features (lexical and vector similarities, votes, agreement
//     between candidates' answers);
//  4. the best cluster's score is calibrated on the validation split into
//     P(the answer is right); below the threshold chosen there for the
//     target precision the model abstains.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "bot/core/interfaces.h"
#include "bot/core/types.h"
#include "bot/model/ann.h"
#include "bot/model/classifier.h"
#include "bot/model/embed.h"
#include "bot/model/eval.h"
#include "connectors/util/status.h"

namespace deskbot::model {

struct TrainingExample {
  std::string question;
  std::string answer;
  std::string source;
  std::string ticket_id;
  double weight = 1.0;   // approved / edited pairs weigh more
  std::int64_t created_at = 0;
};

// An agent's correction: `preferred` should have been suggested, not `rejected`.
struct FeedbackExample {
  std::string question;
  std::string preferred;
  std::string rejected;
};

struct LocalModelOptions {
  EmbedOptions embed;
  AnnParams ann;
  ClassifierOptions classifier;
  bool use_vectors = true;          // false: lexical retrieval only
  bool use_classifier = true;       // the supervised reply classifier
  double target_precision = 0.9;    // the abstention threshold is chosen for this precision
  double correct_f1 = 0.5;          // a suggestion this close (token-F1) to the true answer counts as right
  double soft_target = 0.3;         // ranker target of a wrong answer: soft_target x its token-F1
  int max_tune_queries = 3000;      // held-out training questions the ranker is fitted on
  int min_valid_for_calibration = 30;
  int threads = 2;
  std::uint64_t seed = 7;
};

// One answer in a ranking: a cluster of equivalent replies and the training
// pair that represents it.
struct RankedAnswer {
  std::uint32_t cluster = 0;
  std::uint32_t doc = 0;        // the training pair that matched best
  std::uint32_t reply_doc = 0;  // the training pair whose answer is suggested
  double score = 0;             // share of the ranker's belief (uncalibrated)
};

struct Ranking {
  std::vector<RankedAnswer> answers;  // best first
  double confidence = 0;              // calibrated P(answers[0] is right)
  std::vector<std::uint32_t> sources; // pairs of the best cluster that matched, best first
};

struct TrainReport {
  size_t train_pairs = 0, valid_pairs = 0, clusters = 0, vocabulary = 0, tune_queries = 0;
  size_t feedback_used = 0;
  double seconds = 0;
  double threshold = 0;
  std::string calibration;            // "valid" | "train-holdout" (too few valid pairs)
  EvalMetrics valid;                  // on the validation pairs, at the threshold
  std::vector<std::pair<std::string, double>> stage_seconds;  // where training time went
  std::vector<std::pair<std::string, double>> ranker_weights; // per feature (standardised)
  nlohmann::json ToJson() const;
};

class LocalModel : public AnswerModel {
 public:
  ~LocalModel() override;

  static util::Result<std::unique_ptr<LocalModel>> Train(const std::vector<TrainingExample>& train,
                                                         const std::vector<TrainingExample>& valid,
                                                         const std::vector<FeedbackExample>& feedback,
                                                         const LocalModelOptions& options,
                                                         TrainReport* report);

  // Writes the model files and a MANIFEST of their SHA-256; returns the
  // model's checksum (SHA-256 of the MANIFEST).
  util::Result<std::string> Save(const std::string& dir) const;
  // Verifies every file against the MANIFEST, and the MANIFEST against
  // `expected_checksum` when one is given, before reading anything.
  static util::Result<std::unique_ptr<LocalModel>> Load(const std::string& dir,
                                                        const std::string& expected_checksum);
  // The checksum Save() returned, recomputed from disk (no parsing).
  static util::Result<std::string> VerifyFiles(const std::string& dir);

  util::Result<Suggestion> Suggest(const std::string& question) const override;
  Ranking Rank(const std::string& question, size_t max_answers) const;
  // Why: the best answers' features, ranker scores and the confidence inputs.
  nlohmann::json Explain(const std::string& question, size_t max_answers) const;

  // Scores the model on held-out pairs: each outcome's relevance marks the
  // ranked answers that are the same reply as the true answer (same cluster
  // key) or close to it (token-F1 >= correct_f1).
  std::vector<QueryOutcome> Evaluate(const std::vector<TrainingExample>& test) const;
  EvalMetrics Score(const std::vector<TrainingExample>& test) const;

  void set_version(std::string v) { version_ = std::move(v); }
  const std::string& version() const { return version_; }
  double threshold() const;
  size_t num_pairs() const;
  const std::string& answer(std::uint32_t doc) const;
  const std::string& question(std::uint32_t doc) const;
  const std::string& source(std::uint32_t doc) const;
  const std::string& ticket_id(std::uint32_t doc) const;
  std::uint32_t cluster_of(std::uint32_t doc) const;

 private:
  struct Impl;
  LocalModel();
  std::unique_ptr<Impl> impl_;
  std::string version_;
};

}  // namespace deskbot::model
