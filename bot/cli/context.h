// What every subcommand shares: the parsed global options, the config and the
// store, opened on first use. Subcommands live in bot/cli/*_commands.cpp and
// register themselves with DESKBOT_COMMANDS, so adding a command group is one
// new file.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "bot/core/config.h"
#include "bot/core/store.h"

namespace CLI {
class App;
}

namespace deskbot::cli {

// Thrown by a command to end with "deskbot: <message>" and exit status 1.
class CliError : public std::runtime_error {
 public:
  explicit CliError(const std::string& msg) : std::runtime_error(msg) {}
  explicit CliError(const util::Status& st) : std::runtime_error(st.ToString()) {}
};

class CliContext {
 public:
  std::string config_path;  // --config; empty: environment and defaults only

  // Loaded on first use; throws CliError when the file is bad.
  const Config& config();
  // Opened (and migrated) on first use; throws CliError on failure.
  Store& store();

 private:
  std::unique_ptr<Config> config_;
  std::unique_ptr<Store> store_;
};

// Throws CliError when `st` is not OK.
inline void Check(const util::Status& st) {
  if (!st.ok()) throw CliError(st);
}
template <typename T>
T Check(util::Result<T> r) {
  if (!r.ok()) throw CliError(r.status());
  return std::move(r).value();
}

using RegisterFn = void (*)(CLI::App& app, CliContext& ctx);
// Adds a group of subcommands; `order` sorts them in --help.
bool AddCommandGroup(int order, RegisterFn fn);

}  // namespace deskbot::cli

#define DESKBOT_COMMANDS(order, fn) \
  static const bool deskbot_registered_##fn = ::deskbot::cli::AddCommandGroup(order, fn)
