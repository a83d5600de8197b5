#include "bot/model/registry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "bot/model/eval.h"

namespace deskbot::model {
namespace {

std::string VersionName(std::int64_t id) { return "version " + std::to_string(id); }

util::Status SetState(Store& store, ModelVersion v, ModelState state, const std::string& note) {
  v.state = state;
  v.note = note;
  return store.UpdateModelVersion(v);
}

}  // namespace

util::Result<ModelSettings> ModelSettings::FromConfig(const Config& config) {
  ModelSettings s;
  auto& o = s.local;
  o.target_precision = config.GetDouble("model.target_precision", o.target_precision);
  o.correct_f1 = config.GetDouble("model.correct_f1", o.correct_f1);
  o.threads = static_cast<int>(config.GetInt("model.threads", o.threads));
  o.embed.dim = static_cast<int>(config.GetInt("model.dim", o.embed.dim));
  o.use_vectors = config.GetBool("model.use_vectors", o.use_vectors);
  o.use_classifier = config.GetBool("model.use_classifier", o.use_classifier);
  o.max_tune_queries = static_cast<int>(config.GetInt("model.max_tune_queries", o.max_tune_queries));
  o.seed = static_cast<std::uint64_t>(config.GetInt("model.seed", static_cast<std::int64_t>(o.seed)));
  o.embed.seed = static_cast<int>(o.seed);
  o.embed.threads = o.threads;
  s.promotion_margin = config.GetDouble("model.promotion_margin", s.promotion_margin);
  s.gate_metric = config.GetString("model.gate_metric", s.gate_metric);
  if (!(o.target_precision > 0 && o.target_precision <= 1))
    return util::Status::InvalidArgument("model.target_precision must be in (0, 1]");
  if (!(o.correct_f1 > 0 && o.correct_f1 <= 1))
    return util::Status::InvalidArgument("model.correct_f1 must be in (0, 1]");
  if (o.threads < 1 || o.threads > 64) return util::Status::InvalidArgument("model.threads must be 1..64");
  if (o.embed.dim < 8 || o.embed.dim > 1024) return util::Status::InvalidArgument("model.dim must be 8..1024");
  if (o.max_tune_queries < 0) return util::Status::InvalidArgument("model.max_tune_queries must be >= 0");
  if (std::isnan(EvalMetrics{}.Get(s.gate_metric)))
    return util::Status::InvalidArgument("model.gate_metric: unknown metric '" + s.gate_metric + "'");
  return s;
}

std::optional<SplitMode> ParseSplitMode(const std::string& s) {
  if (s == "stored") return SplitMode::kStored;
  if (s == "random") return SplitMode::kRandom;
  if (s == "time") return SplitMode::kTime;
  return std::nullopt;
}

util::Result<PairSets> LoadPairs(Store& store, SplitMode mode, double valid_fraction, std::uint64_t seed) {
  std::vector<Pair> pairs;
  DESK_RETURN_IF_ERROR(store.ForEachPair([&](const Pair& p) {
    pairs.push_back(p);
    return true;
  }));
  std::vector<bool> valid(pairs.size());
  if (mode == SplitMode::kStored) {
    for (size_t i = 0; i < pairs.size(); ++i) valid[i] = pairs[i].split == Split::kValid;
  } else if (mode == SplitMode::kRandom) {
    valid = RandomSplit(pairs.size(), valid_fraction, seed);
  } else {
    std::vector<std::int64_t> times;
    for (const auto& p : pairs) times.push_back(p.created_at);
    valid = TimeSplit(times, valid_fraction);
  }
  PairSets sets;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Pair& p = pairs[i];
    if (p.question.empty() || p.answer.empty()) continue;
    TrainingExample e;
    e.question = p.question;
    e.answer = p.answer;
    e.source = p.source;
    e.ticket_id = p.ticket_external_id.empty() ? "pair-" + std::to_string(p.id) : p.ticket_external_id;
    e.weight = p.weight > 0 ? p.weight : 1.0;
    e.created_at = p.created_at;
    (valid[i] ? sets.valid : sets.train).push_back(std::move(e));
  }
  DESK_RETURN_IF_ERROR(store.ForEachPreferencePair([&](const PreferencePair& p) {
    if (!p.question.empty() && !p.preferred.empty()) sets.feedback.push_back({p.question, p.preferred, p.rejected});
    return true;
  }));
  return sets;
}

std::string VersionDir(const Config& config, const ModelVersion& version) {
  std::filesystem::path p(version.path);
  if (p.is_relative()) p = std::filesystem::path(config.DataDir()) / p;
  return p.string();
}

util::Result<std::unique_ptr<LocalModel>> LoadVersion(const Config& config, const ModelVersion& version) {
  if (version.backend != "local")
    return util::Status::InvalidArgument(VersionName(version.id) + " is a '" + version.backend +
                                         "' model, not a local one");
  if (version.path.empty() || version.checksum.empty())
    return util::Status::NotFound(VersionName(version.id) + " has no model files recorded");
  auto model = LocalModel::Load(VersionDir(config, version), version.checksum);
  if (!model.ok()) return model.status().WithContext(VersionName(version.id));
  (*model)->set_version(std::to_string(version.id));
  return model;
}

