// The local model an LLM leans on for context and confidence (see
// answer_model.h): a registry version with backend "local", loaded with its
// files checked against the recorded checksum.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bot/core/store.h"
#include "bot/core/types.h"

namespace deskbot::model {
class LocalModel;
}

namespace deskbot::llm {

struct SupportModel {
  std::shared_ptr<const model::LocalModel> model;  // null: none could be loaded
  ModelVersion version;                            // id 0 when none
  std::string warning;                             // why a preferred version was passed over
};

// Which local version: `preferred_id` when it is > 0 and loads; else the
// promoted version when it is local; else the local version the promoted
// (LLM) version was evaluated with; else the newest local version that is
// not failed. Relative model paths are under `data_dir`. No local version
// at all: an empty SupportModel (not an error).
util::Result<SupportModel> LoadSupportModel(Store& store, const std::string& data_dir,
                                            std::int64_t preferred_id = 0);

}  // namespace deskbot::llm
