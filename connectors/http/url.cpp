#include "connectors/http/url.h"

#include <cctype>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace http {

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

util::Result<Url> ParseUrl(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return util::Status::InvalidArgument("not an absolute URL (" + parsed.error().message() + ")");
  const boost::urls::url_view& u = *parsed;
  Url out;
  out.scheme = std::string(u.scheme());
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.scheme != "http" && out.scheme != "https")
    return util::Status::InvalidArgument("unsupported URL scheme '" + out.scheme + "'");
  if (!u.has_authority() || u.encoded_host().empty())
    return util::Status::InvalidArgument("URL has no host");
  out.has_userinfo = u.has_userinfo();
  if (u.host_type() == boost::urls::host_type::ipv6) {
    out.host = u.host_address();  // without brackets
  } else {
    out.host = u.host();
  }
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0)
      return util::Status::InvalidArgument("URL has a bad port for host " + out.host);
    out.port = u.port_number();
  } else {
    out.port = out.tls() ? 443 : 80;
  }
  out.path = std::string(u.encoded_path());
  if (out.path.empty()) out.path = "/";
  out.target = out.path;
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  return out;
}

std::string PercentEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string EncodeQuery(const QueryParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += PercentEncode(name);
    out += '=';
    out += PercentEncode(value);
  }
  return out;
}

std::string WithQuery(const std::string& base, const QueryParams& params) {
  if (params.empty()) return base;
  char sep = base.find('?') == std::string::npos ? '?' : '&';
  return base + sep + EncodeQuery(params);
}

}  // namespace http
