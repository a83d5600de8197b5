// URLs for the HTTP client: parsing (Boost.URL underneath, kept out of this
// header) and building query strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/util/status.h"

namespace http {

// An absolute http(s) URL split into what a request needs.
struct Url {
  std::string scheme;   // "http" | "https"
  std::string host;     // "127.0.0.1", "rt.example.com", "::1" (no brackets)
  uint16_t port = 0;    // explicit or the scheme's default
  std::string target;   // "/REST/2.0/tickets?query=..." (as encoded in the URL)
  std::string path;     // "/REST/2.0/tickets" (encoded, no query): safe for error messages
  bool has_userinfo = false;  // "user:pass@" was present (refused by the client)

  bool tls() const { return scheme == "https"; }
  // "host:port", with brackets around IPv6 addresses.
  std::string authority() const;
};

// Parses an absolute http:// or https:// URL. Error messages never repeat the
// URL's userinfo or query (either may hold a credential).
util::Result<Url> ParseUrl(std::string_view text);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// "a=1&b=x%20y": application/x-www-form-urlencoded style, spaces as %20,
// only unreserved characters left as they are. Order and repeats are kept
// (RT wants orderby=LastUpdated&orderby=id).
std::string EncodeQuery(const QueryParams& params);

// Percent-encodes everything except RFC 3986 unreserved characters.
std::string PercentEncode(std::string_view text);

// `base` with `params` appended as a query ("?" or "&" as needed).
std::string WithQuery(const std::string& base, const QueryParams& params);

}  // namespace http
