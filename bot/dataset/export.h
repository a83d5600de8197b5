// Rendering redacted pairs as OpenAI training lines, and writing JSONL files
// atomically. The renderers take only RedactedPair / RedactedPreferencePair:
// an unredacted Pair cannot be exported (see redact.h).
//
// chat:        {"messages":[{"role":"system","content":SYSTEM},
//                           {"role":"user","content":USER},
//                           {"role":"assistant","content":ASSISTANT}]}
// completion:  {"prompt":PROMPT + separator, "completion":" " + COMPLETION + stop}
//              separator and stop appear exactly once, at the end; an example
//              whose text contains either is skipped ("separator_in_text",
//              "stop_in_text") rather than silently altered.
// preference:  {"input":{"messages":[system,user]},
//               "preferred_output":[{"role":"assistant","content":PREFERRED}],
//               "non_preferred_output":[{"role":"assistant","content":REJECTED}]}
// SYSTEM is prompts/system.txt; USER, ASSISTANT, PROMPT, COMPLETION are the
// mustache templates in prompts/finetune/ rendered with {{question}},
// {{answer}}, {{source}}, {{ticket}} (HTML escaping off) and trimmed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "bot/dataset/formats.h"
#include "bot/dataset/prompts.h"
#include "bot/dataset/redact.h"
#include "connectors/util/status.h"

namespace deskbot::dataset {

inline constexpr std::string_view kSkipEmpty = "empty_after_template";
inline constexpr std::string_view kSkipSeparator = "separator_in_text";
inline constexpr std::string_view kSkipStop = "stop_in_text";
inline constexpr std::string_view kSkipIdentical = "identical_outputs";

class ExampleRenderer {
 public:
  static util::Result<ExampleRenderer> Create(const PromptSet& prompts, const CompletionMarkers& markers);
  ExampleRenderer(ExampleRenderer&&) noexcept;
  ExampleRenderer& operator=(ExampleRenderer&&) noexcept;
  ~ExampleRenderer();

  // Each sets *line to one JSON object (no newline) and returns an empty view,
  // or returns why the example cannot be exported.
  std::string_view Chat(const RedactedPair& pair, std::string* line) const;
  std::string_view Completion(const RedactedPair& pair, std::string* line) const;
  std::string_view Preference(const RedactedPreferencePair& pair, std::string* line) const;

  const std::string& system_prompt() const;
  const CompletionMarkers& markers() const;

 private:
  struct Impl;
  explicit ExampleRenderer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes lines to "<path>.tmp" and renames it over `path` on Commit(), so a
// killed export never leaves a half-written file where a good one was.
class JsonlWriter {
 public:
  static util::Result<std::unique_ptr<JsonlWriter>> Open(const std::string& path);
  ~JsonlWriter();  // removes the temporary file unless committed
  util::Status Write(std::string_view line);  // appends line + "\n"
  util::Status Commit();
  std::int64_t lines() const { return lines_; }

 private:
  JsonlWriter(std::string path, std::string tmp, std::FILE* f) : path_(std::move(path)), tmp_(std::move(tmp)), f_(f) {}
  std::string path_, tmp_;
  std::FILE* f_;
  std::int64_t lines_ = 0;
  bool committed_ = false;
};

}  // namespace deskbot::dataset
