// Times as help desks export them, to Unix seconds. Shared by the source
// adapters (files, RT, ...).
#pragma once

#include <optional>
#include <string_view>

#include "bot/core/types.h"

namespace deskbot {

// Parses ISO 8601 / RFC 3339 date-times: "2026-03-02T09:14:00Z",
// "2026-03-02 09:14:00", "2026-03-02T09:14:00.123+02:00", "2026-03-02T09:14Z",
// and a bare date "2026-03-02" (midnight). No zone means UTC. Also accepts a
// plain integer (Unix seconds). nullopt for anything else or an impossible
// date (month 13, February 30).
std::optional<UnixSeconds> ParseIsoTime(std::string_view text);

}  // namespace deskbot
