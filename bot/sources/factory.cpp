#include "bot/sources/factory.h"

#include "bot/sources/files.h"
#include "bot/sources/rt.h"

namespace deskbot {

const char* KnownSourceTypes() { return "files"; }

util::Result<std::unique_ptr<TicketSource>> MakeSource(const Config& config, const std::string& name) {
  auto entry = config.Source(name);
  if (!entry) {
    std::string names;
    for (const auto& n : config.SourceNames()) names += (names.empty() ? "" : ", ") + n;
    return util::Status::NotFound("source '" + name + "' is not configured (configured: " +
                                  (names.empty() ? "none" : names) + ")");
  }
  const std::string type = entry->GetString("type", "");

  if (type == "files") {
    auto options = FilesSourceOptions::FromConfig(config, name);
    if (!options.ok()) return options.status();
    return std::unique_ptr<TicketSource>(std::make_unique<FilesSource>(std::move(options).value()));
  }
  if (type == "rt") return MakeRtSource(config, name);
  // One line per further source type goes here, e.g.:
  //   if (type == "rt") return MakeRtSource(config, name);
  // (and its name in KnownSourceTypes()).

  return util::Status::InvalidArgument("source " + name + ": unknown type '" + type +
                                       "' (known: " + KnownSourceTypes() + ")");
}

}  // namespace deskbot
