// The prompt files the exports are laid out with. They are data, not code:
// prompts/system.txt and prompts/finetune/*.mustache (see prompts/README.md).
#pragma once

#include <string>

#include "connectors/util/status.h"

namespace deskbot::dataset {

struct PromptSet {
  std::string dir;
  std::string system;             // system.txt: the system message
  std::string user;               // finetune/user.mustache: the user message
  std::string assistant;          // finetune/assistant.mustache: the assistant message
  std::string completion_prompt;  // finetune/completion_prompt.mustache (legacy prompt, before the separator)
  std::string completion;         // finetune/completion.mustache (legacy completion, before the stop)

  // Reads every file; a missing one is an error naming it. One trailing
  // newline of each file is dropped (editors add it).
  static util::Result<PromptSet> Load(const std::string& dir);
};

// One prompt file's text, with one trailing newline dropped (editors add
// it); a missing file is kNotFound naming it.
util::Result<std::string> ReadPromptFile(const std::string& path);

// The prompts directory: `configured` when not empty (must exist); otherwise
// the first "prompts" directory holding system.txt found walking up from the
// running binary's directory (build/bot/cli/deskbot -> <repo>/prompts), then
// from the current directory, then /usr/share/deskbot/prompts.
util::Result<std::string> FindPromptsDir(const std::string& configured);

}  // namespace deskbot::dataset
