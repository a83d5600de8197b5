#include "connectors/openai/estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace openai {
namespace {

using json = nlohmann::json;

constexpr int64_t kTokensPerMessage = 4;  // role + separators
constexpr int64_t kTokensPerExample = 3;  // reply priming

int64_t ContentTokens(const json& content) {
  if (content.is_string()) return EstimateTextTokens(content.get_ref<const std::string&>());
  int64_t n = 0;
  if (content.is_array()) {
    for (const json& part : content) {
      auto text = part.find("text");
      if (part.is_object() && text != part.end() && text->is_string()) {
        n += EstimateTextTokens(text->get_ref<const std::string&>());
      }
    }
  }
  return n;
}

int64_t MessageTokens(const json& m) {
  if (!m.is_object()) return 0;
  int64_t n = kTokensPerMessage;
  if (auto c = m.find("content"); c != m.end()) n += ContentTokens(*c);
  if (auto name = m.find("name"); name != m.end() && name->is_string()) {
    n += 1 + EstimateTextTokens(name->get_ref<const std::string&>());
  }
  for (const char* key : {"tool_calls", "function_call"}) {
    if (auto calls = m.find(key); calls != m.end()) n += EstimateTextTokens(calls->dump());
  }
  return n;
}

int64_t MessagesTokens(const json& obj, const char* key) {
  int64_t n = 0;
  auto list = obj.find(key);
  if (list == obj.end() || !list->is_array()) return 0;
  for (const json& m : *list) n += MessageTokens(m);
  return n;
}

int64_t ToolTokens(const json& obj) {
  int64_t n = 0;
  for (const char* key : {"tools", "functions"}) {
    if (auto t = obj.find(key); t != obj.end() && !t->empty()) n += EstimateTextTokens(t->dump());
  }
  return n;
}

// "ft:gpt-4o-mini-2024-07-18:org:suffix:id" is priced as its base model.
std::string BaseOf(const std::string& model) {
  if (model.rfind("ft:", 0) != 0) return model;
  std::string rest = model.substr(3);
  return rest.substr(0, rest.find(':'));
}

const ModelPricing* FindPricing(const std::vector<ModelPricing>& table, const std::string& model) {
  const std::string base = BaseOf(model);
  const ModelPricing* best = nullptr;
  for (const ModelPricing& p : table) {
    if (base.rfind(p.model_prefix, 0) == 0 &&
        (best == nullptr || p.model_prefix.size() > best->model_prefix.size())) {
      best = &p;
    }
  }
  return best;
}

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

}  // namespace

std::vector<ModelPricing> DefaultPricing() {
  // USD per 1M training tokens and training context per example, from
  // OpenAI's pricing and fine-tuning guide pages as read in 2025.
  return {
      {"gpt-4.1-nano", 1.50, 65536},      {"gpt-4.1-mini", 5.00, 65536},
      {"gpt-4.1", 25.00, 65536},          {"gpt-4o-mini", 3.00, 65536},
      {"gpt-4o", 25.00, 65536},           {"gpt-3.5-turbo", 8.00, 16385},
      {"davinci-002", 6.00, 16384},       {"babbage-002", 0.40, 16384},
  };
}

int64_t EstimateTextTokens(std::string_view text) {
  int64_t ascii = 0;
  int64_t other = 0;
  for (unsigned char c : text) {
    if (c < 0x80) {
      ++ascii;
    } else if ((c & 0xC0) != 0x80) {  // the lead byte of a multi-byte code point
      ++other;
    }
  }
  return (ascii + 3) / 4 + other;
}

util::Result<int64_t> EstimateExampleTokens(std::string_view line, TrainingFormat format) {
  json ex = json::parse(line.begin(), line.end(), nullptr, false);
  if (ex.is_discarded() || !ex.is_object()) {
    return util::Status::InvalidArgument("not a JSON object");
  }
  switch (format) {
    case TrainingFormat::kChat:
      return kTokensPerExample + MessagesTokens(ex, "messages") + ToolTokens(ex);
    case TrainingFormat::kPreference: {
      int64_t n = kTokensPerExample + MessagesTokens(ex, "preferred_output") +
                  MessagesTokens(ex, "non_preferred_output");
      if (auto in = ex.find("input"); in != ex.end() && in->is_object()) {
        n += MessagesTokens(*in, "messages") + ToolTokens(*in);
      }
      return n;
    }
    case TrainingFormat::kPromptCompletion: {
      int64_t n = 0;
      for (const char* key : {"prompt", "completion"}) {
        if (auto v = ex.find(key); v != ex.end() && v->is_string()) {
          n += EstimateTextTokens(v->get_ref<const std::string&>());
        }
      }
      return n;
    }
  }
  return int64_t{0};
}

