#include "bot/llm/serving.h"

#include "bot/llm/answer_model.h"
#include "bot/llm/poller.h"
#include "bot/llm/record.h"
#include "bot/llm/settings.h"
#include "bot/llm/support.h"
#include "bot/model/local_model.h"

namespace deskbot::llm {

util::Result<LlmServing> LoadLlmServing(Store& store, const Config& config, std::shared_ptr<LlmCounters> counters,
                                        const std::function<void(openai::ClientOptions&)>& adjust) {
  auto settings = AnswerSettings::FromConfig(config);
  if (!settings.ok()) return settings.status();
  LlmServing out;
  std::int64_t preferred_support = 0;
  if (!settings->model.empty()) {
    out.model_name = settings->model;
    out.version = "llm:" + settings->model;
  } else {
    auto versions = store.ListModelVersions();
    if (!versions.ok()) return versions.status();
    const ModelVersion* promoted = nullptr;
    for (const ModelVersion& v : *versions)
      if (v.state == ModelState::kPromoted) promoted = &v;
    if (promoted == nullptr || promoted->backend != "openai") return out;
    auto record = ReadRecord(*promoted);
    if (!record.ok()) return record.status();
    if (record->fine_tuned_model.empty())
      return util::Status::InvalidArgument("model version " + std::to_string(promoted->id) +
                                           " is promoted but names no fine-tuned model");
    out.model_name = record->fine_tuned_model;
    out.version = std::to_string(promoted->id) + ":" + record->fine_tuned_model;
    preferred_support = record->support_version;
  }

  auto endpoint = InferenceEndpoint(config);
  if (!endpoint.ok()) return endpoint.status();
  if (adjust) adjust(endpoint->client);
  auto client = openai::Client::Create(endpoint->client);
  if (!client.ok()) return client.status();
  auto prompt = LoadAnswerPrompt(*settings);
  if (!prompt.ok()) return prompt.status();
  auto support = LoadSupportModel(store, config.DataDir(), preferred_support);
  if (!support.ok()) return support.status();
  out.warning = support->warning;
  if (!support->model) out.warning = "no local model for context and confidence: every LLM suggestion abstains";
  out.support_version = support->version.id;
  out.model = std::make_shared<LlmAnswerModel>(
      *settings, out.model_name, out.version, std::shared_ptr<openai::Client>(std::move(client).value()),
      support->model, std::make_shared<const AnswerPrompt>(std::move(prompt).value()), std::move(counters));
  return out;
}

}  // namespace deskbot::llm
