#include "bot/store/open.h"

#include <filesystem>
#include <system_error>

#include "bot/store/sqlite_store.h"

namespace deskbot {

util::Result<std::unique_ptr<Store>> OpenStore(const Config& config) {
  const std::string backend = config.GetString("store.backend", "sqlite");
  if (backend != "sqlite")
    return util::Status::InvalidArgument("store.backend '" + backend +
                                         "' is not supported (supported: sqlite)");

  std::string path = config.GetString("store.path", "");
  if (path.empty()) {
    path = (std::filesystem::path(config.DataDir()) / "deskbot.db").string();
  } else if (path != ":memory:") {
    path = config.ResolvePath(path);
  }
  if (path != ":memory:") {
    std::error_code ec;
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec)
      return util::Status::IOError("store: cannot create directory " + dir.string() + ": " +
                                   ec.message());
  }
  SqliteOptions options;
  options.synchronous = config.GetString("store.synchronous", options.synchronous);
  auto store = SqliteStore::Open(path, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(store).value());
}

}  // namespace deskbot