util::Result<ModelVersion> PromotedVersion(Store& store) {
  auto versions = store.ListModelVersions();
  if (!versions.ok()) return versions.status();
  for (const auto& v : *versions)
    if (v.state == ModelState::kPromoted) return v;
  return util::Status::NotFound("no promoted model version: run `deskbot train` first");
}

util::Result<TrainOutcome> TrainVersion(Store& store, const Config& config, SplitMode mode) {
  auto settings = ModelSettings::FromConfig(config);
  if (!settings.ok()) return settings.status();
  auto sets = LoadPairs(store, mode, config.GetDouble("dataset.valid_fraction", 0.1),
                        static_cast<std::uint64_t>(config.GetInt("model.seed", 7)));
  if (!sets.ok()) return sets.status();
  if (sets->train.empty())
    return util::Status::InvalidArgument("no training pairs in the store: run `deskbot dataset build` first");
  auto snapshot = store.LatestSnapshot();
  if (!snapshot.ok()) return snapshot.status();

  TrainOutcome out;
  ModelVersion& v = out.version;
  v.backend = "local";
  v.snapshot_id = *snapshot ? (*snapshot)->id : 0;
  v.state = ModelState::kCandidate;
  v.note = "training";
  auto id = store.AddModelVersion(v);
  if (!id.ok()) return id.status();
  v.id = *id;
  const std::string what = VersionName(v.id);

  auto fail = [&](const util::Status& st) -> util::Status {
    // The reason stays in the registry; the original error is what the caller sees.
    SetState(store, v, ModelState::kFailed, st.ToString());
    return st.WithContext(what);
  };
  LocalModelOptions options = settings->local;
  options.embed.work_dir = config.DataDir();
  options.classifier.work_dir = config.DataDir();
  std::error_code ec;
  std::filesystem::create_directories(config.DataDir(), ec);
  auto model = LocalModel::Train(sets->train, sets->valid, sets->feedback, options, &out.report);
  if (!model.ok()) return fail(model.status());
  (*model)->set_version(std::to_string(v.id));
  v.path = "models/" + std::to_string(v.id);
  const std::string dir = VersionDir(config, v);
  std::filesystem::remove_all(dir, ec);  // a leftover of a crashed run with this id
  auto checksum = (*model)->Save(dir);
  if (!checksum.ok()) return fail(checksum.status());
  // Read back what is on disk, so the recorded checksum is the files' own.
  auto verified = LocalModel::VerifyFiles(dir);
  if (!verified.ok()) return fail(verified.status());
  if (*verified != *checksum) return fail(util::Status::Corruption("model files changed while being written"));
  v.checksum = *checksum;

  // The gate: the promoted version is scored on the same held-out pairs.
  const std::string& metric = settings->gate_metric;
  const double margin = settings->promotion_margin;
  const double mine = out.report.valid.Get(metric);
  auto current = PromotedVersion(store);
  if (!current.ok() && current.status().code() != util::Status::Code::kNotFound) return fail(current.status());
  if (!current.ok()) {
    out.promoted = true;
    out.note = "first model version: promoted (" + metric + " " + Fixed(mine) + " on " +
               std::to_string(sets->valid.size()) + " valid pairs)";
  } else {
    out.previous_id = current->id;
    if (current->backend != "local") {
      // A promoted remote model (a fine-tuned LLM) cannot be loaded here: the
      // gate compares with the evaluation recorded when it was promoted.
      auto recorded = nlohmann::json::parse(current->metrics_json, nullptr, /*allow_exceptions=*/false);
      const bool evaluated = recorded.is_object() && recorded.contains("queries") &&
                             recorded["queries"].is_number() && recorded["queries"].get<double>() > 0;
      const double theirs = evaluated ? EvalMetrics::FromJson(recorded).Get(metric) : std::nan("");
      if (std::isnan(theirs)) {
        out.note = "not promoted: the promoted " + VersionName(current->id) + " (" + current->backend +
                   ") has no recorded " + metric + " to compare with";
      } else {
        out.previous = EvalMetrics::FromJson(recorded);
        out.promoted = PassesGate(mine, theirs, margin);
        out.note = std::string(out.promoted ? "promoted" : "not promoted") + ": " + metric + " " + Fixed(mine) +
                   (out.promoted ? " beats " : " does not beat ") + VersionName(current->id) + "'s recorded " +
                   Fixed(theirs) + " (" + current->backend + ") by the margin " + Fixed(margin);
      }
    } else if (auto old = LoadVersion(config, *current); !old.ok()) {
      out.promoted = true;
      out.note = "promoted: the promoted " + VersionName(current->id) + " cannot be loaded (" +
                 old.status().ToString() + ")";
    } else if (sets->valid.empty()) {
      out.note = "not promoted: no validation pairs to compare with " + VersionName(current->id) +
                 " (promote by hand with `deskbot models promote " + std::to_string(v.id) + "`)";
    } else {
      out.previous = (*old)->Score(sets->valid);
      const double theirs = out.previous->Get(metric);
      out.promoted = PassesGate(mine, theirs, margin);
      out.note = std::string(out.promoted ? "promoted" : "not promoted") + ": " + metric + " " + Fixed(mine) +
                 (out.promoted ? " beats " : " does not beat ") + VersionName(current->id) + "'s " +
                 Fixed(theirs) + " by the margin " + Fixed(margin) + " on the same " +
                 std::to_string(sets->valid.size()) + " valid pairs";
    }
  }
  nlohmann::json metrics = out.report.ToJson();
  metrics["gate"] = {{"metric", metric},
                     {"margin", margin},
                     {"value", mine},
                     {"previous_version", out.previous_id ? nlohmann::json(*out.previous_id) : nlohmann::json(nullptr)},
                     {"previous", out.previous ? out.previous->ToJson() : nlohmann::json(nullptr)},
                     {"promoted", out.promoted}};
  v.metrics_json = metrics.dump();
  v.note = out.note;
  v.state = ModelState::kCandidate;
  DESK_RETURN_IF_ERROR(store.UpdateModelVersion(v));
  if (out.promoted) {
    DESK_RETURN_IF_ERROR(store.PromoteModelVersion(v.id, out.note));
    v.state = ModelState::kPromoted;
  }
  store.AppendAudit({0, "deskbot", "model.train", what + ": " + out.note, 0});
  return out;
}

