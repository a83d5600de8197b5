// Logging for the service: spdlog, as text for a terminal or as one JSON
// object per line for a log collector. Messages are built from ids, counts
// and reasons; payloads, tokens and secrets are never logged.
#pragma once

#include <string>

#include "connectors/util/status.h"

namespace deskbot::service {

struct LogOptions {
  std::string level = "info";   // trace | debug | info | warn | error | off
  std::string format = "text";  // text | json
};

// Sets up the default spdlog logger (stderr). kInvalidArgument for an unknown
// level or format.
util::Status ConfigureLogging(const LogOptions& options);

// The JSON line for one message (exposed for tests):
// {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"..."}
std::string JsonLogLine(const std::string& ts, const std::string& level, const std::string& msg);

}  // namespace deskbot::service