int AutoEpochs(int64_t examples) {
  // The service's default, as published in OpenAI's data-preparation cookbook.
  constexpr int64_t kTarget = 3, kMinExamples = 100, kMaxExamples = 25000;
  constexpr int64_t kMinEpochs = 1, kMaxEpochs = 25;
  if (examples <= 0) return static_cast<int>(kTarget);
  if (examples * kTarget < kMinExamples) {
    return static_cast<int>(std::min(kMaxEpochs, kMinExamples / examples));
  }
  if (examples * kTarget > kMaxExamples) {
    return static_cast<int>(std::max(kMinEpochs, kMaxExamples / examples));
  }
  return static_cast<int>(kTarget);
}

util::Result<TrainingEstimate> EstimateTraining(std::istream& in, const EstimateOptions& options) {
  if (options.n_epochs.is_value() && options.n_epochs.value < 1) {
    return util::Status::InvalidArgument("estimate: n_epochs must be at least 1");
  }
  const ModelPricing* pricing = FindPricing(options.pricing, options.base_model);
  const int64_t cap = pricing ? pricing->max_tokens_per_example : 0;

  TrainingEstimate est;
  std::string line;
  int64_t number = 0;
  bool have_format = false;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = "line " + std::to_string(number);
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      return util::Status::InvalidArgument(where + " is empty");
    }
    if (!have_format) {
      auto format = DetectTrainingFormat(line);
      if (!format.ok()) return format.status().WithContext(where);
      est.format = *format;
      have_format = true;
    }
    DESK_RETURN_IF_ERROR(ValidateTrainingLine(line, est.format).WithContext(where));
    auto tokens = EstimateExampleTokens(line, est.format);
    if (!tokens.ok()) return tokens.status().WithContext(where);
    const int64_t n = *tokens;
    est.tokens_min = est.examples == 0 ? n : std::min(est.tokens_min, n);
    est.tokens_max = std::max(est.tokens_max, n);
    est.tokens_total += n;
    ++est.examples;
    if (cap > 0 && n > cap) ++est.examples_over_limit;
    est.billable_tokens_per_epoch += cap > 0 ? std::min(n, cap) : n;
  }
  if (in.bad()) return util::Status::IOError("read error after line " + std::to_string(number));
  if (est.examples > 0) {
    est.tokens_mean = static_cast<double>(est.tokens_total) / static_cast<double>(est.examples);
  }
  est.epochs_auto = !options.n_epochs.is_value();
  est.n_epochs = est.epochs_auto ? AutoEpochs(est.examples)
                                 : static_cast<int>(std::llround(options.n_epochs.value));
  est.billable_tokens = est.billable_tokens_per_epoch * est.n_epochs;
  if (pricing != nullptr) {
    est.priced_as = pricing->model_prefix;
    est.cost_usd = static_cast<double>(est.billable_tokens) / 1e6 *
                   pricing->usd_per_million_training_tokens;
  }
  return est;
}

util::Result<TrainingEstimate> EstimateTrainingFile(const std::string& path,
                                                    const EstimateOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::Status::IOError("estimate: cannot open training file " + path);
  auto est = EstimateTraining(in, options);
  if (!est.ok()) return est.status().WithContext("estimate: " + path);
  return est;
}

std::string TrainingEstimate::Summary() const {
  std::string s = "estimate: " + Thousands(examples) + " " + TrainingFormatName(format) +
                  " examples, ~" + Thousands(tokens_total) + " tokens (heuristic, not a tokenizer)";
  if (examples_over_limit > 0) {
    s += ", " + Thousands(examples_over_limit) + " over the model's context (capped)";
  }
  s += "; ~" + Thousands(billable_tokens_per_epoch) + " x " + std::to_string(n_epochs) +
       (epochs_auto ? " epochs (auto)" : " epochs") + " = ~" + Thousands(billable_tokens) +
       " billable tokens";
  if (cost_usd) {
    char cost[64];
    std::snprintf(cost, sizeof cost, "%.2f", *cost_usd);
    s += std::string(", ~$") + cost + " at the " + priced_as + " price";
  } else {
    s += ", no price known for this model";
  }
  return s;
}

}  // namespace openai
