// The seam for `deskbot serve` (and anything else that answers questions):
// which LLM answers, if any.
//
//   auto counters = std::make_shared<llm::LlmCounters>();
//   auto llm = llm::LoadLlmServing(store, config, counters);
//   if (llm.ok() && llm->model) { use llm->model, labelled llm->version }
//   else                        { the local model as before }
//   /metrics: append counters->RenderPrometheus()
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "bot/core/config.h"
#include "bot/core/interfaces.h"
#include "bot/core/store.h"
#include "bot/llm/counters.h"
#include "connectors/openai/client.h"

namespace deskbot::llm {

struct LlmServing {
  std::shared_ptr<const AnswerModel> model;  // null: no LLM to answer with (use the local model)
  std::string version;                       // e.g. "7:ft:gpt-4o-mini-2024-07-18:org:deskbot:abc"
  std::string model_name;
  std::int64_t support_version = 0;          // the local version giving context and confidence (0: none)
  std::string warning;
};

// The LLM that should answer:
//  - [llm] model set: that model at [llm] base_url (vLLM, llama.cpp, Ollama,
//    or any OpenAI-compatible server), labelled "llm:<model>";
//  - else the promoted registry version when its backend is "openai": its
//    fine-tuned model, at [llm] base_url (default: the [openai] provider);
//  - else none.
// Its local support model is the one the version was evaluated with, else
// the promoted or newest local version. `adjust` may change the client
// options (tests: no sleeping between retries).
util::Result<LlmServing> LoadLlmServing(Store& store, const Config& config, std::shared_ptr<LlmCounters> counters,
                                        const std::function<void(openai::ClientOptions&)>& adjust = {});

}  // namespace deskbot::llm