util::Status PromoteVersion(Store& store, const Config& config, std::int64_t id, const std::string& note) {
  auto v = store.GetModelVersion(id);
  if (!v.ok()) return v.status();
  if (!*v) return util::Status::NotFound(VersionName(id) + " does not exist");
  if ((*v)->state == ModelState::kFailed)
    return util::Status::InvalidArgument(VersionName(id) + " failed to train and cannot be promoted");
  if ((*v)->state == ModelState::kPromoted) return util::Status::OK();
  // Refuse a version whose files do not load: the promoted one keeps serving.
  auto model = LoadVersion(config, **v);
  if (!model.ok())
    return model.status().WithContext("cannot promote " + VersionName(id) + "; the promoted version keeps serving");
  DESK_RETURN_IF_ERROR(store.PromoteModelVersion(id, note));
  store.AppendAudit({0, "deskbot", "model.promote", VersionName(id) + ": " + note, 0});
  return util::Status::OK();
}

util::Result<ModelVersion> Rollback(Store& store, const Config& config) {
  auto current = PromotedVersion(store);
  if (!current.ok()) return current.status();
  auto versions = store.ListModelVersions();
  if (!versions.ok()) return versions.status();
  std::vector<ModelVersion> older;
  for (const auto& v : *versions)
    if (v.state == ModelState::kRetired && v.id < current->id) older.push_back(v);
  std::sort(older.begin(), older.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  std::string skipped;
  for (const auto& v : older) {
    auto model = LoadVersion(config, v);
    if (!model.ok()) {
      skipped += "; skipped " + model.status().ToString();
      continue;
    }
    std::string note = "rollback from " + VersionName(current->id);
    DESK_RETURN_IF_ERROR(store.PromoteModelVersion(v.id, note));
    store.AppendAudit({0, "deskbot", "model.rollback", VersionName(v.id) + ": " + note, 0});
    ModelVersion promoted = v;
    promoted.state = ModelState::kPromoted;
    promoted.note = note;
    return promoted;
  }
  return util::Status::NotFound("no earlier version to roll back to from " + VersionName(current->id) + skipped);
}

util::Result<ServingModel> LoadServing(Store& store, const Config& config) {
  auto versions = store.ListModelVersions();
  if (!versions.ok()) return versions.status();
  const ModelVersion* promoted = nullptr;
  for (const auto& v : *versions)
    if (v.state == ModelState::kPromoted) promoted = &v;
  if (!promoted) return util::Status::NotFound("no promoted model version: run `deskbot train` first");
  ServingModel serving;
  auto model = LoadVersion(config, *promoted);
  if (model.ok()) {
    serving.model = std::move(model).value();
    serving.version = *promoted;
    return serving;
  }
  serving.warnings.push_back(model.status().ToString());
  // The previous versions, newest first.
  std::vector<const ModelVersion*> older;
  for (const auto& v : *versions)
    if (v.id < promoted->id && v.state == ModelState::kRetired && v.backend == "local") older.push_back(&v);
  std::sort(older.begin(), older.end(), [](auto* a, auto* b) { return a->id > b->id; });
  for (const auto* v : older) {
    auto m = LoadVersion(config, *v);
    if (!m.ok()) {
      serving.warnings.push_back(m.status().ToString());
      continue;
    }
    serving.warnings.push_back("answering with the previous " + VersionName(v->id) + " instead of " +
                               VersionName(promoted->id));
    serving.model = std::move(m).value();
    serving.version = *v;
    return serving;
  }
  return model.status();
}

}  // namespace deskbot::model
