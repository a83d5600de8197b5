#include "bot/llm/record.h"

#include <nlohmann/json.hpp>

#include "bot/model/eval.h"

namespace deskbot::llm {

using json = nlohmann::json;

namespace {

json Parse(const std::string& text) {
  if (text.empty()) return json::object();
  json j = json::parse(text, nullptr, false);
  return j;
}

std::map<std::string, double> Numbers(const json& j) {
  std::map<std::string, double> out;
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items())
    if (v.is_number()) out[k] = v.get<double>();
  return out;
}

template <typename T>
void Get(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    // A field of the wrong type is left at its default: the record is ours,
    // but a hand edit must not stop the poller.
  }
}

}  // namespace

util::Result<FineTuneRecord> ReadRecord(const ModelVersion& version) {
  json root = Parse(version.metrics_json);
  if (root.is_discarded() || !root.is_object())
    return util::Status::Corruption("model version " + std::to_string(version.id) + ": metrics are not a JSON object");
  FineTuneRecord r;
  auto it = root.find("finetune");
  if (it == root.end() || !it->is_object()) return r;
  const json& f = *it;
  Get(f, "phase", &r.phase);
  Get(f, "method", &r.method);
  Get(f, "base_model", &r.base_model);
  Get(f, "job_status", &r.job_status);
  Get(f, "fine_tuned_model", &r.fine_tuned_model);
  Get(f, "training_file", &r.training_file);
  Get(f, "validation_file", &r.validation_file);
  Get(f, "train_examples", &r.train_examples);
  Get(f, "valid_examples", &r.valid_examples);
  Get(f, "estimated_billable_tokens", &r.estimated_billable_tokens);
  if (f.contains("estimated_cost_usd") && f["estimated_cost_usd"].is_number())
    r.estimated_cost_usd = f["estimated_cost_usd"].get<double>();
  if (f.contains("trained_tokens") && f["trained_tokens"].is_number_integer())
    r.trained_tokens = f["trained_tokens"].get<std::int64_t>();
  Get(f, "last_event_id", &r.last_event_id);
  Get(f, "events_logged", &r.events_logged);
  if (f.contains("train_metrics")) r.train_metrics = Numbers(f["train_metrics"]);
  if (f.contains("checkpoints") && f["checkpoints"].is_array()) {
    for (const json& c : f["checkpoints"]) {
      CheckpointInfo info;
      Get(c, "id", &info.id);
      Get(c, "model", &info.model);
      Get(c, "step", &info.step);
      if (c.contains("metrics")) info.metrics = Numbers(c["metrics"]);
      r.checkpoints.push_back(std::move(info));
    }
  }
  Get(f, "support_version", &r.support_version);
  Get(f, "last_error", &r.last_error);
  Get(f, "poll_errors", &r.poll_errors);
  Get(f, "eval_prompt_tokens", &r.eval_prompt_tokens);
  Get(f, "eval_completion_tokens", &r.eval_completion_tokens);
  Get(f, "eval_cost_usd", &r.eval_cost_usd);
  return r;
}

void WriteRecord(const FineTuneRecord& r, ModelVersion* version) {
  json root = Parse(version->metrics_json);
  if (root.is_discarded() || !root.is_object()) root = json::object();
  json f = {{"phase", r.phase},
            {"method", r.method},
            {"base_model", r.base_model},
            {"job_status", r.job_status},
            {"fine_tuned_model", r.fine_tuned_model},
            {"training_file", r.training_file},
            {"validation_file", r.validation_file},
            {"train_examples", r.train_examples},
            {"valid_examples", r.valid_examples},
            {"estimated_billable_tokens", r.estimated_billable_tokens},
            {"estimated_cost_usd", r.estimated_cost_usd ? json(*r.estimated_cost_usd) : json(nullptr)},
            {"trained_tokens", r.trained_tokens ? json(*r.trained_tokens) : json(nullptr)},
            {"last_event_id", r.last_event_id},
            {"events_logged", r.events_logged},
            {"train_metrics", r.train_metrics},
            {"support_version", r.support_version},
            {"last_error", r.last_error},
            {"poll_errors", r.poll_errors},
            {"eval_prompt_tokens", r.eval_prompt_tokens},
            {"eval_completion_tokens", r.eval_completion_tokens},
            {"eval_cost_usd", r.eval_cost_usd}};
  json checkpoints = json::array();
  for (const CheckpointInfo& c : r.checkpoints)
    checkpoints.push_back({{"id", c.id}, {"model", c.model}, {"step", c.step}, {"metrics", c.metrics}});
  f["checkpoints"] = std::move(checkpoints);
  root["finetune"] = std::move(f);
  version->metrics_json = root.dump();
}

void WriteEvalMetrics(const model::EvalMetrics& metrics, ModelVersion* version) {
  json root = Parse(version->metrics_json);
  if (root.is_discarded() || !root.is_object()) root = json::object();
  const json scored = metrics.ToJson();  // named: items() of a temporary would dangle
  for (const auto& [k, v] : scored.items()) root[k] = v;
  version->metrics_json = root.dump();
}

std::optional<model::EvalMetrics> ReadEvalMetrics(const ModelVersion& version) {
  json root = Parse(version.metrics_json);
  if (root.is_discarded() || !root.is_object()) return std::nullopt;
  // Local versions may keep their validation metrics under "valid".
  if (!root.contains("queries") && root.contains("valid") && root["valid"].is_object()) root = root["valid"];
  if (!root.contains("queries") || !root["queries"].is_number()) return std::nullopt;
  return model::EvalMetrics::FromJson(root);
}

}  // namespace deskbot::llm
