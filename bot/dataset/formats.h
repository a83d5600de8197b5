// The export formats (OpenAI training data, see docs/protocols.md section 3.2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace deskbot::dataset {

enum class ExportFormat {
  kChat,        // {"messages":[system, user, assistant]}
  kCompletion,  // legacy {"prompt": ... separator, "completion": " " ... stop}
  kPreference,  // DPO {"input":{"messages":[...]},"preferred_output":[...],"non_preferred_output":[...]}
};
std::optional<ExportFormat> ParseExportFormat(std::string_view s);  // "chat" | "completion" | "preference"
const char* ExportFormatName(ExportFormat f);

// The legacy format's fixed markers: every prompt ends with `separator` and
// every completion ends with `stop`, each exactly once.
struct CompletionMarkers {
  std::string separator = "\n\n###\n\n";
  std::string stop = " END";
};

}  // namespace deskbot::dataset
