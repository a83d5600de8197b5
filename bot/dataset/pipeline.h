// The training-data pipeline, end to end:
//
//   Ticket --extract+clean--> raw pair --redact--> RedactedPair --filter-->
//   --dedupe--> --validate--> --split--> store (ReplaceHarvestedPairs)
//   store pairs --redact (again, a safety net)--> export JSONL
//
// Every stage is a pure function or a small stateful object in this folder
// (testable without a store); DatasetBuilder strings them together one ticket
// at a time (streaming: memory is the dedupe index plus the kept pairs), and
// BuildDataset / ExportDataset connect it to a Store.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bot/core/config.h"
#include "bot/core/store.h"
#include "bot/core/types.h"
#include "bot/dataset/dedupe.h"
#include "bot/dataset/export.h"
#include "bot/dataset/extract.h"
#include "bot/dataset/filters.h"
#include "bot/dataset/redact.h"
#include "bot/dataset/split.h"
#include "bot/dataset/validate.h"

namespace deskbot::dataset {

inline constexpr std::string_view kDropOverTokenLimit = "over_token_limit";

struct DatasetOptions {
  ExtractOptions extract;
  FilterOptions filter;
  DedupeOptions dedupe;
  SplitOptions split;
  std::int64_t token_limit = 4096;  // estimated tokens of a chat example; over it: dropped
  int epochs = 3;                   // for the billable-token estimate
  CompletionMarkers markers;
  std::string prompts_dir;          // empty: FindPromptsDir

  // The [dataset] section (every key optional):
  //   split = "random"|"time", seed, valid_fraction, near_duplicate_threshold,
  //   exact_dedupe, near_dedupe, shingle_words, num_perm, min_question_chars,
  //   min_answer_chars, min_substantive_answer_chars, token_limit, epochs,
  //   separator, stop, prompts_dir (relative to the config file).
  static util::Result<DatasetOptions> FromConfig(const Config& config);
};

// Milliseconds spent per stage (wall clock, one thread).
struct StageTimes {
  double clean_ms = 0, redact_ms = 0, filter_ms = 0, dedupe_ms = 0, validate_ms = 0;
  double split_ms = 0, store_ms = 0, export_ms = 0;
};

struct BuildReport {
  std::int64_t tickets = 0;     // tickets read
  std::int64_t extracted = 0;   // pairs made from them
  std::int64_t kept = 0;        // harvested pairs that passed every stage
  std::int64_t train = 0, valid = 0;    // of the kept harvested pairs
  std::int64_t other_pairs = 0;         // approved/edited pairs kept in the store
  std::int64_t other_train = 0, other_valid = 0;
  std::map<std::string, std::map<std::string, std::int64_t>> dropped;  // stage -> reason -> count
  RedactionCounts redactions;
  ValidationReport validation;
  StageTimes times;
  std::string split_method;
  std::uint64_t seed = 0;
  double valid_fraction = 0;
  double near_threshold = 0;
  std::int64_t token_limit = 0;
  std::int64_t snapshot_id = 0;
  std::string content_hash;

  std::int64_t DroppedTotal() const;
  std::string ToText() const;
  std::string ToJson() const;
};

// Runs extraction, cleaning, redaction, filtering, dedupe and validation
// statistics one ticket at a time. Splitting happens after (AssignSplits or
// RandomSplitFor), because a time split needs every pair.
class DatasetBuilder {
 public:
  // `system_prompt` only feeds the token estimate of a chat example.
  DatasetBuilder(const DatasetOptions& options, std::string system_prompt);

  // The pair the ticket gave, if it passed; otherwise the reason is counted.
  std::optional<RedactedPair> Add(const Ticket& ticket);

  // Completes the validation statistics; call once, after the last Add.
  BuildReport& Finish();
  BuildReport& report() { return report_; }

 private:
  void Drop(const char* stage, std::string_view reason);

  DatasetOptions options_;
  std::string system_prompt_;
  std::int64_t system_tokens_;  // estimated once: the system message of every example
  Deduplicator dedupe_;
  Validator validator_;
  BuildReport report_;
};

// SHA-256 (hex) over the pairs in split-key order: equal datasets, equal hash.
std::string ContentHash(const std::vector<RedactedPair>& pairs);

// Builds the dataset from every ticket in the store and replaces the
// harvested pairs with it (approved/edited pairs stay), recording a snapshot.
util::Result<BuildReport> BuildDataset(Store& store, const DatasetOptions& options);

struct ExportReport {
  ExportFormat format = ExportFormat::kChat;
  std::string split;  // "train" | "valid" | "all"
  std::string path;
  std::int64_t written = 0;
  std::map<std::string, std::int64_t> skipped;  // reason -> count
  RedactionCounts late_redactions;  // found by the export's safety-net pass
  ValidationReport validation;      // of the file just written
  std::string ToText() const;
};

// Writes the store's pairs (or preference pairs) of `split` (nullopt: all) to
// `out_path` in `format`, each redacted again on the way out.
util::Result<ExportReport> ExportDataset(Store& store, ExportFormat format, std::optional<Split> split,
                                         const std::string& out_path, const DatasetOptions& options);

}  // namespace deskbot::dataset
