// `deskbot finetune start`, shared with `deskbot train --backend openai`.
#pragma once

#include <string>

#include "bot/cli/context.h"

namespace deskbot::cli {

struct FineTuneStartArgs {
  bool dry_run = false;
  std::string method;  // "" = llm.finetune.method
  std::string base;    // "" = from settings
};

// Exports, uploads and creates the fine-tuning job (or, dry run, only
// estimates), printing the report; throws CliError on failure.
void StartFineTuneCommand(CliContext& ctx, const FineTuneStartArgs& args);

}  // namespace deskbot::cli
