#include "bot/core/config.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <toml++/toml.h>

namespace deskbot {
namespace {

// Short environment names from the operator contract, mapped to paths.
const std::map<std::string, std::string>& Aliases() {
  static const std::map<std::string, std::string> kAliases = {
      {"server.listen", "DESKBOT_LISTEN"},
      {"agents.ids", "DESKBOT_AGENTS"},
  };
  return kAliases;
}

std::optional<std::string> Env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

std::string EnvNameFor(const std::string& path) {
  std::string name = "DESKBOT_";
  for (char c : path) name += (c == '.' || c == '-') ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

struct Config::Impl {
  toml::table root;
  std::string base_dir = ".";
  std::string env_prefix_path;  // for a source view: "sources.<name>."

  // The raw value: environment first (as a string), then the file.
  std::optional<std::string> EnvValue(const std::string& path) const {
    if (auto v = Env(EnvNameFor(env_prefix_path + path))) return v;
    if (env_prefix_path.empty()) {
      auto it = Aliases().find(path);
      if (it != Aliases().end()) return Env(it->second);
    }
    return std::nullopt;
  }
  toml::node_view<const toml::node> Node(const std::string& path) const {
    return root.at_path(path);
  }
};

Config::Config() : impl_(std::make_unique<Impl>()) {}
Config::~Config() = default;
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;

util::Result<Config> Config::LoadString(const std::string& toml_text) {
  Config c;
  try {
    c.impl_->root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "config: " << e.description() << " at line " << e.source().begin.line;
    return util::Status::InvalidArgument(msg.str());
  }
  return c;
}

util::Result<Config> Config::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return util::Status::NotFound("config file " + path + " cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = LoadString(ss.str());
  if (!c.ok()) return c.status().WithContext(path);
  c->impl_->base_dir = std::filesystem::absolute(path).parent_path().string();
  return c;
}

std::string Config::GetString(const std::string& path, const std::string& fallback) const {
  if (auto v = impl_->EnvValue(path)) return *v;
  auto n = impl_->Node(path);
  if (auto s = n.value<std::string>()) return *s;
  return fallback;
}

std::int64_t Config::GetInt(const std::string& path, std::int64_t fallback) const {
  if (auto v = impl_->EnvValue(path)) {
    try { return std::stoll(*v); } catch (...) { return fallback; }
  }
  if (auto i = impl_->Node(path).value<std::int64_t>()) return *i;
  return fallback;
}

double Config::GetDouble(const std::string& path, double fallback) const {
  if (auto v = impl_->EnvValue(path)) {
    try { return std::stod(*v); } catch (...) { return fallback; }
  }
  if (auto d = impl_->Node(path).value<double>()) return *d;
  return fallback;
}

bool Config::GetBool(const std::string& path, bool fallback) const {
  if (auto v = impl_->EnvValue(path)) {
    std::string s = Trim(*v);
    for (auto& ch : s) ch = static_cast<char>(std::tolower(ch));
    if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
    if (s == "0" || s == "false" || s == "no" || s == "off") return false;
    return fallback;
  }
  if (auto b = impl_->Node(path).value<bool>()) return *b;
  return fallback;
}

std::vector<std::string> Config::GetList(const std::string& path) const {
  std::vector<std::string> out;
  auto split = [&out](const std::string& s) {
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
      if (auto t = Trim(item); !t.empty()) out.push_back(t);
  };
  if (auto v = impl_->EnvValue(path)) {
    split(*v);
    return out;
  }
  auto n = impl_->Node(path);
  if (auto* arr = n.as_array()) {
    for (const auto& el : *arr)
      if (auto s = el.value<std::string>()) out.push_back(*s);
  } else if (auto s = n.value<std::string>()) {
    split(*s);
  }
  return out;
}

bool Config::Has(const std::string& path) const {
  return impl_->EnvValue(path).has_value() || static_cast<bool>(impl_->Node(path));
}

util::Result<std::optional<std::string>> Config::Secret(const std::string& path) const {
  if (impl_->Node(path))
    return util::Status::InvalidArgument(
        "config: secret '" + path + "' must not be written in the config file; set " +
        EnvNameFor(impl_->env_prefix_path + path) + " or " + path + "_file");
  if (auto v = impl_->EnvValue(path)) return std::optional<std::string>(Trim(*v));
  std::string file = GetString(path + "_file", "");
  if (file.empty()) return std::optional<std::string>();
  std::ifstream in(ResolvePath(file));
  if (!in)
    return util::Status::NotFound("config: secret file for '" + path + "' cannot be read: " + file);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::optional<std::string>(Trim(ss.str()));
}

std::vector<std::string> Config::SourceNames() const {
  std::vector<std::string> names;
  if (auto* arr = impl_->root["sources"].as_array()) {
    for (const auto& el : *arr)
      if (auto* t = el.as_table())
        if (auto name = (*t)["name"].value<std::string>()) names.push_back(*name);
  }
  return names;
}

std::optional<Config> Config::Source(const std::string& name) const {
  if (auto* arr = impl_->root["sources"].as_array()) {
    for (const auto& el : *arr) {
      auto* t = el.as_table();
      if (t == nullptr || (*t)["name"].value<std::string>() != name) continue;
      Config c;
      c.impl_->root = *t;
      c.impl_->base_dir = impl_->base_dir;
      c.impl_->env_prefix_path = "sources." + name + ".";
      return c;
    }
  }
  return std::nullopt;
}

const std::string& Config::base_dir() const { return impl_->base_dir; }

std::string Config::ResolvePath(const std::string& path) const {
  if (path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(impl_->base_dir) / path).lexically_normal().string();
}

std::string Config::DataDir() const {
  return GetString("data_dir", "./deskbot-data");
}

}  // namespace deskbot
