// Settings: a TOML file, overridden by the environment.
//
// Every setting has a dotted path ("server.listen", "dataset.seed"). The
// environment variable DESKBOT_<PATH> (dots become underscores, upper case)
// wins over the file, so `DESKBOT_SERVER_LISTEN=0.0.0.0:8080` overrides
// [server] listen. A few short names from the operator contract are aliases
// (DESKBOT_LISTEN, DESKBOT_AGENTS); see kAliases in config.cpp.
//
// Secrets are read with Secret(): from the environment, or from a file named
// by "<path>_file" (e.g. slack.bot_token_file). A secret written in the TOML
// file itself is refused, so that config files can be shared and logged.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/util/status.h"

namespace deskbot {

class Config {
 public:
  // An empty config: only the environment and defaults.
  Config();
  ~Config();
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;

  static util::Result<Config> LoadFile(const std::string& path);
  static util::Result<Config> LoadString(const std::string& toml_text);

  std::string GetString(const std::string& path, const std::string& fallback) const;
  std::int64_t GetInt(const std::string& path, std::int64_t fallback) const;
  double GetDouble(const std::string& path, double fallback) const;
  bool GetBool(const std::string& path, bool fallback) const;
  // A list: a TOML array of strings, or a comma-separated string (env).
  std::vector<std::string> GetList(const std::string& path) const;
  bool Has(const std::string& path) const;

  // A secret from DESKBOT_<PATH> or the file named by <path>_file (trailing
  // newline trimmed). nullopt when neither is set; an error when the file
  // cannot be read or the secret was written into the TOML file.
  util::Result<std::optional<std::string>> Secret(const std::string& path) const;

  // The names of the [[sources]] entries, in file order, and a view of one.
  std::vector<std::string> SourceNames() const;
  // A Config whose root is the [[sources]] entry named `name` (no env overrides
  // except DESKBOT_SOURCES_<NAME>_<KEY>).
  std::optional<Config> Source(const std::string& name) const;

  // Directory of the config file (relative paths in it are resolved from here).
  const std::string& base_dir() const;
  std::string ResolvePath(const std::string& path) const;

  // The data directory: DESKBOT_DATA_DIR or data_dir, default "./deskbot-data".
  std::string DataDir() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The environment variable name for a setting path: "slack.bot_token" ->
// "DESKBOT_SLACK_BOT_TOKEN".
std::string EnvNameFor(const std::string& path);

}  // namespace deskbot
