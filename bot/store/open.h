// Opens the configured Store: SQLite under the data directory by default
// (store.backend = "sqlite", store.path defaults to <data_dir>/deskbot.db).
#pragma once

#include <memory>

#include "bot/core/config.h"
#include "bot/core/store.h"

namespace deskbot {

util::Result<std::unique_ptr<Store>> OpenStore(const Config& config);

}  // namespace deskbot
