#include "bot/llm/settings.h"

#include <cmath>

namespace deskbot::llm {
namespace {

// A setting of [llm] that falls back to [openai] (same key) and then `fallback`.
std::string LlmOrOpenAi(const Config& c, const std::string& key, const std::string& fallback) {
  return c.GetString("llm." + key, c.GetString("openai." + key, fallback));
}

util::Status Bad(const std::string& path, const std::string& why) {
  return util::Status::InvalidArgument("config: " + path + " " + why);
}

// Fills `options` from `section` (keys as documented in settings.h), each
// falling back to [openai].
util::Status ReadConnection(const Config& c, const std::string& section, openai::ClientOptions* o,
                            std::int64_t default_timeout_s, std::int64_t default_attempts) {
  auto get = [&](const std::string& key, const std::string& fallback) {
    return section == "openai" ? c.GetString("openai." + key, fallback) : LlmOrOpenAi(c, key, fallback);
  };
  o->base_url = get("base_url", "https://api.openai.com/v1");
  while (!o->base_url.empty() && o->base_url.back() == '/') o->base_url.pop_back();
  if (o->base_url.empty()) return Bad(section + ".base_url", "is empty");
  o->auth_header = get("auth_header", "Authorization");
  o->auth_scheme = get("auth_scheme", "Bearer");
  o->max_tokens_field = get("max_tokens_field", "max_completion_tokens");
  o->chat_path = get("chat_path", "/chat/completions");
  o->ca_file = c.ResolvePath(get("ca_file", ""));
  const std::string org = get("organization", ""), project = get("project", ""), version = get("api_version", "");
  if (!org.empty()) o->extra_headers.emplace_back("OpenAI-Organization", org);
  if (!project.empty()) o->extra_headers.emplace_back("OpenAI-Project", project);
  if (!version.empty()) o->extra_query.emplace_back("api-version", version);

  // Not inherited from [openai]: answers wait less than training calls.
  const std::int64_t timeout = c.GetInt(section + ".timeout_seconds", default_timeout_s);
  const std::int64_t attempts = c.GetInt(section + ".max_attempts", default_attempts);
  if (timeout <= 0) return Bad(section + ".timeout_seconds", "must be positive");
  if (attempts < 1 || attempts > 10) return Bad(section + ".max_attempts", "must be 1 to 10");
  o->timeout = std::chrono::seconds(timeout);
  o->retry.max_attempts = static_cast<int>(attempts);
  return util::Status::OK();
}

// "auto", a number, or unset.
util::Status ReadHyper(const Config& c, const std::string& path, double lo, double hi, bool integer,
                       openai::HyperParam* out) {
  if (!c.Has(path)) return util::Status::OK();
  if (c.GetString(path, "") == "auto") {
    *out = openai::HyperParam::Auto();
    return util::Status::OK();
  }
  const double v = c.GetDouble(path, std::nan(""));
  if (std::isnan(v) || v <= lo || v > hi || (integer && v != std::floor(v)))
    return Bad(path, "must be \"auto\" or a" + std::string(integer ? "n integer" : " number") + " in (" +
                         std::to_string(lo) + ", " + std::to_string(hi) + "]");
  *out = openai::HyperParam::Of(v);
  return util::Status::OK();
}

}  // namespace

util::Result<Endpoint> ProviderEndpoint(const Config& config, bool need_key) {
  Endpoint e;
  DESK_RETURN_IF_ERROR(ReadConnection(config, "openai", &e.client, 120, 3));
  if (!need_key) return e;
  auto key = config.Secret("openai.api_key");
  if (!key.ok()) return key.status();
  if (!key->has_value() || (*key)->empty())
    return util::Status::InvalidArgument("config: no API key for the fine-tuning provider: set " +
                                         EnvNameFor("openai.api_key") + " or openai.api_key_file");
  e.client.api_key = **key;
  e.has_api_key = true;
  return e;
}

util::Result<Endpoint> InferenceEndpoint(const Config& config) {
  Endpoint e;
  DESK_RETURN_IF_ERROR(ReadConnection(config, "llm", &e.client, 30, 2));
  auto key = config.Secret("llm.api_key");
  if (!key.ok()) return key.status();
  if (!key->has_value()) {
    key = config.Secret("openai.api_key");
    if (!key.ok()) return key.status();
  }
  if (key->has_value() && !(*key)->empty()) {
    e.client.api_key = **key;
    e.has_api_key = true;
  }
  // Local servers take no key, but the client must send something well formed.
  if (!e.has_api_key) e.client.api_key = "none";
  // Answers are for a person waiting in a chat: give up on slow rate limits.
  e.client.max_server_wait = std::chrono::milliseconds(5000);
  return e;
}

const char* FineTuneMethodName(FineTuneMethod m) {
  return m == FineTuneMethod::kPreference ? "preference" : "supervised";
}

std::optional<FineTuneMethod> ParseFineTuneMethod(const std::string& s) {
  if (s == "supervised" || s == "sft") return FineTuneMethod::kSupervised;
  if (s == "preference" || s == "dpo") return FineTuneMethod::kPreference;
  return std::nullopt;
}

util::Result<FineTuneSettings> FineTuneSettings::FromConfig(const Config& c) {
  FineTuneSettings s;
  const std::string p = "llm.finetune.";
  s.base_model = c.GetString(p + "base_model", s.base_model);
  if (s.base_model.empty()) return Bad(p + "base_model", "is empty");
  s.preference_base = c.GetString(p + "preference_base", "");
  const std::string method = c.GetString(p + "method", "supervised");
  auto m = ParseFineTuneMethod(method);
  if (!m) return Bad(p + "method", "must be supervised or preference, not \"" + method + "\"");
  s.method = *m;
  s.suffix = c.GetString(p + "suffix", s.suffix);
  if (s.suffix.size() > 64) return Bad(p + "suffix", "must be at most 64 characters");
  if (c.Has(p + "seed")) {
    const std::int64_t seed = c.GetInt(p + "seed", -1);
    if (seed < 0 || seed > 2147483647) return Bad(p + "seed", "must be 0 to 2147483647");
    s.seed = seed;
  } else {
    s.seed = c.GetInt("dataset.seed", 42);
  }
  DESK_RETURN_IF_ERROR(ReadHyper(c, p + "n_epochs", 0, 50, true, &s.hyperparameters.n_epochs));
  DESK_RETURN_IF_ERROR(ReadHyper(c, p + "batch_size", 0, 256, true, &s.hyperparameters.batch_size));
  DESK_RETURN_IF_ERROR(
      ReadHyper(c, p + "learning_rate_multiplier", 0, 1e6, false, &s.hyperparameters.learning_rate_multiplier));
  DESK_RETURN_IF_ERROR(ReadHyper(c, p + "beta", 0, 2, false, &s.hyperparameters.beta));
  s.work_dir = c.GetString(p + "work_dir", "");
  s.work_dir = s.work_dir.empty() ? c.DataDir() + "/finetune" : c.ResolvePath(s.work_dir);
  s.poll_seconds = c.GetInt("llm.poll_seconds", 60);
  if (s.poll_seconds <= 0) return Bad("llm.poll_seconds", "must be positive");
  return s;
}

util::Result<AnswerSettings> AnswerSettings::FromConfig(const Config& c) {
  AnswerSettings s;
  s.model = c.GetString("llm.model", "");
  s.temperature = c.GetDouble("llm.temperature", s.temperature);
  if (!(s.temperature >= 0 && s.temperature <= 2)) return Bad("llm.temperature", "must be 0 to 2");
  s.max_tokens = static_cast<int>(c.GetInt("llm.max_tokens", s.max_tokens));
  if (s.max_tokens < 1) return Bad("llm.max_tokens", "must be positive");
  s.n = static_cast<int>(c.GetInt("llm.n", s.n));
  if (s.n < 1 || s.n > 8) return Bad("llm.n", "must be 1 to 8 (each choice is billed)");
  s.stop = c.GetList("llm.stop");
  if (s.stop.size() > 4) return Bad("llm.stop", "takes at most 4 sequences");
  s.context_tickets = static_cast<int>(c.GetInt("llm.context_tickets", s.context_tickets));
  if (s.context_tickets < 0 || s.context_tickets > 20) return Bad("llm.context_tickets", "must be 0 to 20");
  s.min_support = c.GetDouble("llm.min_support", s.min_support);
  if (s.min_support > 1) return Bad("llm.min_support", "must be at most 1 (or -1: the local threshold)");
  s.redact_questions = c.GetBool("llm.redact_questions", true);
  if (c.Has("llm.usd_per_million_input_tokens"))
    s.usd_per_million_input = c.GetDouble("llm.usd_per_million_input_tokens", 0);
  if (c.Has("llm.usd_per_million_output_tokens"))
    s.usd_per_million_output = c.GetDouble("llm.usd_per_million_output_tokens", 0);
  const std::string dir = c.GetString("llm.prompts_dir", c.GetString("dataset.prompts_dir", ""));
  s.prompts_dir = dir.empty() ? "" : c.ResolvePath(dir);
  return s;
}

util::Result<GateSettings> GateSettings::FromConfig(const Config& c) {
  GateSettings g;
  g.target_precision = c.GetDouble("model.target_precision", g.target_precision);
  if (!(g.target_precision > 0 && g.target_precision <= 1)) return Bad("model.target_precision", "must be in (0, 1]");
  g.promotion_margin = c.GetDouble("model.promotion_margin", g.promotion_margin);
  g.gate_metric = c.GetString("model.gate_metric", g.gate_metric);
  g.correct_f1 = c.GetDouble("model.correct_f1", g.correct_f1);
  return g;
}

}  // namespace deskbot::llm
