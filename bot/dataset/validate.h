// Validation of training examples, in the spirit of OpenAI's fine-tuning
// data-prep checks: format errors per line, empty fields, duplicates, length
// and (estimated, see tokens.h) token distributions, examples over a token
// limit, the legacy format's separator/stop conventions, and the estimated
// billable tokens (total tokens x epochs).
//
// The same Validator serves `dataset build` (examples in memory) and
// `dataset validate FILE` (lines of an export).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "bot/dataset/formats.h"
#include "connectors/util/status.h"

namespace deskbot::dataset {

struct Distribution {
  std::int64_t count = 0, min = 0, max = 0, p50 = 0, p95 = 0;
  double mean = 0;
};
// Nearest-rank percentiles over `values` (sorted in place).
Distribution Summarize(std::vector<std::int32_t>& values);

struct ValidationOptions {
  ExportFormat format = ExportFormat::kChat;
  std::int64_t token_limit = 4096;  // estimated tokens per example
  int epochs = 3;                   // for the billable-token estimate
  std::int64_t min_examples = 10;   // OpenAI rejects fewer than 10
  CompletionMarkers markers;        // checked for the completion format
};

struct ValidationReport {
  std::string format;
  std::int64_t lines = 0;          // non-blank lines read (file validation)
  std::int64_t examples = 0;       // examples that passed the format checks
  std::int64_t invalid_json = 0;
  std::int64_t blank_lines = 0;
  std::map<std::string, std::int64_t> format_errors;  // by kind
  std::int64_t empty_prompts = 0, empty_completions = 0;
  std::int64_t duplicates = 0;
  std::int64_t over_token_limit = 0;
  std::int64_t token_limit = 0;
  // Legacy completion format conventions.
  std::int64_t missing_separator = 0, separator_in_text = 0;
  std::int64_t missing_leading_space = 0, missing_stop = 0, stop_in_text = 0;
  Distribution prompt_chars, completion_chars, tokens;
  std::int64_t total_tokens = 0;     // estimated
  int epochs = 0;
  std::int64_t billable_tokens = 0;  // estimated: total_tokens * epochs
  std::vector<std::string> warnings;
  std::vector<std::string> problems;  // the first few, "line 3: unknown key \"foo\""

  // No hard error: every line valid, no empty completions, conventions kept,
  // nothing over the token limit. Warnings (few examples, duplicates) allowed.
  bool ok() const;
  std::string ToText() const;
  std::string ToJson() const;  // one JSON object (pretty-printed)
};

class Validator {
 public:
  explicit Validator(const ValidationOptions& options);
  ~Validator();

  // An example held in memory: its prompt and completion texts and its
  // estimated tokens.
  void AddExample(std::string_view prompt, std::string_view completion, std::int64_t tokens);
  // One line of an export file (1-based line number for messages).
  void AddJsonLine(std::string_view line, std::int64_t line_no);
  ValidationReport Finish();

 private:
  void Problem(std::int64_t line_no, const std::string& kind, const std::string& detail);
  void CheckCompletionMarkers(std::string_view prompt, std::string_view completion, std::int64_t line_no);

  ValidationOptions options_;
  ValidationReport report_;
  std::vector<std::int32_t> prompt_chars_, completion_chars_, tokens_;
  std::unordered_set<std::uint64_t> seen_;
};

util::Result<ValidationReport> ValidateJsonlFile(const std::string& path, const ValidationOptions& options);

}  // namespace deskbot::dataset
