// What a fine-tuning job on a training file will roughly cost, before paying.
//
// Everything here is an ESTIMATE. Token counts use a heuristic rather than
// the model's real tokenizer (none is available offline):
//   - ASCII text: 4 characters per token (OpenAI's rule of thumb for English);
//   - every other Unicode code point: 1 token (close for CJK; over-counts
//     accented Latin and Cyrillic, erring towards a higher cost);
//   - per message 4 tokens of framing (role and separators) plus its text;
//     per example 3 more (the reply priming), as in OpenAI's token-counting
//     cookbook; tool definitions and tool calls count as their JSON text.
// Billable tokens follow OpenAI's fine-tuning cookbook: each example is
// capped at the base model's training context, the sum is multiplied by the
// number of epochs, and "auto" epochs follow the service's published rule
// (3, raised for small files and lowered for big ones).
// Prices change: the defaults are a dated table, every entry can be replaced.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/openai/training_data.h"
#include "connectors/openai/types.h"
#include "connectors/util/status.h"

namespace openai {

// Price and limit for a family of base models.
struct ModelPricing {
  std::string model_prefix;  // "gpt-4o-mini" matches "gpt-4o-mini-2024-07-18"; longest wins
  double usd_per_million_training_tokens = 0;
  int64_t max_tokens_per_example = 0;  // training context; 0 = no cap known
};

// Published OpenAI prices as read in 2025 (check before relying on them).
std::vector<ModelPricing> DefaultPricing();

struct EstimateOptions {
  std::string base_model;                        // e.g. "gpt-4o-mini-2024-07-18"
  HyperParam n_epochs;                           // unset or auto: the service's rule
  std::vector<ModelPricing> pricing = DefaultPricing();
};

struct TrainingEstimate {
  TrainingFormat format = TrainingFormat::kChat;
  int64_t examples = 0;
  int64_t tokens_total = 0;  // estimated tokens in the file, uncapped
  int64_t tokens_min = 0;
  int64_t tokens_max = 0;
  double tokens_mean = 0;
  int64_t examples_over_limit = 0;     // longer than the model's training context
  int64_t billable_tokens_per_epoch = 0;
  int n_epochs = 0;
  bool epochs_auto = false;            // n_epochs came from the service's rule
  int64_t billable_tokens = 0;         // per epoch x epochs
  std::string priced_as;               // matched model_prefix; empty when unknown
  std::optional<double> cost_usd;      // empty when the model has no price

  // One line for people: "estimate: 12 examples, ~1,234 tokens x 3 epochs ..."
  std::string Summary() const;
};

// Estimated tokens of a piece of text (the heuristic above).
int64_t EstimateTextTokens(std::string_view text);

// Estimated tokens of one training example (one JSONL line, any format).
util::Result<int64_t> EstimateExampleTokens(std::string_view line, TrainingFormat format);

// The epochs the service picks for n_epochs "auto" given the example count.
int AutoEpochs(int64_t examples);

// Reads a JSONL training stream/file (validated as it goes) and estimates.
util::Result<TrainingEstimate> EstimateTraining(std::istream& in, const EstimateOptions& options);
util::Result<TrainingEstimate> EstimateTrainingFile(const std::string& path,
                                                    const EstimateOptions& options);

}  // namespace openai
