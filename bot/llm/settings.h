// Settings of the LLM backends, read from the config file and DESKBOT_*
// environment overrides.
//
//   [openai]                    the fine-tuning provider (files + jobs + chat)
//   base_url = "https://api.openai.com/v1"
//   auth_header = "Authorization"   # Azure OpenAI: "api-key"
//   auth_scheme = "Bearer"          # Azure OpenAI: ""
//   organization = ""  project = ""  api_version = ""   # api_version: Azure's query parameter
//   timeout_seconds = 120  max_attempts = 3  ca_file = ""
//   max_tokens_field = "max_completion_tokens"
//   # secret: DESKBOT_OPENAI_API_KEY or api_key_file = "/etc/deskbot/openai.key"
//
//   [llm]                       answering with an LLM (fine-tuned or any OpenAI-compatible server)
//   base_url = ""               # empty: [openai] base_url (vLLM: http://host:8000/v1,
//                               #   llama.cpp: http://host:8080/v1, Ollama: http://host:11434/v1)
//   model = ""                  # empty: the fine-tuned model of the registry's version
//   temperature = 0.2  max_tokens = 512  n = 1  stop = []
//   context_tickets = 3         # similar resolved tickets (from the local model) in the prompt
//   min_support = -1            # abstain below this local-model confidence; -1: the local model's threshold
//   timeout_seconds = 30  max_attempts = 2
//   poll_seconds = 60           # how often `deskbot serve` polls fine-tuning jobs
//   redact_questions = true     # redact personal data before a question leaves the building
//   usd_per_million_input_tokens / usd_per_million_output_tokens   # default: see pricing.h
//   auth_header, auth_scheme, max_tokens_field, ca_file: as in [openai] (default: those)
//   # secret: DESKBOT_LLM_API_KEY or llm.api_key_file; default: the [openai] key
//
//   [llm.finetune]              starting fine-tuning jobs
//   base_model = "gpt-4o-mini-2024-07-18"
//   preference_base = ""        # DPO on top of this model; empty: the newest supervised fine-tune
//   method = "supervised"       # supervised | preference (DPO)
//   suffix = "deskbot"  seed = 42
//   n_epochs = "auto"  batch_size = "auto"  learning_rate_multiplier = "auto"  beta = "auto"
//   work_dir = ""               # where exports go; empty: <data_dir>/finetune
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bot/core/config.h"
#include "connectors/openai/client.h"
#include "connectors/openai/types.h"
#include "connectors/util/status.h"

namespace deskbot::llm {

// How to reach one OpenAI-style endpoint. `client.api_key` holds the secret
// once read; it is never printed.
struct Endpoint {
  openai::ClientOptions client;
  bool has_api_key = false;
};

// [openai]: the provider that runs fine-tuning jobs. The API key is read
// only when `need_key` (a dry run needs none).
util::Result<Endpoint> ProviderEndpoint(const Config& config, bool need_key);

// [llm] (falling back to [openai]): where answers are asked. A key is not
// required: local servers (Ollama, llama.cpp) take none.
util::Result<Endpoint> InferenceEndpoint(const Config& config);

enum class FineTuneMethod { kSupervised, kPreference };
const char* FineTuneMethodName(FineTuneMethod m);  // "supervised" | "preference"
std::optional<FineTuneMethod> ParseFineTuneMethod(const std::string& s);

struct FineTuneSettings {
  std::string base_model = "gpt-4o-mini-2024-07-18";
  std::string preference_base;
  FineTuneMethod method = FineTuneMethod::kSupervised;
  std::string suffix = "deskbot";
  std::optional<std::int64_t> seed = 42;
  openai::Hyperparameters hyperparameters;  // unset = "auto" at the service
  std::string work_dir;
  std::int64_t poll_seconds = 60;  // [llm] poll_seconds

  static util::Result<FineTuneSettings> FromConfig(const Config& config);
};

struct AnswerSettings {
  std::string model;  // empty: the registry version's fine-tuned model
  double temperature = 0.2;
  int max_tokens = 512;
  int n = 1;
  std::vector<std::string> stop;
  int context_tickets = 3;
  double min_support = -1;  // < 0: the local model's own threshold
  bool redact_questions = true;
  std::optional<double> usd_per_million_input;   // unset: the pricing table
  std::optional<double> usd_per_million_output;
  std::string prompts_dir;  // empty: dataset.prompts_dir, else found next to the binary

  static util::Result<AnswerSettings> FromConfig(const Config& config);
};

// The [model] gate settings shared with the local model (see gate.h).
struct GateSettings {
  double target_precision = 0.9;
  double promotion_margin = 0.01;
  std::string gate_metric = "p1";
  double correct_f1 = 0.5;

  static util::Result<GateSettings> FromConfig(const Config& config);
};

}  // namespace deskbot::llm
