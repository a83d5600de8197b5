// Makes the TicketSource for a configured [[sources]] entry, by its type.
#pragma once

#include <memory>
#include <string>

#include "bot/core/config.h"
#include "bot/core/interfaces.h"

namespace deskbot {

// kNotFound when no [[sources]] entry has this name; kInvalidArgument for an
// unknown type or a bad setting (the message names the source and setting).
util::Result<std::unique_ptr<TicketSource>> MakeSource(const Config& config, const std::string& name);

// The types MakeSource knows, for messages and --help.
const char* KnownSourceTypes();

}  // namespace deskbot
