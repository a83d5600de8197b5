// Fine-tuning training files (JSONL, one example per line) checked the way
// the fine-tuning service checks them at `validating_files`, so a bad file is
// caught before it is uploaded and paid for.
//
// Formats (see docs/protocols.md 3.2):
//   chat        {"messages":[{"role":"user","content":"..."},{"role":"assistant",...}]}
//   preference  {"input":{"messages":[...]},"preferred_output":[{assistant}],
//                "non_preferred_output":[{assistant}]}            (method dpo)
//   prompt      {"prompt":"...","completion":"..."}                (legacy models)
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>

#include "connectors/util/status.h"

namespace openai {

enum class TrainingFormat { kChat, kPreference, kPromptCompletion };
const char* TrainingFormatName(TrainingFormat format);  // "chat" | "preference" | "prompt"

// The service refuses files with fewer examples than this.
inline constexpr int64_t kMinTrainingExamples = 10;

// Guesses the format of one line from its keys.
util::Result<TrainingFormat> DetectTrainingFormat(std::string_view line);

// Checks one line (without its line break). The message says what is wrong
// ("message 2: role \"bot\" is not one of system, developer, ...") but never
// repeats the line's content, which may hold personal data.
util::Status ValidateTrainingLine(std::string_view line, TrainingFormat format);

struct TrainingDataCheck {
  TrainingFormat format = TrainingFormat::kChat;
  int64_t examples = 0;
};

// Checks every line of a JSONL stream: each is one example in `format` (or,
// when `format` is null, the format of the first line). Empty lines are errors,
// except that the final line break may be followed by nothing. Errors name the
// line: "line 7: not a JSON object". Does not enforce kMinTrainingExamples.
util::Result<TrainingDataCheck> ValidateTrainingData(std::istream& in,
                                                     const TrainingFormat* format = nullptr);
util::Result<TrainingDataCheck> ValidateTrainingFile(const std::string& path,
                                                     const TrainingFormat* format = nullptr);

}  // namespace openai
