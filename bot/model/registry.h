// Model versions in the store: training a version from the current pairs,
// the promotion gate, promote/rollback, and loading the version that serves.
//
// Files live under <data_dir>/models/<version id>/ with a MANIFEST of SHA-256
// digests; the registry records the MANIFEST's own digest, so a file changed
// or lost after training is refused on load, and the previously promoted
// version keeps answering.
//
// Settings ([model] in the config file, DESKBOT_MODEL_* in the environment):
//   target_precision = 0.9    abstain below the confidence reaching this precision on valid
//   promotion_margin = 0.01   a new version must beat the promoted one by this much ...
//   gate_metric = "p1"        ... on this metric (p1, mrr, map, f1, rougeL, coverage, ...)
//   threads = 2, dim = 100, use_vectors = true, use_classifier = true,
//   correct_f1 = 0.5, max_tune_queries = 3000, seed = 7
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bot/core/config.h"
#include "bot/core/store.h"
#include "bot/core/types.h"
#include "bot/model/local_model.h"

namespace deskbot::model {

struct ModelSettings {
  LocalModelOptions local;
  double promotion_margin = 0.01;
  std::string gate_metric = "p1";
  static util::Result<ModelSettings> FromConfig(const Config& config);
};

// Which pairs are held out.
enum class SplitMode { kStored, kRandom, kTime };
std::optional<SplitMode> ParseSplitMode(const std::string& s);  // "stored" | "random" | "time"

struct PairSets {
  std::vector<TrainingExample> train, valid;
  std::vector<FeedbackExample> feedback;
};
// The store's pairs (and agents' preference pairs), split by `mode`
// (kStored: the split `dataset build` recorded).
util::Result<PairSets> LoadPairs(Store& store, SplitMode mode = SplitMode::kStored,
                                 double valid_fraction = 0.1, std::uint64_t seed = 7);

struct TrainOutcome {
  ModelVersion version;                 // as registered (state after the gate)
  TrainReport report;
  bool promoted = false;
  std::string note;                     // why it was (not) promoted
  std::optional<std::int64_t> previous_id;
  std::optional<EvalMetrics> previous;  // the promoted version on the same held-out pairs
};

// Trains a version on the store's pairs, writes it under
// <data_dir>/models/<id>, records it, and applies the promotion gate.
// A failed training is recorded as state "failed" with the reason.
util::Result<TrainOutcome> TrainVersion(Store& store, const Config& config, SplitMode mode = SplitMode::kStored);

// The model directory of a version (relative paths are under the data dir).
std::string VersionDir(const Config& config, const ModelVersion& version);
// Loads a version, checking its files against the registry's checksum.
util::Result<std::unique_ptr<LocalModel>> LoadVersion(const Config& config, const ModelVersion& version);

// The promoted version; NotFound when none is.
util::Result<ModelVersion> PromotedVersion(Store& store);

// Promotes `id` by hand after checking its files; the promoted one is retired.
util::Status PromoteVersion(Store& store, const Config& config, std::int64_t id, const std::string& note);
// Promotes the newest retired version older than the promoted one (files
// checked); returns it.
util::Result<ModelVersion> Rollback(Store& store, const Config& config);

struct ServingModel {
  std::unique_ptr<LocalModel> model;
  ModelVersion version;
  std::vector<std::string> warnings;  // e.g. the promoted version was unreadable
};
// The model that should answer: the promoted version, or -- when its files
// are missing or corrupt -- the newest older version that loads (with a
// warning naming the problem). An error when none can answer.
util::Result<ServingModel> LoadServing(Store& store, const Config& config);

}  // namespace deskbot::model
