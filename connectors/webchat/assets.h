// The web chat's static page (static/index.html, app.js, style.css), compiled
// into the binary by embed.cmake.
#pragma once

#include <span>
#include <string_view>

namespace webchat {

struct Asset {
  std::string_view path;          // "/index.html"
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view body;
};

std::span<const Asset> Assets();
// "/" is "/index.html"; nullptr for anything else not embedded.
const Asset* FindAsset(std::string_view path);

}  // namespace webchat
