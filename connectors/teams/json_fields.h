// Exception-free field access for nlohmann::json, private to connectors/teams.
// nlohmann's value()/get() throw on a type mismatch; vendor payloads are
// input we do not control, so every read goes through these instead.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace teams::internal {

// obj[key] when obj is an object holding `key`, else a null json.
inline const nlohmann::json& Field(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// The string at obj[key], or "" when absent or not a string.
inline std::string Str(const nlohmann::json& obj, const char* key) {
  const nlohmann::json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

// A scalar rendered as text: strings as they are, numbers and booleans as
// JSON text. Objects, arrays and null give "".
inline std::string ScalarText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return {};
}

// JSON text that never throws: invalid UTF-8 in a string (user text can hold
// anything) becomes U+FFFD instead of an exception.
inline std::string Dump(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace teams::internal
